package harness

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/collect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
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
