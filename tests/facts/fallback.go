package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Fallback is the fallback suite (tests/fallback): the fallback chains of bpf/attach.
var Fallback = Suite{
	Name:    "fallback",
	Modules: []string{"veth", "sch_ingress", "cls_bpf"},
	Timeout: 3 * time.Minute,
	Rules: []expect.Rule{
		expect.ChainRule("TestEntry", expect.Trampoline, "fentry", "kprobe", "fentry needs a BPF trampoline", expect.SrcTrampoline),
		expect.ChainRule("TestExit", expect.Trampoline, "fexit", "kretprobe", "fexit needs a BPF trampoline", expect.SrcTrampoline),
		expect.ChainRule("TestModuleFunc", expect.ModuleBTF, "fentry", "kprobe", "fentry on a module function needs module BTF and a trampoline",
			"CONFIG_DEBUG_INFO_BTF_MODULES, "+expect.SrcTrampoline),
		expect.ChainRule("TestMultiKprobe", expect.KprobeMulti, "kprobe.multi", "kprobe each", "kprobe.multi needs 5.18 and fprobe",
			"min version 5.18, CONFIG_FPROBE"),
		expect.ChainRule("TestMultiUprobe", expect.UprobeMulti, "uprobe.multi", "uprobe each", "uprobe.multi links", "min version 6.6 (uprobe.multi)"),
		expect.ChainRule("TestTC", expect.TCX, "tcx", "netlink clsact/cls_bpf", "TCX links", expect.SrcTCX),
		expect.ChainRule("TestLSM", expect.BPFLSM, "bpf lsm", "kprobe security_file_open (observe only: cannot deny)",
			"the BPF LSM must be built, active in this boot and backed by trampolines", expect.SrcLSM),
		expect.ChainRule("TestEvents", expect.Ringbuf, "ringbuf", "perf event array", "BPF ring buffer", "min version 5.8 (ring buffer)"),
	},
}
