package harness_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/flaky"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

// faultSuite breaks the guest on purpose (tests/faults).
var faultSuite = plan.Suite{Name: "faults", Package: "./tests/faults", Timeout: 10 * time.Minute}

// faultKernel is the kernel the fault tests boot: one is enough.
func faultKernel(t *testing.T) []catalog.Spec {
	t.Helper()
	specs, err := catalog.Default().Lookup([]string{"debian-6.1"})
	require.NoError(t, err)
	return specs
}

// runFault runs the fault suite with fault injected and returns the one
// column.
func runFault(t *testing.T, fault string, timeout time.Duration, onProgress func(results.Progress)) (results.KernelResult, time.Duration) {
	t.Helper()
	store := newStore(t)
	start := time.Now()
	res, err := harness.Run(context.Background(), harness.Options{
		Setup: runner.Setup{
			Store: store, SourceDir: sourceDir(t), CacheDir: store.CacheDir(), RunDir: t.TempDir(),
			VM: runner.VMOptions{Timeout: timeout}, Log: testWriter{t},
		},
		Kernels: faultKernel(t), Suites: []plan.Suite{faultSuite}, OnProgress: onProgress,
		Env: []string{"BPFMATRIX_FAULT=" + fault},
	})
	require.NoError(t, err)
	require.Len(t, res.Kernels, 1)
	assert.False(t, res.OK(), "a broken guest must fail the run")
	return res.Kernels[0], time.Since(start)
}

// test returns the column's result for test id (zero if it has none).
func test(k results.KernelResult, id string) results.TestResult {
	for _, tr := range k.Tests {
		if tr.ID() == id {
			return tr
		}
	}
	return results.TestResult{}
}

func result(k results.KernelResult, id string) results.Outcome { return test(k, id).Result }

func TestFaultHangTimesOut(t *testing.T) {
	requireVMs(t)
	k, took := runFault(t, "hang", 30*time.Second, nil)
	assert.Equal(t, results.StatusTimeout, k.Status, k.Error)
	assert.Equal(t, results.Pass, result(k, "faults/TestBefore"), "results before the hang are kept")
	assert.Equal(t, results.Fail, result(k, "faults/TestFault"), "the hanging test is a failure")
	assert.NotEmpty(t, k.ConsoleTail)
	assert.Less(t, took, 2*time.Minute)
}

// TestFaultSplat: a kernel WARN during a run that otherwise passed is in the
// results with its lines and fails the run, unless splats are allowed.
func TestFaultSplat(t *testing.T) {
	requireVMs(t)
	k, _ := runFault(t, "splat", 3*time.Minute, nil)
	assert.Equal(t, results.StatusOK, k.Status, k.Error)
	assert.Equal(t, results.Pass, result(k, "faults/TestFault"))
	require.Len(t, k.Splats, 1, "the WARN, once (kernel log; the quiet console does not show it)")
	assert.Equal(t, "warning", k.Splats[0].Kind)
	assert.Contains(t, strings.Join(k.Splats[0].Lines, "\n"), "bpfmatrix_fault_splat")
	assert.Empty(t, k.Splats[0].Known, "no known kernel bug")
	res := &results.Result{Complete: true, Kernels: []results.KernelResult{k}}
	assert.False(t, res.OK(), "a splat fails the run")
	res.AllowSplats = true
	assert.True(t, res.OK(), "--allow-splats reports it without failing")
}

// noInit boots a kernel that stops before init without a word: its
// initramfs has no /nonexistent, so the kernel panics ("No working init
// found"), loglevel=0 keeps even that panic off the console, and panic=0
// (after the base command line's panic=-1) makes it wait forever instead
// of rebooting. (Too little memory does not do: QEMU refuses an initrd
// larger than the memory, and a few MB more make the guest reset at once,
// which is reported as boot-failed without waiting.)
var noInit = expect.Profile{Name: "no-init", Description: "stops before init, silently",
	Args: func(map[string]string) []string { return []string{"rdinit=/nonexistent", "loglevel=0", "panic=0"} }}

// TestFaultBootNeverComesUp boots a guest that cannot come up (noInit).
// Its VM must end as boot-failed at the boot deadline, long before the run
// timeout.
func TestFaultBootNeverComesUp(t *testing.T) {
	requireVMs(t)
	store := newStore(t)
	const deadline = 15 * time.Second
	start := time.Now()
	res, err := harness.Run(context.Background(), harness.Options{
		Setup: runner.Setup{
			Store: store, SourceDir: sourceDir(t), CacheDir: store.CacheDir(), RunDir: t.TempDir(),
			VM: runner.VMOptions{Timeout: 5 * time.Minute, BootTimeout: deadline}, Log: testWriter{t},
		},
		Kernels: faultKernel(t), Profiles: []expect.Profile{noInit}, Suites: []plan.Suite{faultSuite},
	})
	took := time.Since(start)
	require.NoError(t, err)
	require.Len(t, res.Kernels, 1)
	k := res.Kernels[0]
	assert.False(t, res.OK())
	assert.Equal(t, results.StatusBootFailed, k.Status, k.Error)
	assert.Contains(t, k.Error, "within the 15s boot deadline")
	assert.GreaterOrEqual(t, k.Phases.Boot, deadline.Seconds(), "killed at the deadline, not before")
	assert.Less(t, k.Phases.Boot, deadline.Seconds()+10, "killed at the deadline, not at the 5m timeout")
	assert.Less(t, took, 2*time.Minute)
	assert.FileExists(t, k.ConsoleLog)
	assert.NotEmpty(t, k.Reproduce, "the QEMU command line to boot it by hand")
	assert.Empty(t, vm.Leftovers(), "no QEMU left behind")
}

func TestFaultPanicDetected(t *testing.T) {
	requireVMs(t)
	k, took := runFault(t, "panic", 5*time.Minute, nil)
	assert.Equal(t, results.StatusPanic, k.Status, k.Error)
	require.NotEmpty(t, k.PanicLines)
	assert.Contains(t, k.PanicLines[0], "Kernel panic")
	assert.Contains(t, strings.Join(k.PanicLines, "\n")+strings.Join(k.ConsoleTail, "\n"), "sysrq")
	assert.Equal(t, results.Pass, result(k, "faults/TestBefore"))
	assert.Equal(t, "none", test(k, "faults/TestBefore").Hook, "TestBefore's record, sent before the panic, is kept")
	assert.Less(t, took, 90*time.Second, "a panic is seen on the console, not at the 5m timeout")
}

func TestFaultQEMUKilled(t *testing.T) {
	requireVMs(t)
	var once sync.Once
	k, _ := runFault(t, "hang", 3*time.Minute, func(p results.Progress) {
		if p.Phase != results.PhaseTesting || p.Test != "TestFault" {
			return
		}
		once.Do(func() {
			// TestBefore has been reported by now; kill QEMU from outside.
			time.Sleep(time.Second)
			for _, pid := range vm.Leftovers() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	})
	assert.Equal(t, results.StatusCrashed, k.Status, k.Error)
	assert.Contains(t, k.Error, "killed")
	assert.Equal(t, results.Pass, result(k, "faults/TestBefore"), "results received before the crash are kept")
}

func TestFaultTestBinaryExits(t *testing.T) {
	requireVMs(t)
	k, _ := runFault(t, "exit", 3*time.Minute, nil)
	assert.Equal(t, results.StatusOK, k.Status, "the guest itself survives: %s", k.Error)
	assert.Equal(t, results.Pass, result(k, "faults/TestBefore"))
	assert.Equal(t, results.Fail, result(k, "faults/TestFault"), "a test cut short is a failure")
}

// TestInterrupt sends SIGINT (and, separately, SIGTERM) to a running
// bpfmatrix and checks that every QEMU it started is gone within 2 s, that
// it exits with 130 and that the partial results are written and marked
// incomplete.
func TestInterrupt(t *testing.T) {
	requireVMs(t)
	bin := filepath.Join(t.TempDir(), "bpfmatrix")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bpfmatrix")
	build.Dir = sourceDir(t)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { interrupt(t, bin, sig) })
	}
}

func interrupt(t *testing.T, bin string, sig os.Signal) {
	runDir := t.TempDir()
	jsonOut := filepath.Join(t.TempDir(), "results.json")
	cmd := exec.Command(bin, "run", "--kernels", "debian-6.1", "--suite", "kprobe", "--run-dir", runDir,
		"--lock", filepath.Join(testCache(t), "integration.lock"), "--json", jsonOut, "--timeout", "3m")
	cmd.Dir = sourceDir(t)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })

	booted := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			t.Log(sc.Text())
			if !signalled && strings.Contains(sc.Text(), "booting") {
				signalled = true
				close(booted)
			}
		}
	}()
	select {
	case <-booted:
	case <-time.After(3 * time.Minute):
		t.Fatal("the VM never started booting")
	}
	time.Sleep(time.Second)
	require.NotEmpty(t, qemuUsing(runDir), "QEMU is running before the interrupt")
	require.NoError(t, cmd.Process.Signal(sig))
	sent := time.Now()
	assert.Eventually(t, func() bool { return len(qemuUsing(runDir)) == 0 }, 2*time.Second, 50*time.Millisecond, "QEMU still running 2s after %v", sig)
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 130, exit.ExitCode())
	assert.Less(t, time.Since(sent), 10*time.Second)

	b, err := os.ReadFile(jsonOut)
	require.NoError(t, err, "partial results are written")
	var res results.Result
	require.NoError(t, json.Unmarshal(b, &res))
	assert.False(t, res.Complete, "results are marked incomplete")
	require.Len(t, res.Kernels, 1)
	assert.Equal(t, results.StatusInterrupted, res.Kernels[0].Status)
}

// qemuUsing returns the pids of QEMU processes whose command line mentions
// dir, whoever their parent is now.
func qemuUsing(dir string) []int {
	var pids []int
	matches, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil || !strings.Contains(string(b), "qemu-system") || !strings.Contains(string(b), dir) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(m), "stat"))
		if err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie is dead
		}
		var pid int
		if _, err := fmt.Sscan(filepath.Base(filepath.Dir(m)), &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestConcurrentRunsShareCache runs four runs at once on one fresh cache:
// each must complete, and the cache must hold one copy of the kernel.
func TestConcurrentRunsShareCache(t *testing.T) {
	requireVMs(t)
	cache := t.TempDir()
	lock := filepath.Join(t.TempDir(), "bpfmatrix.lock")
	var wg sync.WaitGroup
	results := make([]*results.Result, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			store, err := kernels.Open(kernels.Options{CacheDir: cache, LockPath: lock})
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = harness.Run(context.Background(), harness.Options{
				Setup: runner.Setup{
					Store: store, SourceDir: sourceDir(t), CacheDir: cache, RunDir: t.TempDir(),
					VM: runner.VMOptions{Timeout: 5 * time.Minute}, Log: testWriter{t},
				},
				Kernels: faultKernel(t), Suites: []plan.Suite{plan.Builtin[0]}, Parallel: 1,
			})
		}()
	}
	wg.Wait()
	for i, res := range results {
		require.NoError(t, errs[i], "run %d", i)
		assert.True(t, res.OK(), "run %d: %s", i, matrix.Build(res).Summary())
	}
	dirs, err := filepath.Glob(filepath.Join(cache, "kernels", "debian-6.1-*"))
	require.NoError(t, err)
	var complete []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "kernel.json")); err == nil {
			complete = append(complete, d)
		}
	}
	assert.Len(t, complete, 1, "one verified copy of the kernel in the cache: %v", dirs)
}

// TestRunRefusesFullOrReadOnlyCache checks that a cache that is full or
// not writable is reported before any download or VM.
func TestRunRefusesFullOrReadOnlyCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tiny tmpfs and to make a directory read-only for root")
	}
	store := newStore(t)
	opts := func(cache string) harness.Options {
		return harness.Options{
			Setup: runner.Setup{
				Store: store, SourceDir: sourceDir(t), CacheDir: cache, RunDir: filepath.Join(cache, "run"), Log: testWriter{t},
			},
			Kernels: faultKernel(t), Suites: []plan.Suite{plan.Builtin[0]},
		}
	}
	full := t.TempDir()
	require.NoError(t, syscall.Mount("tmpfs", full, "tmpfs", 0, "size=1m"))
	t.Cleanup(func() { syscall.Unmount(full, syscall.MNT_DETACH) })
	start := time.Now()
	_, err := harness.Run(context.Background(), opts(full))
	require.ErrorIs(t, err, host.ErrNoSpace)
	assert.Contains(t, err.Error(), full)
	assert.Contains(t, err.Error(), "BPFMATRIX_CACHE")
	assert.Less(t, time.Since(start), 5*time.Second, "refused before any work")

	ro := t.TempDir()
	require.NoError(t, syscall.Mount("tmpfs", ro, "tmpfs", syscall.MS_RDONLY, "size=64m"))
	t.Cleanup(func() { syscall.Unmount(ro, syscall.MNT_DETACH) })
	_, err = harness.Run(context.Background(), opts(ro))
	require.Error(t, err)
	assert.Contains(t, err.Error(), ro)
	assert.Contains(t, err.Error(), "writable")
	assert.Empty(t, vm.Leftovers())
}

// TestFaultFlaky is the done-when of issue 17's retries: a test of a user
// suite that fails on its first attempt and passes on its second fails the
// run without --retries; with one retry it is flaky in every report
// format and the run passes; listed as known flaky (without retries) it is
// known-flaky and the run passes.
func TestFaultFlaky(t *testing.T) {
	requireVMs(t)
	store := newStore(t)
	run := func(t *testing.T, retries int, known flaky.List) *results.Result {
		t.Helper()
		res, err := harness.Run(context.Background(), harness.Options{
			Setup: runner.Setup{
				Store: store, SourceDir: sourceDir(t), CacheDir: store.CacheDir(), RunDir: t.TempDir(),
				VM: runner.VMOptions{Timeout: 3 * time.Minute}, Log: testWriter{t},
			},
			Kernels: faultKernel(t), Suites: []plan.Suite{faultSuite},
			Env: []string{"BPFMATRIX_FAULT=flaky"}, Retries: retries, KnownFlaky: known,
		})
		require.NoError(t, err)
		require.Len(t, res.Kernels, 1)
		return res
	}
	t.Run("no retries", func(t *testing.T) {
		res := run(t, 0, nil)
		assert.False(t, res.OK(), "a failing test fails the run")
		tr := test(res.Kernels[0], "faults/TestFault")
		assert.Equal(t, results.Fail, tr.Result)
		assert.Contains(t, tr.Output, "failing on the first attempt on purpose")
	})
	t.Run("one retry", func(t *testing.T) {
		res := run(t, 1, nil)
		assert.True(t, res.OK(), matrix.Build(res).Summary())
		tr := test(res.Kernels[0], "faults/TestFault")
		assert.Equal(t, results.Flaky, tr.Result)
		require.Len(t, tr.Attempts, 1)
		assert.Equal(t, results.Fail, tr.Attempts[0].Result)
		assert.Contains(t, tr.Attempts[0].Output, "failing on the first attempt on purpose")
		assert.Contains(t, tr.Output, "attempt 2: passing")
		assert.Equal(t, results.Pass, result(res.Kernels[0], "faults/TestBefore"), "a passing test is not run again")
		for f, want := range map[report.Format]string{
			report.FormatText:     "~~ FLAKY faults/TestFault on debian-6.1: failed, then passed on attempt 2 of 2",
			report.FormatJSON:     `"result": "flaky"`,
			report.FormatJUnit:    `<flakyFailure message="test failed" type="fail">`,
			report.FormatMarkdown: "🔁 <code>faults/TestFault</code> on <b>debian-6.1</b>: failed, then passed on attempt 2 of 2",
			report.FormatHTML:     `class="cell flaky"`,
		} {
			var b strings.Builder
			require.NoError(t, report.Render(&b, res, f))
			assert.Contains(t, b.String(), want, "format %s", f)
		}
		res.FailOnFlaky = true
		assert.False(t, res.OK(), "--fail-on-flaky")
	})
	t.Run("known flaky", func(t *testing.T) {
		known, err := flaky.Parse([]byte("- {test: faults/TestFault, kernels: debian-6.*, reason: fails on its first attempt on purpose}"))
		require.NoError(t, err)
		res := run(t, 0, known)
		assert.True(t, res.OK(), matrix.Build(res).Summary())
		tr := test(res.Kernels[0], "faults/TestFault")
		assert.Equal(t, results.KnownFlaky, tr.Result)
		assert.Equal(t, "fails on its first attempt on purpose", tr.KnownFlaky)
		var b strings.Builder
		require.NoError(t, report.Render(&b, res, report.FormatText))
		assert.Contains(t, b.String(), "~~ KNOWN FLAKY faults/TestFault on debian-6.1: failed 1 time; known flaky here: fails on its first attempt on purpose")
	})
}
