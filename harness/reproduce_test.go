package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

func TestReproduceOptions(t *testing.T) {
	res := &results.Result{InjectWrong: []string{"kprobe"}, Kernels: []results.KernelResult{{
		Kernel: results.KernelInfo{Name: "debian-6.1"}, Profile: "default", Cmdline: []string{"x=y"},
		Tests: []results.TestResult{{Suite: "kprobe", Name: "TestKretprobe", Result: results.Fail}},
	}}}
	c, err := plan.FindCell(res, catalog.Default(), "debian-6.1", "TestKretprobe")
	require.NoError(t, err)
	o := ReproduceOptions(c, runner.Setup{})
	assert.Equal(t, "^TestKretprobe$", o.Run)
	assert.Equal(t, []string{"kprobe"}, o.InjectWrong)
	assert.Equal(t, "default", o.Profiles[0].Name)
	require.Len(t, o.Suites, 1)
	assert.Equal(t, "kprobe", o.Suites[0].Name)

	sh := ReproduceShell(c, runner.Setup{})
	assert.Equal(t, []string{"x=y"}, sh.Append, "the column's boot profile")
	assert.Equal(t, "mkdir -p /tmp/kprobe && cd /tmp/kprobe && BPFMATRIX_GUEST=1 BPFMATRIX_INJECT=kprobe /bpfmatrix/tests/tests.test -test.v -test.run '^TestSuites$/^kprobe$/^TestKretprobe$'; echo; echo \"bpfmatrix: the test's files are in /tmp/kprobe; exit or Ctrl-] quits\"", sh.Before)
}
