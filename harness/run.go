package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/collect"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/flaky"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/harness/schedule"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Options configure one run.
type Options struct {
	// Setup is shared with the other commands; VM.Timeout defaults to 5m
	// and VM.CPUs to 1.
	runner.Setup
	// Kernels are the matrix columns.
	Kernels []catalog.Spec
	// Suites run in every kernel, in one VM per kernel.
	Suites []plan.Suite
	// Parallel is how many VMs run at once; default DefaultParallel().
	// The VMs expected to take longest (by the last run of the same
	// selection; never-measured and emulated ones first) start first.
	Parallel int
	// Run selects the tests to run in every suite, as go test -run does
	// (a regexp per level of subtests, split on '/'). Empty: all.
	Run string
	// TestArgs are passed to every test binary (e.g. -test.count=2); use
	// Run, not -test.run, to select tests.
	TestArgs []string
	// Env is added to the environment of every test binary (KEY=VALUE).
	Env []string
	// InjectWrong lists suite families (or "all") whose tests compare
	// against deliberately wrong expected values: such a run must fail,
	// which proves the content checks can fail.
	InjectWrong []string
	// AllowSplats reports kernel splats without failing the run.
	AllowSplats bool
	// Console, if set, receives every guest console line, prefixed with
	// the kernel name (--verbose).
	Console io.Writer
	// OnProgress, if set, receives phase changes of every column; it is
	// called from several goroutines.
	OnProgress func(results.Progress)
	// Profiles are the boot command lines each kernel runs under; default
	// expect.DefaultProfile only. A profile that would boot a kernel
	// exactly as an earlier one does is not run twice.
	Profiles []expect.Profile
	// Model gives the expected outcome of each cell; nil means
	// plan.DefaultModel.
	Model expect.Model
	// Retries is how many times a failing test runs again, each time in a
	// fresh VM with only the failing tests (see EnvAttempt); one that then
	// passes is flaky.
	Retries int
	// FailOnFlaky makes a flaky test fail the run (unless KnownFlaky lists
	// it).
	FailOnFlaky bool
	// KnownFlaky lists the tests known to be flaky on given kernels: such
	// a test that fails is known-flaky, and one that has passed
	// flaky.CleanRuns runs in a row is reported as no longer flaky.
	KnownFlaky flaky.List

	// user, if set, holds the images of the user's own test binaries
	// (see [Test]) instead of the built-in suites' image.
	user *userImages
}

func (o *Options) defaults() {
	o.Setup.Defaults(runner.RunTimeout, runner.RunCPUs)
	if o.Parallel <= 0 {
		o.Parallel = runner.DefaultParallel()
	}
	if o.Model == nil {
		o.Model = plan.DefaultModel
	}
}

// Plan is the plan of o: its ordered columns, before anything is fetched.
func (o Options) Plan() (*plan.Plan, error) {
	return plan.New(o.Kernels, o.Profiles, o.Suites, o.Run, o.TestArgs)
}

// Run executes the plan and returns the matrix. The error is for problems
// that prevent any result (bad options); per-kernel failures are in the
// result. When ctx is canceled, running VMs are killed and the partial
// result is returned with Complete false.
func Run(ctx context.Context, opts Options) (*results.Result, error) {
	return runWith(ctx, nil, opts)
}

// runWith is [Run] with the runner r, or a new one if r is nil.
func runWith(ctx context.Context, r *runner.Runner, opts Options) (*results.Result, error) {
	opts.defaults()
	p, err := opts.Plan()
	if err != nil {
		return nil, err
	}
	if r == nil {
		if r, err = runner.New(opts.Setup, p.Kernels); err != nil {
			return nil, err
		}
	}
	r.OnProgress = opts.OnProgress
	m := &matrixRun{Runner: r, opts: &opts, plan: p, hist: schedule.LoadHistory(opts.CacheDir), suiteSeconds: map[string]float64{}}

	// Fetch the kernels while the shared images build, arch by arch: a
	// column boots once its kernel and its arch's images are there. An
	// image that does not build ends the run (its error is the run's).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pulls := r.Pull(ctx, p.Kernels)
	images, err := m.startShared(cctx)
	if err != nil {
		return nil, err
	}
	var buildErr error
	var watch sync.WaitGroup
	watch.Go(func() {
		for _, ai := range images {
			<-ai.done
			if ai.err != nil && buildErr == nil {
				buildErr = ai.err
				cancel()
			}
		}
	})

	// Every column waits for its kernel, then for a VM slot: longest
	// first, once every column of a cached kernel has queued.
	cached := 0
	for _, c := range p.Columns {
		if pulls[c.Kernel].Cached {
			cached++
		}
	}
	sched := schedule.New(opts.Parallel, cached)
	cols := make([]*results.KernelResult, len(p.Columns))
	var wg sync.WaitGroup
	for _, c := range p.Columns {
		wg.Go(func() { cols[c.Index] = m.column(cctx, c, pulls[c.Kernel], images, sched) })
	}
	wg.Wait()
	cancel()
	watch.Wait()
	// An image that did not build is the run's error; when the run was
	// interrupted, the partial result is its answer.
	if buildErr != nil && ctx.Err() == nil {
		return nil, buildErr
	}

	res := m.assemble(ctx, cols)
	// The whole result next to the columns' own, for reproduce and report.
	if err := res.WriteJSON(filepath.Join(m.RunDir, ResultsFile)); err != nil {
		m.Logf("%v", err)
	}
	return res, nil
}

// ResultsFile is the whole run's result in its run directory: what the
// text report's reproduce lines name.
const ResultsFile = "results.json"

// matrixRun is the state of one Run.
type matrixRun struct {
	*runner.Runner
	opts *Options
	plan *plan.Plan
	hist schedule.History

	mu           sync.Mutex
	suiteSeconds map[string]float64 // suiteKey -> the suite's last run
}

// sharedImages are the archives every column of one GOARCH shares.
type sharedImages struct{ base, tests string }

// archImages are one GOARCH's shared images, built in the background:
// done is closed when they are ready, or err says why not.
type archImages struct {
	sharedImages
	err  error
	done chan struct{}
}

// startShared builds the base and test archives for every guest arch in
// the plan in the background, one arch after another, the host's own
// first: its columns need no emulated CPU and boot while the next arch
// builds (with a cold Go build cache each takes a minute or more).
func (m *matrixRun) startShared(ctx context.Context) (map[string]*archImages, error) {
	out := map[string]*archImages{}
	var order []vm.Arch
	for _, spec := range m.plan.Kernels {
		arch, err := runner.ArchOf(spec)
		if err != nil {
			return nil, err
		}
		if _, ok := out[arch.GOARCH]; ok {
			continue
		}
		out[arch.GOARCH] = &archImages{done: make(chan struct{})}
		order = append(order, arch)
	}
	slices.SortStableFunc(order, func(a, b vm.Arch) int {
		if a.Native() == b.Native() {
			return 0
		}
		if a.Native() {
			return -1
		}
		return 1
	})
	pkgs := runner.TestPackages(m.plan.Suites)
	go func() {
		for _, arch := range order {
			ai := out[arch.GOARCH]
			ai.sharedImages, ai.err = m.buildArch(ctx, arch, pkgs)
			close(ai.done)
		}
	}()
	return out, nil
}

// buildArch builds the base and test archives of one guest arch.
func (m *matrixRun) buildArch(ctx context.Context, arch vm.Arch, pkgs []initramfs.TestPackage) (sharedImages, error) {
	t0 := time.Now()
	var base, tests string
	var baseErr, testsErr error
	var wg sync.WaitGroup
	wg.Go(func() { base, baseErr = m.Base(ctx, arch.GOARCH) })
	if u := m.opts.user; u != nil {
		tests = u.parts[arch.GOARCH]
	} else {
		wg.Go(func() { tests, _, testsErr = m.Builder(arch.GOARCH).Tests(ctx, pkgs) })
	}
	wg.Wait()
	if err := errors.Join(baseErr, testsErr); err != nil {
		return sharedImages{}, err
	}
	m.Logf("images for %s ready in %.1fs", arch.GOARCH, time.Since(t0).Seconds())
	return sharedImages{base: base, tests: tests}, nil
}

// column runs one planned column: it waits for the kernel, resolves the
// boot profile, waits for a VM slot, boots and judges the result. It
// returns nil for a column that does not run (its profile boots the kernel
// like an earlier one, or the kernel failed and an earlier column says so).
func (m *matrixRun) column(ctx context.Context, c plan.Column, p *runner.Pulled, images map[string]*archImages, sched *schedule.Scheduler) *results.KernelResult {
	settle := sync.OnceFunc(func() { sched.Settled(p.Cached) })
	defer settle()
	p.Wait()
	info := results.KernelInfo{Name: c.Spec.Name, Distro: c.Spec.Distro, Suite: c.Spec.Suite, Arch: c.Spec.Arch, Flavour: c.Spec.Flavour, Version: c.Spec.Version}
	if p.Err != nil {
		if c.ProfileIndex > 0 {
			return nil // the kernel's first column reports it
		}
		kr := &results.KernelResult{Kernel: info, Status: results.StatusError, Error: p.Err.Error(), Profile: results.DefaultProfile}
		kr.Phases.Fetch = p.Seconds
		if ctx.Err() != nil {
			kr.Status = results.StatusInterrupted
		}
		m.Logf("%s: %v", c.Spec.Name, p.Err)
		m.Progress(results.Progress{Column: c.Spec.Name, Phase: results.PhaseDone, Status: kr.Status, Message: kr.Error})
		return kr
	}
	info.Release = p.Kernel.Release
	for _, pkg := range p.Kernel.Packages {
		info.Packages = append(info.Packages, results.PackageInfo{Name: pkg.Name, Version: pkg.Version, SHA256: pkg.SHA256})
	}
	config := p.KernelConfig(m.Runner)
	args, ok := m.plan.Resolve(c, config)
	if !ok {
		return nil
	}
	kr := &results.KernelResult{Kernel: info, Profile: c.Profile.Name, Cmdline: args}
	kr.Phases.Fetch = p.Seconds
	arch, _ := runner.ArchOf(c.Spec)
	if ai := images[arch.GOARCH]; ai != nil {
		select {
		case <-ai.done:
		case <-ctx.Done():
		}
		if ai.err != nil || ctx.Err() != nil {
			kr.Status, kr.Error = results.StatusInterrupted, "interrupted before the VM started"
			return kr
		}
	}
	expected, known := m.hist.Expected(m.plan.SelectionKey(), kr.Column())
	t := sched.Enqueue(schedule.Ticket{Known: known, Seconds: expected, Foreign: !arch.Native(), Order: c.Index})
	settle()
	if err := sched.Wait(ctx, t); err != nil {
		kr.Status, kr.Error = results.StatusInterrupted, "interrupted before the VM started"
		return kr
	}
	defer sched.Release()
	m.bootColumn(ctx, c, p.Kernel, images, kr)
	m.retryColumn(ctx, c, p.Kernel, images, kr)
	m.judge(kr, config, p.Kernel.ModulesDir != "")
	m.opts.KnownFlaky.Mark(kr)
	m.saveColumn(kr)
	return kr
}

// bootColumn boots one column's VM with the plan's suites, or several
// VMs of the column's kernel that share them out (see splitColumn), and
// fills kr.
func (m *matrixRun) bootColumn(ctx context.Context, c plan.Column, k *kernels.Kernel, images map[string]*archImages, kr *results.KernelResult) {
	t0 := time.Now()
	defer func() {
		kr.Seconds = time.Since(t0).Seconds() + kr.Phases.Fetch
		m.Progress(results.Progress{Column: kr.Column(), Phase: results.PhaseDone, Status: kr.Status, Elapsed: time.Since(t0), Message: kr.Error})
	}()
	groups := m.splitColumn(kr.Column())
	if len(groups) <= 1 {
		ev := m.bootVM(ctx, c, k, images, kr, nil, filepath.Join(m.RunDir, kr.Column()))
		m.columnEvents(kr, ev)
		return
	}
	parts := make([]results.KernelResult, len(groups))
	evs := make([]*collect.Events, len(groups))
	var wg sync.WaitGroup
	for i, suites := range groups {
		parts[i] = *kr
		dir := filepath.Join(m.RunDir, kr.Column())
		if i > 0 {
			dir = filepath.Join(dir, fmt.Sprintf("vm-%d", i+1))
		}
		wg.Go(func() {
			t1 := time.Now()
			evs[i] = m.bootVM(ctx, c, k, images, &parts[i], suites, dir)
			parts[i].Seconds = time.Since(t1).Seconds()
		})
	}
	wg.Wait()
	mergeVMs(kr, parts, groups)
	for _, ev := range evs {
		m.columnEvents(kr, ev)
	}
}

// columnEvents passes what a column's VM sent to the user test run and
// remembers how long each suite ran, for splitColumn (bpfmatrix run never
// splits, so it remembers nothing).
func (m *matrixRun) columnEvents(kr *results.KernelResult, ev *collect.Events) {
	u := m.opts.user
	if ev == nil || u == nil {
		return
	}
	if u.onEvents != nil {
		u.onEvents(kr, ev)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for suite, secs := range ev.SuiteSeconds() {
		m.suiteSeconds[suiteKey(kr.Column(), suite)] = secs
	}
}

// bootVM boots one VM of column c with the suites named (nil: all of the
// plan's), its files in dir, and fills kr with what it did. It returns
// the VM's events, nil if it did not boot.
func (m *matrixRun) bootVM(ctx context.Context, c plan.Column, k *kernels.Kernel, images map[string]*archImages, kr *results.KernelResult, suites []string, dir string) *collect.Events {
	arch, err := runner.ArchOf(c.Spec)
	if err != nil {
		kr.Status, kr.Error = results.StatusError, err.Error()
		m.Logf("%s: %v", kr.Column(), err)
		return nil
	}
	var console io.Writer
	if m.opts.Console != nil {
		console = &prefixWriter{w: m.opts.Console, prefix: kr.Column() + "| "}
	}
	cfg := m.guestConfig()
	cfg.Env = append(cfg.Env, wire.EnvKernel+"="+c.Spec.Name)
	if suites != nil {
		cfg.Suites = slices.DeleteFunc(cfg.Suites, func(s wire.Suite) bool { return !slices.Contains(suites, s.Name) })
	}
	parts, disks := m.files(arch, images, cfg)
	b := m.Boot(ctx, runner.Request{
		Column: kr.Column(), Dir: dir, Kernel: k, Arch: arch,
		Config: cfg, Parts: parts, Disks: disks, Append: kr.Cmdline, Console: console,
	})
	kr.Accel = string(b.Accel)
	kr.Phases.Image = b.Image
	kr.ConsoleLog = b.ConsoleLog
	if b.Err != nil {
		kr.Status, kr.Error = b.Status, b.Error
		m.Logf("%s: %v", kr.Column(), b.Err)
		return nil
	}
	kr.Reproduce = b.Reproduce
	ev := b.Events
	kr.ConsoleTail = b.Exit.ConsoleTail
	kr.QEMUMaxRSSKiB = b.Exit.MaxRSSKiB
	kr.PanicLines = b.Exit.PanicLines
	kr.Modules = ev.Modules
	kr.FrameErrors = ev.FrameErrors
	kr.GuestLog = ev.GuestLog
	kr.Splats = b.Splats
	if ev.Hello != nil {
		kr.Guest = ev.Hello.Hello
		kr.Phases.Boot = ev.HelloAt.Sub(b.Start).Seconds()
		last := b.End
		if ev.Done != nil {
			last = ev.DoneAt
			kr.Phases.PowerOff = b.End.Sub(ev.DoneAt).Seconds()
		}
		kr.Phases.Tests = last.Sub(ev.HelloAt).Seconds()
	} else {
		kr.Phases.Boot = b.End.Sub(b.Start).Seconds()
	}
	kr.Status, kr.Error = b.Status, b.Error
	if kr.Status == results.StatusOK {
		kr.Reproduce = ""
	}
	if len(ev.FrameErrors) > 0 && kr.Error == "" {
		kr.Error = fmt.Sprintf("%d bad frame(s) on the result channel: results may be incomplete (first: %s)", len(ev.FrameErrors), ev.FrameErrors[0])
	}
	kr.Tests = ev.Tests(kr.Status)
	if kr.Status == results.StatusOK && len(kr.Tests) == 0 {
		kr.Error = errNoTests
	}
	m.Logf("%s: %s in %.1fs (%s)", kr.Column(), kr.Status, b.Exit.Duration.Seconds(), summarize(kr.Tests))
	return ev
}

// files are the initramfs parts and disks of a VM of arch, and what they
// add to its request cfg: the shared images, and for bpfmatrix test the
// test binaries' disks and binds and the guest's parallelism.
func (m *matrixRun) files(arch vm.Arch, images map[string]*archImages, cfg *wire.Config) ([]string, []runner.Disk) {
	shared := images[arch.GOARCH].sharedImages
	parts := []string{shared.base}
	if shared.tests != "" {
		parts = append(parts, shared.tests)
	}
	u := m.opts.user
	if u == nil {
		return parts, nil
	}
	cfg.Binds = append(cfg.Binds, u.binds[arch.GOARCH]...)
	cfg.Parallel = u.parallel
	return parts, u.disks[arch.GOARCH]
}

// guestConfig is the guest's request in every column: the suites, their
// modules (each once) and the environment.
func (m *matrixRun) guestConfig() *wire.Config {
	cfg := &wire.Config{Env: append([]string(nil), m.opts.Env...)}
	if len(m.opts.InjectWrong) > 0 {
		cfg.Env = append(cfg.Env, wire.EnvInject+"="+strings.Join(m.opts.InjectWrong, ","))
	}
	for _, s := range m.plan.Suites {
		for _, mod := range s.Modules {
			if !slices.Contains(cfg.Modules, mod) {
				cfg.Modules = append(cfg.Modules, mod) // several suites need veth: load it once
			}
		}
		bin := s.Binary
		if bin == "" {
			bin = initramfs.TestBinary(s.BinaryName())
		}
		cfg.Suites = append(cfg.Suites, wire.Suite{
			Name: s.Name, Package: s.ImportPath(), Binary: bin, Dir: s.Dir, CoverProfile: s.CoverProfile,
			Parent: s.Parent, Run: m.plan.Run, Args: m.plan.TestArgs, Timeout: wire.Duration(s.Timeout),
		})
	}
	return cfg
}

// judge applies the expectation model to one finished column.
func (m *matrixRun) judge(kr *results.KernelResult, config map[string]string, moduleTree bool) {
	f := expect.Facts{Arch: kr.Kernel.Arch, Config: config, Accel: kr.Accel, ModuleTree: moduleTree}
	var err error
	if f.Major, f.Minor, err = expect.ParseRelease(kr.Kernel.Release); err != nil {
		m.Logf("%s: %v: no expectations", kr.Column(), err)
		return
	}
	if kr.Guest != nil {
		f.LSM = strings.Split(kr.Guest.LSM, ",")
	} else {
		f.LSM = expect.BootLSM(config, kr.Cmdline)
	}
	m.opts.Model.Judge(kr, f)
	expect.JudgeSplats(expect.KnownSplats, kr.Splats, f)
	if len(config) > 0 {
		kr.Config = map[string]string{}
		for _, opt := range expect.ConfigOptions {
			v := config[opt]
			if v == "" {
				v = "n"
			}
			kr.Config[opt] = v
		}
	}
}

// saveColumn writes one finished column's result next to its console log,
// so that results survive even if bpfmatrix dies before the end of the run.
func (m *matrixRun) saveColumn(kr *results.KernelResult) {
	b, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return
	}
	dir := filepath.Join(m.RunDir, kr.Column())
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'), 0o644)
	}
	if err != nil {
		m.Logf("%s: %v", kr.Column(), err)
	}
}

// assemble puts the finished columns in plan order into the run's result
// and remembers the VM times for the next run's schedule.
func (m *matrixRun) assemble(ctx context.Context, cols []*results.KernelResult) *results.Result {
	res := &results.Result{Schema: results.Schema, Started: m.Started(), RunDir: m.RunDir, Accel: m.Verdict(),
		Retries: m.opts.Retries, FailOnFlaky: m.opts.FailOnFlaky, InjectWrong: m.opts.InjectWrong, AllowSplats: m.opts.AllowSplats}
	for _, s := range m.plan.Suites {
		res.Suites = append(res.Suites, s.Name)
	}
	measured := map[string]float64{}
	for _, kr := range cols {
		if kr == nil {
			continue
		}
		res.Kernels = append(res.Kernels, *kr)
		if kr.Status == results.StatusOK {
			measured[kr.Column()] = kr.Phases.Boot + kr.Phases.Tests + kr.Phases.PowerOff
			if len(kr.VMs) > 0 {
				// The column's work, not its VMs' wall time: a run with
				// fewer slots to spare runs it in one VM, and must start
				// it as the long column it is.
				measured[kr.Column()] = 0
				for _, v := range kr.VMs {
					measured[kr.Column()] += v.Seconds
				}
			}
		}
	}
	for k, s := range m.suiteSeconds {
		measured[k] = s
	}
	if err := m.hist.Record(m.CacheDir, m.plan.SelectionKey(), measured, time.Now()); err != nil {
		m.Logf("remembering VM times for scheduling: %v", err)
	}
	res.Seconds = time.Since(m.Started()).Seconds()
	res.Complete = ctx.Err() == nil
	if res.Complete {
		stale, err := flaky.LoadHistory(m.CacheDir).Record(m.CacheDir, m.opts.KnownFlaky, res)
		if err != nil {
			m.Logf("remembering the known-flaky tests' passes: %v", err)
		}
		res.NoLongerFlaky = stale
	}
	return res
}

func summarize(tests []results.TestResult) string {
	n := map[results.Outcome]int{}
	for _, t := range tests {
		n[t.Result]++
	}
	s := fmt.Sprintf("%d passed, %d failed, %d skipped", n[results.Pass], n[results.Fail], n[results.Skip])
	if n[results.Flaky] > 0 {
		s += fmt.Sprintf(", %d flaky", n[results.Flaky])
	}
	return s
}

// prefixWriter prefixes every line with a label.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
