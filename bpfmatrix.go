// Package bpfmatrix is the Go API of bpfmatrix, for harness users who
// prefer code to the command line: plan kernels and suites, run them, get
// the matrix back; or run one program of yours on several kernels.
//
// Both boot real distribution kernels in QEMU, as the bpfmatrix command
// does, and need QEMU installed (see README.md).
package bpfmatrix

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/rawexec"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
)

// Plan says what to run: which kernels, which built-in suites, which tests.
type Plan struct {
	// Kernels are catalog names, e.g. "debian-6.1"; empty means the
	// default matrix.
	Kernels []string
	// Suites is a regular expression of built-in suite names, e.g.
	// "kprobe|tc"; empty means every suite.
	Suites string
	// Run, if set, selects tests (passed as -test.run).
	Run string
}

// Option changes how a plan runs.
type Option func(*config)

type config struct {
	cache, lock, source, mirror string
	timeout                     time.Duration
	accel                       vm.Accel
	log                         io.Writer
}

// WithCache sets the cache directory (default: $BPFMATRIX_CACHE, else
// $XDG_CACHE_HOME/bpfmatrix).
func WithCache(dir string) Option { return func(c *config) { c.cache = dir } }

// WithLock sets the lock file that pins each kernel's packages (default:
// bpfmatrix.lock in the working directory).
func WithLock(path string) Option { return func(c *config) { c.lock = path } }

// WithSource sets the bpfmatrix source tree the guest is built from
// (default: found, see [host.FindSource]).
func WithSource(dir string) Option { return func(c *config) { c.source = dir } }

// WithMirror sets the Debian mirror URL (default: from apt's configuration).
func WithMirror(url string) Option { return func(c *config) { c.mirror = url } }

// WithTimeout bounds each VM (default: 5m for Run, 10m for Exec).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithAccel forces an accelerator, vm.AccelKVM or vm.AccelTCG (default:
// KVM only if a test boot works).
func WithAccel(a vm.Accel) Option { return func(c *config) { c.accel = a } }

// WithLog sends progress lines to w.
func WithLog(w io.Writer) Option { return func(c *config) { c.log = w } }

// setup resolves the options into the command's setup and the kernels.
func setup(ctx context.Context, names []string, kind string, opts []Option) (runner.Setup, []catalog.Spec, error) {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	cat := catalog.Default()
	specs := cat.Defaults()
	if len(names) > 0 {
		var err error
		if specs, err = cat.Lookup(names); err != nil {
			return runner.Setup{}, nil, fmt.Errorf("bpfmatrix: %w", err)
		}
	}
	src, err := host.FindSource(ctx, c.source)
	if err != nil {
		return runner.Setup{}, nil, err
	}
	store, err := kernels.Open(kernels.Options{CacheDir: c.cache, LockPath: c.lock, Mirror: c.mirror})
	if err != nil {
		return runner.Setup{}, nil, err
	}
	return runner.Setup{
		Store: store, SourceDir: src, CacheDir: store.CacheDir(),
		RunDir: filepath.Join(store.CacheDir(), "runs", fmt.Sprintf("%s-%s-%d", kind, time.Now().Format("20060102-150405"), os.Getpid())),
		VM:     runner.VMOptions{Timeout: c.timeout, Accel: c.accel},
		Log:    c.log,
	}, specs, nil
}

// Run boots every kernel of the plan with its suites and returns the
// matrix. The error is for problems that prevent any result; failed cells
// and VMs are in the result (see [results.Result.OK], and package
// harness/report to print it).
func Run(ctx context.Context, p Plan, opts ...Option) (*results.Result, error) {
	s, specs, err := setup(ctx, p.Kernels, "api", opts)
	if err != nil {
		return nil, err
	}
	suites, err := plan.SelectSuites(p.Suites)
	if err != nil {
		return nil, fmt.Errorf("bpfmatrix: %w", err)
	}
	return harness.Run(ctx, harness.Options{Setup: s, Kernels: specs, Suites: suites, Run: p.Run})
}

// Exec runs program (a static Linux binary) with args once on each named
// kernel, with env as its environment, and returns what it wrote and how it
// exited on each (see [rawexec.Result.OK]).
func Exec(ctx context.Context, kernelNames []string, program string, args, env []string, opts ...Option) (*rawexec.Result, error) {
	s, specs, err := setup(ctx, kernelNames, "exec", opts)
	if err != nil {
		return nil, err
	}
	return rawexec.Run(ctx, rawexec.Options{Setup: s, Kernels: specs, Program: program, Args: args, Env: env})
}
