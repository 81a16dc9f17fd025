package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/collect"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/guestgo"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/diskimage"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
)

// TestTimeout is how long one test binary of [Test] may run, as go
// test's -timeout default.
const TestTimeout = 10 * time.Minute

// ErrNoPackages is returned by [Test] when no package has test files, or
// none of them builds.
var ErrNoPackages = errors.New("no test package to run")

// TestOptions configure a run of the user's own test packages
// (`bpfmatrix test`): every package's test binary is built on the host,
// once per guest architecture, and all of them run in one VM per column,
// each in its package directory, into the same matrix as [Run] makes.
type TestOptions struct {
	// Options are the matrix run's: Kernels, Profiles, Parallel, Model,
	// Env, Run and TestArgs (-test.* flags for every binary), AllowSplats,
	// Console, OnProgress and Setup. Suites is filled in. VM.Timeout
	// defaults to Timeout plus 10m, Parallel to
	// runner.DefaultTestParallel.
	Options
	// Module is a directory of the user's Go module (default: the working
	// directory); packages are listed and built there.
	Module string
	// Packages are go list patterns; default "./...".
	Packages []string
	// BuildFlags are passed to go test -c (-race, -cover, -tags, ...).
	BuildFlags []string
	// Timeout bounds each test binary (-test.timeout; the guest kills it a
	// minute later); default TestTimeout.
	Timeout time.Duration
	// GuestParallel is how many test binaries run at once in a guest (go
	// test -p); 0: one per guest CPU.
	GuestParallel int
	// BuildParallel is how many packages build at once; default NumCPU.
	BuildParallel int
	// VMsPerKernel is how many VMs of one column share its packages out;
	// default: as many as there are VM slots per column (Parallel over
	// the number of columns), so that one kernel on two cores runs two
	// VMs. 1 runs every package in one VM.
	VMsPerKernel int
	// CoverProfile, if set, is the host file that receives the coverage
	// profile of the whole run, every package of every column merged (the
	// binaries must be built with -cover).
	CoverProfile string
	// GoRoot, if set, is the Go installation the guest sees read-only at
	// the same path, with GOROOT set to it (see [gotest.GoRoot]).
	GoRoot string
	// Modules are kernel modules loaded before the tests start.
	Modules []string
	// OnBuild, if set, is told about every package built (or not), from
	// several goroutines.
	OnBuild func(gotest.Build)
}

// userImages are what the columns of a [Test] run boot with instead of the
// built-in suites' image: per GOARCH, an initramfs part (the binaries'
// interpreter and libraries, /bin/bash) and the disks (the test binaries,
// the module, GOROOT).
type userImages struct {
	parts map[string]string
	// binds put parts' staged files (/bin/bash, libraries) at their paths.
	binds map[string][]wire.Bind
	// vmsPerColumn is TestOptions.VMsPerKernel.
	vmsPerColumn int
	disks        map[string][]runner.Disk
	parallel     int
	// onEvents, if set, sees each finished column and what its guest sent.
	onEvents func(*results.KernelResult, *collect.Events)
}

// TestRun is the outcome of [Test]: the matrix, and the packages that did
// not build (each also a failed "(build)" cell in its architecture's
// columns).
type TestRun struct {
	Result *results.Result
	Broken []*gotest.BuildError
}

// BuildCell is the test name of the failed cell that stands for a package
// whose test binary does not build.
const BuildCell = "(build)"

// Test builds the test binaries of the user's packages and runs them all
// in one VM per column. The error is for problems that prevent any result:
// not a module, no package with tests, no package that builds, bad
// options; a package that does not build is in TestRun.Broken and fails
// its cells.
func Test(ctx context.Context, opts TestOptions) (*TestRun, error) {
	if opts.Module == "" {
		opts.Module = "."
	}
	if opts.Timeout <= 0 {
		opts.Timeout = TestTimeout
	}
	if opts.VM.Timeout <= 0 {
		opts.VM.Timeout = opts.Timeout + 10*time.Minute
	}
	if opts.Model == nil {
		opts.Model = expect.Model{} // no rules: only a failure fails the run
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runner.DefaultTestParallel()
	}
	if len(opts.Kernels) == 0 {
		return nil, fmt.Errorf("harness: test: %w", plan.ErrEmpty)
	}
	race := slices.Contains(opts.BuildFlags, "-race")
	var goarches []string
	for _, k := range opts.Kernels {
		if g := k.GOARCH(); !slices.Contains(goarches, g) {
			if race && g != runtime.GOARCH {
				return nil, fmt.Errorf("harness: test: -race builds with cgo for the host's architecture (%s), but kernel %s is %s: leave -race out or pick %s kernels", runtime.GOARCH, k.Name, g, runtime.GOARCH)
			}
			goarches = append(goarches, g)
		}
	}
	pkgs, _, err := gotest.ListPackages(ctx, opts.Module, goarches[0], opts.Packages)
	if err != nil {
		return nil, err
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("harness: test: %w: no package matching %q has test files", ErrNoPackages, opts.Packages)
	}
	if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
		return nil, err
	}

	// One test binary per package and architecture.
	bins := map[string]map[string]string{}
	run := &TestRun{}
	t0 := time.Now()
	for _, g := range goarches {
		dir := filepath.Join(opts.RunDir, "tests-"+g)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		var broken []*gotest.BuildError
		bins[g], broken = gotest.BuildBinaries(ctx, opts.Module, g, dir, pkgs, opts.BuildFlags, opts.BuildParallel, opts.OnBuild)
		run.Broken = append(run.Broken, broken...)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for _, p := range pkgs {
		built := false
		for _, g := range goarches {
			_, ok := bins[g][p.Name]
			built = built || ok
		}
		if !built {
			continue
		}
		opts.Suites = append(opts.Suites, plan.Suite{
			Name: p.Name, Package: "./" + p.Name, Path: p.ImportPath, Dir: p.Dir,
			Binary:  wire.UserTestsDir + "/" + p.BinaryName(),
			Modules: opts.Modules, Timeout: opts.Timeout + time.Minute, CoverProfile: opts.CoverProfile != "",
		})
	}
	if len(opts.Suites) == 0 {
		return run, fmt.Errorf("harness: test: %w: no package builds (%d broken)", ErrNoPackages, len(run.Broken))
	}
	opts.TestArgs = append([]string{fmt.Sprintf("-test.timeout=%s", opts.Timeout)}, opts.TestArgs...)
	build := time.Since(t0).Seconds()
	err = runUserTests(ctx, &opts, goarches, bins, run)
	if run.Result != nil {
		run.Result.Prepare.Build = build
	}
	return run, err
}

// runUserTests makes the images of the built binaries and runs the matrix
// with them.
func runUserTests(ctx context.Context, opts *TestOptions, goarches []string, bins map[string]map[string]string, run *TestRun) error {
	opts.Options.defaults()
	t0 := time.Now()
	r, err := runner.New(opts.Setup, opts.Kernels)
	if err != nil {
		return err
	}
	u := &userImages{parts: map[string]string{}, binds: map[string][]wire.Bind{}, disks: map[string][]runner.Disk{}, parallel: opts.GuestParallel, vmsPerColumn: opts.VMsPerKernel}
	module, _ := gotest.ModuleRoot(opts.Module)
	for _, g := range goarches {
		arch, err := vm.ArchByGOARCH(g)
		if err != nil {
			return err
		}
		shared, err := guestgo.Disks(ctx, r, arch, module, opts.GoRoot)
		if err != nil {
			return err
		}
		var programs []string
		for _, b := range bins[g] {
			programs = append(programs, b)
		}
		slices.Sort(programs)
		incs, err := guestgo.ShellInclude(ctx, opts.Store, arch, nil)
		if err != nil {
			return err
		}
		if u.parts[g], err = runner.HostArchive(filepath.Join(opts.RunDir, "usertests-"+g+".cpio"), g, incs, programs...); err != nil {
			return err
		}
		u.binds[g] = hostfiles.Binds(wire.IncludeDir, incs)
		t1 := time.Now()
		d, err := diskimage.Dir(ctx, filepath.Join(r.CacheDir, "disks"), filepath.Join(opts.RunDir, "tests-"+g), nil)
		if err != nil {
			return fmt.Errorf("harness: test: the test binaries for %s: %w", g, err)
		}
		r.Logf("%d test binaries for %s on a disk image (%.1fs)", len(programs), g, time.Since(t1).Seconds())
		tests := runner.Disk{
			VM:    vm.Disk{Path: d, Serial: "tests"},
			Guest: wire.Disk{Serial: "tests", FSType: diskimage.FSType, Binds: []wire.Bind{{Target: wire.UserTestsDir}}},
		}
		u.disks[g] = append([]runner.Disk{tests}, shared...)
		if opts.GoRoot != "" {
			u.disks[g] = append(u.disks[g], guestgo.CacheDisks(ctx, r, opts.GoRoot, g)...)
		}
	}
	var covMu sync.Mutex
	var profiles [][]byte
	u.onEvents = func(kr *results.KernelResult, ev *collect.Events) {
		markBroken(kr, run.Broken)
		covMu.Lock()
		defer covMu.Unlock()
		for _, p := range ev.Coverage {
			profiles = append(profiles, p)
		}
	}
	if opts.GoRoot != "" {
		opts.Env = append(opts.Env, "GOROOT="+opts.GoRoot, "GOCACHE="+wire.GoCacheDir)
	}
	opts.user = u
	images := time.Since(t0).Seconds()
	res, err := runWith(ctx, r, opts.Options)
	if err != nil {
		return err
	}
	res.Prepare = &results.Prepare{Images: images}
	run.Result = res
	if opts.CoverProfile != "" && len(profiles) > 0 {
		merged, err := gotest.MergeProfiles(profiles...)
		if err != nil {
			return fmt.Errorf("harness: test: coverage: %w", err)
		}
		if err := os.WriteFile(opts.CoverProfile, merged, 0o644); err != nil {
			return fmt.Errorf("harness: test: coverage: %w", err)
		}
	}
	return nil
}

// markBroken replaces the cells of each package that did not build for
// the column's architecture with one failed BuildCell holding the
// compiler's message.
func markBroken(kr *results.KernelResult, broken []*gotest.BuildError) {
	for _, b := range broken {
		if b.GOARCH != kr.Kernel.Arch {
			continue
		}
		kr.Tests = slices.DeleteFunc(kr.Tests, func(t results.TestResult) bool { return t.Suite == b.Package })
		kr.Tests = append(kr.Tests, results.TestResult{
			Suite: b.Package, Name: BuildCell, Result: results.Fail,
			Reason: "the package's test binary does not build for " + b.GOARCH, Output: b.Output,
		})
	}
}
