package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// LSM is the lsm suite (tests/lsm): the BPF LSM.
var LSM = Suite{
	Name:    "lsm",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		{Test: "TestLSMFileOpen", Cases: []expect.Case{
			{When: expect.BPFLSM, Outcome: results.Pass, Why: "BPF LSM built, active and backed by trampolines", Source: expect.SrcLSM},
			{Outcome: results.Unsupported, Why: "BPF LSM not active in this boot, or no BPF trampoline", Source: expect.SrcLSM},
		}},
	},
}
