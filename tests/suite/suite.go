// Package suite puts the in-guest hook suites together. Each suite package
// (tests/kprobe, tests/tc, ...) lists its test functions in a [Suite], with
// what they need (kernel modules, a timeout) and what each kernel is
// expected to do with them ([Facts]: one expectation rule per test); the
// tests package runs every Suite as a subtest of one test, TestSuites, so
// that a VM starts one test process and decodes the kernel's BTF once
// instead of once per suite. The guest maps TestSuites/kprobe/TestKprobe
// back to suite kprobe, test TestKprobe.
package suite

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// Parent is the top-level test of the tests package whose subtests are the
// suites.
const Parent = "TestSuites"

// Test is one test function of a suite.
type Test struct {
	// Name is the function's name, e.g. "TestKprobe".
	Name string
	// F is the test.
	F func(*testing.T)
}

// Suite is one hook suite.
type Suite struct {
	// Name is the suite's short name, e.g. "kprobe": the --suite name and
	// the subtest of [Parent] that runs it.
	Name string
	// Tests run in order.
	Tests []Test
	// Facts are what the harness needs to know about the suite.
	Facts
}

// Facts are what a suite needs and what is expected of its tests, declared
// next to them: the harness's list of built-in suites and its expectation
// model are derived from them.
type Facts struct {
	// Modules are the kernel modules the suite needs loaded.
	Modules []string
	// Timeout bounds the suite's tests in the guest.
	Timeout time.Duration
	// Rules give the expected outcome of each test, one rule per test,
	// named by the test's function (Rule.Test "TestKprobe", not
	// "kprobe/TestKprobe": see [Suite.Model]).
	Rules []expect.Rule
}

// With returns s with facts f.
func (s Suite) With(f Facts) Suite {
	s.Facts = f
	return s
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

// New returns the suite name made of tests, each named after its function,
// so that results keep the names the functions have in the source. It
// panics on a function that is not a named TestXxx or on a repeated name: a
// programming error.
func New(name string, tests ...func(*testing.T)) Suite {
	s := Suite{Name: name}
	seen := map[string]bool{}
	for _, f := range tests {
		fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
		if fn == nil {
			panic(fmt.Sprintf("suite %s: test %d has no function name", name, len(s.Tests)))
		}
		full := fn.Name()
		short := full[strings.LastIndex(full, ".")+1:]
		if !strings.HasPrefix(short, "Test") || seen[short] {
			panic(fmt.Sprintf("suite %s: %s is not a distinct named TestXxx function", name, full))
		}
		seen[short] = true
		s.Tests = append(s.Tests, Test{Name: short, F: f})
	}
	return s
}

// Run runs every test of s as a subtest of t, in order.
func (s Suite) Run(t *testing.T) {
	for _, tt := range s.Tests {
		t.Run(tt.Name, tt.F)
	}
}
