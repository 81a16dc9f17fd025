package runner

import (
	"io"
	"runtime"
	"time"

	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
)

// Setup is what every command's VMs share: where the kernels come from,
// what the guest is built from, where files go, how each VM runs and where
// progress lines go.
type Setup struct {
	// Store fetches the kernels.
	Store *kernels.Store
	// SourceDir is the root of the bpfmatrix module: the guest (and the
	// suites) are built from it; see [host.FindSource].
	SourceDir string
	// CacheDir holds built images and the accelerator verdict.
	CacheDir string
	// RunDir receives the console logs, events and images; created if
	// missing.
	RunDir string
	// VM configures each VM.
	VM VMOptions
	// Include are host files and directories every guest of the command
	// gets (--include), ELF programs with their interpreter and libraries.
	Include []hostfiles.Include
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// BuildLog, if set, receives a line for every image that has to be
	// built (the guest program, the test binaries, a kernel's disk image),
	// which a command shows even when it shows no log: a first build fills
	// the Go build cache and takes minutes.
	BuildLog io.Writer
}

// VMOptions configure each VM of a command.
type VMOptions struct {
	// Accel is auto, kvm or tcg; default auto.
	Accel vm.Accel
	// MemoryMB per VM; default 1024.
	MemoryMB int
	// CPUs per VM; the default depends on the command (RunCPUs, ExecCPUs,
	// ShellCPUs).
	CPUs int
	// Timeout bounds each VM; the default depends on the command
	// (RunTimeout, ExecTimeout, ShellTimeout).
	Timeout time.Duration
	// BootTimeout bounds a guest's boot, QEMU start to the guest's hello:
	// a VM that has not reported in by then ends as boot-failed; default
	// DefaultBootTimeout.
	BootTimeout time.Duration
}

// The defaults of each command's VMs, in one place: the CLI's flags show
// the same.
const (
	// RunTimeout and RunCPUs are the defaults of Run (and bench).
	RunTimeout = 5 * time.Minute
	RunCPUs    = 2
	// ExecTimeout and ExecCPUs are the defaults of Exec.
	ExecTimeout = 10 * time.Minute
	ExecCPUs    = 2
	// ShellTimeout and ShellCPUs are the defaults of Shell.
	ShellTimeout = time.Hour
	ShellCPUs    = 2
)

// Defaults fills the zero fields of s, with the command's own timeout and
// CPUs.
func (s *Setup) Defaults(timeout time.Duration, cpus int) {
	if s.VM.Accel == "" {
		s.VM.Accel = vm.AccelAuto
	}
	if s.VM.MemoryMB <= 0 {
		s.VM.MemoryMB = 1024
	}
	if s.VM.CPUs <= 0 {
		s.VM.CPUs = cpus
	}
	if s.VM.Timeout <= 0 {
		s.VM.Timeout = timeout
	}
	if s.VM.BootTimeout <= 0 {
		s.VM.BootTimeout = DefaultBootTimeout
	}
	if s.Log == nil {
		s.Log = io.Discard
	}
}

// DefaultParallel is how many VMs run at once unless told otherwise: one
// per CPU, plus one. A VM under TCG keeps one core busy only while its
// guest computes; between packets and in the tests' waits it idles. On 2
// cores the default matrix took 52.9 s with 2 VMs at once (62% of both
// cores busy), 41.3 s with 3 (80%) and 40.2 s with 4, so one more VM than
// cores fills the idle time without contending for the cores.
func DefaultParallel() int { return runtime.NumCPU() + 1 }

// DefaultTestParallel is how many VMs bpfmatrix test runs at once unless
// told otherwise: one per CPU. A Go project's test binaries compute
// without pause, and under TCG each VM's vCPUs share one host thread
// (vm.accelArg), so a VM more than cores only shares them: cilium/ebpf's
// suite on the four x86 kernels took 106.8 s with 2 VMs at once on 2
// cores, 119.7 s with 3 and 130.0 s with 4 (2026-12-01).
func DefaultTestParallel() int { return runtime.NumCPU() }
