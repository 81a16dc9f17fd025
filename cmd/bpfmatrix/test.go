package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/report/live"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
)

const testUsage = `Usage: bpfmatrix test [flags] [PACKAGES] [-- GO TEST FLAGS]

Runs the tests of your Go module (PACKAGES, default ./...) on every kernel
and prints the same matrix as bpfmatrix run: rows are package/test
(subtests too), columns are kernels. Every package's test binary is built
on the host once per architecture (go test -c, CGO_ENABLED=0 unless
-race), then ONE VM per kernel runs them all, each in its package
directory with your module at its own path (writable; writes stay in the
guest) and GOROOT read-only, several at once up to the guest's CPUs
(go test -p). VMs run one per host CPU at once; when there are fewer
kernels than that, each kernel's packages are shared out over several VMs
of it (each the same machine), so that no core idles (--vms-per-kernel).
Exits 0 only if every test passed on every kernel and every cell met the
rules of bpfmatrix.yaml.

Go test flags after --: -run, -skip, -short, -count, -timeout (each
binary's, default 10m), -parallel, -cpu, -failfast, -shuffle, -bench,
-race, -cover, -covermode, -coverpkg, -coverprofile (merged over every
package and kernel), -tags, -gcflags, -ldflags, -p.

Examples:
  bpfmatrix test                                  every package, the default kernels
  bpfmatrix test --kernels debian-6.12 -- -short
  bpfmatrix test ./link/... -- -run TestKprobe -count 2
  bpfmatrix test --html matrix.html -- -coverprofile cover.out

Flags:
`

func testCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	// Everything after the first -- is go test's.
	var goArgs []string
	for i, a := range args {
		if a == "--" {
			args, goArgs = args[:i], args[i+1:]
			break
		}
	}
	fs := cmdflag.NewFlagSet("test", testUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{TimeoutHelp: "kill a VM that runs longer than `D` (default: the -timeout of each binary plus 10m)", CPUs: runner.RunCPUs, ModuleLock: true, Include: true})
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix; see `bpfmatrix kernels list`)")
	profileList := fs.String("profiles", "default", "comma-separated boot `PROFILES` per kernel ("+cmdflag.ProfileNames()+")")
	module := fs.String("C", ".", "run in the Go module of `DIR`, as go -C does")
	var envAdd, envExclude cmdflag.List
	fs.Var(&envAdd, "env", "set `KEY=VALUE` in the guest, or pass the host's KEY even if excluded (repeatable)")
	fs.Var(&envExclude, "env-exclude", "do not pass host variables matching `REGEXP` (repeatable; always excluded: "+host.EnvExclude.String()+")")
	modules := fs.String("modules", "", "comma-separated kernel `MODULES` to load before the tests start (e.g. veth,sch_ingress)")
	parallel := fs.Int("parallel", runner.DefaultTestParallel(), "run at most `N` VMs at once (default: one per CPU: test binaries keep their VM's core busy)")
	vmsPerKernel := fs.Int("vms-per-kernel", 0, "share each kernel's packages out over `N` VMs of that kernel (default: the VM slots the columns leave free, e.g. 2 for one kernel on 2 CPUs; 1: every package in one VM)")
	fs.StringVar(&vf.RunDir, "run-dir", "", "`DIR` for console logs, test binaries and images of this run (default: a new directory under the cache)")
	allowSplats := fs.Bool("allow-splats", false, "report kernel splats without failing the run")
	verbose := fs.Bool("verbose", false, "stream every guest console to stderr")
	quiet := fs.Bool("quiet", false, "print only the matrix (and build errors)")
	out := cmdflag.RegisterOutputs(fs)
	shardFlag := fs.String("shard", "", "run only shard `I/N` of the kernels (see bpfmatrix run -h)")
	if help, err := cmdflag.Parse(fs, args); help || err != nil {
		return err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	dir := *module
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(cwd, dir)
	}
	project, err := cmdflag.LoadProject(fs, dir, cmdflag.Project{Kernels: kernelList, Profiles: profileList, Modules: modules, Include: &vf.Include, Env: &envAdd})
	if err != nil {
		return err
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	if err := out.Validate(); err != nil {
		return err
	}
	gf, err := gotest.ParseFlags(goArgs, cwd)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	env, err := cmdflag.GuestEnv(envAdd, envExclude)
	if err != nil {
		return err
	}
	specs, err := cmdflag.SelectKernels(*kernelList)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if specs, err = cmdflag.ShardKernels(specs, *shardFlag); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	profiles, err := expect.SelectProfiles(cmdflag.SplitList(*profileList))
	if err != nil {
		return fmt.Errorf("%w: --profiles: %v", errUsage, err)
	}
	if *vmsPerKernel < 0 {
		return fmt.Errorf("%w: --vms-per-kernel %d: 0 (the free VM slots) or more", errUsage, *vmsPerKernel)
	}
	if *parallel < 1 {
		return fmt.Errorf("%w: --parallel %d: must be at least 1", errUsage, *parallel)
	}
	if _, ok := gotest.ModuleRoot(dir); !ok {
		return fmt.Errorf("%w: %s is not in a Go module (no go.mod there or above): run bpfmatrix test in your module, or pass -C DIR", errUsage, dir)
	}

	var display *live.Live
	var download func(kernel, phase string, done, total int64)
	logw := io.Discard
	if !*quiet {
		display = newDisplay(stderr, specs, *verbose)
		defer display.Close()
		download = display.Download
		logw = display.Log()
	}
	setup, err := vf.Setup(ctx, "test", download)
	if err != nil {
		return err
	}
	if display != nil {
		setup.BuildLog = display.Log()
	}
	opts := harness.TestOptions{
		Options: harness.Options{
			Setup: setup, Kernels: specs, Parallel: *parallel, Profiles: profiles,
			Run: gf.Run, TestArgs: gf.TestArgs, Env: env, AllowSplats: *allowSplats,
		},
		Module: dir, Packages: fs.Args(), BuildFlags: gf.BuildFlags, Timeout: gf.Timeout,
		GuestParallel: gf.Parallel, BuildParallel: gf.Parallel, CoverProfile: gf.CoverProfile, VMsPerKernel: *vmsPerKernel,
		GoRoot: gotest.GoRoot(), Modules: cmdflag.SplitList(*modules),
	}
	if project != nil {
		opts.Model = project.Model()
		opts.Retries, opts.KnownFlaky = project.Retries, project.KnownFlaky
		fmt.Fprintf(logw, "bpfmatrix: %s: %d rule(s)\n", project.Path, len(project.Rules))
	}
	opts.OnBuild = func(b gotest.Build) {
		if b.Err != nil {
			fmt.Fprintf(stderr, "bpfmatrix: %v\n", b.Err)
			return
		}
		fmt.Fprintf(logw, "bpfmatrix: built %s for %s (%.1fs)\n", b.Package, b.GOARCH, b.Seconds)
	}
	if display != nil {
		opts.OnProgress = display.Update
		fmt.Fprintf(logw, "bpfmatrix: testing %s on %d kernel(s), %d VM(s) at once; logs in %s\n", dir, len(specs), *parallel, setup.RunDir)
		if *verbose {
			opts.Log = logw
		}
	}
	if *verbose {
		opts.Console = stderr
	}
	run, err := harness.Test(ctx, opts)
	if err != nil {
		if errors.Is(err, gotest.ErrNotModule) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	if display != nil {
		display.Close()
	}
	if err := out.Write(stdout, run.Result); err != nil {
		return err
	}
	if project != nil && run.Result != nil {
		rows := map[string]bool{}
		for _, k := range run.Result.Kernels {
			for _, t := range k.Tests {
				rows[t.ID()] = true
			}
		}
		for _, w := range project.Unknown(rows) {
			fmt.Fprintf(stderr, "bpfmatrix: warning: %s\n", w)
		}
	}
	if len(run.Broken) > 0 {
		var names []string
		for _, b := range run.Broken {
			names = append(names, b.Package+" ("+b.GOARCH+")")
		}
		fmt.Fprintf(stderr, "bpfmatrix: %d package(s) do not build: %s\n", len(run.Broken), strings.Join(names, ", "))
	}
	switch {
	case !run.Result.Complete:
		return errInterrupted
	case !run.Result.OK() || len(run.Broken) > 0:
		return errFailed
	}
	return nil
}
