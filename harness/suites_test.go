package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

func TestTestPackagesBuildsSharedBinaryOnce(t *testing.T) {
	faults := Suite{Name: "faults", Package: "./tests/faults"}
	pkgs := TestPackages(append(append([]Suite(nil), Builtin...), faults))
	require.Len(t, pkgs, 2)
	assert.Equal(t, "tests", pkgs[0].Name)
	assert.Equal(t, "./tests", pkgs[0].ImportPath)
	assert.Equal(t, "tests-faults", pkgs[1].Name)
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
