package expect

import "github.com/bpfmatrix/bpfmatrix/harness/results"

// Conditions the built-in rules share. Each names, in its Case, where it
// comes from.
var (
	// perfLink: BPF_LINK_CREATE for perf events (kprobes, uprobes,
	// tracepoints, perf_event programs) arrived in 5.15; before, the
	// PERF_EVENT_IOC_SET_BPF ioctl.
	perfLink = func(f Facts) bool { return f.AtLeast(5, 15) }
	// trampoline: fentry, fexit and the BPF LSM need BPF trampolines,
	// which need ftrace direct calls (x86_64 since 5.5; arm64 since 6.4).
	trampoline = func(f Facts) bool { return f.Enabled("DYNAMIC_FTRACE_WITH_DIRECT_CALLS") }
	// tcx: TCX links arrived in 6.6.
	tcx = func(f Facts) bool { return f.AtLeast(6, 6) }
	// bpfLSM: the BPF LSM runs only if built, active in this boot and
	// backed by trampolines.
	bpfLSM = func(f Facts) bool { return f.Enabled("BPF_LSM") && f.LSMActive("bpf") && trampoline(f) }
	// noPMU: QEMU's TCG emulates no PMU for x86; the arm64 "max" CPU has
	// PMUv3.
	noPMU = func(f Facts) bool { return f.Accel == "tcg" && f.Arch == "amd64" }
)

const (
	srcPerfLink   = "min version 5.15 (perf_event bpf_link)"
	srcTrampoline = "CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS (BPF trampoline)"
	srcTCX        = "min version 6.6 (TCX)"
	srcLSM        = "CONFIG_BPF_LSM, boot LSM list (lsm= or CONFIG_LSM), BPF trampoline"
	srcBase       = "catalog minimum (5.10): no further requirement"
)

// perfEventRule expects a pass through a perf_event bpf_link from 5.15 and
// through the ioctl before.
func perfEventRule(test string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: perfLink, Outcome: results.Pass, Mechanism: "bpf_link (perf_event)", Why: "attached through a perf_event bpf_link", Source: srcPerfLink},
		{Outcome: results.Pass, Mechanism: "perf_event ioctl", Why: "attached through PERF_EVENT_IOC_SET_BPF (no perf_event link before 5.15)", Source: srcPerfLink},
	}}
}

// passRule expects a pass on every supported kernel.
func passRule(test, why string) Rule {
	return Rule{Test: test, Cases: []Case{{Outcome: results.Pass, Why: why, Source: srcBase}}}
}

func trampolineRule(test string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: trampoline, Outcome: results.Pass, Mechanism: "bpf_link (tracing)", Why: "BPF trampolines available", Source: srcTrampoline},
		{Outcome: results.Unsupported, Why: "no BPF trampoline (ftrace direct calls) on this kernel", Source: srcTrampoline},
	}}
}

// DefaultModel holds the expectations for the built-in suites.
var DefaultModel = Model{
	perfEventRule("kprobe/TestKprobe"),
	perfEventRule("kprobe/TestKretprobe"),
	perfEventRule("uprobe/TestUprobe"),
	perfEventRule("uprobe/TestUretprobe"),
	trampolineRule("tracing/TestFentry"),
	trampolineRule("tracing/TestFexit"),
	perfEventRule("tracepoint/TestTracepoint"),
	passRule("tracepoint/TestRawTracepoint", "raw tracepoints (4.17)"),
	passRule("tracepoint/TestTpBTF", "BTF tracepoints (5.5)"),
	passRule("socket/TestSocketFilter", "socket filters"),
	passRule("cgroup/TestCgroupSKBEgress", "cgroup_skb (4.10) with bpf_link (5.7)"),
	passRule("cgroup/TestCgroupSKBIngress", "cgroup_skb (4.10) with bpf_link (5.7)"),
	passRule("cgroup/TestCgroupConnect4", "cgroup sock_addr (4.17) with bpf_link (5.7)"),
	perfEventRule("perf/TestPerfEventSoftware"),
	{Test: "perf/TestPerfEventHardware", Cases: []Case{
		{When: noPMU, Outcome: results.Unsupported, Why: "no PMU: QEMU TCG emulates none for x86", Source: "accelerator tcg, arch amd64"},
		{When: perfLink, Outcome: results.Pass, Mechanism: "bpf_link (perf_event)", Why: "a PMU is there (arm64 'max' CPU: PMUv3, or KVM)", Source: srcPerfLink},
		{Outcome: results.Pass, Mechanism: "perf_event ioctl", Why: "a PMU is there (arm64 'max' CPU: PMUv3, or KVM)", Source: srcPerfLink},
	}},
	{Test: "tc/TestTCNetlink", Cases: []Case{{Outcome: results.Pass, Mechanism: "netlink clsact/cls_bpf", Why: "clsact (4.5) and cls_bpf direct-action (4.4)", Source: srcBase}}},
	{Test: "tc/TestTCX", Cases: []Case{
		{When: tcx, Outcome: results.Pass, Mechanism: "bpf_link (tcx)", Why: "TCX links", Source: srcTCX},
		{Outcome: results.Unsupported, Why: "no TCX before 6.6", Source: srcTCX},
	}},
	{Test: "xdp/TestXDPGeneric", Cases: []Case{{Outcome: results.Pass, Mechanism: "xdp generic", Why: "generic XDP (4.12) with bpf_link (5.9)", Source: srcBase}}},
	{Test: "xdp/TestXDPNative", Cases: []Case{{Outcome: results.Pass, Mechanism: "xdp native", Why: "veth native XDP (4.19) with bpf_link (5.9)", Source: srcBase}}},
	{Test: "lsm/TestLSMFileOpen", Cases: []Case{
		{When: bpfLSM, Outcome: results.Pass, Why: "BPF LSM built, active and backed by trampolines", Source: srcLSM},
		{Outcome: results.Unsupported, Why: "BPF LSM not active in this boot, or no BPF trampoline", Source: srcLSM},
	}},
	passRule("transport/TestRingbuf", "BPF ring buffer (5.8)"),
	passRule("transport/TestPerfEventArray", "perf event array (4.4)"),
}

// The fallback suite's chains (bpf/attach). Each rule names the mechanism
// that must win: the preferred one where the kernel has what it needs, the
// fallback (marked "(fallback: ...") elsewhere. An unexpected fallback is a
// regression; an unexpected native attach means the model is wrong.
func chainRule(test string, native func(Facts) bool, preferred, fallback, why, source string) Rule {
	return Rule{Test: test, Cases: []Case{
		{When: native, Outcome: results.Pass, Mechanism: preferred, Why: why, Source: source},
		{Outcome: results.Pass, Mechanism: fallback + " (fallback: " + preferred, Why: "falls back: the kernel lacks what " + preferred + " needs", Source: source},
	}}
}

var (
	moduleBTF   = func(f Facts) bool { return trampoline(f) && f.Enabled("DEBUG_INFO_BTF_MODULES") }
	kprobeMulti = func(f Facts) bool { return f.AtLeast(5, 18) && f.Enabled("FPROBE") }
	uprobeMulti = func(f Facts) bool { return f.AtLeast(6, 6) }
	ringbuf     = func(f Facts) bool { return f.AtLeast(5, 8) }
)

func init() {
	DefaultModel = append(DefaultModel,
		chainRule("fallback/TestEntry", trampoline, "fentry", "kprobe", "fentry needs a BPF trampoline", srcTrampoline),
		chainRule("fallback/TestExit", trampoline, "fexit", "kretprobe", "fexit needs a BPF trampoline", srcTrampoline),
		chainRule("fallback/TestModuleFunc", moduleBTF, "fentry", "kprobe", "fentry on a module function needs module BTF and a trampoline",
			"CONFIG_DEBUG_INFO_BTF_MODULES, "+srcTrampoline),
		chainRule("fallback/TestMultiKprobe", kprobeMulti, "kprobe.multi", "kprobe each", "kprobe.multi needs 5.18 and fprobe",
			"min version 5.18, CONFIG_FPROBE"),
		chainRule("fallback/TestMultiUprobe", uprobeMulti, "uprobe.multi", "uprobe each", "uprobe.multi links", "min version 6.6 (uprobe.multi)"),
		chainRule("fallback/TestTC", tcx, "tcx", "netlink clsact/cls_bpf", "TCX links", srcTCX),
		chainRule("fallback/TestLSM", bpfLSM, "bpf lsm", "kprobe security_file_open (observe only: cannot deny)",
			"the BPF LSM must be built, active in this boot and backed by trampolines", srcLSM),
		chainRule("fallback/TestEvents", ringbuf, "ringbuf", "perf event array", "BPF ring buffer", "min version 5.8 (ring buffer)"),
	)
}
