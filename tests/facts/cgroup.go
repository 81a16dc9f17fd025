package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Cgroup is the cgroup suite (tests/cgroup): cgroup_skb and cgroup sock_addr programs.
var Cgroup = Suite{
	Name:    "cgroup",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PassRule("TestCgroupSKBEgress", "cgroup_skb (4.10) with bpf_link (5.7)"),
		expect.PassRule("TestCgroupSKBIngress", "cgroup_skb (4.10) with bpf_link (5.7)"),
		expect.PassRule("TestCgroupConnect4", "cgroup sock_addr (4.17) with bpf_link (5.7)"),
	},
}
