package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
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

// vmDefaults are a command's defaults for the VM flags.
type vmDefaults struct {
	// timeout is the default --timeout; 0 means the command derives one
	// (exec: from the program's -test.timeout), and timeoutHelp says how.
	timeout     time.Duration
	timeoutHelp string
	cpus        int
	// moduleLock: the command runs from the user's module (exec, shell),
	// whose bpfmatrix.lock is the default --lock.
	moduleLock bool
	// include: the command puts host files in its guests (--include).
	include bool
}

// vmFlags are the flags of every command that boots VMs: where kernels
// come from (storeFlags), the bpfmatrix source and how each VM runs. They
// are registered and validated here once, for every command.
type vmFlags struct {
	storeFlags
	defaults vmDefaults
	accel    string
	memory   int
	cpus     int
	timeout  time.Duration
	// bootTimeout bounds each boot, QEMU start to the guest's hello.
	bootTimeout time.Duration
	source      string
	include     listFlag
	includes    []hostfiles.Include
	// runDir, if set (run --run-dir), replaces the new run directory
	// under the cache.
	runDir string
	// opts are the validated VM options (see validate).
	opts runner.VMOptions
}

func (f *vmFlags) register(fs *flag.FlagSet, d vmDefaults) {
	f.defaults = d
	if d.moduleLock {
		f.registerModule(fs)
	} else {
		f.storeFlags.register(fs)
	}
	help := d.timeoutHelp
	if help == "" {
		help = "kill a VM that runs longer than `D`"
	}
	fs.DurationVar(&f.timeout, "timeout", d.timeout, help)
	fs.DurationVar(&f.bootTimeout, "boot-timeout", runner.DefaultBootTimeout, "a VM whose guest has not reported in after `D` is killed as boot-failed (the console tail says why)")
	fs.StringVar(&f.accel, "accel", "auto", "QEMU accelerator: auto (KVM only if a test boot works), kvm or tcg")
	fs.IntVar(&f.memory, "memory", 1024, "guest memory in `MB`")
	fs.IntVar(&f.cpus, "cpus", d.cpus, "guest CPUs")
	if d.include {
		fs.Var(&f.include, "include", "put the host's `PATH[:GUESTPATH]` (a file or directory) in the guest, at the same path unless GUESTPATH; an ELF program comes with its interpreter and shared libraries (repeatable)")
	}
	fs.StringVar(&f.source, "source", "", "bpfmatrix source `DIR` to build the guest (and the suites) from (default: found from the working directory or the binary; see README)")
}

// validate checks the VM flags, the one check of every command, and keeps
// the VM options they set. Call it right after parsing.
func (f *vmFlags) validate() error {
	acc, err := vm.ParseAccel(f.accel)
	if err != nil {
		return fmt.Errorf("%w: --accel: %v", errUsage, err)
	}
	switch {
	case f.timeout < 0 || (f.timeout == 0 && f.defaults.timeout > 0):
		return fmt.Errorf("%w: --timeout %s: must be positive", errUsage, f.timeout)
	case f.bootTimeout <= 0:
		return fmt.Errorf("%w: --boot-timeout %s: must be positive", errUsage, f.bootTimeout)
	case f.memory < 128:
		return fmt.Errorf("%w: --memory %d: a guest needs at least 128 MB", errUsage, f.memory)
	case f.cpus < 1:
		return fmt.Errorf("%w: --cpus %d: a guest needs at least one CPU", errUsage, f.cpus)
	}
	f.opts = runner.VMOptions{Accel: acc, MemoryMB: f.memory, CPUs: f.cpus, Timeout: f.timeout, BootTimeout: f.bootTimeout}
	for _, s := range f.include {
		inc, err := hostfiles.ParseInclude(s)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		f.includes = append(f.includes, inc)
	}
	return nil
}

// setup finds the bpfmatrix source, opens the store (with progress, if
// set, for downloads) and names the run directory, a new one under the
// cache's runs/ (kind-TIME-PID) unless --run-dir; the VM options are the
// validated ones (see validate).
func (f *vmFlags) setup(ctx context.Context, kind string, progress func(kernel, phase string, done, total int64)) (runner.Setup, error) {
	if f.source != "" && !host.IsSource(f.source) {
		return runner.Setup{}, fmt.Errorf("%w: --source %s: no go.mod of %s there", errUsage, f.source, host.Module)
	}
	src, err := host.FindSource(ctx, f.source)
	if err != nil {
		return runner.Setup{}, err
	}
	if f.defaults.moduleLock && f.lock == "" {
		f.lock = host.ModuleLock()
	}
	store, err := f.openWithProgress(progress)
	if err != nil {
		return runner.Setup{}, err
	}
	runDir := f.runDir
	if runDir == "" {
		runs := filepath.Join(store.CacheDir(), "runs")
		host.PruneRuns(runs, host.KeepRuns)
		name := time.Now().Format("20060102-150405") + fmt.Sprintf("-%d", os.Getpid())
		if kind != "" {
			name = kind + "-" + name
		}
		runDir = filepath.Join(runs, name)
	}
	return runner.Setup{Store: store, SourceDir: src, CacheDir: store.CacheDir(), RunDir: runDir, VM: f.opts, Include: f.includes}, nil
}

// newFlagSet returns the flag set of a command: errors and usage (usage,
// then the flags' defaults) go to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	return fs
}

// parse parses args into fs: a usage error for bad flags; help is true
// for -h (the usage is printed).
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %v", errUsage, err)
	}
	return false, nil
}
