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
