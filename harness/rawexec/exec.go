// Package rawexec runs one program of the user's, once, in one VM per
// kernel (bpfmatrix exec, go test -exec): the program and its libraries
// in the image, its module and GOROOT on disks (package guestgo), its
// output and exit code back from each kernel, and the kernels' output
// printed group by group in the order of the kernels. No suite, no
// matrix: the program's own exit code is the verdict.
package rawexec

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/guestgo"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Options configure one raw-exec run: one program run once in one VM
// per kernel (`bpfmatrix exec`, `go test -exec`).
type Options struct {
	// Setup is shared with the other commands; VM.Timeout defaults to 10m
	// and VM.CPUs to 2.
	runner.Setup
	// Kernels to run the program on.
	Kernels []catalog.Spec
	// Program is the host path of a Linux binary for the guest's
	// architecture. A dynamically linked one (cgo, go test -race) comes
	// with its interpreter and libraries, from the host's (same
	// architecture only).
	Program string
	// Args are its arguments, without the program name.
	Args []string
	// Env is its environment (KEY=VALUE); see [host.ExecEnv].
	Env []string
	// Dir, if set, is the program's working directory, a host directory
	// (a test's package directory, with testdata/). The whole Go module
	// it belongs to (the directory of the nearest go.mod, less .git; Dir
	// itself outside a module) is in the guest at its own path, on a disk
	// image, writable through an overlay whose writes stay in the guest.
	// Empty: "/".
	Dir string
	// GoRoot, if set, is a Go installation the guest sees read-only at
	// the same path, with GOROOT set to it: what a test's go/build and
	// go/importer read. See [gotest.GoRoot].
	GoRoot string
	// Shell puts /bin/bash in the guest, as a distribution machine has it
	// (Go eBPF tests attach uprobes to it): the host's, with its libraries,
	// for a guest of the host's architecture; else Debian's bash for the
	// guest's architecture (kernels.Store.Userland), unless Include has a
	// /bin/bash already.
	Shell bool
	// Modules are kernel modules loaded before the program starts.
	Modules []string
	// AllowSplats: a kernel splat is reported but is no failure.
	AllowSplats bool
	// Parallel is how many VMs run at once; default every kernel at once.
	Parallel int
	// OnDone, if set, is called as each kernel finishes, from several
	// goroutines, with the kernel's index in Kernels.
	OnDone func(i int, k *Kernel)
}

// Result is the outcome of [Run], one entry per kernel in the order
// of Options.Kernels.
type Result struct {
	Kernels []Kernel `json:"kernels"`
}

// OK reports whether the program ran to completion and exited 0 on every
// kernel.
func (r *Result) OK() bool {
	for _, k := range r.Kernels {
		if !k.OK() {
			return false
		}
	}
	return len(r.Kernels) > 0
}

// Kernel is the outcome of a raw-exec run on one kernel.
type Kernel struct {
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
	// Splats are the kernel's warnings, BUGs, oopses, stalls and lockups
	// while the program ran; with AllowSplats false they fail the kernel.
	Splats      []results.Splat `json:"splats,omitempty"`
	AllowSplats bool            `json:"allow_splats,omitempty"`
}

// OK reports whether the program ran and exited 0, and the kernel did not
// splat (unless splats are allowed).
func (k *Kernel) OK() bool {
	return k.Status == results.StatusOK && k.ExitCode == 0 && (results.UnknownSplats(k.Splats) == 0 || k.AllowSplats)
}

// WriteOutput writes the program's output: stdout chunks to stdout and
// stderr chunks to stderr (both may be the same writer).
func (k *Kernel) WriteOutput(stdout, stderr io.Writer) error {
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

func (o *Options) defaults() {
	o.Setup.Defaults(runner.ExecTimeout, runner.ExecCPUs)
	if o.Parallel <= 0 {
		o.Parallel = len(o.Kernels)
	}
}

// Run runs one program in one VM per kernel, in parallel, and returns
// what it wrote and how it exited on each. The error is for problems that
// prevent any run (bad options, a program that cannot run in the guest, a
// failed image build); per-kernel failures are in the result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	if len(opts.Kernels) == 0 {
		return nil, errors.New("harness: exec: no kernels given")
	}
	arch, err := execArch(opts.Kernels)
	if err != nil {
		return nil, err
	}
	if err := checkProgram(opts.Program, arch); err != nil {
		return nil, err
	}
	if opts.Shell {
		if opts.Include, err = guestgo.ShellInclude(ctx, opts.Store, arch, opts.Include); err != nil {
			return nil, err
		}
	}
	r, err := runner.New(opts.Setup, opts.Kernels)
	if err != nil {
		return nil, err
	}
	pulls := r.Pull(ctx, opts.Kernels)
	base, err := r.Base(ctx, arch.GOARCH)
	if err != nil {
		return nil, err
	}
	payload, err := writePayload(opts, arch, filepath.Join(opts.RunDir, "payload.cpio"))
	if err != nil {
		return nil, err
	}
	disks, err := guestgo.Disks(ctx, r, arch, opts.Dir, opts.GoRoot)
	if err != nil {
		return nil, err
	}
	if opts.GoRoot != "" {
		disks = append(disks, guestgo.CacheDisks(ctx, r, opts.GoRoot, arch.GOARCH)...)
	}
	res := &Result{Kernels: make([]Kernel, len(opts.Kernels))}
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, spec := range opts.Kernels {
		wg.Go(func() {
			ek := &res.Kernels[i]
			ek.Kernel, ek.ExitCode, ek.AllowSplats = spec.Name, -1, opts.AllowSplats
			t0 := time.Now()
			defer func() {
				ek.Seconds = time.Since(t0).Seconds()
				if opts.OnDone != nil {
					opts.OnDone(i, ek)
				}
			}()
			p := pulls[i]
			p.Wait()
			if p.Err != nil {
				ek.Status, ek.Error = results.StatusError, p.Err.Error()
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				ek.Status, ek.Error = results.StatusInterrupted, "interrupted before the VM started"
				return
			}
			defer func() { <-sem }()
			ek.Release = p.Kernel.Release
			b := r.Boot(ctx, runner.Request{
				Column: spec.Name, Dir: filepath.Join(opts.RunDir, spec.Name), Kernel: p.Kernel, Arch: arch,
				Config: execConfig(opts, spec.Name), Parts: []string{base, payload}, Disks: disks,
			})
			ek.fill(b)
			if major, minor, err := expect.ParseRelease(p.Kernel.Release); err == nil {
				f := expect.Facts{Arch: spec.Arch, Major: major, Minor: minor, Config: p.KernelConfig(r), Accel: string(b.Accel), ModuleTree: p.Kernel.ModulesDir != ""}
				expect.JudgeSplats(expect.KnownSplats, ek.Splats, f)
			}
		})
	}
	wg.Wait()
	return res, nil
}

// execConfig is the guest's request of a raw-exec run on kernel.
func execConfig(opts Options, kernel string) *wire.Config {
	cfg := &wire.Config{
		Modules: opts.Modules,
		Exec: &wire.Exec{
			Path: execBinary(opts.Program), Args: opts.Args, Dir: opts.Dir,
			Env: append(append([]string(nil), opts.Env...), wire.EnvKernel+"="+kernel),
		},
	}
	if opts.GoRoot != "" {
		cfg.Exec.Env = append(cfg.Exec.Env, "GOROOT="+opts.GoRoot, "GOCACHE="+wire.GoCacheDir)
	}
	if cfg.Exec.Dir != "" {
		cfg.Exec.Dir, _ = filepath.Abs(cfg.Exec.Dir)
	}
	return cfg
}

// fill records how the VM b ended and what the program did.
func (k *Kernel) fill(b *runner.Booted) {
	k.ConsoleLog = b.ConsoleLog
	k.Reproduce = b.Reproduce
	k.Status, k.Error = b.Status, b.Error
	if b.Err != nil {
		return
	}
	k.ConsoleTail = b.Exit.ConsoleTail
	k.Output = b.Events.Output
	k.Splats = b.Splats
	if b.Events.Hello != nil {
		k.Release = b.Events.Hello.Hello.Release
	}
	k.ExitCode, k.Error = b.ProgramExit()
}

// execArch returns the one guest architecture of specs: the program is
// built for one.
func execArch(specs []catalog.Spec) (vm.Arch, error) {
	arch, err := runner.ArchOf(specs[0])
	if err != nil {
		return arch, err
	}
	for _, s := range specs[1:] {
		a, err := runner.ArchOf(s)
		if err != nil {
			return a, err
		}
		if a.Name != arch.Name {
			return a, fmt.Errorf("harness: exec: kernels %s (%s) and %s (%s) differ in architecture, but one program runs on all: pick kernels of one architecture", specs[0].Name, arch.Name, s.Name, a.Name)
		}
	}
	return arch, nil
}

// checkProgram refuses a program that cannot run in the guest: not an ELF
// for arch.
func checkProgram(path string, arch vm.Arch) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("harness: exec %s: %w (bpfmatrix exec runs Linux ELF binaries)", path, err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch.GOARCH]
	if f.Machine != want {
		return fmt.Errorf("harness: exec %s: built for %s, but the kernels are %s: build it with GOARCH=%s", path, f.Machine, arch.Name, arch.GOARCH)
	}
	return nil
}

// writePayload writes the archive shared by every kernel: the program,
// with its interpreter and libraries if it is dynamically linked.
func writePayload(opts Options, arch vm.Arch, path string) (string, error) {
	entries, err := hostfiles.Entries(arch.GOARCH, "", nil, opts.Program)
	if err != nil {
		return "", fmt.Errorf("harness: exec: %w", err)
	}
	entries = append(entries, initramfs.Entry{Name: strings.TrimPrefix(execBinary(opts.Program), "/"), Mode: 0o755, Src: opts.Program})
	if err := initramfs.WriteArchive(path, entries); err != nil {
		return "", err
	}
	return path, nil
}

func execBinary(program string) string { return wire.ExecBinDir + "/" + filepath.Base(program) }
