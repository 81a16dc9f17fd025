package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/plan"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestFailingTests(t *testing.T) {
	tests := []results.TestResult{
		{Suite: "kprobe", Name: "TestKprobe", Result: results.Pass},
		{Suite: "kprobe", Name: "TestKretprobe", Result: results.Fail},
		{Suite: "tc", Name: "TestTC", Result: results.Fail},
		{Suite: "tc", Name: "TestTC/netlink", Result: results.Fail},
		{Suite: "tc", Name: "TestTCX", Result: results.Unsupported},
		{Suite: "lsm", Name: plan.SuiteRow, Result: results.Fail},
	}
	assert.Equal(t, map[string][]string{"kprobe": {"TestKretprobe"}, "tc": {"TestTC"}}, failingTests(tests),
		"a failing subtest runs again with its parent; a (suite) row cannot run again")
}

func TestRetryPattern(t *testing.T) {
	assert.Equal(t, "^(TestA|TestB\\.x)$", retryPattern([]string{"TestA", "TestB.x"}, ""))
	assert.Equal(t, "^(TestTC)$/netlink", retryPattern([]string{"TestTC"}, "netlink"))
}

func TestMergeAttempt(t *testing.T) {
	fail := func(name, reason string) results.TestResult {
		return results.TestResult{Suite: "s", Name: name, Result: results.Fail, Reason: reason, Output: reason + "\n"}
	}
	pass := func(name string) results.TestResult {
		return results.TestResult{Suite: "s", Name: name, Result: results.Pass, Mechanism: "kprobe", Events: 1}
	}
	tests := []results.TestResult{fail("TestFlaky", "first"), fail("TestBroken", "first"), pass("TestFine"), fail("TestGone", "first"), fail("TestOdd", "first")}
	retry := []results.TestResult{pass("TestFlaky"), fail("TestBroken", "second"), {Suite: "s", Name: "TestOdd", Result: results.Unsupported}}
	mergeAttempt(tests, retry)

	assert.Equal(t, results.Flaky, tests[0].Result, "failed, then passed")
	assert.Equal(t, "kprobe", tests[0].Mechanism, "the cell is the passing run")
	assert.Equal(t, []results.Attempt{{Result: results.Fail, Reason: "first", Output: "first\n"}}, tests[0].Attempts)

	assert.Equal(t, results.Fail, tests[1].Result, "failed every time")
	assert.Equal(t, "second", tests[1].Reason, "the cell is the last run")
	assert.Len(t, tests[1].Attempts, 1)

	assert.Equal(t, pass("TestFine"), tests[2], "a passing test is untouched")
	assert.Equal(t, fail("TestGone", "first"), tests[3], "a test the retry did not run keeps its failure")
	assert.Equal(t, fail("TestOdd", "first"), tests[4], "fail, then unsupported: neither is trusted, it stays a failure")

	// A second retry that fails again keeps every earlier run.
	mergeAttempt(tests, []results.TestResult{fail("TestBroken", "third")})
	assert.Equal(t, results.Fail, tests[1].Result)
	assert.Equal(t, []string{"first", "second"}, []string{tests[1].Attempts[0].Reason, tests[1].Attempts[1].Reason})
}
