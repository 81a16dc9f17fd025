package tests

import (
	"testing"

	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
)

// TestSuites runs every built-in suite as a subtest: kprobe's TestKprobe is
// TestSuites/kprobe/TestKprobe. The guest selects suites and tests with
// -test.run (^TestSuites$/^(kprobe|tc)$/TestKprobe) and reports them as
// suite/test.
func TestSuites(t *testing.T) {
	if t.Name() != suite.Parent {
		t.Fatalf("the guest expects the suites under %s, not %s", suite.Parent, t.Name())
	}
	for _, s := range All {
		t.Run(s.Name, s.Run)
	}
}

// TestEveryTestHasARule checks that every test of every built-in suite has
// exactly one expectation rule in the suite's facts, that every rule names
// a test of its suite, and that tests.All and facts.All list the same
// suites in the same order: a new test without a rule would silently get
// no expectation.
func TestEveryTestHasARule(t *testing.T) {
	if len(All) != len(facts.All) {
		t.Fatalf("tests.All has %d suites, facts.All %d: list each suite in both, in the same order", len(All), len(facts.All))
	}
	for i, s := range All {
		t.Run(s.Name, func(t *testing.T) {
			if f := facts.All[i]; f.Name != s.Name || s.Facts.Name != s.Name {
				t.Fatalf("suite %d is %s in tests.All, %s in facts.All and bound to the facts of %s", i, s.Name, f.Name, s.Facts.Name)
			}
			rules := map[string]int{}
			for _, r := range s.Facts.Rules {
				rules[r.Test]++
			}
			for _, tt := range s.Tests {
				if rules[tt.Name] != 1 {
					t.Errorf("suite %s: test %s has %d expectation rules, want 1 (add it to tests/facts/%s.go)", s.Name, tt.Name, rules[tt.Name], s.Name)
				}
				delete(rules, tt.Name)
			}
			for name := range rules {
				t.Errorf("suite %s: rule %s names no test of the suite", s.Name, name)
			}
			if s.Facts.Timeout <= 0 {
				t.Errorf("suite %s declares no timeout", s.Name)
			}
		})
	}
}
