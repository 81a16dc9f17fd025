// Package facts holds what the harness needs to know about each built-in
// suite, one file per suite: the kernel modules it needs, its timeout and
// one expectation rule per test (written in the vocabulary of
// harness/expect). The suite's package (tests/<name>) binds them to its
// test functions (suite.For), and TestEveryTestHasARule in package tests
// fails when a test has no rule or a rule no test.
//
// The host reads the facts from here, not from the suites' packages: those
// link cilium/ebpf and the BPF objects, whose package initialisation probes
// the kernel (a BPF map created under a lowered RLIMIT_MEMLOCK), which
// must not happen on the host. This package imports only the expectation
// model and the standard library.
package facts

import (
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Suite is what one suite needs and what is expected of its tests.
type Suite struct {
	// Name is the suite's short name, e.g. "kprobe": the --suite name and
	// the subtest of TestSuites that runs it.
	Name string
	// Modules are the kernel modules the suite needs loaded.
	Modules []string
	// Timeout bounds the suite's tests in the guest.
	Timeout time.Duration
	// Rules give the expected outcome of each test, one rule per test,
	// named by the test's function (Rule.Test "TestKprobe", not
	// "kprobe/TestKprobe": see [Suite.Model]).
	Rules []expect.Rule
}

// Model is the suite's rules, each named by its matrix row (suite/Test),
// in the order the suite declares them.
func (s Suite) Model() expect.Model {
	m := make(expect.Model, 0, len(s.Rules))
	for _, r := range s.Rules {
		r.Test = s.Name + "/" + r.Test
		m = append(m, r)
	}
	return m
}

// All are the built-in suites' facts, in the order the suites run
// (tests.All lists the suites in the same order).
var All = []Suite{Machine, Kprobe, Uprobe, Tracing, Tracepoint, Socket, Cgroup, Perf, TC, XDP, LSM, Transport, Fallback}

// Model is the expectation model of the built-in suites: every suite's
// rules, in the order of All.
func Model() expect.Model {
	var m expect.Model
	for _, s := range All {
		m = append(m, s.Model()...)
	}
	return m
}
