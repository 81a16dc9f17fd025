package expect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestReadConfigAndLSM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(path, []byte("# comment\nCONFIG_BPF_LSM=y\n# CONFIG_FPROBE is not set\nCONFIG_LSM=\"lockdown,yama\"\nCONFIG_HZ=250\n"), 0o644))
	cfg, err := ReadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, "y", cfg["CONFIG_BPF_LSM"])
	assert.Equal(t, "n", cfg["CONFIG_FPROBE"])
	assert.Equal(t, "lockdown,yama", cfg["CONFIG_LSM"])
	assert.Equal(t, []string{"lockdown", "yama"}, BootLSM(cfg, nil))
	assert.Equal(t, []string{"bpf"}, BootLSM(cfg, []string{"quiet", "lsm=bpf"}))

	_, err = ReadConfig(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	_, _, err = ParseRelease("vmlinuz")
	require.ErrorContains(t, err, "vmlinuz")
}

// TestExpectWithoutConfig: a kernel that came without a config (an OCI
// image, a local build) gets no guess for a rule that reads the config,
// and a plain expectation for a rule that does not.
func TestExpectWithoutConfig(t *testing.T) {
	m := Model{
		TrampolineRule("s/TestFentry"),
		PassRule("s/TestKprobe", "always"),
	}
	f := Facts{Arch: "amd64", Major: 6, Minor: 12}
	e := m.Expect("s/TestFentry", f)
	require.NotNil(t, e)
	assert.True(t, e.Undecided)
	assert.Contains(t, e.Rule, "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS")
	e = m.Expect("s/TestKprobe", f)
	require.NotNil(t, e)
	assert.False(t, e.Undecided)
	assert.Equal(t, results.Pass, e.Outcome)

	kr := &results.KernelResult{Tests: []results.TestResult{
		{Suite: "s", Name: "TestFentry", Result: results.Pass, Mechanism: "bpf_link (tracing)"},
		{Suite: "s", Name: "TestKprobe", Result: results.Fail},
	}}
	m.Judge(kr, f)
	assert.False(t, kr.Tests[0].Expect.Met, "undecided is not met")
	res := &results.Result{Kernels: []results.KernelResult{*kr}}
	assert.Equal(t, 1, res.Unexpected(), "only the decided cell counts")

	f.Config = map[string]string{"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS": "y"}
	e = m.Expect("s/TestFentry", f)
	assert.False(t, e.Undecided, "with a config the rule decides")
}

func TestJudgeSplats(t *testing.T) {
	ubsan := func() []results.Splat {
		return []results.Splat{
			{Kind: "ubsan", Lines: []string{"[ 10.8] UBSAN: shift-out-of-bounds in /build/linux-7.2.13/kernel/bpf/inode.c:756:15"}},
			{Kind: "warning", Lines: []string{"[ 11.0] WARNING: CPU: 0 PID: 1 at kernel/bpf/verifier.c:1 f"}},
		}
	}
	f := Facts{Major: 7, Minor: 2, Config: map[string]string{"CONFIG_UBSAN_SHIFT": "y"}}
	s := ubsan()
	JudgeSplats(KnownSplats, s, f)
	assert.Contains(t, s[0].Known, "seq_print_delegate_opts")
	assert.NotEmpty(t, s[0].Source)
	assert.Empty(t, s[1].Known, "any other splat stays unknown")
	kr := results.KernelResult{Splats: s}
	assert.Equal(t, 1, kr.UnknownSplats())

	s = ubsan()
	JudgeSplats(KnownSplats, s, Facts{Major: 6, Minor: 1, Config: f.Config})
	assert.Empty(t, s[0].Known, "before 6.9 there is no delegation: the splat is news")
}
