package main

import (
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/gotest"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
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

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func execCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("exec", execUsage, stderr)
	var vf vmFlags
	vf.register(fs, vmDefaults{timeoutHelp: "kill a VM that runs longer than `D` (default: the program's -test.timeout plus 3m, else 10m)", cpus: runner.ExecCPUs, moduleLock: true, include: true})
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix, for the program's architecture)")
	var envAdd, envExclude listFlag
	fs.Var(&envAdd, "env", "set `KEY=VALUE` in the guest, or pass the host's KEY even if excluded (repeatable)")
	fs.Var(&envExclude, "env-exclude", "do not pass host variables matching `REGEXP` (repeatable; always excluded: "+host.EnvExclude.String()+")")
	modules := fs.String("modules", "", "comma-separated kernel `MODULES` to load before the program starts (e.g. veth,sch_ingress)")
	dir := fs.String("dir", "", "host `DIR` to start the program in, with its whole Go module at the same path in the guest (default: the working directory when the program gets -test.* arguments)")
	allowSplats := fs.Bool("allow-splats", false, "report kernel splats (WARN, BUG, oops, KASAN, lockdep, RCU stall, hung task, soft lockup) without failing the kernel")
	keep := fs.Bool("keep", false, "keep the run directory (console logs, images) even when everything passed")
	verbose := fs.Bool("verbose", false, "print progress (image builds, downloads) on stderr")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: exec needs a PROGRAM to run (bpfmatrix exec --kernels K -- PROGRAM ARGS...)", errUsage)
	}
	program, progArgs := fs.Arg(0), fs.Args()[1:]
	if _, err := loadProject(fs, workDir(), projectFlags{kernels: kernelList, modules: modules, include: &vf.include, env: &envAdd}); err != nil {
		return err
	}
	if err := vf.validate(); err != nil {
		return err
	}
	env, err := guestEnv(envAdd, envExclude)
	if err != nil {
		return err
	}
	specs, err := execKernels(*kernelList, program)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var goroot string
	if isTestRun(progArgs) {
		if *dir == "" {
			if *dir, err = os.Getwd(); err != nil {
				return err
			}
		}
		// A Go test reads its toolchain's sources (go/build, go/importer)
		// and expects the programs of a distribution machine.
		goroot = gotest.GoRoot()
	}
	if vf.opts.Timeout <= 0 {
		vf.opts.Timeout = execTimeout(progArgs)
	}
	var logw io.Writer
	if *verbose {
		logw = stderr
	}
	setup, err := vf.setup(ctx, "exec", downloadProgress(logw))
	if err != nil {
		return err
	}
	setup.Log = logw
	setup.BuildLog = stderr // a first build takes minutes: say so even without --verbose
	opts := harness.ExecOptions{
		Setup: setup, Kernels: specs, Program: program, Args: progArgs, Env: env,
		Dir: *dir, GoRoot: goroot, Shell: goroot != "", Modules: splitList(*modules), AllowSplats: *allowSplats,
	}
	pr := &orderedPrinter{stdout: stdout, stderr: stderr, done: make([]*harness.ExecKernel, len(specs))}
	opts.OnDone = pr.add
	res, err := harness.Exec(ctx, opts)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	var failed []string
	for _, k := range res.Kernels {
		if !k.OK() {
			failed = append(failed, describeFailure(&k))
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

// describeFailure names a kernel and how the program failed there.
func describeFailure(k *harness.ExecKernel) string {
	if k.Status == results.StatusOK && k.ExitCode == 0 {
		for _, s := range k.Splats {
			if s.Known == "" {
				return fmt.Sprintf("%s (kernel %s: %s; --allow-splats to accept)", k.Kernel, s.Kind, strings.TrimSpace(s.Lines[0]))
			}
		}
	}
	if k.Status == results.StatusOK {
		return fmt.Sprintf("%s (exit %d)", k.Kernel, k.ExitCode)
	}
	return fmt.Sprintf("%s (%s: %s)", k.Kernel, k.Status, k.Error)
}

// orderedPrinter prints each kernel's output as one labelled group, in the
// order of the kernels, as soon as it and every kernel before it are done.
type orderedPrinter struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	done           []*harness.ExecKernel
	next           int
}

func (p *orderedPrinter) add(i int, k *harness.ExecKernel) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[i] = k
	for p.next < len(p.done) && p.done[p.next] != nil {
		writeGroup(p.stdout, p.stderr, p.done[p.next])
		p.next++
	}
}

// writeGroup writes one kernel's output between label lines. The labels are
// lines of their own that no test2json parser takes for a test event, and
// the program's lines are written unchanged.
func writeGroup(stdout, stderr io.Writer, k *harness.ExecKernel) {
	release := ""
	if k.Release != "" {
		release = " (" + k.Release + ")"
	}
	fmt.Fprintf(stdout, "=== bpfmatrix: kernel %s%s\n", k.Kernel, release)
	tw := &tailWriter{w: stdout}
	k.WriteOutput(tw, &tailWriter{w: stderr})
	if !tw.newline {
		fmt.Fprintln(stdout)
	}
	if k.Status == results.StatusOK && k.Error != "" {
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: %s\n", k.Kernel, k.Error)
	}
	for _, s := range k.Splats {
		known := ""
		if s.Known != "" {
			known = " (known: " + s.Known + "; does not fail the run)"
		}
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: kernel %s%s:\n", k.Kernel, s.Kind, known)
		for _, l := range s.Lines {
			fmt.Fprintf(stderr, "bpfmatrix: splat| %s\n", l)
		}
	}
	if k.Status != results.StatusOK {
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: %s: %s\n", k.Kernel, k.Status, k.Error)
		tail := k.ConsoleTail
		if len(tail) > 20 {
			tail = tail[len(tail)-20:]
		}
		for _, l := range tail {
			fmt.Fprintf(stderr, "bpfmatrix: console| %s\n", l)
		}
		fmt.Fprintf(stderr, "bpfmatrix: console log %s\nbpfmatrix: reproduce: %s\n", k.ConsoleLog, k.Reproduce)
	}
	verdict := "ok"
	if !k.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(stdout, "=== bpfmatrix: kernel %s: %s, exit %d, %.1fs\n", k.Kernel, verdict, k.ExitCode, k.Seconds)
}

// tailWriter remembers whether the last byte written was a newline.
type tailWriter struct {
	w       io.Writer
	newline bool
	any     bool
}

func (t *tailWriter) Write(b []byte) (int, error) {
	if len(b) > 0 {
		t.any = true
		t.newline = b[len(b)-1] == '\n'
	}
	return t.w.Write(b)
}

// isTestRun reports whether args look like go test's: then the working
// directory is the package directory and is packed.
func isTestRun(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-test.") {
			return true
		}
	}
	return false
}

// execTimeout is the VM timeout for a program with args: its -test.timeout
// plus time to boot, else 10m; 1h for -test.timeout=0 (no timeout).
func execTimeout(args []string) time.Duration {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "-test.timeout=")
		if !ok && a == "-test.timeout" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if !ok {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			break
		}
		if d == 0 {
			return time.Hour
		}
		return d + 3*time.Minute
	}
	return runner.ExecTimeout
}

// execKernels returns the named kernels, or the default matrix's kernels of
// the program's architecture.
func execKernels(list, program string) ([]catalog.Spec, error) {
	if list != "" {
		return selectKernels(list)
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
