// Package tests holds bpfmatrix's built-in hook suites. Each suite is a
// package of its own (tests/kprobe, tests/tc, ...) that lists its tests in a
// [suite.Suite], bound to their modules, timeout and expectation rules
// (package tests/facts); this package's test binary runs all of them, each as a
// subtest of TestSuites, inside every VM. On the host they skip: they need
// a bpfmatrix guest (`bpfmatrix run` builds and boots it).
package tests

import (
	"github.com/bpfmatrix/bpfmatrix/tests/cgroup"
	"github.com/bpfmatrix/bpfmatrix/tests/fallback"
	"github.com/bpfmatrix/bpfmatrix/tests/kprobe"
	"github.com/bpfmatrix/bpfmatrix/tests/lsm"
	"github.com/bpfmatrix/bpfmatrix/tests/machine"
	"github.com/bpfmatrix/bpfmatrix/tests/perf"
	"github.com/bpfmatrix/bpfmatrix/tests/socket"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/tc"
	"github.com/bpfmatrix/bpfmatrix/tests/tracepoint"
	"github.com/bpfmatrix/bpfmatrix/tests/tracing"
	"github.com/bpfmatrix/bpfmatrix/tests/transport"
	"github.com/bpfmatrix/bpfmatrix/tests/uprobe"
	"github.com/bpfmatrix/bpfmatrix/tests/xdp"
)

// All are the built-in suites, in the order the harness runs them.
var All = []suite.Suite{
	machine.Suite,
	kprobe.Suite,
	uprobe.Suite,
	tracing.Suite,
	tracepoint.Suite,
	socket.Suite,
	cgroup.Suite,
	perf.Suite,
	tc.Suite,
	xdp.Suite,
	lsm.Suite,
	transport.Suite,
	fallback.Suite,
}
