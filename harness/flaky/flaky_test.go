package flaky

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

const list = `
- test: kprobe/TestKretprobe
  kernels: debian-5.10*
  reason: perf buffer wakeups lost under TCG
- test: tc/*
  kernels: [debian-6.1, "*-arm64"]
  reason: veth carrier race
- test: faults/TestFault
  reason: flaky on purpose
`

func column(name, profile string, tests ...results.TestResult) *results.KernelResult {
	return &results.KernelResult{Kernel: results.KernelInfo{Name: name}, Profile: profile, Status: results.StatusOK, Tests: tests}
}

func TestMatch(t *testing.T) {
	l, err := Parse([]byte(list))
	require.NoError(t, err)
	tests := []struct {
		test, kernel, profile string
		reason                string
	}{
		{"kprobe/TestKretprobe", "debian-5.10", "", "perf buffer wakeups lost under TCG"},
		{"kprobe/TestKretprobe", "debian-5.10", "lsm-bpf", "perf buffer wakeups lost under TCG"},
		{"kprobe/TestKretprobe", "debian-6.1", "", ""},
		{"kprobe/TestKprobe", "debian-5.10", "", ""},
		{"tc/TestTCX", "debian-6.1", "", "veth carrier race"},
		{"tc/TestTCX", "debian-6.12-arm64", "", "veth carrier race"},
		{"tc/TestTCX", "debian-6.12", "", ""},
		{"faults/TestFault", "anything", "", "flaky on purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.test+"@"+tt.kernel+"+"+tt.profile, func(t *testing.T) {
			e, ok := l.Match(tt.test, column(tt.kernel, tt.profile))
			assert.Equal(t, tt.reason != "", ok)
			assert.Equal(t, tt.reason, e.Reason)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for name, yaml := range map[string]string{
		"not a list": "test: x",
		"no reason":  "- test: kprobe/TestK",
		"no test":    "- reason: why",
		"bad glob":   "- {test: 'kprobe/[', reason: why}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(yaml))
			assert.True(t, errors.Is(err, ErrBadList), "Parse(%q) = %v, want ErrBadList", yaml, err)
		})
	}
}

func TestMark(t *testing.T) {
	l, err := Parse([]byte(list))
	require.NoError(t, err)
	k := column("debian-5.10", "",
		results.TestResult{Suite: "kprobe", Name: "TestKretprobe", Result: results.Fail},
		results.TestResult{Suite: "kprobe", Name: "TestKprobe", Result: results.Fail},
		results.TestResult{Suite: "faults", Name: "TestFault", Result: results.Flaky},
		results.TestResult{Suite: "faults", Name: "TestFault/sub", Result: results.Pass},
	)
	l.Mark(k)
	assert.Equal(t, results.KnownFlaky, k.Tests[0].Result, "listed and failed")
	assert.Equal(t, "perf buffer wakeups lost under TCG", k.Tests[0].KnownFlaky)
	assert.Equal(t, results.Fail, k.Tests[1].Result, "not listed: still a failure")
	assert.Equal(t, results.Flaky, k.Tests[2].Result, "listed and flaky: flaky, with the list's reason")
	assert.Equal(t, "flaky on purpose", k.Tests[2].KnownFlaky)
	assert.Empty(t, k.Tests[3].KnownFlaky, "a subtest is a row of its own")
}

func TestHistoryNoLongerFlaky(t *testing.T) {
	dir := t.TempDir()
	l, err := Parse([]byte(list))
	require.NoError(t, err)
	run := func(r results.Outcome) *results.Result {
		return &results.Result{Kernels: []results.KernelResult{*column("debian-5.10", "", results.TestResult{Suite: "kprobe", Name: "TestKretprobe", Result: r})}}
	}
	for i := 1; i < CleanRuns; i++ {
		stale, err := LoadHistory(dir).Record(dir, l, run(results.Pass))
		require.NoError(t, err)
		assert.Empty(t, stale, "run %d", i)
	}
	// A failure starts the count again.
	_, err = LoadHistory(dir).Record(dir, l, run(results.KnownFlaky))
	require.NoError(t, err)
	for i := 1; i < CleanRuns; i++ {
		stale, _ := LoadHistory(dir).Record(dir, l, run(results.Pass))
		assert.Empty(t, stale)
	}
	stale, err := LoadHistory(dir).Record(dir, l, run(results.Pass))
	require.NoError(t, err)
	assert.Equal(t, []results.StaleFlake{{Test: "kprobe/TestKretprobe", Column: "debian-5.10", Passes: CleanRuns, Reason: "perf buffer wakeups lost under TCG"}}, stale)
	_, err = os.Stat(filepath.Join(dir, historyFile))
	assert.NoError(t, err)
}
