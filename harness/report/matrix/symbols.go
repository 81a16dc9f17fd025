package matrix

import (
	"fmt"
	"path"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Cell symbols of the compact reports (text and HTML).
const (
	SymPass        = "✓"
	SymFail        = "✗"
	SymUnsupported = "–"
	SymSkip        = "○"
	SymMissing     = "·"
	SymNotRun      = "⊘"
	// SymFlaky: failed, then passed on a retry.
	SymFlaky = "≈"
	// SymKnownFlaky: failed, and listed as known to be flaky there.
	SymKnownFlaky = "≋"
	// MarkFallback follows the mechanism code of a cell that fell back.
	MarkFallback = "*"
	// MarkUnexpected starts a cell that contradicts the expectation model.
	MarkUnexpected = "!"
)

// Symbol is the one-character result of a cell.
func Symbol(c Cell) string {
	switch {
	case c.Test == nil && c.NotRun:
		return SymNotRun
	case c.Test == nil:
		return SymMissing
	}
	switch c.Test.Result {
	case results.Pass:
		return SymPass
	case results.Fail:
		return SymFail
	case results.Unsupported:
		return SymUnsupported
	case results.Flaky:
		return SymFlaky
	case results.KnownFlaky:
		return SymKnownFlaky
	}
	return SymSkip
}

// CellText is the compact text of a cell: its symbol and mechanism code,
// MarkFallback after a fallback, MarkUnexpected in front of a cell that
// contradicts the expectation model: "✓ pl", "✓ kp*", "!✓ io*", "–".
func CellText(c Cell, codes *Codes) string {
	s := Symbol(c)
	if code := codes.Code(c.Mechanism); code != "" && c.Test != nil {
		s += " " + code
	}
	if c.IsFallback() {
		s += MarkFallback
	}
	if c.Unexpected {
		s = MarkUnexpected + s
	}
	return s
}

// Plural is "1 reason", "2 reasons".
func Plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Got describes a test's outcome and mechanism, e.g. "pass (kprobe)", a
// fallback as its chain: "pass (fentry -> kprobe: not supported)".
func Got(t *results.TestResult) string {
	s := string(t.Result)
	if t.Mechanism == "" {
		return s
	}
	c := Cell{Test: t}
	c.Mechanism, c.Fallback = SplitMechanism(t.Mechanism)
	if ch, ok := ParseChain(c); ok {
		return s + " (" + ch.String() + ")"
	}
	return s + " (" + t.Mechanism + ")"
}

// Want describes an expectation, e.g. "pass (bpf_link (tcx))".
func Want(e *results.Expectation) string {
	s := string(e.Outcome)
	if e.Mechanism != "" {
		s += " (" + e.Mechanism + ")"
	}
	return s
}

// FlakyNote says what happened to a flaky or known-flaky test, e.g.
// "failed, then passed on attempt 2 of 2: event 0: got 12, want 13"; ""
// for any other test.
func FlakyNote(t *results.TestResult) string {
	runs := len(t.Attempts) + 1
	first := ""
	if len(t.Attempts) > 0 {
		first = t.Attempts[0].Reason
	} else {
		first = t.Reason
	}
	if first != "" {
		first = ": " + first
	}
	switch t.Result {
	case results.Flaky:
		s := fmt.Sprintf("failed, then passed on attempt %d of %d%s", runs, runs, first)
		if t.KnownFlaky != "" {
			s += "; known flaky here: " + t.KnownFlaky
		}
		return s
	case results.KnownFlaky:
		return fmt.Sprintf("failed %s; known flaky here: %s", Plural(runs, "time"), t.KnownFlaky)
	}
	return ""
}

// FailedOutput is the output of a flaky or known-flaky test's first
// failed run.
func FailedOutput(t *results.TestResult) string {
	if len(t.Attempts) > 0 {
		return t.Attempts[0].Output
	}
	return t.Output
}

// ReproduceCommand is the command that runs the test of row on column j
// again, verbose, from the run's results file in its run directory
// (results.json); "" if the run has no run directory or the row is a
// suite's binary failing outside any test.
func ReproduceCommand(r *results.Result, j int, row string) string {
	if r.RunDir == "" || strings.HasSuffix(row, "/(suite)") {
		return ""
	}
	k := &r.Kernels[j]
	return "bpfmatrix reproduce " + shellQuote(path.Join(r.RunDir, "results.json")) + " " + shellQuote(k.Column()) + " " + shellQuote(row)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./+=:,@", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
