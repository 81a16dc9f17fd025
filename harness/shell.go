package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// ShellOptions configure an interactive shell in one VM ([Shell]).
type ShellOptions struct {
	// Kernel to boot.
	Kernel kernels.Spec
	// Store fetches the kernel.
	Store *kernels.Store
	// SourceDir is the root of the bpfmatrix module; see [FindSource].
	SourceDir string
	// CacheDir holds built images; RunDir the console log.
	CacheDir, RunDir string
	// Modules are packed and loaded before the shell starts; more can be
	// loaded by hand with insmod from /lib/modules.
	Modules []string
	// Env is added to the shell's environment (KEY=VALUE).
	Env []string
	// Timeout bounds the VM; default 1h.
	Timeout time.Duration
	// Accel is auto, kvm or tcg; default auto.
	Accel vm.Accel
	// MemoryMB and CPUs of the VM; default 1024 and 2.
	MemoryMB, CPUs int
	// Rows and Cols are the terminal's size; default 24x80.
	Rows, Cols int
	// Stdin is the terminal's input; Stdout receives the console.
	Stdin  io.Reader
	Stdout io.Writer
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// ShellExit says how a shell session ended.
type ShellExit struct {
	// Status is StatusOK when the shell exited by itself and the VM
	// powered off; StatusInterrupted when ctx was canceled (the quit key).
	Status results.Status
	// ExitCode is the shell's exit code, -1 if unknown.
	ExitCode int
	// Error explains any other end.
	Error      string
	ConsoleLog string
}

// Shell boots Kernel with u-root's shell (gosh) running on the console, the
// eBPF file systems mounted as for the suites, and connects the console to
// Stdin and Stdout until the shell exits, the VM times out or ctx is
// canceled.
func Shell(ctx context.Context, opts ShellOptions) (*ShellExit, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Hour
	}
	if opts.Accel == "" {
		opts.Accel = vm.AccelAuto
	}
	if opts.CPUs <= 0 {
		opts.CPUs = 2
	}
	if opts.Rows <= 0 || opts.Cols <= 0 {
		opts.Rows, opts.Cols = 24, 80
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Stdin == nil || opts.Stdout == nil {
		return nil, errors.New("harness: shell: Stdin and Stdout are required")
	}
	r := &runner{opts: Options{Kernels: []kernels.Spec{opts.Kernel}, CacheDir: opts.CacheDir, RunDir: opts.RunDir, Log: opts.Log}, start: time.Now()}
	if err := r.preflight(); err != nil {
		return nil, err
	}
	arch, err := archOf(opts.Kernel)
	if err != nil {
		return nil, err
	}
	k, err := opts.Store.Pull(ctx, opts.Kernel)
	if err != nil {
		return nil, err
	}
	b := &initramfs.Builder{SourceDir: opts.SourceDir, CacheDir: filepath.Join(opts.CacheDir, "initramfs"), GOARCH: arch.GOARCH, Logf: r.logf}
	base, _, err := b.Base(ctx)
	if err != nil {
		return nil, err
	}
	sh, err := b.Shell(ctx, urootVersion())
	if err != nil {
		return nil, err
	}
	verdict, err := vm.ResolveAccel(ctx, opts.Accel, arch, filepath.Join(opts.CacheDir, "accel.json"),
		func(ctx context.Context, a vm.Accel) error { return r.probe(ctx, k, arch, base, a) })
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.RunDir, 0o755); err != nil {
		return nil, err
	}
	cfg := wire.Config{
		Channel: arch.Channel, Modules: opts.Modules,
		Exec: &wire.Exec{
			Path: initramfs.ShellPath, Dir: "/tmp", Console: "/dev/" + arch.Console,
			Env:  append([]string{"TERM=vt100", wire.EnvKernel + "=" + opts.Kernel.Name}, opts.Env...),
			Rows: opts.Rows, Cols: opts.Cols,
		},
	}
	initrd, err := writeInitrd(opts.CacheDir, k, cfg, []string{base, sh}, opts.RunDir)
	if err != nil {
		return nil, err
	}
	se := &ShellExit{ExitCode: -1, ConsoleLog: filepath.Join(opts.RunDir, "console.log")}
	v, err := vm.Start(ctx, vm.Options{
		Arch: arch, Kernel: r.bootImage(k), Initrd: initrd, Accel: verdict.Accel,
		MemoryMB: opts.MemoryMB, CPUs: opts.CPUs, Timeout: opts.Timeout, ConsoleLog: se.ConsoleLog,
		Stdin: opts.Stdin, RawConsole: opts.Stdout,
	})
	if err != nil {
		return nil, err
	}
	c := collectExec(v.Results())
	exit := v.Wait()
	se.Status, se.Error = execStatus(exit, c)
	if c.exit != nil {
		se.ExitCode = c.exit.Code
		if c.exit.Error != "" && se.Error == "" {
			se.Error = c.exit.Error
		}
	}
	return se, nil
}

// urootVersion is the u-root version this binary was built with, so the
// shell matches the u-root init in the base archive.
func urootVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == initramfs.ShellModule {
				if d.Replace != nil && d.Replace.Version != "" {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return initramfs.ShellVersion
}

// String describes the end of a session for the user.
func (e *ShellExit) String() string {
	if e.Status == results.StatusOK {
		return fmt.Sprintf("shell exited with code %d", e.ExitCode)
	}
	return fmt.Sprintf("%s: %s", e.Status, e.Error)
}
