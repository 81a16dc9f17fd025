// Package results is the schema of a bpfmatrix run: the JSON that --json
// writes (documented in docs/results.md), and what every report renders.
// It depends on the host/guest contract (internal/wire) only, so that the
// reports depend on nothing that boots VMs.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// Schema versions the JSON results. docs/results.md documents it.
const Schema = "bpfmatrix/v1"

// Status is how one kernel's VM ended.
type Status string

// Kernel statuses.
const (
	// StatusOK: the guest ran every suite and said done.
	StatusOK Status = "ok"
	// StatusBootFailed: the guest never reported in (QEMU or the kernel
	// failed before the guest program started, or the guest had not said
	// hello within the boot deadline).
	StatusBootFailed Status = "boot-failed"
	// StatusTimeout: the VM ran past its timeout and was killed.
	StatusTimeout Status = "timeout"
	// StatusPanic: the guest kernel panicked.
	StatusPanic Status = "panic"
	// StatusCrashed: the guest reported in but stopped without its done
	// event (the guest program or QEMU died).
	StatusCrashed Status = "crashed"
	// StatusInterrupted: the run was interrupted (Ctrl-C) before the VM
	// finished.
	StatusInterrupted Status = "interrupted"
	// StatusError: the host could not prepare the VM (kernel download,
	// image build).
	StatusError Status = "error"
)

// Outcome is one test's result.
type Outcome string

// Test outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
	// Unsupported: the kernel said no to the hook (ebpf.ErrNotSupported
	// or an errno the test names); Reason holds the kernel's error.
	Unsupported Outcome = "unsupported"
	// Flaky: the test failed, then passed when run again (--retries);
	// Attempts holds the failed runs. It fails the run only with
	// Result.FailOnFlaky.
	Flaky Outcome = "flaky"
	// KnownFlaky: the test failed (on every attempt) and is listed as
	// known to be flaky on this kernel (--known-flaky), with KnownFlaky
	// saying why. It does not fail the run.
	KnownFlaky Outcome = "known-flaky"
)

// Final is the outcome the test ended with: a flaky test passed in the
// end, a known-flaky one failed.
func (o Outcome) Final() Outcome {
	switch o {
	case Flaky:
		return Pass
	case KnownFlaky:
		return Fail
	}
	return o
}

// Result is one whole run: the JSON file written by --json.
type Result struct {
	Schema  string    `json:"schema"`
	Started time.Time `json:"started"`
	// Seconds is the run's wall time from Started; Prepare what the
	// host did before it.
	Seconds float64 `json:"seconds"`
	// Prepare is the host's work before the VMs of a bpfmatrix test run:
	// building the test binaries and their disk images (nil for run).
	Prepare   *Prepare       `json:"prepare,omitempty"`
	Accel     Verdict        `json:"accel"`
	Suites    []string       `json:"suites"`
	RunDir    string         `json:"run_dir"`
	Kernels   []KernelResult `json:"kernels"`
	Complete  bool           `json:"complete"`
	Unhandled []string       `json:"errors,omitempty"`
	// AllowSplats: kernel splats are reported but do not fail the run
	// (--allow-splats).
	AllowSplats bool `json:"allow_splats,omitempty"`
	// FailOnFlaky: a flaky test fails the run (--fail-on-flaky).
	FailOnFlaky bool `json:"fail_on_flaky,omitempty"`
	// Retries is how many times a failing test was run again (--retries).
	Retries int `json:"retries,omitempty"`
	// InjectWrong are the suite families whose tests compared against
	// wrong values on purpose (--inject-wrong), so that reproduce runs them
	// the same way.
	InjectWrong []string `json:"inject_wrong,omitempty"`
	// NoLongerFlaky are the entries of the known-flaky list whose test
	// passed on every listed kernel of this run and of the runs before
	// it, enough times in a row to take them off the list.
	NoLongerFlaky []StaleFlake `json:"no_longer_flaky,omitempty"`
}

// VM is one of a column's VMs (KernelResult.VMs).
type VM struct {
	// Suites are the suites (packages) it ran.
	Suites     []string `json:"suites"`
	Status     Status   `json:"status"`
	Seconds    float64  `json:"seconds"`
	ConsoleLog string   `json:"console_log,omitempty"`
}

// Prepare are the seconds a bpfmatrix test run spent on the host before
// its first VM: Build is go test -c of every package for every
// architecture, Images the disk images of the binaries, the module and
// GOROOT.
type Prepare struct {
	Build  float64 `json:"build"`
	Images float64 `json:"images"`
}

// StaleFlake is a known-flaky entry that has stopped failing on a column.
type StaleFlake struct {
	// Test is the row (TestResult.ID), Column the column's label.
	Test   string `json:"test"`
	Column string `json:"column"`
	// Passes is how many runs in a row it passed, this one included.
	Passes int `json:"passes"`
	// Reason is the list entry's reason.
	Reason string `json:"reason"`
}

// Verdict is the accelerator a run's VMs used, and why it was chosen.
type Verdict struct {
	// Accel is kvm or tcg.
	Accel string `json:"accel"`
	// Reason says why: requested, or what the test boot showed.
	Reason string `json:"reason"`
}

// DefaultProfile names the boot profile that boots a kernel as its
// distribution configured it; a column of that profile is labelled with
// the kernel's name alone.
const DefaultProfile = "default"

// KernelInfo identifies the kernel of one column.
type KernelInfo struct {
	Name     string        `json:"name"`
	Distro   string        `json:"distro"`
	Suite    string        `json:"suite"`
	Arch     string        `json:"arch"`
	Flavour  string        `json:"flavour"`
	Version  string        `json:"version"`
	Release  string        `json:"release"`
	Packages []PackageInfo `json:"packages"`
}

// PackageInfo is one package the kernel came from.
type PackageInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Phases are the seconds spent in each phase of one kernel's run.
type Phases struct {
	// Fetch is the kernel pull (0 when cached, but for the lock check).
	Fetch float64 `json:"fetch"`
	// Image is building this kernel's initramfs (modules, config, concat).
	Image float64 `json:"image"`
	// Boot is QEMU start to the guest's hello event.
	Boot float64 `json:"boot"`
	// Tests is hello to done.
	Tests float64 `json:"tests"`
	// PowerOff is done to QEMU's exit.
	PowerOff float64 `json:"power_off"`
}

// KernelResult is one column of the matrix.
type KernelResult struct {
	Kernel KernelInfo `json:"kernel"`
	// Profile names the boot profile; Cmdline is what it added to the
	// kernel command line.
	Profile string   `json:"profile"`
	Cmdline []string `json:"cmdline,omitempty"`
	// Accel is the accelerator the VM ran under: kvm or tcg.
	Accel string `json:"accel,omitempty"`
	// QEMUMaxRSSKiB is the VM's QEMU process's peak resident memory.
	QEMUMaxRSSKiB int64         `json:"qemu_max_rss_kib,omitempty"`
	Status        Status        `json:"status"`
	Error         string        `json:"error,omitempty"`
	Seconds       float64       `json:"seconds"`
	Phases        Phases        `json:"phases"`
	ConsoleLog    string        `json:"console_log,omitempty"`
	ConsoleTail   []string      `json:"console_tail,omitempty"`
	PanicLines    []string      `json:"panic_lines,omitempty"`
	Reproduce     string        `json:"reproduce,omitempty"`
	Guest         *wire.Hello   `json:"guest,omitempty"`
	Modules       []wire.Module `json:"modules,omitempty"`
	FrameErrors   []string      `json:"frame_errors,omitempty"`
	GuestLog      []string      `json:"guest_log,omitempty"`
	// Splats are the kernel's warnings, BUGs, oopses, stalls and lockups
	// during the run (from the console and the kernel log): a splat fails
	// the run unless the run allows them (Result.AllowSplats).
	Splats []Splat `json:"splats,omitempty"`
	// Config holds the kernel's values of the config options the
	// expectation model's rules test (CONFIG_X -> y, m or n), so that a
	// report can say which of them separate where a test fails from where
	// it passes.
	Config map[string]string `json:"config,omitempty"`
	// VMs are the column's VMs when it ran in more than one (bpfmatrix
	// test with more VM slots than columns: the packages split over VMs
	// of the same kernel, each the same machine); the fields above then
	// merge them (tests, splats, logs; the slowest phases; the first VM
	// that did not end well for status, console and reproduce).
	VMs   []VM         `json:"vms,omitempty"`
	Tests []TestResult `json:"tests"`
}

// TestResult is one cell of the matrix.
type TestResult struct {
	Suite   string  `json:"suite"`
	Package string  `json:"package"`
	Name    string  `json:"name"`
	Result  Outcome `json:"result"`
	// Reason is why a test skipped or why the harness failed it.
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds"`
	Output  string  `json:"output,omitempty"`
	// Hook is the hook kind the test exercised, e.g. "kprobe".
	Hook string `json:"hook,omitempty"`
	// Mechanism is the attach mechanism actually used, e.g. "perf_event
	// link" or "ioctl".
	Mechanism string `json:"mechanism,omitempty"`
	// Events is how many events the test verified by content.
	Events int `json:"events,omitempty"`
	// Expect is what the expectation model said about this cell, if it
	// has a rule for it.
	Expect *Expectation `json:"expect,omitempty"`
	// Attempts are the earlier runs of a test that failed and was run
	// again (--retries), in order; the fields above are its last run.
	Attempts []Attempt `json:"attempts,omitempty"`
	// KnownFlaky is the reason the known-flaky list gives for this test on
	// this kernel, if it lists it (whatever the result).
	KnownFlaky string `json:"known_flaky,omitempty"`
}

// Attempt is one earlier run of a retried test.
type Attempt struct {
	Result  Outcome `json:"result"`
	Reason  string  `json:"reason,omitempty"`
	Seconds float64 `json:"seconds"`
	Output  string  `json:"output,omitempty"`
}

// Expectation is the expectation model's verdict on one cell.
type Expectation struct {
	// Outcome is the outcome the model expects: pass or unsupported.
	Outcome Outcome `json:"outcome"`
	// Mechanism is the attach mechanism the model expects, if it says.
	Mechanism string `json:"mechanism,omitempty"`
	// Met is true when the cell matches the expectation.
	Met bool `json:"met"`
	// Undecided is true when the model cannot say what to expect: the
	// rule reads the kernel's config and the kernel came without one.
	// Such a cell is neither expected nor unexpected; Rule names the
	// options it would need.
	Undecided bool `json:"undecided,omitempty"`
	// Rule and Source say why: the rule's text and where it comes from
	// (a minimum kernel version, a config option, a boot parameter).
	Rule   string `json:"rule"`
	Source string `json:"source"`
}

// Splat is a kernel warning, BUG, oops, stall or lockup during a run.
type Splat struct {
	// Kind is e.g. "warning", "bug", "ubsan", "rcu-stall".
	Kind string `json:"kind"`
	// Lines are the report as the kernel logged it.
	Lines []string `json:"lines"`
	// Known, if set, says why the expectation model expects this splat on
	// this kernel (a known kernel bug), and Source where that comes from.
	// A known splat is reported but does not fail the run.
	Known  string `json:"known,omitempty"`
	Source string `json:"source,omitempty"`
}

// UnknownSplats counts the kernel splats of k that the expectation model
// does not expect.
func (k *KernelResult) UnknownSplats() int { return UnknownSplats(k.Splats) }

// UnknownSplats counts the splats the expectation model does not expect.
func UnknownSplats(splats []Splat) int {
	n := 0
	for _, s := range splats {
		if s.Known == "" {
			n++
		}
	}
	return n
}

// Column is the matrix column's label: the kernel's name, with the boot
// profile when it is not the default one.
func (k *KernelResult) Column() string {
	if k.Profile == "" || k.Profile == DefaultProfile {
		return k.Kernel.Name
	}
	return k.Kernel.Name + "+" + k.Profile
}

// ID is the row key of a test: suite/name.
func (t TestResult) ID() string { return t.Suite + "/" + t.Name }

// OK reports whether the run passed: every kernel ran to completion with
// an intact result channel, at least one test ran on each, nothing failed
// (a flaky test only with FailOnFlaky and if not listed as known flaky; a
// known-flaky one never), no kernel splatted (unless AllowSplats), and
// every cell met the expectation model (an unexpected fallback and an
// unexpected success alike fail the run).
func (r *Result) OK() bool {
	if !r.Complete || len(r.Kernels) == 0 || r.Unexpected() > 0 {
		return false
	}
	for _, k := range r.Kernels {
		if k.Status != StatusOK || len(k.Tests) == 0 || len(k.FrameErrors) > 0 {
			return false
		}
		if k.UnknownSplats() > 0 && !r.AllowSplats {
			return false
		}
		for _, t := range k.Tests {
			if t.Result == Fail || (t.Result == Flaky && r.FailOnFlaky && t.KnownFlaky == "") {
				return false
			}
		}
	}
	return true
}

// WriteJSON writes r to path atomically.
func (r *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadJSON reads a results file and checks its schema.
func ReadJSON(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a bpfmatrix results file: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}

// Rows returns the row keys of the matrix (TestResult.ID), in order of
// first appearance across the columns.
func (r *Result) Rows() []string {
	var rows []string
	seen := map[string]bool{}
	for _, k := range r.Kernels {
		for _, t := range k.Tests {
			if !seen[t.ID()] {
				seen[t.ID()] = true
				rows = append(rows, t.ID())
			}
		}
	}
	return rows
}

// Test returns the cell of row id (TestResult.ID) in this column, or nil
// if the column has no such test.
func (k *KernelResult) Test(id string) *TestResult {
	for i := range k.Tests {
		if k.Tests[i].ID() == id {
			return &k.Tests[i]
		}
	}
	return nil
}

// Unexpected counts the cells whose expectation was not met, but for the
// known-flaky ones (their failure is known and reported as such).
func (r *Result) Unexpected() int {
	n := 0
	for _, k := range r.Kernels {
		for _, t := range k.Tests {
			if t.Expect != nil && !t.Expect.Met && !t.Expect.Undecided && t.Result != KnownFlaky {
				n++
			}
		}
	}
	return n
}
