package cmdflag

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/host"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
)

// Store are the flags every command that touches kernels takes.
type Store struct {
	// Cache, Mirror and Lock are --cache, --mirror and --lock.
	Cache, Mirror, Lock string
}

// Register registers --cache, --mirror and --lock in fs.
func (s *Store) Register(fs *flag.FlagSet) {
	fs.StringVar(&s.Cache, "cache", "", "cache `DIR` for kernels and images (default: $BPFMATRIX_CACHE, else $XDG_CACHE_HOME/bpfmatrix)")
	fs.StringVar(&s.Mirror, "mirror", "", "Debian mirror `URL` (default: $BPFMATRIX_DEBIAN_MIRROR, else the apt configuration)")
	fs.StringVar(&s.Lock, "lock", "bpfmatrix.lock", "lock `FILE` pinning each kernel's packages; commit it to keep runs reproducible")
}

// registerModule registers the flags for a command run from the user's own
// Go module (exec, shell), whose lock file defaults to the module's
// bpfmatrix.lock: an empty --lock means "find it".
func (s *Store) registerModule(fs *flag.FlagSet) {
	s.Register(fs)
	fs.Lookup("lock").DefValue = "bpfmatrix.lock of the enclosing Go module"
	_ = fs.Set("lock", "")
}

// Open opens the store, printing download progress on progress (nil:
// none; see DownloadProgress).
func (s *Store) Open(progress io.Writer) (*kernels.Store, error) {
	return s.openWithProgress(DownloadProgress(progress))
}

// openWithProgress opens the store with a download progress callback
// (nil: none).
func (s *Store) openWithProgress(progress func(kernel, phase string, done, total int64)) (*kernels.Store, error) {
	return kernels.Open(kernels.Options{
		CacheDir: s.Cache,
		Mirror:   s.Mirror,
		LockPath: s.Lock,
		Progress: progress,
	})
}

// DownloadProgress prints a line when a download starts and at every
// quarter of it.
func DownloadProgress(w io.Writer) func(kernel, phase string, done, total int64) {
	if w == nil {
		return nil
	}
	var mu sync.Mutex // the store pulls kernels concurrently
	last := map[string]int64{}
	start := map[string]time.Time{}
	return func(kernel, phase string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if phase == kernels.PhaseIndex {
			fmt.Fprintf(w, "  %s: reading the package index\n", kernel)
			return
		}
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

// VMDefaults are a command's defaults for the VM flags.
type VMDefaults struct {
	// Timeout is the default --timeout; 0 means the command derives one
	// (exec: from the program's -test.timeout), and TimeoutHelp says how.
	Timeout     time.Duration
	TimeoutHelp string
	// CPUs is the default --cpus.
	CPUs int
	// ModuleLock: the command runs from the user's module (exec, shell),
	// whose bpfmatrix.lock is the default --lock.
	ModuleLock bool
	// Include: the command puts host files in its guests (--include).
	Include bool
}

// VM are the flags of every command that boots VMs: where kernels
// come from (Store), the bpfmatrix source and how each VM runs. They
// are registered and validated here once, for every command.
type VM struct {
	Store
	defaults VMDefaults
	// Accel, Memory, CPUs and Timeout are --accel, --memory, --cpus and
	// --timeout as given.
	Accel   string
	Memory  int
	CPUs    int
	Timeout time.Duration
	// bootTimeout bounds each boot, QEMU start to the guest's hello.
	bootTimeout time.Duration
	source      string
	// Include is --include as given (see Project.Include).
	Include  List
	includes []hostfiles.Include
	// RunDir, if set (run --run-dir), replaces the new run directory
	// under the cache.
	RunDir string
	// Options are the validated VM options (see Validate).
	Options runner.VMOptions
}

// Register registers the VM flags in fs, with the command's defaults d.
func (f *VM) Register(fs *flag.FlagSet, d VMDefaults) {
	f.defaults = d
	if d.ModuleLock {
		f.registerModule(fs)
	} else {
		f.Store.Register(fs)
	}
	help := d.TimeoutHelp
	if help == "" {
		help = "kill a VM that runs longer than `D`"
	}
	fs.DurationVar(&f.Timeout, "timeout", d.Timeout, help)
	fs.DurationVar(&f.bootTimeout, "boot-timeout", runner.DefaultBootTimeout, "a VM whose guest has not reported in after `D` is killed as boot-failed (the console tail says why)")
	fs.StringVar(&f.Accel, "accel", "auto", "QEMU accelerator: auto (KVM only if a test boot works), kvm or tcg")
	fs.IntVar(&f.Memory, "memory", 1024, "guest memory in `MB`")
	fs.IntVar(&f.CPUs, "cpus", d.CPUs, "guest CPUs")
	if d.Include {
		fs.Var(&f.Include, "include", "put the host's `PATH[:GUESTPATH]` (a file or directory) in the guest, at the same path unless GUESTPATH; an ELF program comes with its interpreter and shared libraries (repeatable)")
	}
	fs.StringVar(&f.source, "source", "", "bpfmatrix source `DIR` to build the guest (and the suites) from (default: found from the working directory or the binary; see README)")
}

// Validate checks the VM flags, the one check of every command, and keeps
// the VM options they set. Call it right after parsing.
func (f *VM) Validate() error {
	acc, err := vm.ParseAccel(f.Accel)
	if err != nil {
		return fmt.Errorf("%w: --accel: %v", ErrUsage, err)
	}
	switch {
	case f.Timeout < 0 || (f.Timeout == 0 && f.defaults.Timeout > 0):
		return fmt.Errorf("%w: --timeout %s: must be positive", ErrUsage, f.Timeout)
	case f.bootTimeout <= 0:
		return fmt.Errorf("%w: --boot-timeout %s: must be positive", ErrUsage, f.bootTimeout)
	case f.Memory < 128:
		return fmt.Errorf("%w: --memory %d: a guest needs at least 128 MB", ErrUsage, f.Memory)
	case f.CPUs < 1:
		return fmt.Errorf("%w: --cpus %d: a guest needs at least one CPU", ErrUsage, f.CPUs)
	}
	f.Options = runner.VMOptions{Accel: acc, MemoryMB: f.Memory, CPUs: f.CPUs, Timeout: f.Timeout, BootTimeout: f.bootTimeout}
	for _, s := range f.Include {
		inc, err := hostfiles.ParseInclude(s)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		f.includes = append(f.includes, inc)
	}
	return nil
}

// Setup finds the bpfmatrix source, opens the store (with progress, if
// set, for downloads) and names the run directory, a new one under the
// cache's runs/ (kind-TIME-PID) unless --run-dir; the VM options are the
// validated ones (see Validate).
func (f *VM) Setup(ctx context.Context, kind string, progress func(kernel, phase string, done, total int64)) (runner.Setup, error) {
	if f.source != "" && !host.IsSource(f.source) {
		return runner.Setup{}, fmt.Errorf("%w: --source %s: no go.mod of %s there", ErrUsage, f.source, host.Module)
	}
	src, err := host.FindSource(ctx, f.source)
	if err != nil {
		return runner.Setup{}, err
	}
	if f.defaults.ModuleLock && f.Lock == "" {
		f.Lock = host.ModuleLock()
	}
	store, err := f.openWithProgress(progress)
	if err != nil {
		return runner.Setup{}, err
	}
	runDir := f.RunDir
	if runDir == "" {
		runs := filepath.Join(store.CacheDir(), "runs")
		host.PruneRuns(runs, host.KeepRuns)
		name := time.Now().Format("20060102-150405") + fmt.Sprintf("-%d", os.Getpid())
		if kind != "" {
			name = kind + "-" + name
		}
		runDir = filepath.Join(runs, name)
	}
	return runner.Setup{Store: store, SourceDir: src, CacheDir: store.CacheDir(), RunDir: runDir, VM: f.Options, Include: f.includes}, nil
}

// NewFlagSet returns the flag set of a command: errors and usage (usage,
// then the flags' defaults) go to stderr.
func NewFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	return fs
}

// Parse parses args into fs: a usage error for bad flags; help is true
// for -h (the usage is printed).
func Parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return false, nil
}
