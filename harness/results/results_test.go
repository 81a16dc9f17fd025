package results

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResultOK(t *testing.T) {
	pass := TestResult{Suite: "s", Name: "T", Result: Pass}
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"all pass", Result{Complete: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass}}}}, true},
		{"incomplete", Result{Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass}}}}, false},
		{"no kernels", Result{Complete: true}, false},
		{"no tests", Result{Complete: true, Kernels: []KernelResult{{Status: StatusOK}}}, false},
		{"bad frames", Result{Complete: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass}, FrameErrors: []string{"checksum mismatch"}}}}, false},
		{"vm crashed", Result{Complete: true, Kernels: []KernelResult{{Status: StatusCrashed, Tests: []TestResult{pass}}}}, false},
		{"a failure", Result{Complete: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass, {Suite: "s", Name: "U", Result: Fail}}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.r.OK())
		})
	}
}
