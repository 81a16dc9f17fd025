// Package runner boots the VMs of every bpfmatrix command through one
// path. A [Runner] owns what the VMs of one command share (the kernel
// store, the bpfmatrix source, the image caches, one accelerator verdict
// per guest architecture and the log); [Runner.Boot] takes a kernel, a
// guest request (internal/wire) and the image parts and returns a finished
// VM, its result channel read to the end by package collect. It is the one
// caller of vm.Start, and it enforces the boot deadline. The commands
// built on it (run, test, exec, shell, bench) say what to boot; the
// runner knows how.
package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Runner owns what the VMs of one command share: the store, the source,
// the image caches, one accelerator verdict per guest architecture and the
// log. Every VM is booted by its [Runner.Boot].
type Runner struct {
	Setup
	start time.Time
	// OnProgress, if set, receives the phase changes of every column.
	OnProgress func(results.Progress)

	logMu sync.Mutex

	mu       sync.Mutex
	bases    map[string]*baseImage // by GOARCH
	includes map[string]*baseImage // the --include archive, by GOARCH
	verdicts map[string]vm.Verdict // by arch name
	first    *vm.Verdict           // the first verdict, for the results
	accelMu  sync.Mutex            // one probe at a time
}

// baseImage is the base archive of one GOARCH, built once per runner.
type baseImage struct {
	once sync.Once
	path string
	err  error
}

// New checks, before any download or VM, what would make the
// command fail half-way on specs (see host.Preflight) and returns the runner.
func New(s Setup, specs []catalog.Spec) (*Runner, error) {
	if err := host.Preflight(specs, s.CacheDir, s.RunDir); err != nil {
		return nil, err
	}
	return &Runner{Setup: s, start: time.Now(), bases: map[string]*baseImage{}, includes: map[string]*baseImage{}, verdicts: map[string]vm.Verdict{}}, nil
}

// Started is when the runner was made: the start of the command.
func (r *Runner) Started() time.Time { return r.start }

// Logf writes a progress line to the log, stamped with the seconds since
// the command started.
func (r *Runner) Logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.Log, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// Progress reports p if the command has a progress callback.
func (r *Runner) Progress(p results.Progress) {
	if r.OnProgress != nil {
		r.OnProgress(p)
	}
}

// ArchOf is the guest architecture of spec's kernel.
func ArchOf(spec catalog.Spec) (vm.Arch, error) {
	return vm.ArchByGOARCH(spec.GOARCH())
}

// Builder returns the image builder for goarch.
func (r *Runner) Builder(goarch string) *initramfs.Builder {
	return &initramfs.Builder{SourceDir: r.SourceDir, CacheDir: filepath.Join(r.CacheDir, "initramfs"), GOARCH: goarch, Logf: r.buildf}
}

// buildf reports an image being built: in the log, and on BuildLog, which
// a command shows even without --verbose (a first build takes minutes).
func (r *Runner) buildf(format string, args ...any) {
	r.Logf(format, args...)
	if r.BuildLog != nil && r.BuildLog != r.Log { // not twice on one writer (--verbose)
		r.logMu.Lock()
		defer r.logMu.Unlock()
		fmt.Fprintf(r.BuildLog, "bpfmatrix: "+format+"\n", args...)
	}
}

// Base returns the base archive for goarch (the guest program as /init on
// u-root's libinit, test2json), built or found in the cache once.
func (r *Runner) Base(ctx context.Context, goarch string) (string, error) {
	r.mu.Lock()
	b := r.bases[goarch]
	if b == nil {
		b = &baseImage{}
		r.bases[goarch] = b
	}
	r.mu.Unlock()
	b.once.Do(func() { b.path, _, b.err = r.Builder(goarch).Base(ctx) })
	return b.path, b.err
}

// includeArchive returns the archive of the command's --include files for
// guests of goarch, built once per runner; "" when there are none.
func (r *Runner) includeArchive(goarch string) (string, error) {
	if len(r.Include) == 0 {
		return "", nil
	}
	r.mu.Lock()
	b := r.includes[goarch]
	if b == nil {
		b = &baseImage{}
		r.includes[goarch] = b
	}
	r.mu.Unlock()
	b.once.Do(func() {
		b.path, b.err = HostArchive(filepath.Join(r.RunDir, "include-"+goarch+".cpio"), goarch, r.Include)
	})
	return b.path, b.err
}

// bootImage is the kernel file to boot for k (see kernels.Kernel.BootImage);
// it logs why when that is the compressed image.
func (r *Runner) bootImage(k *kernels.Kernel) string {
	path, note := k.BootImage()
	if note != "" {
		r.Logf("%s", note)
	}
	return path
}

// accel returns the accelerator verdict for arch, resolving it (with a
// probe boot of k, for auto) the first time. KVM can only help a native
// guest, so there is one verdict per guest architecture.
func (r *Runner) accel(ctx context.Context, k *kernels.Kernel, arch vm.Arch) (vm.Verdict, error) {
	r.accelMu.Lock()
	defer r.accelMu.Unlock()
	r.mu.Lock()
	v, ok := r.verdicts[arch.Name]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := vm.ResolveAccel(ctx, r.VM.Accel, arch, filepath.Join(r.CacheDir, "accel.json"),
		func(ctx context.Context, a vm.Accel) error { return r.probe(ctx, k, arch, a) })
	if err != nil {
		return v, err
	}
	r.Logf("%s: %s", arch.Name, v)
	r.mu.Lock()
	r.verdicts[arch.Name] = v
	if r.first == nil {
		r.first = &v
	}
	r.mu.Unlock()
	return v, nil
}

// Verdict is the first accelerator verdict of the command, for its
// results.
func (r *Runner) Verdict() results.Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		return results.Verdict{}
	}
	return results.Verdict{Accel: string(r.first.Accel), Reason: r.first.Reason}
}

// probe boots the base image under accel and waits for the guest's hello.
func (r *Runner) probe(ctx context.Context, k *kernels.Kernel, arch vm.Arch, accel vm.Accel) error {
	r.Logf("probing %s with a test boot of %s", accel, k.Name)
	base, err := r.Base(ctx, arch.GOARCH)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(r.RunDir, "probe-")
	if err != nil {
		return err
	}
	b := r.Boot(ctx, Request{
		Dir: dir, Kernel: k, Arch: arch, Initrd: base, Accel: accel,
		Append: []string{"--", "-probe=" + arch.Channel}, Timeout: vm.ProbeTimeout,
	})
	switch {
	case b.Err != nil:
		return b.Err
	case b.Events.Hello != nil:
		return nil
	case b.Exit.Err != nil:
		return b.Exit.Err
	}
	return fmt.Errorf("%w (%s after %.1fs)", vm.ErrNoHello, b.Exit.Reason, b.Exit.Duration.Seconds())
}

// Pulled is one kernel of a command, fetched in the background.
type Pulled struct {
	// Cached is known at once: the kernel was in the cache.
	Cached bool
	done   chan struct{}
	// After Wait: the kernel, or why not, and how long the pull took.
	Kernel  *kernels.Kernel
	Err     error
	Seconds float64

	configOnce sync.Once
	config     map[string]string
}

// Wait blocks until the pull has ended.
func (p *Pulled) Wait() { <-p.done }

// KernelConfig returns the kernel's build configuration, read once; nil
// (logged) if it cannot be read.
func (p *Pulled) KernelConfig(r *Runner) map[string]string {
	p.configOnce.Do(func() {
		if p.Kernel.Config == "" {
			return // a kernel without a config: the model says what it cannot decide
		}
		var err error
		if p.config, err = expect.ReadConfig(p.Kernel.Config); err != nil {
			r.Logf("%s: %v", p.Kernel.Name, err)
		}
	})
	return p.config
}

// Pull fetches specs in the background, all at once: the store reads
// their indexes concurrently and downloads two at a time (Options.Downloads),
// while a cached kernel is only checked and waits behind nothing.
func (r *Runner) Pull(ctx context.Context, specs []catalog.Spec) []*Pulled {
	out := make([]*Pulled, len(specs))
	for i, spec := range specs {
		p := &Pulled{done: make(chan struct{})}
		_, p.Cached = r.Store.Cached(spec)
		out[i] = p
		go func() {
			defer close(p.done)
			t0 := time.Now()
			r.Progress(results.Progress{Column: spec.Name, Phase: results.PhaseFetching})
			p.Kernel, p.Err = r.Store.Pull(ctx, spec)
			p.Seconds = time.Since(t0).Seconds()
		}()
	}
	return out
}
