package expect

import (
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// The vocabulary the suites write their rules in (each suite declares the
// rules of its tests next to them, see tests/suite). A condition says
// what a kernel has; each Case names, in its Source, where that comes
// from.
var (
	// PerfLink: BPF_LINK_CREATE for perf events (kprobes, uprobes,
	// tracepoints, perf_event programs) arrived in 5.15; before, the
	// PERF_EVENT_IOC_SET_BPF ioctl.
	PerfLink = func(f Facts) bool { return f.AtLeast(5, 15) }
	// Trampoline: fentry, fexit and the BPF LSM need BPF trampolines,
	// which need ftrace direct calls (x86_64 since 5.5; arm64 since 6.4).
	Trampoline = func(f Facts) bool { return f.Enabled("DYNAMIC_FTRACE_WITH_DIRECT_CALLS") }
	// TCX: TCX links arrived in 6.6.
	TCX = func(f Facts) bool { return f.AtLeast(6, 6) }
	// BPFLSM: the BPF LSM runs only if built, active in this boot and
	// backed by trampolines.
	BPFLSM = func(f Facts) bool { return f.Enabled("BPF_LSM") && f.LSMActive("bpf") && Trampoline(f) }
	// NoPMU: QEMU's TCG emulates no PMU for x86; the arm64 "max" CPU has
	// PMUv3.
	NoPMU = func(f Facts) bool { return f.Accel == "tcg" && f.Arch == "amd64" }
	// ModuleBTF: fentry on a module function needs module BTF and a
	// trampoline.
	ModuleBTF = func(f Facts) bool { return Trampoline(f) && f.Enabled("DEBUG_INFO_BTF_MODULES") }
	// KprobeMulti: kprobe.multi links need 5.18 and fprobe.
	KprobeMulti = func(f Facts) bool { return f.AtLeast(5, 18) && f.Enabled("FPROBE") }
	// UprobeMulti: uprobe.multi links arrived in 6.6.
	UprobeMulti = func(f Facts) bool { return f.AtLeast(6, 6) }
	// Ringbuf: the BPF ring buffer arrived in 5.8.
	Ringbuf = func(f Facts) bool { return f.AtLeast(5, 8) }
	// HasConfig: the kernel came with its build configuration.
	HasConfig = func(f Facts) bool { return len(f.Config) > 0 }
	// HasModuleTree: the kernel came with its module tree.
	HasModuleTree = func(f Facts) bool { return f.ModuleTree }
)

// ConfigOptions are the config options the vocabulary above tests: the
// facts a report compares between the kernels where a test fails and
// those where it passes.
var ConfigOptions = []string{"CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS", "CONFIG_BPF_LSM", "CONFIG_DEBUG_INFO_BTF_MODULES", "CONFIG_FPROBE"}

// Sources the rules share.
const (
	SrcPerfLink   = "min version 5.15 (perf_event bpf_link)"
	SrcTrampoline = "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS (BPF trampoline)"
	SrcTCX        = "min version 6.6 (TCX)"
	SrcLSM        = "CONFIG_BPF_LSM, boot LSM list (lsm= or CONFIG_LSM), BPF trampoline"
	SrcBase       = "catalog minimum (5.10): no further requirement"
)

// PerfEventRule expects a pass through a perf_event bpf_link from 5.15 and
// through the ioctl before.
func PerfEventRule(test string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: PerfLink, Outcome: results.Pass, Mechanism: "bpf_link (perf_event)", Why: "attached through a perf_event bpf_link", Source: SrcPerfLink},
		{Outcome: results.Pass, Mechanism: "perf_event ioctl", Why: "attached through PERF_EVENT_IOC_SET_BPF (no perf_event link before 5.15)", Source: SrcPerfLink},
	}}
}

// PassRule expects a pass on every supported kernel, for why.
func PassRule(test, why string) Rule {
	return Rule{Test: test, Cases: []Case{{Outcome: results.Pass, Why: why, Source: SrcBase}}}
}

// MechanismRule expects a pass through mechanism on every supported
// kernel, for why.
func MechanismRule(test, mechanism, why string) Rule {
	return Rule{Test: test, Cases: []Case{{Outcome: results.Pass, Mechanism: mechanism, Why: why, Source: SrcBase}}}
}

// TrampolineRule expects a pass through a tracing link where the kernel
// has BPF trampolines, unsupported elsewhere.
func TrampolineRule(test string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: Trampoline, Outcome: results.Pass, Mechanism: "bpf_link (tracing)", Why: "BPF trampolines available", Source: SrcTrampoline},
		{Outcome: results.Unsupported, Why: "no BPF trampoline (ftrace direct calls) on this kernel", Source: SrcTrampoline},
	}}
}

// ChainRule is the rule of a fallback chain (bpf/attach): it names the
// mechanism that must win, the preferred one where native holds, the
// fallback (marked "(fallback: ...") elsewhere. An unexpected fallback is
// a regression; an unexpected native attach means the model is wrong.
func ChainRule(test string, native func(Facts) bool, preferred, fallback, why, source string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: native, Outcome: results.Pass, Mechanism: preferred, Why: why, Source: source},
		{Outcome: results.Pass, Mechanism: fallback + " (fallback: " + preferred, Why: "falls back: the kernel lacks what " + preferred + " needs", Source: source},
	}}
}

// KnownSplat is a kernel splat the model expects on some kernels: a known
// kernel bug that a run hits without being at fault. It is reported, and
// does not fail the run.
type KnownSplat struct {
	// Kind is the splat's kind (package internal/splat), Match a text its
	// lines contain.
	Kind, Match string
	// When says on which kernels it is expected.
	When func(Facts) bool
	// Why and Source say what the bug is and where that is known from.
	Why, Source string
}

// KnownSplats are the kernel bugs the default kernels are known to hit.
var KnownSplats = []KnownSplat{
	{
		// Reading /proc/self/mountinfo with bpffs mounted (cilium/ebpf does,
		// on first use) shows bpffs's BPF token delegation options; a
		// delegate mask of "any" is shifted by its 64-bit width.
		Kind: "ubsan", Match: "kernel/bpf/inode.c",
		When:   func(f Facts) bool { return f.AtLeast(6, 9) && f.Enabled("UBSAN_SHIFT") },
		Why:    "bpffs mountinfo (seq_print_delegate_opts) shifts a delegate mask out of bounds: a kernel bug, not the test's",
		Source: "min version 6.9 (BPF token delegation), CONFIG_UBSAN_SHIFT",
	},
}

// JudgeSplats marks each splat of splats that ks expect under f as known.
func JudgeSplats(ks []KnownSplat, splats []results.Splat, f Facts) {
	for i := range splats {
		s := &splats[i]
		for _, k := range ks {
			if s.Kind == k.Kind && containsLine(s.Lines, k.Match) && (k.When == nil || k.When(f)) {
				s.Known, s.Source = k.Why, k.Source
				break
			}
		}
	}
}

func containsLine(lines []string, text string) bool {
	for _, l := range lines {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}
