package rawexec

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// TestOrderedPrinter checks that kernels print in plan order whatever
// order they finish in, each between its labels, and that output without
// a final newline does not run into the end label.
func TestOrderedPrinter(t *testing.T) {
	var stdout, stderr bytes.Buffer
	p := &Printer{stdout: &stdout, stderr: &stderr, done: make([]*Kernel, 2)}
	second := &Kernel{Kernel: "b", Status: results.StatusOK, Output: []wire.Output{{Stream: wire.Stdout, Data: []byte("two")}}}
	first := &Kernel{Kernel: "a", Release: "6.1", Status: results.StatusOK, ExitCode: 1, Output: []wire.Output{{Stream: wire.Stdout, Data: []byte("\x16=== RUN   TestX\n")}}}
	p.Add(1, second)
	assert.Empty(t, stdout.String(), "b waits for a")
	p.Add(0, first)
	assert.Equal(t, "=== bpfmatrix: kernel a (6.1)\n\x16=== RUN   TestX\n=== bpfmatrix: kernel a: FAILED, exit 1, 0.0s\n"+
		"=== bpfmatrix: kernel b\ntwo\n=== bpfmatrix: kernel b: ok, exit 0, 0.0s\n", stdout.String())
}
