package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
)

func TestTestPackagesBuildsSharedBinaryOnce(t *testing.T) {
	faults := plan.Suite{Name: "faults", Package: "./tests/faults"}
	pkgs := TestPackages(append(append([]plan.Suite(nil), plan.Builtin...), faults))
	require.Len(t, pkgs, 2)
	assert.Equal(t, "tests", pkgs[0].Name)
	assert.Equal(t, "./tests", pkgs[0].ImportPath)
	assert.Equal(t, "tests-faults", pkgs[1].Name)
}
