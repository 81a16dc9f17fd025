package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Uprobe is the uprobe suite (tests/uprobe): uprobes and uretprobes.
var Uprobe = Suite{
	Name:    "uprobe",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PerfEventRule("TestUprobe"),
		expect.PerfEventRule("TestUretprobe"),
	},
}
