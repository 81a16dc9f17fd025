package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/runner"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// FloorResult is the boot floor of one kernel: QEMU booting it with an
// initramfs whose /init powers off at once.
type FloorResult struct {
	Kernel string
	// Runs are the wall times of each boot, QEMU start to exit.
	Runs []time.Duration
	// MaxRSSKiB is the largest QEMU peak resident memory seen.
	MaxRSSKiB int64
}

// Median is the median of Runs.
func (f FloorResult) Median() time.Duration {
	if len(f.Runs) == 0 {
		return 0
	}
	r := append([]time.Duration(nil), f.Runs...)
	sort.Slice(r, func(i, j int) bool { return r[i] < r[j] })
	return r[len(r)/2]
}

// floorTimeout bounds each floor boot.
const floorTimeout = 2 * time.Minute

// FloorOptions configure [MeasureFloor].
type FloorOptions struct {
	// Setup is shared with the other commands; RunDir receives the
	// console logs. VM.Accel is ignored: see Accel.
	runner.Setup
	// Kernels are measured one after the other; they must be cached.
	Kernels []catalog.Spec
	// Accel is the accelerator of each kernel, by name (the one its run
	// used); default tcg.
	Accel map[string]vm.Accel
	// Runs is how many times each kernel boots; default 1.
	Runs int
}

// MeasureFloor boots each kernel Runs times with the floor image of its
// base archive and reports how long each boot took, in the order of
// Kernels.
func MeasureFloor(ctx context.Context, opts FloorOptions) ([]FloorResult, error) {
	opts.Setup.Defaults(floorTimeout, runner.RunCPUs)
	r, err := runner.New(opts.Setup, opts.Kernels)
	if err != nil {
		return nil, err
	}
	var out []FloorResult
	for _, spec := range opts.Kernels {
		f, err := floor(ctx, r, spec, opts.Accel[spec.Name], max(opts.Runs, 1))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// floor boots spec n times with the floor image, under accel.
func floor(ctx context.Context, r *runner.Runner, spec catalog.Spec, accel vm.Accel, n int) (FloorResult, error) {
	res := FloorResult{Kernel: spec.Name}
	if accel == "" {
		accel = vm.AccelTCG
	}
	k, ok := r.Store.Cached(spec)
	if !ok {
		return res, fmt.Errorf("%s is not cached after the run", spec.Name)
	}
	arch, err := runner.ArchOf(spec)
	if err != nil {
		return res, err
	}
	base, err := r.Base(ctx, arch.GOARCH)
	if err != nil {
		return res, err
	}
	floor := initramfs.FloorPath(base)
	if _, err := os.Stat(floor); err != nil {
		return res, fmt.Errorf("floor image: %w", err)
	}
	for i := range n {
		b := r.Boot(ctx, runner.Request{
			Dir: filepath.Join(r.RunDir, fmt.Sprintf("floor-%s-%d", spec.Name, i)), Kernel: k, Arch: arch,
			Initrd: floor, Append: initramfs.FloorArgs, Accel: accel, Timeout: floorTimeout,
		})
		if b.Err != nil {
			return res, b.Err
		}
		if e := b.Exit; e.Reason != vm.ReasonExited || e.Err != nil {
			return res, fmt.Errorf("%s: floor boot ended with %s: %v", spec.Name, e.Reason, e.Err)
		}
		res.Runs = append(res.Runs, b.Exit.Duration)
		res.MaxRSSKiB = max(res.MaxRSSKiB, b.Exit.MaxRSSKiB)
	}
	return res, nil
}
