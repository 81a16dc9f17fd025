package harness

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// ErrNotStatic is returned for a program that needs a dynamic loader: the
// guest has no C library.
var ErrNotStatic = errors.New("program is not statically linked")

// ExecOptions configure one raw-exec run: one program run once in one VM
// per kernel (`bpfmatrix exec`, `go test -exec`).
type ExecOptions struct {
	// Kernels to run the program on.
	Kernels []kernels.Spec
	// Store fetches the kernels.
	Store *kernels.Store
	// SourceDir is the root of the bpfmatrix module (the guest is built
	// from it); see [FindSource].
	SourceDir string
	// CacheDir holds built images and the accelerator verdict.
	CacheDir string
	// RunDir receives the console logs and images; created if missing.
	RunDir string
	// Program is the host path of a static Linux binary for the guest's
	// architecture.
	Program string
	// Args are its arguments, without the program name.
	Args []string
	// Env is its environment (KEY=VALUE); see [ExecEnv].
	Env []string
	// Dir, if set, is a host directory packed into the guest at the same
	// absolute path and used as the working directory (a test's package
	// directory, with testdata/). Empty: "/".
	Dir string
	// MaxDirBytes bounds the files packed from Dir; default
	// initramfs.DefaultDirLimit.
	MaxDirBytes int64
	// Modules are kernel modules loaded before the program starts.
	Modules []string
	// Timeout bounds each VM; default 10m.
	Timeout time.Duration
	// Accel is auto, kvm or tcg; default auto.
	Accel vm.Accel
	// MemoryMB per VM; default 1024.
	MemoryMB int
	// CPUs per VM; default 2.
	CPUs int
	// Parallel is how many VMs run at once; default every kernel at once.
	Parallel int
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// OnDone, if set, is called as each kernel finishes, from several
	// goroutines, with the kernel's index in Kernels.
	OnDone func(i int, k *ExecKernel)
}

// ExecResult is the outcome of [Exec], one entry per kernel in the order
// of ExecOptions.Kernels.
type ExecResult struct {
	Kernels []ExecKernel `json:"kernels"`
}

// OK reports whether the program ran to completion and exited 0 on every
// kernel.
func (r *ExecResult) OK() bool {
	for _, k := range r.Kernels {
		if !k.OK() {
			return false
		}
	}
	return len(r.Kernels) > 0
}

// ExecKernel is the outcome of a raw-exec run on one kernel.
type ExecKernel struct {
	// Kernel is the catalog name, Release the booted kernel's release.
	Kernel  string `json:"kernel"`
	Release string `json:"release,omitempty"`
	// Status says how the VM ended; only StatusOK has an ExitCode.
	Status results.Status `json:"status"`
	Error  string         `json:"error,omitempty"`
	// ExitCode is the program's exit code (-1: it did not start or died
	// from a signal).
	ExitCode int `json:"exit_code"`
	// Output is what the program wrote, in the order it arrived.
	Output     []wire.Output `json:"output,omitempty"`
	ConsoleLog string        `json:"console_log,omitempty"`
	// ConsoleTail is the end of the kernel console, for failures.
	ConsoleTail []string `json:"console_tail,omitempty"`
	Reproduce   string   `json:"reproduce,omitempty"`
	Seconds     float64  `json:"seconds"`
}

// OK reports whether the program ran and exited 0.
func (k *ExecKernel) OK() bool { return k.Status == results.StatusOK && k.ExitCode == 0 }

// WriteOutput writes the program's output: stdout chunks to stdout and
// stderr chunks to stderr (both may be the same writer).
func (k *ExecKernel) WriteOutput(stdout, stderr io.Writer) error {
	for _, o := range k.Output {
		w := stdout
		if o.Stream == wire.Stderr {
			w = stderr
		}
		if _, err := w.Write(o.Data); err != nil {
			return err
		}
	}
	return nil
}

func (o *ExecOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Accel == "" {
		o.Accel = vm.AccelAuto
	}
	if o.CPUs <= 0 {
		o.CPUs = 2
	}
	if o.Parallel <= 0 {
		o.Parallel = len(o.Kernels)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Exec runs one program in one VM per kernel, in parallel, and returns
// what it wrote and how it exited on each. The error is for problems that
// prevent any run (bad options, a program that cannot run in the guest, a
// failed image build); per-kernel failures are in the result.
func Exec(ctx context.Context, opts ExecOptions) (*ExecResult, error) {
	opts.defaults()
	if len(opts.Kernels) == 0 {
		return nil, errors.New("harness: exec: no kernels given")
	}
	arch, err := execArch(opts.Kernels)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(opts.Program, arch); err != nil {
		return nil, err
	}
	r := &runner{opts: Options{Kernels: opts.Kernels, CacheDir: opts.CacheDir, RunDir: opts.RunDir, Log: opts.Log}, start: time.Now()}
	if err := r.preflight(); err != nil {
		return nil, err
	}
	pulls := make([]chan pulledKernel, len(opts.Kernels))
	for i, spec := range opts.Kernels {
		pulls[i] = make(chan pulledKernel, 1)
		go func() {
			k, err := opts.Store.Pull(ctx, spec)
			pulls[i] <- pulledKernel{k, err}
		}()
	}
	b := &initramfs.Builder{SourceDir: opts.SourceDir, CacheDir: filepath.Join(opts.CacheDir, "initramfs"), GOARCH: arch.GOARCH, Logf: r.logf}
	base, _, err := b.Base(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := writePayload(opts, filepath.Join(opts.RunDir, "payload.cpio"))
	if err != nil {
		return nil, err
	}
	var accelOnce sync.Mutex
	var verdict *vm.Verdict
	resolve := func(k *kernels.Kernel) (vm.Verdict, error) {
		accelOnce.Lock()
		defer accelOnce.Unlock()
		if verdict != nil {
			return *verdict, nil
		}
		v, err := vm.ResolveAccel(ctx, opts.Accel, arch, filepath.Join(opts.CacheDir, "accel.json"),
			func(ctx context.Context, a vm.Accel) error { return r.probe(ctx, k, arch, base, a) })
		if err == nil {
			verdict = &v
		}
		return v, err
	}
	res := &ExecResult{Kernels: make([]ExecKernel, len(opts.Kernels))}
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, spec := range opts.Kernels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ek := &res.Kernels[i]
			ek.Kernel = spec.Name
			t0 := time.Now()
			defer func() {
				ek.Seconds = time.Since(t0).Seconds()
				if opts.OnDone != nil {
					opts.OnDone(i, ek)
				}
			}()
			p := <-pulls[i]
			if p.err != nil {
				ek.Status, ek.Error, ek.ExitCode = results.StatusError, p.err.Error(), -1
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ek.Status, ek.Error, ek.ExitCode = results.StatusInterrupted, "interrupted before the VM started", -1
				return
			}
			defer func() { <-sem }()
			execKernel(ctx, opts, spec, p.k, r.bootImage(p.k), arch, []string{base, payload}, resolve, ek)
		}()
	}
	wg.Wait()
	return res, nil
}

type pulledKernel struct {
	k   *kernels.Kernel
	err error
}

// execArch returns the one guest architecture of specs: the program is
// built for one.
func execArch(specs []kernels.Spec) (vm.Arch, error) {
	arch, err := archOf(specs[0])
	if err != nil {
		return arch, err
	}
	for _, s := range specs[1:] {
		a, err := archOf(s)
		if err != nil {
			return a, err
		}
		if a.Name != arch.Name {
			return a, fmt.Errorf("harness: exec: kernels %s (%s) and %s (%s) differ in architecture, but one program runs on all: pick kernels of one architecture", specs[0].Name, arch.Name, s.Name, a.Name)
		}
	}
	return arch, nil
}

// checkStatic refuses a program that cannot run in the guest: not an ELF
// for arch, or dynamically linked (the guest has no C library).
func checkStatic(path string, arch vm.Arch) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("harness: exec %s: %w (bpfmatrix exec runs Linux ELF binaries)", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch.GOARCH]
	if f.Machine != want {
		return fmt.Errorf("harness: exec %s: built for %s, but the kernels are %s: build it with GOARCH=%s", path, f.Machine, arch.Name, arch.GOARCH)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s needs a dynamic loader and a C library, which the guest lacks: build it with CGO_ENABLED=0 (for go test: CGO_ENABLED=0 go test -exec ...)", ErrNotStatic, path)
		}
	}
	return nil
}

// writePayload writes the archive shared by every kernel: the program and
// the packed directory.
func writePayload(opts ExecOptions, path string) (string, error) {
	var entries []initramfs.Entry
	if opts.Dir != "" {
		dir, err := filepath.Abs(opts.Dir)
		if err != nil {
			return "", err
		}
		// Staged, not at its own path: the guest mounts tmpfs on /tmp (and
		// more), which would hide a package directory below it; the guest
		// bind-mounts the staged copy onto the path.
		if entries, err = initramfs.PackDir(dir, filepath.Join(wire.StageDir, dir), opts.MaxDirBytes); err != nil {
			return "", err
		}
	}
	entries = append(entries, initramfs.Entry{Name: strings.TrimPrefix(execBinary(opts.Program), "/"), Mode: 0o755, Src: opts.Program})
	if err := initramfs.WriteArchive(path, entries); err != nil {
		return "", err
	}
	return path, nil
}

func execBinary(program string) string { return wire.ExecBinDir + "/" + filepath.Base(program) }

// execKernel boots one kernel with the program and collects its output.
func execKernel(ctx context.Context, opts ExecOptions, spec kernels.Spec, k *kernels.Kernel, kernelImage string, arch vm.Arch, parts []string, resolve func(*kernels.Kernel) (vm.Verdict, error), ek *ExecKernel) {
	ek.ExitCode = -1
	ek.Release = k.Release
	fail := func(err error) { ek.Status, ek.Error = results.StatusError, err.Error() }
	verdict, err := resolve(k)
	if err != nil {
		fail(err)
		return
	}
	dir := filepath.Join(opts.RunDir, spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
		return
	}
	cfg := wire.Config{
		Channel: arch.Channel,
		Modules: opts.Modules,
		Exec: &wire.Exec{
			Path: execBinary(opts.Program), Args: opts.Args, Dir: opts.Dir,
			Env: append(append([]string(nil), opts.Env...), wire.EnvKernel+"="+spec.Name),
		},
	}
	if cfg.Exec.Dir != "" {
		cfg.Exec.Dir, _ = filepath.Abs(cfg.Exec.Dir)
	}
	initrd, err := writeInitrd(opts.CacheDir, k, cfg, parts, dir)
	if err != nil {
		fail(err)
		return
	}
	ek.ConsoleLog = filepath.Join(dir, "console.log")
	v, err := vm.Start(ctx, vm.Options{
		Arch: arch, Kernel: kernelImage, Initrd: initrd, Accel: verdict.Accel,
		MemoryMB: opts.MemoryMB, CPUs: opts.CPUs, Timeout: opts.Timeout, ConsoleLog: ek.ConsoleLog,
	})
	if err != nil {
		fail(err)
		return
	}
	ek.Reproduce = v.Reproduce()
	c := collectExec(v.Results())
	exit := v.Wait()
	ek.ConsoleTail = exit.ConsoleTail
	ek.Output = c.output
	if c.hello != nil {
		ek.Release = c.hello.Release
	}
	ek.Status, ek.Error = execStatus(exit, c)
	dropImage(dir, ek.Status == results.StatusOK)
	if c.exit != nil {
		ek.ExitCode = c.exit.Code
		if c.exit.Error != "" && ek.Error == "" {
			ek.Error = c.exit.Error
		}
	}
}

// writeInitrd writes one VM's initramfs into dir: the shared parts, the
// kernel's modules that cfg names and the run configuration.
func writeInitrd(cacheDir string, k *kernels.Kernel, cfg wire.Config, parts []string, dir string) (string, error) {
	parts = append([]string(nil), parts...)
	if len(cfg.Modules) > 0 {
		mods, err := initramfs.Modules(filepath.Join(cacheDir, "initramfs"), k.Release, k.ModulesDir, cfg.Modules)
		if err != nil {
			return "", err
		}
		parts = append(parts, mods)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cfgArchive := filepath.Join(dir, "run.cpio")
	if err := initramfs.WriteArchive(cfgArchive, []initramfs.Entry{{Name: strings.TrimPrefix(wire.ConfigPath, "/"), Mode: 0o644, Data: b}}); err != nil {
		return "", err
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	return initrd, initramfs.Concat(initrd, append(parts, cfgArchive)...)
}

// execCollector holds the events of a raw-exec run.
type execCollector struct {
	hello     *wire.Hello
	output    []wire.Output
	exit      *wire.Exit
	done      bool
	log       []string
	frameErrs []string
}

func collectExec(r io.Reader) *execCollector {
	c := &execCollector{}
	dec := wire.NewDecoder(r)
	for {
		ev, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return c
		}
		var fe *wire.FrameError
		if errors.As(err, &fe) {
			c.frameErrs = append(c.frameErrs, fe.Error())
			continue
		}
		if err != nil {
			c.frameErrs = append(c.frameErrs, err.Error())
			return c
		}
		if ev.Lost > 0 {
			c.frameErrs = append(c.frameErrs, fmt.Sprintf("%d frame(s) lost before frame %d", ev.Lost, ev.Seq))
		}
		switch ev.Type {
		case wire.TypeHello:
			c.hello = ev.Hello
		case wire.TypeOutput:
			c.output = append(c.output, *ev.Output)
		case wire.TypeExit:
			c.exit = ev.Exit
		case wire.TypeLog:
			c.log = append(c.log, ev.Log)
		case wire.TypeModule:
			if ev.Module.Error != "" {
				c.log = append(c.log, fmt.Sprintf("module %s: %s", ev.Module.Name, ev.Module.Error))
			}
		case wire.TypeDone:
			c.done = true
		}
	}
}

// execStatus derives a kernel's status from how its VM ended and what the
// guest said. No exit event is never a pass.
func execStatus(exit *vm.Exit, c *execCollector) (results.Status, string) {
	var detail string
	if len(c.log) > 0 {
		detail = " (guest: " + strings.Join(c.log, "; ") + ")"
	}
	st, msg := vmStatus(exit, c.hello != nil, c.exit != nil && c.done, "the guest stopped before the program's exit was reported"+detail)
	if st == results.StatusOK && len(c.frameErrs) > 0 {
		return results.StatusCrashed, fmt.Sprintf("%d bad frame(s) on the result channel: output may be incomplete (first: %s)", len(c.frameErrs), c.frameErrs[0])
	}
	return st, msg
}
