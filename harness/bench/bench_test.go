package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// TestColdReasons checks that the bench sees an empty cache as cold, so
// that its warm run never includes downloads or the accelerator probe.
func TestColdReasons(t *testing.T) {
	dir := t.TempDir()
	store, err := kernels.Open(kernels.Options{CacheDir: dir, LockPath: filepath.Join(dir, "bpfmatrix.lock")})
	require.NoError(t, err)
	native, foreign := []string{"debian-6.1", "debian-7.2"}, []string{"debian-6.1-arm64"}
	if runtime.GOARCH == "arm64" {
		native, foreign = []string{"debian-6.1-arm64", "debian-6.12-arm64"}, []string{"debian-6.1"}
	}
	specs, err := catalog.Default().Lookup(native)
	require.NoError(t, err)
	other, err := catalog.Default().Lookup(foreign)
	require.NoError(t, err)

	assert.Equal(t, "2 kernel(s) to fetch, no accelerator verdict cached", coldReasons(store, specs))
	assert.Equal(t, "1 kernel(s) to fetch", coldReasons(store, other), "an emulated guest is never probed: no verdict to wait for")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accel.json"), []byte("{}"), 0o600))
	assert.Equal(t, "2 kernel(s) to fetch", coldReasons(store, specs))
	assert.Empty(t, coldReasons(store, nil))
}
