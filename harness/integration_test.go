package harness_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

// inCI reports whether missing prerequisites must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireVMs skips (or, in CI, fails) when QEMU is missing.
func requireVMs(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots VMs; run without -short")
	}
	if _, err := exec.LookPath(vm.Arches["x86_64"].QEMU); err != nil {
		if inCI() {
			t.Fatalf("CI=true and QEMU is missing: %v (install %s)", err, vm.Arches["x86_64"].Package)
		}
		t.Skipf("QEMU is missing (%v): run `make deps` or `sudo apt-get install -y %s`", err, vm.Arches["x86_64"].Package)
	}
}

func sourceDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	return dir
}

// TestDefaultMatrix boots every default kernel and checks that the kprobe
// suite passed on each, with the event content checks inside the guest.
func TestDefaultMatrix(t *testing.T) {
	requireVMs(t)
	specs := kernels.DefaultCatalog().Defaults()
	require.GreaterOrEqual(t, len(specs), 2)

	store, err := kernels.Open(kernels.Options{LockPath: filepath.Join(testCache(t), "integration.lock")})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := harness.Run(ctx, harness.Options{
		Kernels:   specs,
		Suites:    harness.Builtin,
		Store:     store,
		SourceDir: sourceDir(t),
		CacheDir:  store.CacheDir(),
		RunDir:    t.TempDir(),
		Timeout:   4 * time.Minute,
		Log:       testWriter{t},
	})
	require.NoError(t, err)
	var matrix strings.Builder
	res.WriteMatrix(&matrix)
	t.Log("\n" + matrix.String())

	require.True(t, res.Complete)
	require.Len(t, res.Kernels, len(specs))
	for _, k := range res.Kernels {
		t.Run(k.Kernel.Name, func(t *testing.T) {
			require.Equal(t, harness.StatusOK, k.Status, "VM status (error: %s)", k.Error)
			require.NotNil(t, k.Guest, "hello event")
			assert.Equal(t, k.Kernel.Release, k.Guest.Release, "the guest runs the kernel we fetched")
			assert.NotEmpty(t, k.Kernel.Packages)
			assert.FileExists(t, k.ConsoleLog)
			assert.Empty(t, k.FrameErrors)
			var found bool
			for _, tr := range k.Tests {
				if tr.ID() == "kprobe/TestKprobeVfsWrite" {
					found = true
					assert.Equal(t, harness.Pass, tr.Result, "output:\n%s", tr.Output)
				}
				assert.NotEqual(t, harness.Skip, tr.Result, "%s skipped in the guest: %s", tr.ID(), tr.Reason)
			}
			assert.True(t, found, "kprobe/TestKprobeVfsWrite ran")
		})
	}
	assert.True(t, res.OK(), res.Summary())

	// The JSON results round-trip.
	path := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, res.WriteJSON(path))
	back, err := harness.ReadJSON(path)
	require.NoError(t, err)
	assert.Equal(t, res.Kernels[0].Kernel, back.Kernels[0].Kernel)
}

// testCache is the cache the integration tests share with the CLI, so a
// developer's second run downloads nothing.
func testCache(t *testing.T) string {
	t.Helper()
	store, err := kernels.Open(kernels.Options{})
	require.NoError(t, err)
	return store.CacheDir()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
