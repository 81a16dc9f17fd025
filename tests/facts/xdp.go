package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// XDP is the xdp suite (tests/xdp): XDP programs.
var XDP = Suite{
	Name:    "xdp",
	Modules: []string{"veth"},
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.MechanismRule("TestXDPGeneric", "xdp generic", "generic XDP (4.12) with bpf_link (5.9)"),
		expect.MechanismRule("TestXDPNative", "xdp native", "veth native XDP (4.19) with bpf_link (5.9)"),
	},
}
