package kernels_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/kernels"

	"github.com/bpfmatrix/bpfmatrix/kernels/apt"

	"github.com/bpfmatrix/bpfmatrix/kernels/lock"

	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
	"github.com/bpfmatrix/bpfmatrix/kernels/internal/testmirror"
)

const (
	sidOld    = "7.2.10+deb14-cloud-amd64"
	sidNew    = "7.2.13+deb14-cloud-amd64"
	bullseye  = "5.10.0-32-cloud-amd64"
	trixieRel = "6.12.117+deb13-cloud-amd64"
)

type env struct {
	mirror   *testmirror.Mirror
	cacheDir string
	lockPath string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := testmirror.New(t)
	m.Add("bullseye", "amd64", testmirror.Classic("5.10.0-30-cloud-amd64", "5.10.218-1", ""))
	m.Add("bullseye", "amd64", testmirror.Classic(bullseye, "5.10.223-1", ""))
	m.Add("trixie", "amd64", testmirror.Classic(trixieRel, "6.12.117-1", "usr/"))
	m.AddAll("sid", "amd64", testmirror.Split(sidOld, "7.2.10-1"))
	m.AddAll("sid", "amd64", testmirror.Split(sidNew, "7.2.13-1"))
	dir := t.TempDir()
	return &env{mirror: m, cacheDir: filepath.Join(dir, "cache"), lockPath: filepath.Join(dir, "bpfmatrix.lock")}
}

func (e *env) open(t *testing.T) *kernels.Store {
	t.Helper()
	s, err := kernels.Open(kernels.Options{CacheDir: e.cacheDir, LockPath: e.lockPath, Mirror: e.mirror.URL + "/", HTTPClient: e.mirror.Client()})
	require.NoError(t, err)
	return s
}

func spec(t *testing.T, name string) catalog.Spec {
	t.Helper()
	specs, err := catalog.Default().Lookup([]string{name})
	require.NoError(t, err)
	return specs[0]
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// assertCacheClean checks that the kernels cache holds only finished
// kernel directories and lock files: no .deb files and no temp dirs.
func assertCacheClean(t *testing.T, cacheDir string, wantKernels int) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cacheDir, "kernels"))
	require.NoError(t, err)
	n := 0
	for _, e := range entries {
		switch {
		case strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".lock"):
		case e.IsDir() && !strings.HasPrefix(e.Name(), "."):
			n++
			assert.FileExists(t, filepath.Join(cacheDir, "kernels", e.Name(), "kernel.json"))
		default:
			t.Errorf("unexpected cache entry %q", e.Name())
		}
	}
	assert.Equal(t, wantKernels, n, "finished kernel directories")
	filepath.WalkDir(cacheDir, func(p string, d os.DirEntry, err error) error {
		assert.False(t, strings.HasSuffix(p, ".deb"), "leftover download %s", p)
		return nil
	})
}

func TestPullLayouts(t *testing.T) {
	tests := []struct {
		name, release string
		packages      int
		modules       []string
	}{
		{"debian-5.10", bullseye, 1, []string{"kernel/net/sched/sch_netem.ko", "kernel/drivers/net/veth.ko.xz", "modules.order", "modules.builtin"}},
		{"debian-6.12", trixieRel, 1, []string{"kernel/net/sched/sch_netem.ko", "modules.order"}},
		{"debian-7.2", sidNew, 4, []string{"kernel/net/sched/sch_netem.ko.zst", "kernel/drivers/net/veth.ko.xz", "modules.order", "modules.builtin", "modules.builtin.modinfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var phases sync.Map
			s, err := kernels.Open(kernels.Options{CacheDir: e.cacheDir, LockPath: e.lockPath, Mirror: e.mirror.URL, HTTPClient: e.mirror.Client(),
				Progress: func(kernel, phase string, done, total int64) {
					assert.Equal(t, tt.name, kernel)
					phases.Store(phase, true)
				}})
			require.NoError(t, err)
			k, err := s.Pull(context.Background(), spec(t, tt.name))
			require.NoError(t, err)

			assert.Equal(t, tt.release, k.Release)
			assert.Len(t, k.Packages, tt.packages)
			assert.Equal(t, string(testmirror.Vmlinuz(tt.release)), readFile(t, k.Vmlinuz))
			assert.Equal(t, testmirror.Config, readFile(t, k.Config))
			assert.Equal(t, filepath.Join(k.Dir, "modules", tt.release), k.ModulesDir)
			for _, m := range tt.modules {
				assert.FileExists(t, filepath.Join(k.ModulesDir, m))
			}
			assert.NoFileExists(t, filepath.Join(k.ModulesDir, "System.map"))
			assert.NoFileExists(t, filepath.Join(k.ModulesDir, "vmlinuz"))
			assert.NoFileExists(t, filepath.Join(k.ModulesDir, "config"))
			assert.True(t, strings.HasPrefix(filepath.Base(k.Dir), tt.name+"-"+tt.release+"-"), k.Dir)

			v, err := k.ConfigValue("CONFIG_BPF")
			require.NoError(t, err)
			assert.Equal(t, "y", v)
			v, err = k.ConfigValue("LOCALVERSION")
			require.NoError(t, err)
			assert.Equal(t, "-test", v)
			v, err = k.ConfigValue("DEBUG_INFO_BTF")
			require.NoError(t, err)
			assert.Equal(t, "n", v)
			v, err = k.ConfigValue("NOPE")
			require.NoError(t, err)
			assert.Equal(t, "", v)

			for _, p := range []string{kernels.PhaseIndex, kernels.PhaseDownload, kernels.PhaseExtract} {
				_, ok := phases.Load(p)
				assert.True(t, ok, "progress phase %s reported", p)
			}
			l, err := lock.Load(e.lockPath)
			require.NoError(t, err)
			assert.Equal(t, tt.release, l.Kernels[tt.name].Release)
			assertCacheClean(t, e.cacheDir, 1)

			cached, ok := s.Cached(spec(t, tt.name))
			require.True(t, ok)
			assert.Equal(t, k, cached)
		})
	}
}

func TestSecondPullUsesNoNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k1, err := e.open(t).Pull(ctx, spec(t, "debian-7.2"))
	require.NoError(t, err)
	n := e.mirror.TotalRequests()
	assert.Equal(t, 4, e.mirror.DebRequests())

	k2, err := e.open(t).Pull(ctx, spec(t, "debian-7.2"))
	require.NoError(t, err)
	assert.Equal(t, k1, k2)
	assert.Equal(t, n, e.mirror.TotalRequests(), "second Pull must not touch the network")
}

func TestLockPinsVersionUntilUpdate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k, err := e.open(t).Pull(ctx, spec(t, "debian-7.2"))
	require.NoError(t, err)
	require.Equal(t, sidNew, k.Release)

	const newer = "7.2.14+deb14-cloud-amd64"
	e.mirror.AddAll("sid", "amd64", testmirror.Split(newer, "7.2.14-1"))
	// A fresh cache forces downloads, but the lock keeps the old release.
	e.cacheDir = filepath.Join(t.TempDir(), "cache2")
	indexReqs := e.mirror.Requests("dists/sid/Release")
	k, err = e.open(t).Pull(ctx, spec(t, "debian-7.2"))
	require.NoError(t, err)
	assert.Equal(t, sidNew, k.Release)
	assert.Equal(t, indexReqs, e.mirror.Requests("dists/sid/Release"), "pinned Pull must not fetch the index")

	ks, err := e.open(t).Update(ctx, []catalog.Spec{spec(t, "debian-7.2")})
	require.NoError(t, err)
	require.Len(t, ks, 1)
	assert.Equal(t, newer, ks[0].Release)
	l, err := lock.Load(e.lockPath)
	require.NoError(t, err)
	assert.Equal(t, newer, l.Kernels["debian-7.2"].Release)
	assert.Equal(t, "7.2.14-1", l.Kernels["debian-7.2"].Version)

	k, err = e.open(t).Pull(ctx, spec(t, "debian-7.2"))
	require.NoError(t, err)
	assert.Equal(t, newer, k.Release)
}

func TestPullFailuresLeaveNothing(t *testing.T) {
	deb := "pool/main/l/linux-modules-" + sidNew + "/linux-modules-" + sidNew + "_7.2.13-1_amd64.deb"
	tests := []struct {
		name        string
		breakMirror func(m *testmirror.Mirror)
		check       func(t *testing.T, err error, m *testmirror.Mirror)
	}{
		{"checksum", func(m *testmirror.Mirror) { m.Corrupt(deb) }, func(t *testing.T, err error, _ *testmirror.Mirror) {
			require.ErrorIs(t, err, debian.ErrChecksum)
			assert.Contains(t, err.Error(), "linux-modules-"+sidNew)
		}},
		{"truncated", func(m *testmirror.Mirror) { m.Truncate(deb, true) }, func(t *testing.T, err error, _ *testmirror.Mirror) {
			require.ErrorIs(t, err, debian.ErrChecksum)
		}},
		{"http 500", func(m *testmirror.Mirror) { m.SetStatus(deb, http.StatusInternalServerError) }, func(t *testing.T, err error, m *testmirror.Mirror) {
			var he *debian.HTTPError
			require.ErrorAs(t, err, &he)
			assert.Contains(t, err.Error(), m.URL+"/"+deb)
			assert.Contains(t, err.Error(), "500")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.breakMirror(e.mirror)
			s := e.open(t)
			_, err := s.Pull(context.Background(), spec(t, "debian-7.2"))
			tt.check(t, err, e.mirror)
			assertCacheClean(t, e.cacheDir, 0)
			_, ok := s.Cached(spec(t, "debian-7.2"))
			assert.False(t, ok)
		})
	}
}

func TestPinnedPackageGone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.open(t).Pull(ctx, spec(t, "debian-5.10"))
	require.NoError(t, err)

	e.cacheDir = filepath.Join(t.TempDir(), "cache2")
	e.mirror.Remove("pool/main/l/linux-image-" + bullseye + "/linux-image-" + bullseye + "_5.10.223-1_amd64.deb")
	_, err = e.open(t).Pull(ctx, spec(t, "debian-5.10"))
	require.ErrorIs(t, err, kernels.ErrPinnedGone)
	assert.Contains(t, err.Error(), "bpfmatrix kernels update debian-5.10")
	assert.Contains(t, err.Error(), "5.10.223-1")
}

func TestConcurrentPulls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Two Store instances stand in for two processes (separate flock file
	// descriptors); each is used by two goroutines.
	stores := []*kernels.Store{e.open(t), e.open(t)}
	var wg sync.WaitGroup
	results := make([]*kernels.Kernel, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = stores[i%2].Pull(ctx, spec(t, "debian-7.2"))
		}()
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		assert.Equal(t, results[0], results[i])
	}
	assert.Equal(t, 4, e.mirror.DebRequests(), "each of the 4 packages downloaded exactly once")
	assert.Equal(t, 1, e.mirror.Requests("dists/sid/main/binary-amd64/Packages.xz"), "index fetched once")
	assertCacheClean(t, e.cacheDir, 1)
}

func TestStaleTempDirsAreCleaned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.open(t)
	k, err := s.Pull(ctx, spec(t, "debian-5.10"))
	require.NoError(t, err)
	key := filepath.Base(k.Dir)
	// Simulate a process that died mid-pull and a cache emptied by hand.
	require.NoError(t, os.RemoveAll(k.Dir))
	stale := filepath.Join(e.cacheDir, "kernels", ".tmp-"+key+"-12345")
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(stale, "1.deb"), []byte("partial"), 0o644))
	_, ok := s.Cached(spec(t, "debian-5.10"))
	assert.False(t, ok)

	_, err = s.Pull(ctx, spec(t, "debian-5.10"))
	require.NoError(t, err)
	assert.NoDirExists(t, stale)
	assertCacheClean(t, e.cacheDir, 1)
}

func TestMirrorResolvedLazily(t *testing.T) {
	t.Setenv(apt.EnvMirror, "")
	dir := t.TempDir()
	s, err := kernels.Open(kernels.Options{CacheDir: filepath.Join(dir, "cache"), LockPath: filepath.Join(dir, "lock"), APTRoot: filepath.Join(dir, "noapt")})
	require.NoError(t, err, "Open must not need a mirror")
	_, ok := s.Cached(spec(t, "debian-6.1"))
	assert.False(t, ok)
	_, err = s.Pull(context.Background(), spec(t, "debian-6.1"))
	require.ErrorIs(t, err, debian.ErrNoMirror)
	assert.Contains(t, err.Error(), "set BPFMATRIX_DEBIAN_MIRROR=<URL of a Debian mirror> or pass --mirror")

	t.Setenv(apt.EnvMirror, "http://mirror.example.invalid/debian/")
	s, err = kernels.Open(kernels.Options{CacheDir: filepath.Join(dir, "cache"), LockPath: filepath.Join(dir, "lock")})
	require.NoError(t, err)
	m, err := s.Mirror()
	require.NoError(t, err)
	assert.Equal(t, "http://mirror.example.invalid/debian", m)
}

func TestOpenCacheDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := kernels.Open(kernels.Options{CacheDir: filepath.Join(file, "cache")})
	require.ErrorIs(t, err, kernels.ErrCache)
	assert.Contains(t, err.Error(), filepath.Join(file, "cache"))
	assert.Contains(t, err.Error(), "BPFMATRIX_CACHE")

	t.Setenv(kernels.EnvCache, filepath.Join(dir, "fromenv"))
	s, err := kernels.Open(kernels.Options{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "fromenv"), s.CacheDir())

	t.Setenv(kernels.EnvCache, "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "xdg"))
	s, err = kernels.Open(kernels.Options{})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "xdg", "bpfmatrix"), s.CacheDir())
	wd, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(wd, kernels.DefaultLockPath), s.LockPath())
}

// TestPullTwoProcesses re-executes the test binary twice to pull the same
// kernel from two real processes at once.
func TestPullTwoProcesses(t *testing.T) {
	if os.Getenv("BPFMATRIX_TEST_CHILD") != "" {
		t.Skip("child process")
	}
	e := newEnv(t)
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildPull$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BPFMATRIX_TEST_CHILD=1",
			kernels.EnvCache+"="+e.cacheDir, apt.EnvMirror+"="+e.mirror.URL, "BPFMATRIX_TEST_LOCK="+e.lockPath)
		cmds = append(cmds, cmd)
	}
	outs := make([][]byte, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range cmds {
		require.NoError(t, errs[i], "child %d:\n%s", i, outs[i])
		assert.Contains(t, string(outs[i]), "PASS")
		assert.NotContains(t, string(outs[i]), "SKIP", "child must actually run")
	}
	assert.Equal(t, 4, e.mirror.DebRequests(), "each package downloaded once across processes")
	assertCacheClean(t, e.cacheDir, 1)
}

// TestChildPull is the body of the child processes of TestPullTwoProcesses.
func TestChildPull(t *testing.T) {
	if os.Getenv("BPFMATRIX_TEST_CHILD") == "" {
		t.Skip("only runs as a child of TestPullTwoProcesses")
	}
	s, err := kernels.Open(kernels.Options{LockPath: os.Getenv("BPFMATRIX_TEST_LOCK")})
	require.NoError(t, err)
	k, err := s.Pull(context.Background(), spec(t, "debian-7.2"))
	require.NoError(t, err)
	assert.Equal(t, sidNew, k.Release)
}

// TestIndexesReadConcurrently checks that kernels that are not pinned
// resolve their indexes at once, not one after another behind the lock
// file's lock: each index request waits (up to 3 s) for the other.
func TestIndexesReadConcurrently(t *testing.T) {
	e := newEnv(t)
	e.mirror.MeetAtIndexes(2, 3*time.Second)
	s := e.open(t)
	var wg sync.WaitGroup
	names := []string{"debian-7.2", "debian-6.12"}
	errs := make([]error, len(names))
	t0 := time.Now()
	for i, name := range names {
		wg.Go(func() { _, errs[i] = s.Pull(context.Background(), spec(t, name)) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 2, e.mirror.MaxConcurrentIndexes(), "the two kernels' indexes are read at once")
	assert.Less(t, time.Since(t0), 3*time.Second, "no index request waited out the rendezvous")
	l, err := s.LoadLock()
	require.NoError(t, err)
	assert.Len(t, l.Kernels, 2, "both pins saved: the lock file's read-modify-write lost neither")
}
