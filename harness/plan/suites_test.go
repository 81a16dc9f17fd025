package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/tests"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
)

// TestBuiltinMatchesTestsPackage checks that the harness's list of built-in
// suites is the one the test binary runs, in the same order and under the
// same parent test.
func TestBuiltinMatchesTestsPackage(t *testing.T) {
	var want []string
	for _, s := range tests.All {
		want = append(want, s.Name)
		require.NotEmpty(t, s.Tests, "suite %s has no tests", s.Name)
	}
	var got []string
	for _, s := range Builtin {
		got = append(got, s.Name)
		assert.Equal(t, suite.Parent, s.Parent, s.Name)
		assert.Equal(t, "./tests", s.Package, s.Name)
		assert.Equal(t, "github.com/bpfmatrix/bpfmatrix/tests/"+s.Name, s.ImportPath(), "results name the suite's own package")
	}
	assert.Equal(t, want, got)
}

func TestCheckRun(t *testing.T) {
	for _, ok := range []string{"", "TestKprobe$", "TestA|TestB", "TestTC/netlink", "Test[/]x", "(a/b)", `a\/b`} {
		assert.NoError(t, CheckRun(ok), ok)
	}
	for _, bad := range []string{"TestK(", "TestA/[b", "ok/x)"} {
		err := CheckRun(bad)
		require.Error(t, err, bad)
		assert.ErrorContains(t, err, "is not a valid test selection")
	}
	assert.Equal(t, []string{"a", "b(c/d)", "[e/f]"}, splitRun("a/b(c/d)/[e/f]"))
}

func TestSelectSuites(t *testing.T) {
	s, err := SelectSuites("")
	require.NoError(t, err)
	assert.Equal(t, Builtin, s)
	s, err = SelectSuites("^(kprobe|tc)$")
	require.NoError(t, err)
	assert.Len(t, s, 2)
	s, err = SelectSuites("^kprobe$")
	require.NoError(t, err)
	require.Len(t, s, 1)
	_, err = SelectSuites("nosuch")
	require.ErrorContains(t, err, "matches no suite")
	assert.ErrorContains(t, err, "kprobe")
	_, err = SelectSuites("(")
	require.ErrorContains(t, err, "not a valid regular expression")
}

func TestSelectionKey(t *testing.T) {
	key := func(run string, suites ...string) string {
		t.Helper()
		var ss []Suite
		for _, n := range suites {
			ss = append(ss, Suite{Name: n})
		}
		p, err := New([]catalog.Spec{{Name: "k"}}, nil, ss, run, nil)
		require.NoError(t, err)
		return p.SelectionKey()
	}
	a := key("", "kprobe", "tc")
	b := key("", "kprobe")
	c := key("TestKprobe$", "kprobe", "tc")
	assert.Equal(t, a, key("", "kprobe", "tc"))
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, a, c)
}
