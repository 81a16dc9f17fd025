// Package shell is bpfmatrix shell: one VM of a kernel with u-root's shell
// (gosh) on its console, the eBPF file systems mounted as for the suites,
// its console connected to the user's terminal until the shell exits. The
// test binaries of suites can be packed in, and a command run on the
// console before the shell starts (bpfmatrix reproduce --shell).
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Options configure an interactive shell in one VM ([Run]).
type Options struct {
	// Setup is shared with the other commands; VM.Timeout defaults to 1h
	// and VM.CPUs to 2. RunDir receives the console log.
	runner.Setup
	// Kernel to boot.
	Kernel catalog.Spec
	// Modules are packed and loaded before the shell starts; more can be
	// loaded by hand with insmod from /lib/modules.
	Modules []string
	// Env is added to the shell's environment (KEY=VALUE).
	Env []string
	// Append is added to the kernel command line (a boot profile's
	// arguments).
	Append []string
	// Tests are suites whose test binaries are packed into the image.
	Tests []plan.Suite
	// Before, if set, is a shell command that runs on the console before
	// the interactive shell starts (bpfmatrix reproduce --shell runs a
	// test there).
	Before string
	// Rows and Cols are the terminal's size; default 24x80.
	Rows, Cols int
	// Stdin is the terminal's input; Stdout receives the console.
	Stdin  io.Reader
	Stdout io.Writer
}

// Exit says how a shell session ended.
type Exit struct {
	// Status is StatusOK when the shell exited by itself and the VM
	// powered off; StatusInterrupted when ctx was canceled (the quit key).
	Status results.Status
	// ExitCode is the shell's exit code, -1 if unknown.
	ExitCode int
	// Error explains any other end.
	Error      string
	ConsoleLog string
}

// Run boots Kernel with u-root's shell (gosh) running on the console, the
// eBPF file systems mounted as for the suites, and connects the console to
// Stdin and Stdout until the shell exits, the VM times out or ctx is
// canceled.
func Run(ctx context.Context, opts Options) (*Exit, error) {
	opts.Setup.Defaults(runner.ShellTimeout, runner.ShellCPUs)
	if opts.Rows <= 0 || opts.Cols <= 0 {
		opts.Rows, opts.Cols = 24, 80
	}
	if opts.Stdin == nil || opts.Stdout == nil {
		return nil, errors.New("harness: shell: Stdin and Stdout are required")
	}
	r, err := runner.New(opts.Setup, []catalog.Spec{opts.Kernel})
	if err != nil {
		return nil, err
	}
	arch, err := runner.ArchOf(opts.Kernel)
	if err != nil {
		return nil, err
	}
	k, err := opts.Store.Pull(ctx, opts.Kernel)
	if err != nil {
		return nil, err
	}
	base, err := r.Base(ctx, arch.GOARCH)
	if err != nil {
		return nil, err
	}
	sh, err := r.Builder(arch.GOARCH).Shell(ctx, urootVersion())
	if err != nil {
		return nil, err
	}
	parts := []string{base, sh}
	if len(opts.Tests) > 0 {
		tests, _, err := r.Builder(arch.GOARCH).Tests(ctx, runner.TestPackages(opts.Tests))
		if err != nil {
			return nil, err
		}
		parts = append(parts, tests)
	}
	var args []string
	if opts.Before != "" {
		// gosh runs the command, then a new interactive gosh on the same
		// terminal.
		args = []string{"-c", opts.Before + "; exec " + initramfs.ShellPath}
	}
	b := r.Boot(ctx, runner.Request{
		Dir: opts.RunDir, Kernel: k, Arch: arch, Parts: parts, Append: opts.Append,
		Config: &wire.Config{
			Modules: opts.Modules,
			Exec: &wire.Exec{
				Path: initramfs.ShellPath, Args: args, Dir: "/tmp", Console: "/dev/" + arch.Console,
				Env:  append([]string{"TERM=vt100", wire.EnvKernel + "=" + opts.Kernel.Name}, opts.Env...),
				Rows: opts.Rows, Cols: opts.Cols,
			},
		},
		Stdin: opts.Stdin, RawConsole: opts.Stdout,
	})
	if b.Err != nil {
		return nil, b.Err
	}
	se := &Exit{Status: b.Status, ConsoleLog: b.ConsoleLog}
	se.ExitCode, se.Error = b.ProgramExit()
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
func (e *Exit) String() string {
	if e.Status == results.StatusOK {
		return fmt.Sprintf("shell exited with code %d", e.ExitCode)
	}
	return fmt.Sprintf("%s: %s", e.Status, e.Error)
}
