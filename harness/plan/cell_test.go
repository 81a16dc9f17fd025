package plan

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
)

func reproduceFixture() *results.Result {
	col := func(name, profile string, tests ...results.TestResult) results.KernelResult {
		return results.KernelResult{Kernel: results.KernelInfo{Name: name, Release: "6.1.0-50-cloud-amd64",
			Packages: []results.PackageInfo{{Name: "linux-image-6.1.0-50-cloud-amd64", Version: "6.1.137-1", SHA256: "aa"}}},
			Profile: profile, Status: results.StatusOK, Tests: tests}
	}
	fail := results.TestResult{Suite: "kprobe", Name: "TestKretprobe", Result: results.Fail}
	return &results.Result{InjectWrong: []string{"kprobe"}, Kernels: []results.KernelResult{
		col("debian-6.1", "default", fail, results.TestResult{Suite: "tc", Name: "TestTC/netlink", Result: results.Fail}),
		col("debian-5.10", "default", fail),
		col("debian-5.10", "lsm-bpf", fail, results.TestResult{Suite: "lsm", Name: "TestLSMFileOpen", Result: results.Pass}),
	}}
}

func TestFindCell(t *testing.T) {
	res := reproduceFixture()
	c, err := FindCell(res, catalog.Default(), "debian-6.1", "TestKretprobe")
	require.NoError(t, err)
	assert.Equal(t, "kprobe/TestKretprobe", c.Test.ID())
	assert.Equal(t, "debian-6.1", c.Spec.Name)
	assert.Equal(t, "kprobe", c.Suite.Name)
	assert.Equal(t, "^TestKretprobe$", c.Run)
	assert.Equal(t, []string{"kprobe"}, c.InjectWrong, "the run's --inject-wrong comes along")

	c, err = FindCell(res, catalog.Default(), "debian-5.10", "kprobe/TestKretprobe")
	require.NoError(t, err)
	assert.Equal(t, "default", c.Profile.Name, "a kernel's name is the label of its default column")

	c, err = FindCell(res, catalog.Default(), "debian-5.10+lsm-bpf", "lsm/TestLSMFileOpen")
	require.NoError(t, err)
	assert.Equal(t, "lsm-bpf", c.Profile.Name, "the column's profile")

	c, err = FindCell(res, catalog.Default(), "debian-6.1", "tc/TestTC/netlink")
	require.NoError(t, err)
	assert.Equal(t, "^TestTC$/^netlink$", c.Run)

	for _, tt := range []struct{ col, test string }{
		{"debian-7.2", "kprobe/TestKretprobe"}, // no such column
		{"debian-6.1", "TestNope"},             // no such test
	} {
		_, err := FindCell(res, catalog.Default(), tt.col, tt.test)
		assert.True(t, errors.Is(err, ErrNoCell), "FindCell(%s, %s) = %v, want ErrNoCell", tt.col, tt.test, err)
	}
}

func TestCheckPinned(t *testing.T) {
	c, err := FindCell(reproduceFixture(), catalog.Default(), "debian-6.1", "TestKretprobe")
	require.NoError(t, err)
	pkg := func(sha string) []debian.Package {
		return []debian.Package{{Name: "linux-image-6.1.0-50-cloud-amd64", Version: "6.1.137-1", SHA256: sha}}
	}
	assert.NoError(t, c.CheckPinned(&kernels.Kernel{Release: "6.1.0-50-cloud-amd64", Packages: pkg("aa")}))
	err = c.CheckPinned(&kernels.Kernel{Release: "6.1.0-51-cloud-amd64", Packages: pkg("aa")})
	assert.True(t, errors.Is(err, ErrNotPinned), "another release: %v", err)
	err = c.CheckPinned(&kernels.Kernel{Release: "6.1.0-50-cloud-amd64", Packages: pkg("bb")})
	assert.True(t, errors.Is(err, ErrNotPinned), "another package: %v", err)
}
