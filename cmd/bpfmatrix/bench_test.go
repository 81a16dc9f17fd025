package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// TestColdReasons checks that the bench sees an empty cache as cold, so
// that its warm run never includes downloads or the accelerator probe.
func TestColdReasons(t *testing.T) {
	dir := t.TempDir()
	store, err := kernels.Open(kernels.Options{CacheDir: dir, LockPath: filepath.Join(dir, "bpfmatrix.lock")})
	require.NoError(t, err)
	specs, err := kernels.DefaultCatalog().Lookup([]string{"debian-6.1", "debian-7.2"})
	require.NoError(t, err)

	assert.Equal(t, "2 kernel(s) to fetch, no accelerator verdict cached", coldReasons(store, specs))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accel.json"), []byte("{}"), 0o600))
	assert.Equal(t, "2 kernel(s) to fetch", coldReasons(store, specs))
	assert.Empty(t, coldReasons(store, nil))
}
