package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bpfmatrix/bpfmatrix/cmd/bpfmatrix/internal/cmdflag"
	"github.com/bpfmatrix/bpfmatrix/harness/bench"
	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/runner"
)

const benchUsage = `Usage: bpfmatrix bench [flags]

Measures every phase of a run against the boot floor: for each kernel, QEMU
booting an initramfs whose /init powers off at once. Prints, per kernel and
arch: download (with --cold), image build (cold and warm), boot to guest
start, suites, power-off, the VM's total as a ratio to the floor, and peak
memory of QEMU and of bpfmatrix.

Examples:
  bpfmatrix bench --kernels debian-6.1 --suite kprobe --run TestKprobe$
  bpfmatrix bench --kernels debian-5.10,debian-6.1,debian-6.12,debian-7.2
  bpfmatrix bench --cold                 also time downloads into a fresh cache

Flags:
`

func benchCmd(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := cmdflag.NewFlagSet("bench", benchUsage, stderr)
	var vf cmdflag.VM
	vf.Register(fs, cmdflag.VMDefaults{Timeout: runner.RunTimeout, CPUs: runner.RunCPUs})
	kernelList := fs.String("kernels", "", "comma-separated kernel `NAMES` (default: the default matrix)")
	suiteExpr := fs.String("suite", "", "suites matching `REGEXP` (default: all)")
	testRun := fs.String("run", "", "only tests matching `REGEXP`")
	floorRuns := fs.Int("floor-runs", 3, "boot the floor image `N` times per kernel and take the median")
	cold := fs.Bool("cold", false, "also time downloads and image builds into a fresh cache (downloads every kernel again)")
	parallel := fs.Int("parallel", runner.DefaultParallel(), "run at most `N` VMs at once (default: one per CPU, plus one)")
	if help, err := cmdflag.Parse(fs, args); help || err != nil {
		return err
	}
	if *floorRuns < 1 || *parallel < 1 {
		return fmt.Errorf("%w: --floor-runs and --parallel must be at least 1", errUsage)
	}
	if err := vf.Validate(); err != nil {
		return err
	}
	specs, err := cmdflag.SelectKernels(*kernelList)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	suites, err := plan.SelectSuites(*suiteExpr)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	start := time.Now()
	setup, err := vf.Setup(ctx, "", nil)
	if err != nil {
		return err
	}
	res, err := bench.Run(ctx, stdout, bench.Options{
		Setup: setup, Start: start, Kernels: specs, Suites: suites, Parallel: *parallel, Run: *testRun,
		FloorRuns: *floorRuns, Cold: *cold, Mirror: vf.Mirror,
	})
	if err != nil {
		return err
	}
	if !res.OK() {
		return errFailed
	}
	return nil
}
