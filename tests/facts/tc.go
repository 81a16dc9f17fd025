package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// TC is the tc suite (tests/tc): TC programs (netlink and TCX).
var TC = Suite{
	Name:    "tc",
	Modules: []string{"veth", "sch_ingress", "cls_bpf"},
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.MechanismRule("TestTCNetlink", "netlink clsact/cls_bpf", "clsact (4.5) and cls_bpf direct-action (4.4)"),
		{Test: "TestTCX", Cases: []expect.Case{
			{When: expect.TCX, Outcome: results.Pass, Mechanism: "bpf_link (tcx)", Why: "TCX links", Source: expect.SrcTCX},
			{Outcome: results.Unsupported, Why: "no TCX before 6.6", Source: expect.SrcTCX},
		}},
	},
}
