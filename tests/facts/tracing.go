package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Tracing is the tracing suite (tests/tracing): fentry and fexit.
var Tracing = Suite{
	Name:    "tracing",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.TrampolineRule("TestFentry"),
		expect.TrampolineRule("TestFexit"),
	},
}
