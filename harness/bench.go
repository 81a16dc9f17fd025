package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/bpfmatrix/bpfmatrix/kernels"
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

// MeasureFloor boots k n times with the floor image of the base archive
// base, under accel, and reports how long each boot took. dir receives
// the console logs.
func MeasureFloor(ctx context.Context, spec kernels.Spec, k *kernels.Kernel, base string, accel vm.Accel, n int, dir string) (FloorResult, error) {
	res := FloorResult{Kernel: spec.Name}
	arch, err := archOf(spec)
	if err != nil {
		return res, err
	}
	floor := initramfs.FloorPath(base)
	if _, err := os.Stat(floor); err != nil {
		return res, fmt.Errorf("floor image: %w", err)
	}
	kernelImage, _ := k.BootImage() // the same kernel file as the run's
	for i := range n {
		v, err := vm.Start(ctx, vm.Options{
			Arch: arch, Kernel: kernelImage, Initrd: floor, Accel: accel,
			Append: initramfs.FloorArgs, Timeout: 2 * time.Minute,
			ConsoleLog: filepath.Join(dir, fmt.Sprintf("floor-%s-%d.log", spec.Name, i)),
		})
		if err != nil {
			return res, err
		}
		e := v.Wait()
		if e.Reason != vm.ReasonExited || e.Err != nil {
			return res, fmt.Errorf("%s: floor boot ended with %s: %v", spec.Name, e.Reason, e.Err)
		}
		res.Runs = append(res.Runs, e.Duration)
		res.MaxRSSKiB = max(res.MaxRSSKiB, e.MaxRSSKiB)
	}
	return res, nil
}
