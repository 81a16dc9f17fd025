package tests

import (
	"testing"

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
// exactly one expectation rule, declared next to it, and that every rule
// names a test of its suite: a new test without a rule would silently get
// no expectation.
func TestEveryTestHasARule(t *testing.T) {
	for _, s := range All {
		t.Run(s.Name, func(t *testing.T) {
			rules := map[string]int{}
			for _, r := range s.Rules {
				rules[r.Test]++
			}
			for _, tt := range s.Tests {
				if rules[tt.Name] != 1 {
					t.Errorf("suite %s: test %s has %d expectation rules, want 1 (add it to the suite's Facts.Rules)", s.Name, tt.Name, rules[tt.Name])
				}
				delete(rules, tt.Name)
			}
			for name := range rules {
				t.Errorf("suite %s: rule %s names no test of the suite", s.Name, name)
			}
			if s.Timeout <= 0 {
				t.Errorf("suite %s declares no timeout", s.Name)
			}
		})
	}
	var ids []string
	for _, r := range Model() {
		ids = append(ids, r.Test)
	}
	if len(ids) == 0 || ids[0] != "kprobe/TestKprobe" {
		t.Errorf("Model() = %v..., want the rules named suite/Test in the order of All", ids[:min(len(ids), 3)])
	}
}
