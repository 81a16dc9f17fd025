package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Perf is the perf suite (tests/perf): perf_event programs.
var Perf = Suite{
	Name:    "perf",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PerfEventRule("TestPerfEventSoftware"),
		{Test: "TestPerfEventHardware", Cases: []expect.Case{
			{When: expect.NoPMU, Outcome: results.Unsupported, Why: "no PMU: QEMU TCG emulates none for x86", Source: "accelerator tcg, arch amd64"},
			{When: expect.PerfLink, Outcome: results.Pass, Mechanism: "bpf_link (perf_event)", Why: "a PMU is there (arm64 'max' CPU: PMUv3, or KVM)", Source: expect.SrcPerfLink},
			{Outcome: results.Pass, Mechanism: "perf_event ioctl", Why: "a PMU is there (arm64 'max' CPU: PMUv3, or KVM)", Source: expect.SrcPerfLink},
		}},
	},
}
