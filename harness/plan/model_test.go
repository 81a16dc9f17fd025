package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// The tests of the model the suites declare (tests.Model), which moved
// here from harness/expect with DefaultModel.

func factsOf(t *testing.T, arch, release string, config map[string]string, lsm ...string) expect.Facts {
	t.Helper()
	major, minor, err := expect.ParseRelease(release)
	require.NoError(t, err)
	return expect.Facts{Arch: arch, Major: major, Minor: minor, Config: config, LSM: lsm, Accel: "tcg"}
}

func TestDefaultModel(t *testing.T) {
	x86 := map[string]string{"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS": "y", "CONFIG_BPF_LSM": "y"}
	arm61 := map[string]string{"CONFIG_BPF_LSM": "y"}
	tests := []struct {
		test          string
		f             expect.Facts
		want          results.Outcome
		wantMechanism string
		wantSource    string
	}{
		{"kprobe/TestKprobe", factsOf(t, "amd64", "5.10.0-32-cloud-amd64", x86), results.Pass, "perf_event ioctl", "5.15"},
		{"kprobe/TestKprobe", factsOf(t, "amd64", "6.1.0-50-cloud-amd64", x86), results.Pass, "bpf_link (perf_event)", "5.15"},
		{"tracing/TestFentry", factsOf(t, "arm64", "6.1.0-50-cloud-arm64", arm61), results.Unsupported, "", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"},
		{"tracing/TestFentry", factsOf(t, "amd64", "5.10.0-32-cloud-amd64", x86), results.Pass, "bpf_link (tracing)", "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS"},
		{"tc/TestTCX", factsOf(t, "amd64", "6.1.0-50-cloud-amd64", x86), results.Unsupported, "", "6.6"},
		{"tc/TestTCX", factsOf(t, "amd64", "6.12.117+deb13-cloud-amd64", x86), results.Pass, "bpf_link (tcx)", "6.6"},
		{"lsm/TestLSMFileOpen", factsOf(t, "amd64", "5.10.0-32-cloud-amd64", x86, "lockdown", "capability"), results.Unsupported, "", "LSM"},
		{"lsm/TestLSMFileOpen", factsOf(t, "amd64", "5.10.0-32-cloud-amd64", x86, "lockdown", "bpf"), results.Pass, "", "LSM"},
		{"lsm/TestLSMFileOpen", factsOf(t, "arm64", "6.1.0-50-cloud-arm64", arm61, "bpf"), results.Unsupported, "", "trampoline"},
		{"perf/TestPerfEventHardware", factsOf(t, "amd64", "7.2.13+deb14-cloud-amd64", x86), results.Unsupported, "", "tcg"},
		{"perf/TestPerfEventHardware", factsOf(t, "arm64", "6.12.117+deb13-cloud-arm64", arm61), results.Pass, "bpf_link (perf_event)", "5.15"},
	}
	for _, tt := range tests {
		t.Run(tt.test+"@"+tt.f.Arch+"-"+string(rune('0'+tt.f.Major)), func(t *testing.T) {
			e := DefaultModel.Expect(tt.test, tt.f)
			require.NotNil(t, e)
			assert.Equal(t, tt.want, e.Outcome)
			assert.Equal(t, tt.wantMechanism, e.Mechanism)
			assert.Contains(t, e.Source, tt.wantSource)
			assert.NotEmpty(t, e.Rule)
		})
	}
	assert.Nil(t, DefaultModel.Expect("mine/TestUnknown", tests[0].f), "no rule, no expectation")
}

func TestJudge(t *testing.T) {
	f := factsOf(t, "amd64", "5.10.0-32-cloud-amd64", map[string]string{"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS": "y"})
	kr := results.KernelResult{Tests: []results.TestResult{
		{Suite: "kprobe", Name: "TestKprobe", Result: results.Pass, Mechanism: "perf_event ioctl"},
		{Suite: "kprobe", Name: "TestKretprobe", Result: results.Pass, Mechanism: "bpf_link (perf_event)"},
		{Suite: "tc", Name: "TestTCX", Result: results.Pass, Mechanism: "bpf_link (tcx)"},
		{Suite: "tracing", Name: "TestFentry", Result: results.Unsupported},
		{Suite: "mine", Name: "TestX", Result: results.Pass},
	}}
	DefaultModel.Judge(&kr, f)
	assert.True(t, kr.Tests[0].Expect.Met)
	assert.False(t, kr.Tests[1].Expect.Met, "a mechanism the model does not expect for 5.10 is unexpected")
	assert.False(t, kr.Tests[2].Expect.Met, "an unexpected success means a wrong model")
	assert.False(t, kr.Tests[3].Expect.Met, "an unexpected fallback is a regression")
	assert.Nil(t, kr.Tests[4].Expect)

	r := &results.Result{Complete: true, Kernels: []results.KernelResult{kr}}
	assert.Equal(t, 3, r.Unexpected())
	assert.False(t, r.OK(), "unexpected cells fail the run")

	// A deliberately wrong rule turns an expected cell into a failure.
	wrong := expect.Model{{Test: "kprobe/TestKprobe", Cases: []expect.Case{{Outcome: results.Unsupported, Why: "wrong on purpose", Source: "test"}}}}
	ok := results.KernelResult{Status: results.StatusOK, Tests: []results.TestResult{{Suite: "kprobe", Name: "TestKprobe", Result: results.Pass}}}
	wrong.Judge(&ok, f)
	r = &results.Result{Complete: true, Kernels: []results.KernelResult{ok}}
	assert.False(t, r.OK())
}
