package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Kprobe is the kprobe suite (tests/kprobe): kprobes and kretprobes.
var Kprobe = Suite{
	Name:    "kprobe",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PerfEventRule("TestKprobe"),
		expect.PerfEventRule("TestKretprobe"),
	},
}
