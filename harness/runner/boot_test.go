package runner

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/collect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/splat"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

var (
	hello = wire.Event{Type: wire.TypeHello, Hello: &wire.Hello{Release: "6.1.0"}}
	done  = wire.Event{Type: wire.TypeDone, Done: &wire.Done{Suites: 1}}
)

func newCollector() *collect.Events { return collect.New(collect.Options{}) }

func TestStatus(t *testing.T) {
	withHello := func() *collect.Events { c := newCollector(); c.Hello = &hello; return c }
	complete := func() *collect.Events { c := withHello(); c.Done = &done; return c }
	tests := []struct {
		name string
		exit vm.Exit
		c    *collect.Events
		want results.Status
	}{
		{"ok", vm.Exit{Reason: vm.ReasonExited}, complete(), results.StatusOK},
		{"no done", vm.Exit{Reason: vm.ReasonExited}, withHello(), results.StatusCrashed},
		{"no hello", vm.Exit{Reason: vm.ReasonExited, Err: errors.New("qemu exited with code 1")}, newCollector(), results.StatusBootFailed},
		{"timeout beats done", vm.Exit{Reason: vm.ReasonTimeout}, complete(), results.StatusTimeout},
		{"panic", vm.Exit{Reason: vm.ReasonPanic, PanicLines: []string{"Kernel panic - not syncing: x"}}, withHello(), results.StatusPanic},
		{"canceled", vm.Exit{Reason: vm.ReasonCanceled}, withHello(), results.StatusInterrupted},
		{"killed", vm.Exit{Reason: vm.ReasonKilled, Err: errors.New("qemu killed by killed")}, withHello(), results.StatusCrashed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := status(&tt.exit, tt.c)
			assert.Equal(t, tt.want, got, msg)
		})
	}
}

func TestExecStatus(t *testing.T) {
	ended := func(frameErrs ...string) *collect.Events {
		c := newCollector()
		c.Add(hello)
		c.Add(wire.Event{Type: wire.TypeExit, Exit: &wire.Exit{Code: 0}})
		c.Add(done)
		c.FrameErrors = frameErrs
		return c
	}
	st, _ := execStatus(&vm.Exit{Reason: vm.ReasonExited}, ended())
	assert.Equal(t, results.StatusOK, st)
	st, msg := execStatus(&vm.Exit{Reason: vm.ReasonExited}, ended("checksum mismatch"))
	assert.Equal(t, results.StatusCrashed, st, "bad frames: the output may be incomplete")
	assert.Contains(t, msg, "1 bad frame(s)")

	noExit := newCollector()
	noExit.Add(hello)
	noExit.Add(wire.Event{Type: wire.TypeModule, Module: &wire.Module{Name: "veth", Error: "not found"}})
	st, msg = execStatus(&vm.Exit{Reason: vm.ReasonExited}, noExit)
	assert.Equal(t, results.StatusCrashed, st)
	assert.Contains(t, msg, "before the program's exit was reported (guest: module veth: not found)")
}

// TestMergeSplats: a splat in the kernel log and on the console is one
// report (the kernel log's, which is complete); one only on the console
// (the guest died before sending it) is kept.
func TestMergeSplats(t *testing.T) {
	console := []splat.Splat{
		{Kind: "ubsan", Lines: []string{"[   10.845551] UBSAN: shift-out-of-bounds in kernel/bpf/inode.c:756:15", "[   16.9] reboot: Restarting system"}},
		{Kind: "bug", Lines: []string{"[   20.0] BUG: kernel NULL pointer dereference"}},
	}
	kmsg := []wire.Splat{{Kind: "ubsan", Lines: []string{
		"[   10.845456] ------------[ cut here ]------------",
		"[   10.845551] UBSAN: shift-out-of-bounds in kernel/bpf/inode.c:756:15",
		"[   10.846406] Call Trace:",
	}}}
	got := mergeSplats(console, kmsg)
	require.Len(t, got, 2)
	assert.Equal(t, kmsg[0].Lines, got[0].Lines, "the kernel log's report")
	assert.Equal(t, "bug", got[1].Kind)
}

// TestBuildLog: an image build is announced on BuildLog, once, even when
// the log goes to the same writer.
func TestBuildLog(t *testing.T) {
	var b strings.Builder
	r := &Runner{Setup: Setup{BuildLog: &b, Log: io.Discard}}
	r.Builder("amd64").Logf("building %d test binaries for %s", 1, "amd64")
	assert.Equal(t, "bpfmatrix: building 1 test binaries for amd64\n", b.String())
	b.Reset()
	r.Log = &b
	r.buildf("building x")
	assert.Equal(t, 1, strings.Count(b.String(), "building x"), "once: %q", b.String())
}

func TestContainsModule(t *testing.T) {
	list := []string{"virtio_pci", "sch-ingress"}
	assert.True(t, containsModule(list, "virtio-pci"))
	assert.True(t, containsModule(list, "sch_ingress"))
	assert.False(t, containsModule(list, "overlay"))
}
