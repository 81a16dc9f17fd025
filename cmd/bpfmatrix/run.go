package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

// storeFlags are the flags every command that touches kernels takes.
type storeFlags struct {
	cache, mirror, lock string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.cache, "cache", "", "cache `DIR` for kernels and images (default: $BPFMATRIX_CACHE, else $XDG_CACHE_HOME/bpfmatrix)")
	fs.StringVar(&s.mirror, "mirror", "", "Debian mirror `URL` (default: $BPFMATRIX_DEBIAN_MIRROR, else the apt configuration)")
	fs.StringVar(&s.lock, "lock", "bpfmatrix.lock", "lock `FILE` pinning each kernel's packages; commit it to keep runs reproducible")
}

// registerModule registers the flags for a command run from the user's own
// Go module (exec, shell), whose lock file defaults to the module's
// bpfmatrix.lock: an empty --lock means "find it".
func (s *storeFlags) registerModule(fs *flag.FlagSet) {
	s.register(fs)
	fs.Lookup("lock").DefValue = "bpfmatrix.lock of the enclosing Go module"
	_ = fs.Set("lock", "")
}

func (s *storeFlags) open(progress io.Writer) (*kernels.Store, error) {
	return s.openWithProgress(downloadProgress(progress))
}

// openWithProgress opens the store with a download progress callback
// (nil: none).
func (s *storeFlags) openWithProgress(progress func(kernel, phase string, done, total int64)) (*kernels.Store, error) {
	return kernels.Open(kernels.Options{
		CacheDir: s.cache,
		Mirror:   s.mirror,
		LockPath: s.lock,
		Progress: progress,
	})
}

// downloadProgress prints a line when a download starts and at every
// quarter of it.
func downloadProgress(w io.Writer) func(kernel, phase string, done, total int64) {
	if w == nil {
		return nil
	}
	last := map[string]int64{}
	start := map[string]time.Time{}
	return func(kernel, phase string, done, total int64) {
		key := kernel + "/" + phase
		if _, ok := start[key]; !ok {
			start[key] = time.Now()
		}
		step := total / 4
		if total <= 0 || step == 0 {
			step = 8 << 20
		}
		if done != 0 && done != total && done-last[key] < step {
			return
		}
		last[key] = done
		rate := float64(done) / 1e6 / max(time.Since(start[key]).Seconds(), 0.001)
		if total > 0 {
			fmt.Fprintf(w, "  %s: %s %.1f/%.1f MB (%.1f MB/s)\n", kernel, phase, float64(done)/1e6, float64(total)/1e6, rate)
		} else {
			fmt.Fprintf(w, "  %s: %s %.1f MB\n", kernel, phase, float64(done)/1e6)
		}
	}
}

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
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	var sf storeFlags
	sf.register(fs)
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix; see `bpfmatrix kernels list`)")
	profileList := fs.String("profiles", "default,lsm-bpf", "comma-separated boot `PROFILES` per kernel ("+profileNames()+"); a profile that boots a kernel exactly like an earlier one is not run twice")
	suiteExpr := fs.String("suite", "", "run only suites matching `REGEXP` (suites: "+suiteNames()+")")
	testRun := fs.String("run", "", "run only tests matching `REGEXP`, as go test -run (e.g. 'TestKprobe$', 'TestTC/netlink')")
	jsonOut := fs.String("json", "", "write the results as JSON to `FILE` (schema bpfmatrix/v1, see docs/results.md)")
	timeout := fs.Duration("timeout", 5*time.Minute, "kill a VM that runs longer than `D`")
	parallel := fs.Int("parallel", harness.DefaultParallel(), "run at most `N` VMs at once (default: one per CPU, plus one)")
	accel := fs.String("accel", "auto", "QEMU accelerator: auto (KVM only if a test boot works), kvm or tcg")
	memory := fs.Int("memory", 1024, "guest memory in `MB`")
	source := fs.String("source", "", "bpfmatrix source `DIR` to build the guest and suites from (default: found from the working directory)")
	runDir := fs.String("run-dir", "", "`DIR` for console logs and images of this run (default: a new directory under the cache)")
	inject := fs.String("inject-wrong", "", "comma-separated suite `FAMILIES` (or \"all\") whose tests compare against deliberately wrong values; such a run must fail, which proves the checks can")
	verbose := fs.Bool("verbose", false, "stream every guest console to stderr")
	quiet := fs.Bool("quiet", false, "print only the matrix")
	junitOut := fs.String("junit", "", "write the results as JUnit XML to `FILE` (one testsuite per kernel)")
	markdownOut := fs.String("markdown", "", "write the matrix as Markdown to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
	htmlOut := fs.String("html", "", "write a self-contained HTML report to `FILE`")
	showFlag := fs.String("show", "all", "rows of the terminal matrix to show: `WHICH` of "+showNames())
	shardFlag := fs.String("shard", "", "run only shard `I/N` of the kernels: kernel j (0-based, in --kernels order) goes to shard j%N+1; merge with \"bpfmatrix report merge\"")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: run takes no arguments, got %q (did you mean --kernels %s?)", errUsage, fs.Args(), strings.Join(fs.Args(), ","))
	}
	acc, err := vm.ParseAccel(*accel)
	if err != nil {
		return fmt.Errorf("%w: --accel: %v", errUsage, err)
	}
	show, err := report.ParseShow(*showFlag)
	if err != nil {
		return fmt.Errorf("%w: --show: %v", errUsage, err)
	}
	if *parallel < 1 {
		return fmt.Errorf("%w: --parallel %d: must be at least 1", errUsage, *parallel)
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout %s: must be positive", errUsage, *timeout)
	}
	if *memory < 128 {
		return fmt.Errorf("%w: --memory %d: a guest needs at least 128 MB", errUsage, *memory)
	}
	if err := harness.CheckRun(*testRun); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	specs, err := selectKernels(*kernelList)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if specs, err = shardKernels(specs, *shardFlag); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	suites, err := harness.SelectSuites(*suiteExpr)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	profiles, err := harness.SelectProfiles(splitList(*profileList))
	if err != nil {
		return fmt.Errorf("%w: --profiles: %v", errUsage, err)
	}
	src, err := findSource(*source)
	if err != nil {
		return err
	}
	var live *report.Live
	var download func(kernel, phase string, done, total int64)
	if !*quiet {
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		live = report.NewLive(stderr, report.LiveOptions{
			TTY: report.IsTerminal(stderr) && !*verbose, Color: report.ColorEnabled(stderr),
			Width: report.TerminalWidth(stderr), Columns: names,
		})
		defer live.Close()
		download = live.Download
	}
	store, err := sf.openWithProgress(download)
	if err != nil {
		return err
	}
	if *runDir == "" {
		harness.PruneRuns(filepath.Join(store.CacheDir(), "runs"), harness.KeepRuns)
		*runDir = filepath.Join(store.CacheDir(), "runs", time.Now().Format("20060102-150405")+fmt.Sprintf("-%d", os.Getpid()))
	}
	opts := harness.Options{
		Kernels: specs, Suites: suites, Store: store,
		SourceDir: src, CacheDir: store.CacheDir(), RunDir: *runDir,
		Parallel: *parallel, Timeout: *timeout, Accel: acc, MemoryMB: *memory,
		Profiles: profiles,
	}
	if *inject != "" {
		opts.InjectWrong = splitList(*inject)
	}
	opts.Run = *testRun
	if live != nil {
		opts.OnProgress = live.Update
		shard := ""
		if *shardFlag != "" {
			shard = " (shard " + *shardFlag + ")"
		}
		fmt.Fprintf(live.Log(), "bpfmatrix: %d kernel(s)%s x %d suite(s), %d VM(s) at once; logs in %s\n", len(specs), shard, len(suites), *parallel, *runDir)
		if *verbose {
			opts.Log = live.Log()
		}
	}
	if *verbose {
		opts.Console = stderr
	}
	res, err := harness.Run(ctx, opts)
	if err != nil {
		return err
	}
	if live != nil {
		live.Close()
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
	if err := report.Text(stdout, res, textOptions(stdout, show)); err != nil {
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

func profileNames() string {
	var names []string
	for _, p := range harness.Profiles {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// shardKernels returns the kernels of shard ("i/n"; "" is every kernel).
func shardKernels(specs []kernels.Spec, shard string) ([]kernels.Spec, error) {
	if shard == "" {
		return specs, nil
	}
	sh, err := harness.ParseShard(shard)
	if err != nil {
		return nil, fmt.Errorf("--shard: %w", err)
	}
	out := harness.SelectShard(sh, specs)
	if len(out) == 0 {
		return nil, fmt.Errorf("--shard %s: no kernel falls in this shard (%d kernels, %d shards): use at most %d shards", sh, len(specs), sh.N, len(specs))
	}
	return out, nil
}

func suiteNames() string {
	var names []string
	for _, s := range harness.Builtin {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

func selectKernels(list string) ([]kernels.Spec, error) {
	cat := kernels.DefaultCatalog()
	if list == "" {
		return cat.Defaults(), nil
	}
	return cat.Lookup(splitList(list))
}

// findSource returns the root of the bpfmatrix module: dir if given, else
// the first parent of the working directory whose go.mod declares it.
func findSource(dir string) (string, error) {
	const module = "module github.com/bpfmatrix/bpfmatrix"
	check := func(d string) bool {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		return err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), module)
	}
	if dir != "" {
		if !check(dir) {
			return "", fmt.Errorf("%w: --source %s: no go.mod of github.com/bpfmatrix/bpfmatrix there", errUsage, dir)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if check(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("%w: run bpfmatrix from inside its source tree, or pass --source DIR (the guest program and the suites are built from source)", errUsage)
}
