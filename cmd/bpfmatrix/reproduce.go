package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

const reproduceUsage = `Usage: bpfmatrix reproduce [flags] RESULTS.json KERNEL TEST

Runs one cell of a results file again: boots the kernel of that column (the
pinned one: its release and package SHA256s must be those of the results,
else use the lock file of that run with --lock) under that boot profile,
runs that one test verbose (with that run's --inject-wrong) and prints its
output. KERNEL is a column ("debian-5.10+lsm-bpf") or a kernel name with one
column; TEST a row ("kprobe/TestKprobe") or a test name with one row. The
text report prints this command under every failing cell. Exits 0 if the
test passed, 1 if it failed again.

With --shell the test runs on the console of a VM with u-root's shell, which
then stays on your terminal with the test's files in /tmp/SUITE ("exit" or
Ctrl-] quits).

Examples:
  bpfmatrix reproduce results.json debian-6.1 kprobe/TestKretprobe
  bpfmatrix reproduce --shell results.json debian-5.10+lsm-bpf TestLSMFileOpen

Flags:
`

func reproduceCmd(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("reproduce", reproduceUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{Timeout: runner.RunTimeout, CPUs: runner.RunCPUs})
	shell := fs.Bool("shell", false, "run the test on a shell's console and stay in that shell")
	var pos []string
	for rest := args; ; {
		if help, err := cmdflag.Parse(fs, rest); help || err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:] // flags may follow the arguments
	}
	if len(pos) != 3 {
		return fmt.Errorf("%w: reproduce needs RESULTS.json KERNEL TEST, got %q", errUsage, pos)
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	res, err := results.ReadJSON(pos[0])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cell, err := plan.FindCell(res, catalog.Default(), pos[1], pos[2])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	setup, err := vf.Setup(ctx, "reproduce", cmdflag.DownloadProgress(stderr))
	if err != nil {
		return err
	}
	k, err := setup.Store.Pull(ctx, cell.Spec)
	if err != nil {
		return err
	}
	if err := cell.CheckPinned(k); err != nil {
		return err
	}
	was := string(cell.Test.Result)
	if cell.Test.Reason != "" {
		was += ": " + cell.Test.Reason
	}
	fmt.Fprintf(stderr, "bpfmatrix: reproducing %s on %s (%s, profile %s); in %s it was %s\n",
		cell.Test.ID(), cell.Column.Column(), k.Release, cell.Profile.Name, pos[0], was)
	if *shell {
		return interactive(ctx, stdin, stdout, stderr, harness.ReproduceShell(cell, setup))
	}
	again, err := harness.Run(ctx, harness.ReproduceOptions(cell, setup))
	if err != nil {
		return err
	}
	if !again.Complete {
		return errInterrupted
	}
	kr := again.Kernels[0]
	t := kr.Test(cell.Test.ID())
	if t == nil {
		return fmt.Errorf("%w: %s did not run on %s: VM %s: %s (console log %s)", errFailed, cell.Test.ID(), kr.Column(), kr.Status, kr.Error, kr.ConsoleLog)
	}
	fmt.Fprint(stdout, t.Output)
	if !strings.HasSuffix(t.Output, "\n") && t.Output != "" {
		fmt.Fprintln(stdout)
	}
	now := string(t.Result)
	if t.Reason != "" {
		now += ": " + t.Reason
	}
	fmt.Fprintf(stderr, "bpfmatrix: %s on %s: %s (console log %s)\n", t.ID(), kr.Column(), now, kr.ConsoleLog)
	if t.Result.Final() == results.Fail || kr.Status != results.StatusOK {
		return errFailed
	}
	return nil
}
