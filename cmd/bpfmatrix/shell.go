package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/harness/shell"
	"github.com/bpfmatrix/bpfmatrix/internal/tty"
)

// quitKey ends a shell session from the host: Ctrl-] (as in telnet).
const quitKey = 0x1d

const shellUsage = `Usage: bpfmatrix shell --kernel NAME [flags]

Boots one VM of the kernel with u-root's shell (gosh) on its console and
connects it to your terminal: bpffs, tracefs, debugfs and cgroup2 are
mounted as for the suites, --modules are loaded, and ls, cat, dmesg, mount,
ps, lsmod, insmod, rmmod, grep are there; the up arrow recalls history and
Tab completes. Type "exit" (or press Ctrl-] at
any time) to power the VM off and quit. The VM is killed after --timeout.

Flags:
`

func shellCmd(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("shell", shellUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{Timeout: runner.ShellTimeout, TimeoutHelp: "kill the VM after `D`", CPUs: runner.ShellCPUs, ModuleLock: true, Include: true})
	kernel := fs.String("kernel", "", "kernel `NAME` to boot (see `bpfmatrix kernels list`)")
	modules := fs.String("modules", "", "comma-separated kernel `MODULES` to pack and load (e.g. veth,sch_ingress,cls_bpf)")
	var envAdd cmdflag.List
	fs.Var(&envAdd, "env", "set `KEY=VALUE` in the shell (repeatable)")
	if help, err := cmdflag.Parse(fs, args); help || err != nil {
		return err
	}
	if _, err := cmdflag.LoadProject(fs, cmdflag.WorkDir(), cmdflag.Project{Kernels: kernel, Modules: modules, Include: &vf.Include, Env: &envAdd}); err != nil {
		return err
	}
	if *kernel == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: shell needs exactly one --kernel NAME and no arguments", errUsage)
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	specs, err := cmdflag.SelectKernels(*kernel)
	if err != nil || len(specs) != 1 {
		return fmt.Errorf("%w: --kernel %s: %v", errUsage, *kernel, err)
	}
	setup, err := vf.Setup(ctx, "shell", cmdflag.DownloadProgress(stderr))
	if err != nil {
		return err
	}
	return interactive(ctx, stdin, stdout, stderr, shell.Options{
		Setup: setup, Kernel: specs[0], Modules: cmdflag.SplitList(*modules), Env: envAdd,
	})
}

// interactive runs a shell session on the terminal (raw mode, Ctrl-]
// quits) and says how it ended.
func interactive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, opts shell.Options) error {
	opts.Setup.Log = tty.CRLF(stderr)
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	opts.Rows, opts.Cols = 24, 80
	if f, ok := stdin.(*os.File); ok {
		if r, c, ok := tty.Size(f); ok {
			opts.Rows, opts.Cols = r, c
		}
		restore, err := tty.MakeRaw(f)
		if err == nil {
			defer restore()
		}
	}
	opts.Stdin, opts.Stdout = tty.QuitOn(stdin, quitKey, quit), stdout
	fmt.Fprintf(stderr, "bpfmatrix: booting %s with a shell; type \"exit\" or press Ctrl-] to quit (VM timeout %s)\r\n", opts.Kernel.Name, opts.Setup.VM.Timeout)
	se, err := shell.Run(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "\r\nbpfmatrix: %s (console log %s)\r\n", se, se.ConsoleLog)
	if se.Status != results.StatusOK && se.Status != results.StatusInterrupted {
		return errFailed
	}
	return nil
}
