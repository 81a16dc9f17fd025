// Package suite puts the in-guest hook suites together. Each suite package
// (tests/kprobe, tests/tc, ...) lists its test functions in a [Suite],
// bound to what they need and what each kernel is expected to do with them
// (package tests/facts: modules, timeout, one expectation rule per test); the
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

	"github.com/bpfmatrix/bpfmatrix/tests/facts"
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
	// Facts are what the harness needs to know about the suite (see
	// package tests/facts); Facts.Name is Name.
	Facts facts.Suite
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

// For returns the suite of f made of tests, each named after its function
// (see New).
func For(f facts.Suite, tests ...func(*testing.T)) Suite {
	s := New(f.Name, tests...)
	s.Facts = f
	return s
}

// Run runs every test of s as a subtest of t, in order.
func (s Suite) Run(t *testing.T) {
	for _, tt := range s.Tests {
		t.Run(tt.Name, tt.F)
	}
}
