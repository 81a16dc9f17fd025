// Package bench is bpfmatrix bench: it times every phase of a run
// (download, the shared images cold and warm, boot, suites, power-off)
// and compares each VM with its floor, the same QEMU boot of the kernel
// with an initramfs whose /init powers off at once ([MeasureFloor]).
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness"
	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Options configure one bench ([Run]).
type Options struct {
	// Setup is the command's; its RunDir is replaced by a scratch
	// directory that Run removes.
	runner.Setup
	// Start is when the command started, for the bench's total.
	Start time.Time
	// Kernels are measured, Suites run on each with Parallel VMs at once,
	// Run selecting the tests (as run --run does).
	Kernels  []catalog.Spec
	Suites   []plan.Suite
	Parallel int
	Run      string
	// FloorRuns is how many times each kernel boots the floor image (the
	// median counts).
	FloorRuns int
	// Cold also times downloads and image builds into a fresh cache, from
	// Mirror.
	Cold   bool
	Mirror string
}

// Run measures every phase of a run of opts against the boot floor and
// prints the tables on stdout: per column download (with Cold), image,
// boot, suites, power-off and the VM against its floor; the shared
// images' build times; the warm run's wall time and bpfmatrix's peak
// memory. It returns the warm run's result.
func Run(ctx context.Context, stdout io.Writer, opts Options) (*results.Result, error) {
	setup, specs, suites := opts.Setup, opts.Kernels, opts.Suites
	work, err := os.MkdirTemp("", "bpfmatrix-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	setup.RunDir = filepath.Join(work, "run")
	b := &bench{setup: setup, specs: specs, suites: suites, work: work}

	download, err := b.coldDownloads(ctx, opts.Cold, opts.Mirror)
	if err != nil {
		return nil, err
	}
	images, err := b.imageTimes(ctx)
	if err != nil {
		return nil, err
	}
	res, runWall, err := b.warmRun(ctx, stdout, harness.Options{Kernels: specs, Suites: suites, Parallel: opts.Parallel, Run: opts.Run, Profiles: []expect.Profile{expect.DefaultProfile}})
	if err != nil {
		return nil, err
	}
	accel := map[string]vm.Accel{}
	for _, kr := range res.Kernels {
		if kr.Accel != "" {
			accel[kr.Kernel.Name] = vm.Accel(kr.Accel)
		}
	}
	floorSetup := setup
	floorSetup.RunDir = work
	floors, err := MeasureFloor(ctx, FloorOptions{Setup: floorSetup, Kernels: specs, Accel: accel, Runs: opts.FloorRuns})
	if err != nil {
		return nil, err
	}
	byName := map[string]FloorResult{}
	for _, f := range floors {
		byName[f.Kernel] = f
	}
	writePhases(stdout, res, byName, download, opts.Parallel)
	for goarch, it := range images {
		fmt.Fprintf(stdout, "shared images (%s, %d suites): cold %.2fs (empty image cache, warm Go build cache), warm %.2fs\n", goarch, len(suites), it.cold.Seconds(), it.warm.Seconds())
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Fprintf(stdout, "run (warm): %.2fs wall for %d column(s), %d VM(s) at once; %s\n", runWall.Seconds(), len(res.Kernels), opts.Parallel, matrix.Build(res).Summary())
	fmt.Fprintf(stdout, "bench total: %.1fs; bpfmatrix peak RSS %d MiB\n", time.Since(opts.Start).Seconds(), ru.Maxrss>>10)
	return res, nil
}

// bench is one `bpfmatrix bench`: what it measures, and its scratch
// directory.
type bench struct {
	setup  runner.Setup
	specs  []catalog.Spec
	suites []plan.Suite
	work   string
}

// coldDownloads times each kernel's download into a fresh cache, if cold.
func (b *bench) coldDownloads(ctx context.Context, cold bool, mirror string) (map[string]time.Duration, error) {
	download := map[string]time.Duration{}
	if !cold {
		return download, nil
	}
	fresh, err := kernels.Open(kernels.Options{CacheDir: filepath.Join(b.work, "cache"), Mirror: mirror, LockPath: b.setup.Store.LockPath()})
	if err != nil {
		return nil, err
	}
	for _, s := range b.specs {
		t0 := time.Now()
		if _, err := fresh.Pull(ctx, s); err != nil {
			return nil, fmt.Errorf("cold download of %s: %w", s.Name, err)
		}
		download[s.Name] = time.Since(t0)
	}
	return download, nil
}

// imageTimes are the build times of one GOARCH's shared images.
type imageTimes struct{ cold, warm time.Duration }

// imageTimes times the shared images of every GOARCH: cold (an empty
// image cache; Go's build cache stays warm) and warm (the real cache).
func (b *bench) imageTimes(ctx context.Context) (map[string]imageTimes, error) {
	pkgs := runner.TestPackages(b.suites)
	images := map[string]imageTimes{}
	for _, s := range b.specs {
		goarch := s.GOARCH()
		if _, ok := images[goarch]; ok {
			continue
		}
		var it imageTimes
		for i, dir := range []string{filepath.Join(b.work, "images"), filepath.Join(b.setup.CacheDir, "initramfs")} {
			ib := &initramfs.Builder{SourceDir: b.setup.SourceDir, CacheDir: dir, GOARCH: goarch}
			if i == 1 {
				// Make sure the real cache is warm before timing it.
				if _, _, err := ib.Base(ctx); err != nil {
					return nil, err
				}
				if _, _, err := ib.Tests(ctx, pkgs); err != nil {
					return nil, err
				}
			}
			t0 := time.Now()
			if _, _, err := ib.Base(ctx); err != nil {
				return nil, err
			}
			if _, _, err := ib.Tests(ctx, pkgs); err != nil {
				return nil, err
			}
			if i == 0 {
				it.cold = time.Since(t0)
			} else {
				it.warm = time.Since(t0)
			}
		}
		images[goarch] = it
	}
	return images, nil
}

// warmRun runs opts on a warm cache and times it. "Warm" means warm: on a
// cache that has never run these kernels, a first run fetches them and
// probes the accelerator (a few seconds of test boot). That run is
// printed, not timed as the warm one.
func (b *bench) warmRun(ctx context.Context, stdout io.Writer, opts harness.Options) (*results.Result, time.Duration, error) {
	opts.Setup = b.setup
	for _, s := range b.specs {
		if k, ok := b.setup.Store.Cached(s); ok {
			k.BootImage() // unpacks an x86 kernel once, if not yet done
		}
	}
	if why := coldReasons(b.setup.Store, b.specs); why != "" {
		t0 := time.Now()
		if _, err := harness.Run(ctx, opts); err != nil {
			return nil, 0, err
		}
		fmt.Fprintf(stdout, "warm-up run first (%s): %.1fs, not counted below\n", why, time.Since(t0).Seconds())
	}
	t0 := time.Now()
	res, err := harness.Run(ctx, opts)
	return res, time.Since(t0), err
}

// writePhases prints the per-column table (every phase against the floor),
// then where each boot and suite went.
func writePhases(w io.Writer, res *results.Result, floors map[string]FloorResult, download map[string]time.Duration, parallel int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "KERNEL\tARCH\tSTATUS\tDOWNLOAD\tIMAGE\tBOOT\tSUITES\tPOWEROFF\tVM\tFLOOR\tVM/FLOOR\tQEMU RSS\t")
	for _, kr := range res.Kernels {
		f := floors[kr.Kernel.Name]
		vmTime := kr.Phases.Boot + kr.Phases.Tests + kr.Phases.PowerOff
		dl := "-"
		if d, ok := download[kr.Kernel.Name]; ok {
			dl = fmt.Sprintf("%.1fs", d.Seconds())
		}
		ratio := "-"
		if f.Median() > 0 {
			ratio = fmt.Sprintf("%.2fx", vmTime/f.Median().Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fs\t%.2fs\t%.2fs\t%.2fs\t%.2fs\t%.2fs\t%s\t%d MiB\t\n",
			kr.Column(), kr.Kernel.Arch, kr.Status, dl, kr.Phases.Image, kr.Phases.Boot, kr.Phases.Tests, kr.Phases.PowerOff,
			vmTime, f.Median().Seconds(), ratio, max(kr.QEMUMaxRSSKiB, f.MaxRSSKiB)>>10)
	}
	tw.Flush()
	if n := min(len(res.Kernels), parallel); n > runtime.NumCPU() {
		fmt.Fprintf(w, "note: %d VMs shared %d cores, and each floor booted alone: VM and VM/FLOOR include waiting for a core. Bench one kernel for the clean ratio.\n", n, runtime.NumCPU())
	}
	fmt.Fprintln(w)
	// Where the boot and the suites went, from the guest's own clock and
	// the tests' elapsed times: what dominates.
	for _, kr := range res.Kernels {
		fmt.Fprintf(w, "%s: %s; slowest tests: %s\n", kr.Column(), bootSplit(kr), slowest(kr.Tests, 3))
	}
	fmt.Fprintln(w)
}

// coldReasons says what a run on store would do besides booting: fetch
// kernels, or probe the accelerator (no verdict cached yet). Empty when
// the cache is warm.
func coldReasons(store *kernels.Store, specs []catalog.Spec) string {
	var why []string
	missing, native := 0, false
	for _, s := range specs {
		if _, ok := store.Cached(s); !ok {
			missing++
		}
		if a, err := vm.ArchByGOARCH(s.GOARCH()); err == nil && a.Native() {
			native = true // only a native guest can use KVM, so only it is probed
		}
	}
	if missing > 0 {
		why = append(why, fmt.Sprintf("%d kernel(s) to fetch", missing))
	}
	if _, err := os.Stat(filepath.Join(store.CacheDir(), "accel.json")); err != nil && native {
		why = append(why, "no accelerator verdict cached")
	}
	return strings.Join(why, ", ")
}

// bootSplit says where a VM's boot went, by the guest's clock.
func bootSplit(kr results.KernelResult) string {
	if kr.Guest == nil || kr.Guest.Clock == nil {
		return "no boot clock from the guest"
	}
	c := kr.Guest.Clock
	return fmt.Sprintf("boot %.2fs = QEMU, firmware and kernel decompression %.2fs, kernel to /init %.2fs, guest set-up %.2fs",
		kr.Phases.Boot, max(kr.Phases.Boot-c.Hello, 0), c.Init, max(c.Hello-c.Init, 0))
}

// slowest names the n slowest tests with their seconds.
func slowest(tests []results.TestResult, n int) string {
	ts := slices.Clone(tests)
	slices.SortFunc(ts, func(a, b results.TestResult) int { return cmp.Compare(b.Seconds, a.Seconds) })
	var out []string
	for _, t := range ts[:min(n, len(ts))] {
		out = append(out, fmt.Sprintf("%s/%s %.2fs", t.Suite, t.Name, t.Seconds))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
