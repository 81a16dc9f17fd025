package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Tracepoint is the tracepoint suite (tests/tracepoint): tracepoints, raw and BTF tracepoints.
var Tracepoint = Suite{
	Name:    "tracepoint",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PerfEventRule("TestTracepoint"),
		expect.PassRule("TestRawTracepoint", "raw tracepoints (4.17)"),
		expect.PassRule("TestTpBTF", "BTF tracepoints (5.5)"),
	},
}
