package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/flaky"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/harness/report/live"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

const runUsage = `Usage: bpfmatrix run [flags]

Boots one QEMU VM per kernel (in parallel), runs the selected suites inside
each, prints the matrix (rows: tests, columns: kernels) and exits 0 only if
every test passed on every kernel.

Examples:
  bpfmatrix run                                 the default kernels, every suite
  bpfmatrix run --kernels debian-6.1 --suite kprobe
  bpfmatrix run --json results.json --timeout 3m
  bpfmatrix run --shard 2/3 --json shard-2.json --junit junit-2.xml
  bpfmatrix run --markdown "$GITHUB_STEP_SUMMARY" --html matrix.html

Reports: "bpfmatrix report" renders, merges and diffs results files.

Flags:
`

func runCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("run", runUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{Timeout: runner.RunTimeout, CPUs: runner.RunCPUs, Include: true})
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix; see `bpfmatrix kernels list`)")
	profileList := fs.String("profiles", "default,lsm-bpf", "comma-separated boot `PROFILES` per kernel ("+cmdflag.ProfileNames()+"); a profile that boots a kernel exactly like an earlier one is not run twice")
	suiteExpr := fs.String("suite", "", "run only suites matching `REGEXP` (suites: "+suiteNames()+")")
	testRun := fs.String("run", "", "run only tests matching `REGEXP`, as go test -run (e.g. 'TestKprobe$', 'TestTC/netlink')")
	jsonOut := fs.String("json", "", "write the results as JSON to `FILE` (schema bpfmatrix/v1, see docs/results.md)")
	parallel := fs.Int("parallel", runner.DefaultParallel(), "run at most `N` VMs at once (default: one per CPU, plus one)")
	fs.StringVar(&vf.RunDir, "run-dir", "", "`DIR` for console logs and images of this run (default: a new directory under the cache)")
	allowSplats := fs.Bool("allow-splats", false, "report kernel splats (WARN, BUG, oops, KASAN, lockdep, RCU stall, hung task, soft lockup) without failing the run")
	inject := fs.String("inject-wrong", "", "comma-separated suite `FAMILIES` (or \"all\") whose tests compare against deliberately wrong values; such a run must fail, which proves the checks can")
	verbose := fs.Bool("verbose", false, "stream every guest console to stderr")
	quiet := fs.Bool("quiet", false, "print only the matrix")
	dryRun := fs.Bool("dry-run", false, "print the plan (the columns, in order, and the suites) and exit without fetching or booting anything")
	junitOut := fs.String("junit", "", "write the results as JUnit XML to `FILE` (one testsuite per kernel)")
	markdownOut := fs.String("markdown", "", "write the matrix as Markdown to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
	htmlOut := fs.String("html", "", "write a self-contained HTML report to `FILE`")
	showFlag := fs.String("show", "auto", "rows of the terminal matrix to show: `WHICH` of "+cmdflag.ShowNames())
	retries := fs.Int("retries", 0, "run a failing test again up to `N` times, each time in a fresh VM; one that then passes is flaky (BPFMATRIX_ATTEMPT tells the test which attempt it is)")
	knownFlaky := fs.String("known-flaky", "", "YAML `FILE` listing tests known to be flaky: - {test: suite/TestX, kernels: GLOB or [GLOBS], reason: WHY}; such a test that fails is known-flaky (reported, not failing the run)")
	failOnFlaky := fs.Bool("fail-on-flaky", false, "a flaky test fails the run (default: it is listed first, and the run passes)")
	shardFlag := fs.String("shard", "", "run only shard `I/N` of the kernels: kernel j (0-based, in --kernels order) goes to shard j%N+1; merge with \"bpfmatrix report merge\"")
	if help, err := cmdflag.Parse(fs, args); help || err != nil {
		return err
	}
	var projectEnv cmdflag.List
	project, err := cmdflag.LoadProject(fs, cmdflag.WorkDir(), cmdflag.Project{Kernels: kernelList, Profiles: profileList, Include: &vf.Include, Env: &projectEnv})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q (did you mean --kernels %s?)", errUsage, fs.Args(), strings.Join(fs.Args(), ","))
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	show, err := matrix.ParseShow(*showFlag)
	if err != nil {
		return fmt.Errorf("%w: --show: %v", errUsage, err)
	}
	var flakes flaky.List
	if *knownFlaky != "" {
		if flakes, err = flaky.Load(*knownFlaky); err != nil {
			return fmt.Errorf("%w: --known-flaky: %v", errUsage, err)
		}
	}
	if project != nil {
		// The project's bpfmatrix.yaml: its known flakes too, and its
		// retries unless --retries says otherwise.
		flakes = append(flakes, project.KnownFlaky...)
		if !flagSet(fs, "retries") {
			*retries = project.Retries
		}
	}
	if *retries < 0 {
		return fmt.Errorf("%w: --retries %d: must be 0 or more", errUsage, *retries)
	}
	if *parallel < 1 {
		return fmt.Errorf("%w: --parallel %d: must be at least 1", errUsage, *parallel)
	}
	specs, err := cmdflag.SelectKernels(*kernelList)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if specs, err = cmdflag.ShardKernels(specs, *shardFlag); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	suites, err := plan.SelectSuites(*suiteExpr)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	profiles, err := expect.SelectProfiles(cmdflag.SplitList(*profileList))
	if err != nil {
		return fmt.Errorf("%w: --profiles: %v", errUsage, err)
	}
	opts := harness.Options{Kernels: specs, Suites: suites, Parallel: *parallel, Profiles: profiles, Run: *testRun, Env: projectEnv}
	if project != nil {
		for i := range opts.Suites {
			opts.Suites[i].Modules = append(opts.Suites[i].Modules, project.Modules...)
		}
	}
	p, err := opts.Plan()
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *dryRun {
		return printPlan(stdout, &vf, p, *parallel)
	}
	opts.InjectWrong = cmdflag.SplitList(*inject)
	opts.AllowSplats = *allowSplats
	opts.Retries, opts.FailOnFlaky, opts.KnownFlaky = *retries, *failOnFlaky, flakes
	var display *live.Live
	var download func(kernel, phase string, done, total int64)
	if !*quiet {
		display = newDisplay(stderr, specs, *verbose)
		defer display.Close()
		download = display.Download
	}
	if opts.Setup, err = vf.Setup(ctx, "", download); err != nil {
		return err
	}
	if display != nil {
		opts.BuildLog = display.Log()
		opts.OnProgress = display.Update
		shard := ""
		if *shardFlag != "" {
			shard = " (shard " + *shardFlag + ")"
		}
		fmt.Fprintf(display.Log(), "bpfmatrix: %d kernel(s)%s x %d suite(s), %d VM(s) at once; logs in %s\n", len(specs), shard, len(suites), *parallel, opts.RunDir)
		if *verbose {
			opts.Log = display.Log()
		}
	}
	if *verbose {
		opts.Console = stderr
	}
	res, err := harness.Run(ctx, opts)
	if err != nil {
		return err
	}
	if display != nil {
		display.Close()
	}
	for _, out := range []struct {
		path   string
		format report.Format
	}{{*jsonOut, report.FormatJSON}, {*junitOut, report.FormatJUnit}, {*markdownOut, report.FormatMarkdown}, {*htmlOut, report.FormatHTML}} {
		if out.path != "" {
			if err := report.WriteFile(out.path, res, out.format); err != nil {
				return err
			}
		}
	}
	if err := text.Write(stdout, res, cmdflag.TextOptions(stdout, show)); err != nil {
		return err
	}
	switch {
	case !res.Complete:
		return errInterrupted
	case !res.OK():
		return errFailed
	}
	return nil
}

// printPlan prints the plan of a run (--dry-run): its columns in matrix
// order, with the boot command line of each kernel whose config is in the
// cache. It fetches, builds and boots nothing.
func printPlan(w io.Writer, vf *cmdflag.VM, p *plan.Plan, parallel int) error {
	store, err := vf.Open(nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "bpfmatrix run: %d VM(s) at once, each %d MB, %d CPU(s), timeout %s, accelerator %s\n", parallel, vf.Memory, vf.CPUs, vf.Timeout, vf.Accel)
	return p.Write(w, func(spec catalog.Spec) (map[string]string, bool) {
		k, ok := store.Cached(spec)
		if !ok {
			return nil, false
		}
		cfg, err := expect.ReadConfig(k.Config)
		return cfg, err == nil
	})
}

func suiteNames() string {
	var names []string
	for _, s := range plan.Builtin {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
