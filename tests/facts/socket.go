package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Socket is the socket suite (tests/socket): socket filters.
var Socket = Suite{
	Name:    "socket",
	Timeout: 2 * time.Minute,
	Rules: []expect.Rule{
		expect.PassRule("TestSocketFilter", "socket filters"),
	},
}
