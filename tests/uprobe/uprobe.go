// Package uprobe is the in-guest suite for uprobes and uretprobes. They
// probe bpfmatrix_uprobe_target in a tiny freestanding C program
// (testdata/target.c, built by gen.go), not a Go function: a uretprobe
// rewrites the return address on the stack, which a moving Go stack cannot
// survive.
package uprobe

import (
	"context"
	"embed"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.Uprobe.
var Suite = suite.For(facts.Uprobe, TestUprobe, TestUretprobe)

const (
	family = "uprobe"
	// symbol is the probed function in testdata/target.c.
	symbol = "bpfmatrix_uprobe_target"
)

// Event kinds, as enum uprobe_kind in bpf/uprobe.c.
const (
	kindEntry  = 1
	kindReturn = 2
)

//go:embed testdata/target_amd64 testdata/target_arm64
var targets embed.FS

// target writes the target program for this architecture to a fresh
// temporary file and returns its path.
func target(t *testing.T) string {
	t.Helper()
	bin, err := targets.ReadFile("testdata/target_" + runtime.GOARCH)
	if err != nil {
		t.Fatalf("no target program for GOARCH=%s (run `go generate ./tests/uprobe/`): %v", runtime.GOARCH, err)
	}
	path := filepath.Join(t.TempDir(), "bpfmatrix-uprobe-target")
	require.NoError(t, os.WriteFile(path, bin, 0o755))
	return path
}

// hookCase is one way of probing the target function.
type hookCase struct {
	hook   string // row name in the matrix
	kind   uint32 // enum uprobe_kind the program emits
	attach func(*link.Executable, *ebpf.Program) (link.Link, error)
	prog   func(*bpf.UprobeObjects) *ebpf.Program
	// check verifies the content of the event for a call with a and b.
	check func(t *testing.T, ev bpf.UprobeUprobeEvent, a, b int32)
}

var hooks = map[string]hookCase{
	"uprobe": {
		hook: "uprobe",
		kind: kindEntry,
		attach: func(ex *link.Executable, p *ebpf.Program) (link.Link, error) {
			return ex.Uprobe(symbol, p, nil)
		},
		prog: func(o *bpf.UprobeObjects) *ebpf.Program { return o.UprobeTarget },
		check: func(t *testing.T, ev bpf.UprobeUprobeEvent, a, b int32) {
			assert.Equal(t, testutil.Want(family, a, a+1), ev.A, "first argument")
			assert.Equal(t, testutil.Want(family, b, b+1), ev.B, "second argument")
		},
	},
	"uretprobe": {
		hook: "uretprobe",
		kind: kindReturn,
		attach: func(ex *link.Executable, p *ebpf.Program) (link.Link, error) {
			return ex.Uretprobe(symbol, p, nil)
		},
		prog: func(o *bpf.UprobeObjects) *ebpf.Program { return o.UretprobeTarget },
		check: func(t *testing.T, ev bpf.UprobeUprobeEvent, a, b int32) {
			assert.Equal(t, testutil.Want(family, a*3+b, a*3+b-1), ev.Ret, "return value")
		},
	},
}

// run attaches hc to the target program, runs the program with arguments
// chosen for this run and checks the event it caused.
func run(t *testing.T, hc hookCase) {
	testutil.RequireGuest(t)
	path := target(t)

	objs := new(bpf.UprobeObjects)
	testutil.Load(t, bpf.LoadUprobe, nil, objs)
	rd, err := ringbuf.NewReader(objs.UprobeEvents)
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })

	ex, err := link.OpenExecutable(path)
	require.NoError(t, err)
	l, err := hc.attach(ex, hc.prog(objs))
	testutil.Unsupported(t, hc.hook, err)
	t.Cleanup(func() { l.Close() })

	a := int32(1_000 + rand.IntN(100_000))
	b := int32(1 + rand.IntN(1_000))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, strconv.Itoa(int(a)), strconv.Itoa(int(b)))
	var out strings.Builder
	cmd.Stdout = &out
	require.NoError(t, cmd.Run(), "run %s", path)
	pid := cmd.Process.Pid
	require.Equal(t, strconv.Itoa(int(a*3+b)), strings.TrimSpace(out.String()), "target program output")

	ev := testutil.ReadRingbuf(t, rd, 5*time.Second, func(ev bpf.UprobeUprobeEvent) bool {
		return ev.Kind == hc.kind
	})
	assert.Equal(t, testutil.Want(family, uint32(pid), uint32(pid)+1), ev.Tgid, "tgid of the target process")
	assert.Equal(t, uint32(pid), ev.Pid, "thread id of the single-threaded target")
	hc.check(t, ev, a, b)
	assert.Equal(t, "bpfmatrix-uprob", testutil.CString(ev.Comm[:]), "comm")
	testutil.Report(t, hc.hook, testutil.LinkMechanism(l), 1)
}

// TestUprobe probes the entry of bpfmatrix_uprobe_target and checks the
// target process's pid and both arguments the test passed.
func TestUprobe(t *testing.T) { run(t, hooks["uprobe"]) }

// TestUretprobe probes the return of bpfmatrix_uprobe_target and checks the
// target process's pid and the value the function returned.
func TestUretprobe(t *testing.T) { run(t, hooks["uretprobe"]) }
