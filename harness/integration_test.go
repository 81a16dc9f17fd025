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
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

// inCI reports whether missing prerequisites must fail rather than skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireVMs skips (or, in CI, fails) when a QEMU the default matrix needs
// is missing.
func requireVMs(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots VMs; run without -short")
	}
	for _, arch := range []vm.Arch{vm.Arches["x86_64"], vm.Arches["aarch64"]} {
		if _, err := exec.LookPath(arch.QEMU); err != nil {
			if inCI() {
				t.Fatalf("CI=true and QEMU is missing: %v (install %s)", err, arch.Package)
			}
			t.Skipf("QEMU is missing (%v): run `make deps` or `sudo apt-get install -y %s`", err, arch.Package)
		}
	}
}

func sourceDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	return dir
}

func newStore(t *testing.T) *kernels.Store {
	t.Helper()
	store, err := kernels.Open(kernels.Options{LockPath: filepath.Join(testCache(t), "integration.lock")})
	require.NoError(t, err)
	return store
}

func runMatrix(t *testing.T, opts harness.Options) *results.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	opts.Store = newStore(t)
	opts.SourceDir = sourceDir(t)
	opts.CacheDir = opts.Store.CacheDir()
	opts.RunDir = t.TempDir()
	opts.VM.Timeout = 4 * time.Minute
	opts.Log = testWriter{t}
	res, err := harness.Run(ctx, opts)
	require.NoError(t, err)
	var out strings.Builder
	text.Write(&out, res, text.Options{})
	t.Log("\n" + out.String())
	require.True(t, res.Complete)
	return res
}

// TestDefaultMatrix boots every default kernel (x86_64 and arm64, under
// every boot profile that changes something) with every built-in suite and
// checks that each cell is what the expectation model says: passed (its
// event content checks ran inside the guest) or unsupported with the
// kernel's reason, through the expected mechanism. Then it checks that a
// wrong rule fails the run, and runs every suite again on one kernel with
// wrong expected values injected: every test that passed must now fail.
func TestDefaultMatrix(t *testing.T) {
	requireVMs(t)
	specs := catalog.Default().Defaults()
	require.GreaterOrEqual(t, len(specs), 2)

	res := runMatrix(t, harness.Options{Kernels: specs, Suites: plan.Builtin, Profiles: expect.Profiles})
	require.GreaterOrEqual(t, len(res.Kernels), len(specs))
	arches := map[string]bool{}
	profiles := map[string]bool{}
	passed := map[string]bool{}
	for _, k := range res.Kernels {
		arches[k.Kernel.Arch] = true
		profiles[k.Profile] = true
		t.Run(k.Column(), func(t *testing.T) {
			require.Equal(t, results.StatusOK, k.Status, "VM status (error: %s)", k.Error)
			require.NotNil(t, k.Guest, "hello event")
			assert.Equal(t, k.Kernel.Release, k.Guest.Release, "the guest runs the kernel we fetched")
			assert.NotEmpty(t, k.Kernel.Packages)
			assert.FileExists(t, k.ConsoleLog)
			assert.Empty(t, k.FrameErrors)
			ran := map[string]bool{}
			for _, tr := range k.Tests {
				ran[tr.Suite] = true
				if assert.NotNil(t, tr.Expect, "%s has no rule in the expectation model", tr.ID()) {
					assert.True(t, tr.Expect.Met, "%s on %s: got %s via %q, the model expects %s via %q (%s [%s])",
						tr.ID(), k.Column(), tr.Result, tr.Mechanism, tr.Expect.Outcome, tr.Expect.Mechanism, tr.Expect.Rule, tr.Expect.Source)
				}
				switch {
				case tr.Result == results.Pass && tr.Suite == "machine":
					// The guard suite checks the machine, not a hook: no
					// mechanism or event to verify, the check itself is it.
					assert.NotEmpty(t, tr.Hook, "%s reported no record", tr.ID())
				case tr.Result == results.Pass:
					assert.NotEmpty(t, tr.Hook, "%s reported no hook record", tr.ID())
					assert.NotEmpty(t, tr.Mechanism, "%s reported no mechanism", tr.ID())
					assert.Positive(t, tr.Events, "%s verified no event", tr.ID())
					if k.Column() == specs[0].Name {
						passed[tr.ID()] = true
					}
				case tr.Result == results.Unsupported:
					assert.Contains(t, tr.Reason, k.Kernel.Release, "the reason names the kernel")
				default:
					t.Errorf("%s: %s (%s)\n%s", tr.ID(), tr.Result, tr.Reason, tr.Output)
				}
			}
			for _, s := range plan.Builtin {
				assert.True(t, ran[s.Name], "suite %s reported no test", s.Name)
			}
		})
	}
	assert.True(t, res.OK(), matrix.Build(res).Summary())
	assert.Equal(t, map[string]bool{"amd64": true, "arm64": true}, arches)
	assert.True(t, profiles["lsm-bpf"], "the lsm-bpf profile ran where it changes the boot")

	// Every default x86 kernel boots unpacked through the PVH entry: the
	// compressed fallback works too, but costs about a second per boot
	// under TCG, so a refusal here is a regression (a new compression, a
	// window or trailer the unpacker gets wrong), not a detail.
	store := newStore(t)
	for _, s := range specs {
		if s.Arch != "amd64" {
			continue
		}
		k, ok := store.Cached(s)
		if assert.True(t, ok, "%s is cached after the run", s.Name) {
			path, note := k.BootImage()
			assert.Empty(t, note, "%s", s.Name)
			assert.Equal(t, "vmlinux", filepath.Base(path), "%s boots unpacked", s.Name)
		}
	}

	t.Run("a wrong rule fails the run", func(t *testing.T) {
		wrong := expect.Model{{Test: "kprobe/TestKprobe", Cases: []expect.Case{{Outcome: results.Unsupported, Why: "deliberately wrong", Source: "test"}}}}
		k := res.Kernels[0]
		k.Tests = append([]results.TestResult(nil), k.Tests...)
		major, minor, err := expect.ParseRelease(k.Kernel.Release)
		require.NoError(t, err)
		f := expect.Facts{Arch: k.Kernel.Arch, Accel: k.Accel, Major: major, Minor: minor}
		wrong.Judge(&k, f)
		judged := &results.Result{Complete: true, Kernels: []results.KernelResult{k}}
		assert.Equal(t, 1, judged.Unexpected())
		assert.False(t, judged.OK())
	})

	// The JSON results round-trip.
	path := filepath.Join(t.TempDir(), "results.json")
	require.NoError(t, res.WriteJSON(path))
	back, err := results.ReadJSON(path)
	require.NoError(t, err)
	assert.Equal(t, res.Kernels[0].Kernel, back.Kernels[0].Kernel)
	assert.Equal(t, res.Kernels[0].Tests, back.Kernels[0].Tests)

	t.Run("wrong expectations fail", func(t *testing.T) {
		require.NotEmpty(t, passed)
		wrong := runMatrix(t, harness.Options{Kernels: specs[:1], Suites: plan.Builtin, InjectWrong: []string{"all"}})
		require.Len(t, wrong.Kernels, 1)
		k := wrong.Kernels[0]
		require.Equal(t, results.StatusOK, k.Status, k.Error)
		failed := map[string]bool{}
		for _, tr := range k.Tests {
			if tr.Result == results.Fail {
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
