package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Options configure one run.
type Options struct {
	// Kernels are the matrix columns.
	Kernels []kernels.Spec
	// Suites run in every kernel, in one VM per kernel.
	Suites []Suite
	// Store fetches the kernels.
	Store *kernels.Store
	// SourceDir is the root of the bpfmatrix module (suites and guest are
	// built from it).
	SourceDir string
	// CacheDir holds built images and the accelerator verdict.
	CacheDir string
	// RunDir receives the console logs; created if missing.
	RunDir string
	// Parallel is how many VMs run at once; default DefaultParallel().
	// The VMs expected to take longest (by the last run of the same
	// selection; never-measured and emulated ones first) start first.
	Parallel int
	// Timeout bounds each VM; default 5m.
	Timeout time.Duration
	// Accel is auto, kvm or tcg; default auto.
	Accel vm.Accel
	// MemoryMB per VM; default 1024.
	MemoryMB int
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
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Console, if set, receives every guest console line, prefixed with
	// the kernel name (--verbose).
	Console io.Writer
	// OnProgress, if set, receives phase changes of every column; it is
	// called from several goroutines.
	OnProgress func(results.Progress)
	// Profiles are the boot command lines each kernel runs under; default
	// DefaultProfile only. A profile that would boot a kernel exactly as an
	// earlier one does is not run twice.
	Profiles []expect.Profile
	// Model gives the expected outcome of each cell; nil means
	// DefaultModel.
	Model expect.Model
}

func (o *Options) defaults() {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel()
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Accel == "" {
		o.Accel = vm.AccelAuto
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// runner holds the state of one Run.
type runner struct {
	opts  Options
	start time.Time
	logMu sync.Mutex
}

func (r *runner) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.opts.Log, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// DefaultParallel is how many VMs run at once unless told otherwise: one
// per CPU, plus one. A VM under TCG keeps one core busy only while its
// guest computes; between packets and in the tests' waits it idles. On 2
// cores the default matrix took 52.9 s with 2 VMs at once (62% of both
// cores busy), 41.3 s with 3 (80%) and 40.2 s with 4, so one more VM than
// cores fills the idle time without contending for the cores.
func DefaultParallel() int { return runtime.NumCPU() + 1 }

// bootImage is the kernel file to boot for k (see kernels.Kernel.BootImage);
// it logs why when that is the compressed image.
func (r *runner) bootImage(k *kernels.Kernel) string {
	path, note := k.BootImage()
	if note != "" {
		r.logf("%s", note)
	}
	return path
}

// Run executes the plan and returns the matrix. The error is for problems
// that prevent any result (bad options); per-kernel failures are in the
// result. When ctx is canceled, running VMs are killed and the partial
// result is returned with Complete false.
func Run(ctx context.Context, opts Options) (*results.Result, error) {
	opts.defaults()
	if len(opts.Kernels) == 0 || len(opts.Suites) == 0 {
		return nil, errors.New("harness: nothing to run (no kernels or no suites)")
	}
	if err := CheckRun(opts.Run); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, start: time.Now()}
	if err := r.preflight(); err != nil {
		return nil, err
	}
	res := &results.Result{Schema: results.Schema, Started: r.start, RunDir: opts.RunDir}
	for _, s := range opts.Suites {
		res.Suites = append(res.Suites, s.Name)
	}

	// Fetch kernels and build the shared archives at the same time.
	type pulled struct {
		k       *kernels.Kernel
		err     error
		seconds float64
	}
	pulls := make([]chan pulled, len(opts.Kernels))
	sem := make(chan struct{}, 2)
	cached := make([]bool, len(opts.Kernels))
	nCached := 0
	for i, spec := range opts.Kernels {
		if _, ok := opts.Store.Cached(spec); ok {
			cached[i] = true
			nCached++
		}
	}
	for i, spec := range opts.Kernels {
		pulls[i] = make(chan pulled, 1)
		go func() {
			if !cached[i] {
				// Downloads, two at a time; a cached kernel is only
				// checked and must not wait behind them.
				sem <- struct{}{}
				defer func() { <-sem }()
			}
			t0 := time.Now()
			r.progress(results.Progress{Column: spec.Name, Phase: results.PhaseFetching})
			k, err := opts.Store.Pull(ctx, spec)
			pulls[i] <- pulled{k, err, time.Since(t0).Seconds()}
		}()
	}
	images, err := r.buildShared(ctx)
	if err != nil {
		return nil, err
	}

	// One accelerator verdict per guest architecture: KVM can only help a
	// native guest.
	var accelMu sync.Mutex
	verdicts := map[string]*vm.Verdict{}
	resolveAccel := func(k *kernels.Kernel, arch vm.Arch) (vm.Verdict, error) {
		accelMu.Lock()
		defer accelMu.Unlock()
		if v, ok := verdicts[arch.Name]; ok {
			return *v, nil
		}
		v, err := vm.ResolveAccel(ctx, opts.Accel, arch, filepath.Join(opts.CacheDir, "accel.json"),
			func(ctx context.Context, a vm.Accel) error { return r.probe(ctx, k, arch, images[arch.GOARCH].base, a) })
		if err != nil {
			return v, err
		}
		r.logf("%s: %s", arch.Name, v)
		verdicts[arch.Name] = &v
		if res.Accel.Accel == "" {
			res.Accel = results.Verdict{Accel: string(v.Accel), Reason: v.Reason}
		}
		return v, nil
	}

	type column struct {
		order int // kernel index * 100 + profile index: the matrix order
		kr    results.KernelResult
	}
	var (
		colMu sync.Mutex
		cols  []column
	)
	addColumn := func(order int, kr results.KernelResult) {
		colMu.Lock()
		cols = append(cols, column{order, kr})
		colMu.Unlock()
	}
	sched := newScheduler(opts.Parallel, nCached)
	hist := loadHistory(opts.CacheDir)
	selection := selectionKey(opts)
	var wg sync.WaitGroup
	for i, spec := range opts.Kernels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			settle := sync.OnceFunc(func() { sched.settled(cached[i]) })
			defer settle()
			info := results.KernelInfo{Name: spec.Name, Distro: spec.Distro, Suite: spec.Suite, Arch: spec.Arch, Flavour: spec.Flavour, Version: spec.Version}
			p := <-pulls[i]
			if p.err != nil {
				kr := results.KernelResult{Kernel: info, Status: results.StatusError, Error: p.err.Error(), Profile: expect.DefaultProfile.Name}
				kr.Phases.Fetch = p.seconds
				if ctx.Err() != nil {
					kr.Status = results.StatusInterrupted
				}
				r.logf("%s: %v", spec.Name, p.err)
				r.progress(results.Progress{Column: spec.Name, Phase: results.PhaseDone, Status: kr.Status, Message: kr.Error})
				addColumn(i*100, kr)
				return
			}
			info.Release = p.k.Release
			for _, pkg := range p.k.Packages {
				info.Packages = append(info.Packages, results.PackageInfo{Name: pkg.Name, Version: pkg.Version, SHA256: pkg.SHA256})
			}
			config, err := expect.ReadConfig(p.k.Config)
			if err != nil {
				r.logf("%s: %v", spec.Name, err)
			}
			arch, _ := archOf(spec)
			var wgp sync.WaitGroup
			for j, prof := range profilesFor(opts.Profiles, config) {
				kr := results.KernelResult{Kernel: info, Profile: prof.Name, Cmdline: prof.args}
				kr.Phases.Fetch = p.seconds
				expect, known := hist.expected(selection, kr.Column())
				t := sched.enqueue(ticket{known: known, seconds: expect, foreign: !arch.Native(), order: i*100 + j})
				wgp.Add(1)
				go func() {
					defer wgp.Done()
					if err := sched.wait(ctx, t); err != nil {
						kr.Status, kr.Error = results.StatusInterrupted, "interrupted before the VM started"
						addColumn(i*100+j, kr)
						return
					}
					defer sched.release()
					r.runKernel(ctx, spec, p.k, images, resolveAccel, &kr)
					r.judge(&kr, config)
					r.saveColumn(&kr)
					addColumn(i*100+j, kr)
				}()
			}
			settle()
			wgp.Wait()
		}()
	}
	wg.Wait()
	sort.Slice(cols, func(a, b int) bool { return cols[a].order < cols[b].order })
	measured := map[string]float64{}
	for _, c := range cols {
		res.Kernels = append(res.Kernels, c.kr)
		if c.kr.Status == results.StatusOK {
			measured[c.kr.Column()] = c.kr.Phases.Boot + c.kr.Phases.Tests + c.kr.Phases.PowerOff
		}
	}
	if err := hist.record(opts.CacheDir, selection, measured, time.Now()); err != nil {
		r.logf("remembering VM times for scheduling: %v", err)
	}
	res.Seconds = time.Since(r.start).Seconds()
	res.Complete = ctx.Err() == nil
	return res, nil
}

// saveColumn writes one finished column's result next to its console log,
// so that results survive even if bpfmatrix dies before the end of the run.
func (r *runner) saveColumn(kr *results.KernelResult) {
	b, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return
	}
	dir := filepath.Join(r.opts.RunDir, kr.Column())
	err = os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'), 0o644)
	}
	if err != nil {
		r.logf("%s: %v", kr.Column(), err)
	}
}

// judge applies the expectation model to one finished column.
func (r *runner) judge(kr *results.KernelResult, config map[string]string) {
	model := r.opts.Model
	if model == nil {
		model = expect.DefaultModel
	}
	f := expect.Facts{Arch: kr.Kernel.Arch, Config: config, Accel: kr.Accel}
	var err error
	if f.Major, f.Minor, err = expect.ParseRelease(kr.Kernel.Release); err != nil {
		r.logf("%s: %v: no expectations", kr.Column(), err)
		return
	}
	if kr.Guest != nil {
		f.LSM = strings.Split(kr.Guest.LSM, ",")
	} else {
		f.LSM = expect.BootLSM(config, kr.Cmdline)
	}
	model.Judge(kr, f)
}

type sharedImages struct{ base, tests string }

// buildShared builds the base and test archives for every guest arch in
// the plan.
func (r *runner) buildShared(ctx context.Context) (map[string]sharedImages, error) {
	out := map[string]sharedImages{}
	pkgs := TestPackages(r.opts.Suites)
	for _, spec := range r.opts.Kernels {
		arch, err := archOf(spec)
		if err != nil {
			return nil, err
		}
		if _, ok := out[arch.GOARCH]; ok {
			continue
		}
		b := &initramfs.Builder{
			SourceDir: r.opts.SourceDir,
			CacheDir:  filepath.Join(r.opts.CacheDir, "initramfs"),
			GOARCH:    arch.GOARCH,
			Logf:      r.logf,
		}
		t0 := time.Now()
		var base, tests string
		var baseErr, testsErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); base, _, baseErr = b.Base(ctx) }()
		go func() { defer wg.Done(); tests, _, testsErr = b.Tests(ctx, pkgs) }()
		wg.Wait()
		if err := errors.Join(baseErr, testsErr); err != nil {
			return nil, err
		}
		r.logf("images for %s ready in %.1fs", arch.GOARCH, time.Since(t0).Seconds())
		out[arch.GOARCH] = sharedImages{base: base, tests: tests}
	}
	return out, nil
}

func archOf(spec kernels.Spec) (vm.Arch, error) {
	return vm.ArchByGOARCH(spec.GOARCH())
}

// probe boots the base image under accel and waits for the guest's hello.
func (r *runner) probe(ctx context.Context, k *kernels.Kernel, arch vm.Arch, base string, accel vm.Accel) error {
	r.logf("probing %s with a test boot of %s", accel, k.Name)
	dir, err := os.MkdirTemp(r.opts.RunDir, "probe-")
	if err != nil {
		return err
	}
	v, err := vm.Start(ctx, vm.Options{
		Arch: arch, Kernel: r.bootImage(k), Initrd: base, Accel: accel,
		Append:     []string{"--", "-probe=" + arch.Channel},
		Timeout:    vm.ProbeTimeout,
		ConsoleLog: filepath.Join(dir, "console.log"),
	})
	if err != nil {
		return err
	}
	c := newCollector()
	c.consume(v.Results(), nil)
	exit := v.Wait()
	if c.hello != nil {
		return nil
	}
	if exit.Err != nil {
		return exit.Err
	}
	return fmt.Errorf("%w (%s after %.1fs)", vm.ErrNoHello, exit.Reason, exit.Duration.Seconds())
}

// runKernel builds one kernel's initramfs, boots it and collects results
// into kr.
func (r *runner) runKernel(ctx context.Context, spec kernels.Spec, k *kernels.Kernel, images map[string]sharedImages, resolveAccel func(*kernels.Kernel, vm.Arch) (vm.Verdict, error), kr *results.KernelResult) {
	t0 := time.Now()
	defer func() {
		kr.Seconds = time.Since(t0).Seconds() + kr.Phases.Fetch
		r.progress(results.Progress{Column: kr.Column(), Phase: results.PhaseDone, Status: kr.Status, Elapsed: time.Since(t0), Message: kr.Error})
	}()
	fail := func(err error) {
		kr.Status, kr.Error = results.StatusError, err.Error()
		r.logf("%s: %v", kr.Column(), err)
	}
	r.progress(results.Progress{Column: kr.Column(), Phase: results.PhaseImage})
	arch, err := archOf(spec)
	if err != nil {
		fail(err)
		return
	}
	verdict, err := resolveAccel(k, arch)
	if err != nil {
		fail(err)
		return
	}
	kr.Accel = string(verdict.Accel)
	dir := filepath.Join(r.opts.RunDir, kr.Column())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
		return
	}
	initrd, err := r.buildInitrd(k, arch, images[arch.GOARCH], dir)
	if err != nil {
		fail(err)
		return
	}
	kernelImage := r.bootImage(k) // unpacked once per kernel, then cached
	kr.Phases.Image = time.Since(t0).Seconds()

	var console io.Writer
	if r.opts.Console != nil {
		console = &prefixWriter{w: r.opts.Console, prefix: kr.Column() + "| "}
	}
	kr.ConsoleLog = filepath.Join(dir, "console.log")
	r.logf("%s: booting %s (%s)", kr.Column(), k.Release, verdict.Accel)
	r.progress(results.Progress{Column: kr.Column(), Phase: results.PhaseBooting, Elapsed: time.Since(t0), Message: string(verdict.Accel)})
	bootStart := time.Now()
	v, err := vm.Start(ctx, vm.Options{
		Arch: arch, Kernel: kernelImage, Initrd: initrd, Accel: verdict.Accel,
		MemoryMB: r.opts.MemoryMB, Timeout: r.opts.Timeout,
		ConsoleLog: kr.ConsoleLog, Console: console, Append: kr.Cmdline,
	})
	if err != nil {
		fail(err)
		return
	}
	kr.Reproduce = v.Reproduce()
	c := newCollector()
	if f, err := os.Create(filepath.Join(dir, "events.jsonl")); err == nil {
		defer f.Close()
		c.sink = f
	}
	c.onTest = func(suite string, index int, test string) {
		r.progress(results.Progress{Column: kr.Column(), Phase: results.PhaseTesting, Suite: suite, SuiteIndex: index, Suites: len(r.opts.Suites), Test: test, Elapsed: time.Since(t0)})
	}
	c.consume(v.Results(), func() {
		r.logf("%s: guest up after %.1fs, running tests", kr.Column(), time.Since(bootStart).Seconds())
	})
	exit := v.Wait()
	end := time.Now()

	kr.ConsoleTail = exit.ConsoleTail
	kr.QEMUMaxRSSKiB = exit.MaxRSSKiB
	kr.PanicLines = exit.PanicLines
	kr.Modules = c.modules
	kr.FrameErrors = c.frameErrs
	kr.GuestLog = c.guestLog
	if c.hello != nil {
		kr.Guest = c.hello.Hello
		kr.Phases.Boot = c.helloAt.Sub(bootStart).Seconds()
		last := end
		if c.done != nil {
			last = c.doneAt
			kr.Phases.PowerOff = end.Sub(c.doneAt).Seconds()
		}
		kr.Phases.Tests = last.Sub(c.helloAt).Seconds()
	} else {
		kr.Phases.Boot = end.Sub(bootStart).Seconds()
	}
	kr.Status, kr.Error = status(exit, c)
	if kr.Status == results.StatusOK {
		kr.Reproduce = ""
	}
	dropImage(dir, kr.Status == results.StatusOK)
	if len(c.frameErrs) > 0 && kr.Error == "" {
		kr.Error = fmt.Sprintf("%d bad frame(s) on the result channel: results may be incomplete (first: %s)", len(c.frameErrs), c.frameErrs[0])
	}
	kr.Tests = c.results(kr.Status)
	if kr.Status == results.StatusOK && len(kr.Tests) == 0 {
		kr.Error = "the guest ran no tests"
	}
	r.logf("%s: %s in %.1fs (%s)", kr.Column(), kr.Status, exit.Duration.Seconds(), summarize(kr.Tests))
}

// status derives a kernel's status from how its VM ended and what the
// guest said. No done event is never a pass.
func status(exit *vm.Exit, c *collector) (results.Status, string) {
	return vmStatus(exit, c.hello != nil, c.done != nil, "the guest stopped without its done event")
}

// vmStatus is the status of a VM that ended with exit, whose guest did or
// did not report in (hello) and report its work finished (finished);
// unfinished says what was missing. Timeout, panic and interruption win
// over what the guest said.
func vmStatus(exit *vm.Exit, hello, finished bool, unfinished string) (results.Status, string) {
	switch exit.Reason {
	case vm.ReasonTimeout:
		return results.StatusTimeout, fmt.Sprintf("VM killed after the %s timeout (raise it with --timeout)", exit.Duration.Round(time.Second))
	case vm.ReasonPanic:
		return results.StatusPanic, "guest kernel panic: " + firstLine(exit.PanicLines)
	case vm.ReasonCanceled:
		return results.StatusInterrupted, "interrupted"
	}
	withErr := func(msg string) string {
		if exit.Err != nil {
			msg += ": " + exit.Err.Error()
		}
		return msg
	}
	switch {
	case !hello:
		return results.StatusBootFailed, withErr("the guest never reported in")
	case !finished:
		return results.StatusCrashed, withErr(unfinished)
	case exit.Err != nil:
		return results.StatusCrashed, exit.Err.Error()
	}
	return results.StatusOK, ""
}

func firstLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[0])
}

func summarize(tests []results.TestResult) string {
	n := map[results.Outcome]int{}
	for _, t := range tests {
		n[t.Result]++
	}
	return fmt.Sprintf("%d passed, %d failed, %d skipped", n[results.Pass], n[results.Fail], n[results.Skip])
}

// buildInitrd writes the VM's initramfs: base + tests + this kernel's
// modules + the run configuration.
func (r *runner) buildInitrd(k *kernels.Kernel, arch vm.Arch, shared sharedImages, dir string) (string, error) {
	var modules []string
	cfg := wire.Config{Channel: arch.Channel, Env: append([]string(nil), r.opts.Env...)}
	if len(r.opts.InjectWrong) > 0 {
		cfg.Env = append(cfg.Env, wire.EnvInject+"="+strings.Join(r.opts.InjectWrong, ","))
	}
	for _, s := range r.opts.Suites {
		for _, m := range s.Modules {
			if !slices.Contains(modules, m) {
				modules = append(modules, m) // several suites need veth: load it once
			}
		}
		cfg.Suites = append(cfg.Suites, wire.Suite{
			Name: s.Name, Package: s.ImportPath(), Binary: initramfs.TestBinary(s.BinaryName()),
			Parent: s.Parent, Run: r.opts.Run, Args: r.opts.TestArgs, Timeout: wire.Duration(s.Timeout),
		})
	}
	cfg.Modules = modules
	return writeInitrd(r.opts.CacheDir, k, cfg, []string{shared.base, shared.tests}, dir)
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

// progress reports p if the run has a progress callback.
func (r *runner) progress(p results.Progress) {
	if r.opts.OnProgress != nil {
		r.opts.OnProgress(p)
	}
}
