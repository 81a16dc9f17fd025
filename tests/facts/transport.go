package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Transport is the transport suite (tests/transport): the ring buffer and the perf event array.
var Transport = Suite{
	Name:    "transport",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PassRule("TestRingbuf", "BPF ring buffer (5.8)"),
		expect.PassRule("TestPerfEventArray", "perf event array (4.4)"),
	},
}
