// Package tracing is the in-guest suite for BTF-typed tracing programs:
// fentry and fexit on vfs_write, attached through a BPF trampoline.
package tracing

import (
	"crypto/rand"
	"os"
	"strconv"
	"syscall"
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
// facts.Tracing.
var Suite = suite.For(facts.Tracing, TestFentry, TestFexit)

const family = "tracing"

// enotsupp is the kernel-internal ENOTSUPP (524), which the BPF syscall
// returns when the architecture cannot build a trampoline.
const enotsupp = syscall.Errno(524)

// Event kinds, as enum tracing_kind in bpf/tracing.c.
const (
	kindFentry = 1
	kindFexit  = 2
)

// hookCase describes one trampoline attach point of vfs_write.
type hookCase struct {
	hook    string // row name in the matrix
	program string // program name in tracing.c
	kind    uint32 // enum tracing_kind the program emits
}

// run loads only c's program (so that a kernel refusing one kind does not
// take the other down), attaches it, writes a buffer whose size and first
// bytes this run chose, and returns the event together with what was
// written and the mechanism the attachment used.
func run(t *testing.T, c hookCase) (bpf.TracingTracingEvent, []byte, string) {
	t.Helper()
	testutil.RequireGuest(t)
	count := testutil.OddCount()

	spec := testutil.Spec(t, bpf.LoadTracing, map[string]any{bpf.TracingVarTargetCount: count})
	for name := range spec.Programs {
		if name != c.program {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, *testutil.LoadOptions())
	testutil.Unsupported(t, c.hook, err, enotsupp)
	t.Cleanup(coll.Close)

	rd, err := ringbuf.NewReader(coll.Maps["tracing_events"])
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })

	l, err := link.AttachTracing(link.TracingOptions{Program: coll.Programs[c.program]})
	testutil.Unsupported(t, c.hook, err, enotsupp)
	t.Cleanup(func() { l.Close() })

	payload := make([]byte, count)
	_, _ = rand.Read(payload[:16]) // the marker checked in the event
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	n, err := f.Write(payload)
	require.NoError(t, err)
	require.Equal(t, int(count), n)

	ev := testutil.ReadRingbuf(t, rd, 5*time.Second, func(ev bpf.TracingTracingEvent) bool {
		return ev.Tgid == uint32(os.Getpid()) && ev.Kind == c.kind
	})
	assert.Equal(t, testutil.Want(family, count, count+2), ev.Count, "vfs_write count argument")
	assert.Equal(t, testutil.Want(family, payload[:16], payload[1:17]), ev.Data[:], "first bytes of the written buffer")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	// The thread id must be one of this process's threads.
	_, err = os.Stat("/proc/self/task/" + strconv.FormatUint(uint64(ev.Pid), 10))
	assert.NoError(t, err, "event thread %d belongs to this process", ev.Pid)
	return ev, payload, testutil.LinkMechanism(l)
}

// TestFentry attaches an fentry program to vfs_write and checks that the
// event carries this process's pid, the size the test chose and the first
// bytes of its buffer, read from the BTF-typed arguments.
func TestFentry(t *testing.T) {
	c := hookCase{hook: "fentry", program: "fentry_vfs_write", kind: kindFentry}
	_, _, mech := run(t, c)
	if !t.Failed() {
		testutil.Report(t, c.hook, mech, 1)
	}
}

// TestFexit attaches an fexit program to vfs_write and checks, besides the
// arguments, the return value: the number of bytes written.
func TestFexit(t *testing.T) {
	c := hookCase{hook: "fexit", program: "fexit_vfs_write", kind: kindFexit}
	ev, payload, mech := run(t, c)
	assert.Equal(t, testutil.Want(family, int64(len(payload)), int64(len(payload))-1), ev.Ret, "vfs_write return value")
	if !t.Failed() {
		testutil.Report(t, c.hook, mech, 1)
	}
}
