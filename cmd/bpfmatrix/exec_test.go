package main

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Len returns the number of bytes written so far.
func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestExecTimeout(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 10 * time.Minute},
		{[]string{"-test.v=true", "-test.timeout=2m0s"}, 5 * time.Minute},
		{[]string{"-test.timeout", "1m"}, 4 * time.Minute},
		{[]string{"-test.timeout=0s"}, time.Hour},
	} {
		assert.Equal(t, tt.want, execTimeout(tt.args), "%q", tt.args)
	}
}

func TestIsTestRun(t *testing.T) {
	assert.True(t, isTestRun([]string{"-test.paniconexit0", "-test.v=test2json"}))
	assert.False(t, isTestRun([]string{"--verbose", "x"}))
}

// TestOrderedPrinter checks that kernels print in plan order whatever
// order they finish in, each between its labels, and that output without
// a final newline does not run into the end label.
func TestOrderedPrinter(t *testing.T) {
	var stdout, stderr bytes.Buffer
	p := &orderedPrinter{stdout: &stdout, stderr: &stderr, done: make([]*harness.ExecKernel, 2)}
	second := &harness.ExecKernel{Kernel: "b", Status: results.StatusOK, Output: []wire.Output{{Stream: wire.Stdout, Data: []byte("two")}}}
	first := &harness.ExecKernel{Kernel: "a", Release: "6.1", Status: results.StatusOK, ExitCode: 1, Output: []wire.Output{{Stream: wire.Stdout, Data: []byte("\x16=== RUN   TestX\n")}}}
	p.add(1, second)
	assert.Empty(t, stdout.String(), "b waits for a")
	p.add(0, first)
	assert.Equal(t, "=== bpfmatrix: kernel a (6.1)\n\x16=== RUN   TestX\n=== bpfmatrix: kernel a: FAILED, exit 1, 0.0s\n"+
		"=== bpfmatrix: kernel b\ntwo\n=== bpfmatrix: kernel b: ok, exit 0, 0.0s\n", stdout.String())
}
