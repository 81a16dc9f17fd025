package main

import (
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/rawexec"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

const execUsage = `Usage: bpfmatrix exec [flags] [--] PROGRAM [ARGS...]

Runs PROGRAM (a static Linux binary) once inside one VM per kernel, prints
what it wrote on each kernel, grouped and labelled by kernel, and exits
non-zero if it failed on any (a summary on stderr names which). As go test's
-exec program it runs your package's tests inside the kernels:

  CGO_ENABLED=0 go test -exec 'bpfmatrix exec --kernels debian-6.1,debian-5.10' ./...

Every test flag (-test.run, -test.v, -test.count, -test.timeout, the
-test.v=test2json of go test -json and gotestsum) passes through unchanged.
When PROGRAM gets -test.* arguments (or with --dir), the working directory
is packed into the guest at the same path and the program starts there, so
testdata/ works. The host's environment passes through except the
variables of the host's own paths and tools (PATH, HOME, TMPDIR, GOPATH,
XDG_*, SSH_*, LD_*: see --env-exclude); the guest sets
PATH, HOME=/tmp, TMPDIR=/tmp, BPFMATRIX_GUEST=1 and BPFMATRIX_KERNEL.

Flags:
`

func execCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("exec", execUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{TimeoutHelp: "kill a VM that runs longer than `D` (default: the program's -test.timeout plus 3m, else 10m)", CPUs: runner.ExecCPUs, ModuleLock: true, Include: true})
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix, for the program's architecture)")
	var envAdd, envExclude cmdflag.List
	fs.Var(&envAdd, "env", "set `KEY=VALUE` in the guest, or pass the host's KEY even if excluded (repeatable)")
	fs.Var(&envExclude, "env-exclude", "do not pass host variables matching `REGEXP` (repeatable; always excluded: "+host.EnvExclude.String()+")")
	modules := fs.String("modules", "", "comma-separated kernel `MODULES` to load before the program starts (e.g. veth,sch_ingress)")
	dir := fs.String("dir", "", "host `DIR` to start the program in, with its whole Go module at the same path in the guest (default: the working directory when the program gets -test.* arguments)")
	allowSplats := fs.Bool("allow-splats", false, "report kernel splats (WARN, BUG, oops, KASAN, lockdep, RCU stall, hung task, soft lockup) without failing the kernel")
	keep := fs.Bool("keep", false, "keep the run directory (console logs, images) even when everything passed")
	verbose := fs.Bool("verbose", false, "print progress (image builds, downloads) on stderr")
	if help, err := cmdflag.Parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: exec needs a PROGRAM to run (bpfmatrix exec --kernels K -- PROGRAM ARGS...)", errUsage)
	}
	program, progArgs := fs.Arg(0), fs.Args()[1:]
	if _, err := cmdflag.LoadProject(fs, cmdflag.WorkDir(), cmdflag.Project{Kernels: kernelList, Modules: modules, Include: &vf.Include, Env: &envAdd}); err != nil {
		return err
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	env, err := cmdflag.GuestEnv(envAdd, envExclude)
	if err != nil {
		return err
	}
	specs, err := execKernels(*kernelList, program)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var goroot string
	if rawexec.IsTestRun(progArgs) {
		if *dir == "" {
			if *dir, err = os.Getwd(); err != nil {
				return err
			}
		}
		// A Go test reads its toolchain's sources (go/build, go/importer)
		// and expects the programs of a distribution machine.
		goroot = gotest.GoRoot()
	}
	if vf.Options.Timeout <= 0 {
		vf.Options.Timeout = rawexec.Timeout(progArgs)
	}
	var logw io.Writer
	if *verbose {
		logw = stderr
	}
	setup, err := vf.Setup(ctx, "exec", cmdflag.DownloadProgress(logw))
	if err != nil {
		return err
	}
	setup.Log = logw
	setup.BuildLog = stderr // a first build takes minutes: say so even without --verbose
	opts := rawexec.Options{
		Setup: setup, Kernels: specs, Program: program, Args: progArgs, Env: env,
		Dir: *dir, GoRoot: goroot, Shell: goroot != "", Modules: cmdflag.SplitList(*modules), AllowSplats: *allowSplats,
	}
	pr := rawexec.NewPrinter(stdout, stderr, len(specs))
	opts.OnDone = pr.Add
	res, err := rawexec.Run(ctx, opts)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	var failed []string
	for _, k := range res.Kernels {
		if !k.OK() {
			failed = append(failed, rawexec.DescribeFailure(&k))
		}
	}
	if len(failed) == 0 {
		if !*keep {
			os.RemoveAll(setup.RunDir)
		}
		return nil
	}
	fmt.Fprintf(stderr, "bpfmatrix: %s failed on %d of %d kernel(s): %s (logs in %s)\n", filepath.Base(program), len(failed), len(res.Kernels), strings.Join(failed, "; "), setup.RunDir)
	return errFailed
}

// execKernels returns the named kernels, or the default matrix's kernels of
// the program's architecture.
func execKernels(list, program string) ([]catalog.Spec, error) {
	if list != "" {
		return cmdflag.SelectKernels(list)
	}
	goarch := ""
	if f, err := elf.Open(program); err == nil {
		goarch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		f.Close()
	}
	var out []catalog.Spec
	for _, s := range catalog.Default().Defaults() {
		if goarch == "" || s.GOARCH() == goarch {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no default kernel for %s: pass --kernels", program)
	}
	return out, nil
}
