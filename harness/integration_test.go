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

// allowedUnsupported lists the cells that may be "unsupported", by test and
// kernel series, with the reason the kernel gives. Anything else that comes
// back unsupported fails the test: a regression must not hide as
// "unsupported".
var allowedUnsupported = map[string]map[string]string{
	"perf/TestPerfEventHardware": {"*": "TCG has no PMU"},
	"tc/TestTCX":                 {"5.10": "TCX needs 6.6", "6.1": "TCX needs 6.6"},
	"lsm/TestLSMFileOpen":        {"5.10": "Debian 5.10's CONFIG_LSM lacks bpf"},
}

func unsupportedAllowed(test, version string) bool {
	m := allowedUnsupported[test]
	_, all := m["*"]
	_, v := m[version]
	return all || v
}

func newStore(t *testing.T) *kernels.Store {
	t.Helper()
	store, err := kernels.Open(kernels.Options{LockPath: filepath.Join(testCache(t), "integration.lock")})
	require.NoError(t, err)
	return store
}

func runMatrix(t *testing.T, opts harness.Options) *harness.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	opts.Store = newStore(t)
	opts.SourceDir = sourceDir(t)
	opts.CacheDir = opts.Store.CacheDir()
	opts.RunDir = t.TempDir()
	opts.Timeout = 4 * time.Minute
	opts.Log = testWriter{t}
	res, err := harness.Run(ctx, opts)
	require.NoError(t, err)
	var matrix strings.Builder
	res.WriteMatrix(&matrix)
	t.Log("\n" + matrix.String())
	require.True(t, res.Complete)
	return res
}

// TestDefaultMatrix boots every default kernel with every built-in suite
// and checks that each test passed (its event content checks ran inside
// the guest) or was reported unsupported where that is expected. Then it
// runs every suite again on one kernel with wrong expectations injected and
// checks that every test that passed now fails: the checks can fail.
func TestDefaultMatrix(t *testing.T) {
	requireVMs(t)
	specs := kernels.DefaultCatalog().Defaults()
	require.GreaterOrEqual(t, len(specs), 2)

	res := runMatrix(t, harness.Options{Kernels: specs, Suites: harness.Builtin})
	require.Len(t, res.Kernels, len(specs))
	passed := map[string]bool{}
	for _, k := range res.Kernels {
		t.Run(k.Kernel.Name, func(t *testing.T) {
			require.Equal(t, harness.StatusOK, k.Status, "VM status (error: %s)", k.Error)
			require.NotNil(t, k.Guest, "hello event")
			assert.Equal(t, k.Kernel.Release, k.Guest.Release, "the guest runs the kernel we fetched")
			assert.NotEmpty(t, k.Kernel.Packages)
			assert.FileExists(t, k.ConsoleLog)
			assert.Empty(t, k.FrameErrors)
			ran := map[string]bool{}
			for _, tr := range k.Tests {
				ran[tr.Suite] = true
				switch tr.Result {
				case harness.Pass:
					assert.NotEmpty(t, tr.Hook, "%s reported no hook record", tr.ID())
					assert.NotEmpty(t, tr.Mechanism, "%s reported no mechanism", tr.ID())
					assert.Positive(t, tr.Events, "%s verified no event", tr.ID())
					if k.Kernel.Name == specs[0].Name {
						passed[tr.ID()] = true
					}
				case harness.Unsupported:
					assert.True(t, unsupportedAllowed(tr.ID(), k.Kernel.Version),
						"%s unsupported on %s, which should support it: %s", tr.ID(), k.Kernel.Name, tr.Reason)
					assert.Contains(t, tr.Reason, k.Kernel.Release, "the reason names the kernel")
				default:
					t.Errorf("%s: %s (%s)\n%s", tr.ID(), tr.Result, tr.Reason, tr.Output)
				}
			}
			for _, s := range harness.Builtin {
				assert.True(t, ran[s.Name], "suite %s reported no test", s.Name)
			}
		})
	}
	assert.True(t, res.OK(), res.Summary())

	// The JSON results round-trip.
	path := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, res.WriteJSON(path))
	back, err := harness.ReadJSON(path)
	require.NoError(t, err)
	assert.Equal(t, res.Kernels[0].Kernel, back.Kernels[0].Kernel)
	assert.Equal(t, res.Kernels[0].Tests, back.Kernels[0].Tests)

	t.Run("wrong expectations fail", func(t *testing.T) {
		require.NotEmpty(t, passed)
		wrong := runMatrix(t, harness.Options{Kernels: specs[:1], Suites: harness.Builtin, InjectWrong: []string{"all"}})
		require.Len(t, wrong.Kernels, 1)
		k := wrong.Kernels[0]
		require.Equal(t, harness.StatusOK, k.Status, k.Error)
		failed := map[string]bool{}
		for _, tr := range k.Tests {
			if tr.Result == harness.Fail {
				failed[tr.ID()] = true
			}
		}
		for id := range passed {
			assert.True(t, failed[id], "%s passed with wrong expected values: its checks cannot fail", id)
		}
		assert.False(t, wrong.OK())
	})
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
