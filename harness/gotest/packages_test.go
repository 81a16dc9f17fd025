package gotest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is bpfmatrix test's fixture module (see cmd/bpfmatrix's
// integration test).
const fixture = "../../cmd/bpfmatrix/testdata/usertest"

func TestListAndBuildTestPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds test binaries")
	}
	sub, _, err := ListPackages(t.Context(), fixture+"/pass", "amd64", nil)
	require.NoError(t, err)
	require.Len(t, sub, 1, "./... is relative to the directory, as for go test")
	assert.Equal(t, "pass", sub[0].Name)

	pkgs, module, err := ListPackages(t.Context(), fixture, "amd64", nil)
	require.NoError(t, err)
	assert.Equal(t, "example.com/usertest", module)
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"broken", "expect", "fail", "pass"}, names, "./... of the module, without the package that has no tests")
	abs, _ := filepath.Abs(fixture + "/pass")
	assert.Equal(t, Package{ImportPath: "example.com/usertest/pass", Dir: abs, Name: "pass"}, pkgs[3])

	dir := t.TempDir()
	var built []Build
	bins, broken := BuildBinaries(t.Context(), fixture, "amd64", dir, pkgs, nil, 2, func(b Build) { built = append(built, b) })
	assert.Len(t, built, 4, "a progress call per package")
	assert.Equal(t, map[string]string{
		"expect": filepath.Join(dir, "expect.test"), "fail": filepath.Join(dir, "fail.test"), "pass": filepath.Join(dir, "pass.test"),
	}, bins)
	require.Len(t, broken, 1)
	assert.Equal(t, "broken", broken[0].Package)
	assert.Contains(t, broken[0].Error(), "package broken does not build for amd64:")
	assert.Contains(t, broken[0].Output, `cannot use "not an int"`)
	_, err = os.Stat(filepath.Join(dir, "broken.test"))
	assert.True(t, os.IsNotExist(err), "no binary for a broken package")
}

func TestListTestPackagesNotAModule(t *testing.T) {
	_, _, err := ListPackages(t.Context(), t.TempDir(), "amd64", nil)
	assert.ErrorIs(t, err, ErrNotModule)
}

func TestDistinctExeNames(t *testing.T) {
	assert.Equal(t, "ebpf.test", exeName("github.com/cilium/ebpf"))
	assert.Equal(t, "ebpf.test", exeName("github.com/cilium/ebpf/v2"), "go names a /vN package after the element before")
	assert.Equal(t, "v2.test", exeName("v2"))
	pkgs := []Package{
		{ImportPath: "m/internal", Name: "internal"},
		{ImportPath: "m/link", Name: "link"},
		{ImportPath: "m/cmd/gen/internal", Name: "cmd/gen/internal"},
		{ImportPath: "m/a/internal", Name: "a/internal"},
		{ImportPath: "m/btf", Name: "btf"},
	}
	groups := distinctExeNames(pkgs)
	require.Len(t, groups, 3, "three packages named internal: three go commands")
	assert.Equal(t, []Package{pkgs[0], pkgs[1], pkgs[4]}, groups[0])
	assert.Equal(t, []Package{pkgs[2]}, groups[1])
	assert.Equal(t, []Package{pkgs[3]}, groups[2])
}
