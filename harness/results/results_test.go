package results

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestResultOK(t *testing.T) {
	pass := TestResult{Suite: "s", Name: "T", Result: Pass}
	flaky := TestResult{Suite: "s", Name: "F", Result: Flaky, Attempts: []Attempt{{Result: Fail}}}
	known := TestResult{Suite: "s", Name: "K", Result: KnownFlaky, KnownFlaky: "a race", Expect: &Expectation{Outcome: Pass, Met: false}}
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
		{"flaky", Result{Complete: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass, flaky}}}}, true},
		{"flaky, --fail-on-flaky", Result{Complete: true, FailOnFlaky: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass, flaky}}}}, false},
		{"flaky but listed, --fail-on-flaky", Result{Complete: true, FailOnFlaky: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass, {Suite: "s", Name: "F", Result: Flaky, KnownFlaky: "a race"}}}}}, true},
		{"known flaky, unmet", Result{Complete: true, FailOnFlaky: true, Kernels: []KernelResult{{Status: StatusOK, Tests: []TestResult{pass, known}}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.r.OK())
		})
	}
}

func TestOutcomeFinal(t *testing.T) {
	for o, want := range map[Outcome]Outcome{Pass: Pass, Fail: Fail, Skip: Skip, Unsupported: Unsupported, Flaky: Pass, KnownFlaky: Fail} {
		assert.Equal(t, want, o.Final(), "%s.Final()", o)
	}
}
