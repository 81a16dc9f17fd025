package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// srcMachine is the source of the machine suite's rules: what bpfmatrix
// promises of every guest (README, "The guest").
const srcMachine = "bpfmatrix's guest: the machine asked for"

// Machine is the machine suite (tests/machine): the guest has the CPUs,
// clock, kernel config and module tree asked for. It runs first, so that a
// guest that is not the machine asked for says so before any hook test.
var Machine = Suite{
	Name:    "machine",
	Timeout: time.Minute,
	Rules: []expect.Rule{
		{Test: "TestCPUs", Cases: []expect.Case{{Outcome: results.Pass, Why: "every CPU of --cpus is online and possible", Source: srcMachine}}},
		{Test: "TestClock", Cases: []expect.Case{{Outcome: results.Pass, Why: "a timer clocksource (tsc, hpet, acpi_pm, arch_sys_counter), not jiffies", Source: srcMachine}}},
		{Test: "TestKernelConfig", Cases: []expect.Case{
			{When: expect.HasConfig, Outcome: results.Pass, Why: "/boot/config-<release> is the kernel's config", Source: srcMachine},
			{Outcome: results.Unsupported, Why: "the kernel came without a config file", Source: "kernel source: no config"},
		}},
		{Test: "TestModules", Cases: []expect.Case{
			{When: expect.HasModuleTree, Outcome: results.Pass, Why: "/lib/modules/<release> is the kernel's module tree, loaded from on demand", Source: srcMachine},
			{Outcome: results.Unsupported, Why: "the kernel came without a module tree", Source: "kernel source: no modules"},
		}},
	},
}
