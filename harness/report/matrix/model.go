// Package matrix is the model every report of a run is drawn from: the
// results as a grid of cells (tests by columns, each classified against
// the expectation model), the fallback chains and the groups of cells that
// share a reason, the row selections of --show, the short mechanism codes
// and the column layout by architecture, and the symbols of the compact
// cells. It depends on the results schema only.
package matrix

import (
	"fmt"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// fallbackMarker starts the fallback part of a mechanism, e.g.
// "kprobe (fallback: fentry: not supported)".
const fallbackMarker = " (fallback:"

// Column is one column of the matrix: one VM.
type Column struct {
	// Key identifies the column across runs: kernel name, arch and
	// profile (see ColumnKey).
	Key string
	// Label is what the column header shows (see Labels).
	Label string
	// Kernel is the column's results.
	Kernel *results.KernelResult
}

// Cell is one test on one column, classified for display.
type Cell struct {
	// Test is the cell's result; nil when the column has no such test.
	Test *results.TestResult
	// NotRun is true for a missing test in a column whose VM did not
	// finish: the test never got its chance.
	NotRun bool
	// Mechanism is the attach mechanism without its fallback part.
	Mechanism string
	// Fallback is the fallback part of the mechanism ("fentry: not
	// supported"); empty when the preferred mechanism was used.
	Fallback string
	// Expected is true when the expectation model has a rule for the
	// cell and the cell matches it; Unexpected when it contradicts it.
	Expected, Unexpected bool
}

// Outcome returns the test's outcome, or "" for a missing cell.
func (c Cell) Outcome() results.Outcome {
	if c.Test == nil {
		return ""
	}
	return c.Test.Result
}

// IsFallback reports whether the test attached through a fallback
// mechanism.
func (c Cell) IsFallback() bool { return c.Fallback != "" }

// Matrix is a Result laid out as rows (tests) and columns (VMs).
type Matrix struct {
	Result  *results.Result
	Columns []Column
	// Rows are the test IDs (suite/name), in order of first appearance.
	Rows []string
	// Cells is indexed [row][column].
	Cells [][]Cell
}

// Build lays r out as a matrix.
func Build(r *results.Result) *Matrix {
	m := &Matrix{Result: r, Rows: r.Rows()}
	labels := Labels(r)
	for i := range r.Kernels {
		k := &r.Kernels[i]
		m.Columns = append(m.Columns, Column{Key: ColumnKey(*k), Label: labels[i], Kernel: k})
	}
	for _, id := range m.Rows {
		row := make([]Cell, len(m.Columns))
		for j, c := range m.Columns {
			row[j] = Classify(c.Kernel, c.Kernel.Test(id))
		}
		m.Cells = append(m.Cells, row)
	}
	return m
}

// Classify is the cell of test t (nil: no such test) in column k.
func Classify(k *results.KernelResult, t *results.TestResult) Cell {
	if t == nil {
		return Cell{NotRun: k.Status != results.StatusOK}
	}
	c := Cell{Test: t}
	c.Mechanism, c.Fallback = SplitMechanism(t.Mechanism)
	if t.Expect != nil && t.Result != results.KnownFlaky {
		c.Expected, c.Unexpected = t.Expect.Met, !t.Expect.Met && !t.Expect.Undecided
	}
	return c
}

// SplitMechanism splits "kprobe (fallback: fentry: not supported)" into
// the mechanism used, "kprobe", and the fallback reasons, "fentry: not
// supported". A mechanism without a fallback part is returned whole.
func SplitMechanism(m string) (mechanism, fallback string) {
	i := strings.Index(m, fallbackMarker)
	if i < 0 {
		return m, ""
	}
	fb := strings.TrimSpace(m[i+len(fallbackMarker):])
	fb = strings.TrimSuffix(fb, ")")
	if fb == "" {
		fb = "(no reason given)"
	}
	return m[:i], fb
}

// ColumnKey identifies a column across runs: the column name
// (KernelResult.Column: kernel and boot profile) and the arch, e.g.
// "debian-6.1+lsm-bpf/arm64". Merge and Diff match columns by it.
func ColumnKey(k results.KernelResult) string {
	key := k.Column()
	if k.Kernel.Arch != "" {
		key += "/" + k.Kernel.Arch
	}
	return key
}

// Labels returns the header of each column of r: the column name (kernel,
// and the boot profile unless it is the default one), plus the arch when
// the columns do not all share one ("debian-6.1+lsm-bpf arm64").
func Labels(r *results.Result) []string {
	arches := map[string]bool{}
	for _, k := range r.Kernels {
		arches[k.Kernel.Arch] = true
	}
	out := make([]string, len(r.Kernels))
	for i, k := range r.Kernels {
		out[i] = ColumnLabel(k, len(arches) > 1)
	}
	return out
}

// ColumnLabel is the header of one column: KernelResult.Column, plus the
// arch if withArch.
func ColumnLabel(k results.KernelResult, withArch bool) string {
	l := k.Column()
	if withArch && k.Kernel.Arch != "" {
		l += " " + k.Kernel.Arch
	}
	return l
}

// Stats counts the cells of a matrix.
type Stats struct {
	Kernels, NotOK                 int
	Pass, Fail, Unsupported, Skip  int
	Flaky, KnownFlaky              int
	Missing, NotRun                int
	Fallback, Expected, Unexpected int
	Seconds                        float64
}

// Stats counts m's cells.
func (m *Matrix) Stats() Stats {
	s := Stats{Kernels: len(m.Columns), Seconds: m.Result.Seconds}
	for _, c := range m.Columns {
		if c.Kernel.Status != results.StatusOK {
			s.NotOK++
		}
	}
	for _, row := range m.Cells {
		for _, c := range row {
			switch {
			case c.Test == nil && c.NotRun:
				s.NotRun++
			case c.Test == nil:
				s.Missing++
			}
			switch c.Outcome() {
			case results.Pass:
				s.Pass++
			case results.Fail:
				s.Fail++
			case results.Unsupported:
				s.Unsupported++
			case results.Skip:
				s.Skip++
			case results.Flaky:
				s.Flaky++
			case results.KnownFlaky:
				s.KnownFlaky++
			}
			if c.IsFallback() {
				s.Fallback++
			}
			if c.Expected {
				s.Expected++
			}
			if c.Unexpected {
				s.Unexpected++
			}
		}
	}
	return s
}

// Verdict is "PASS" when the run passed (results.Result.OK), else "FAIL".
func (m *Matrix) Verdict() string {
	if m.Result.OK() {
		return "PASS"
	}
	return "FAIL"
}

// Splats counts the kernel splats of every column, and how many of them
// the expectation model knows as kernel bugs.
func (m *Matrix) Splats() (n, known int) {
	for _, c := range m.Columns {
		n += len(c.Kernel.Splats)
		known += len(c.Kernel.Splats) - results.UnknownSplats(c.Kernel.Splats)
	}
	return n, known
}

// SplatTitle is how reports name a splat: its kind, whether it is known,
// and the line that names it.
func SplatTitle(s results.Splat) string {
	title := "kernel " + s.Kind
	if s.Known != "" {
		title += " (known: " + s.Known + "; " + s.Source + ")"
	}
	return title
}

// Summary is the one-line verdict: counts, unexpected cells and time.
func (m *Matrix) Summary() string {
	s := m.Stats()
	out := fmt.Sprintf("%s: %d kernels (%d not ok), %d passed, %d failed, %d unsupported, %d skipped",
		m.Verdict(), s.Kernels, s.NotOK, s.Pass, s.Fail, s.Unsupported, s.Skip)
	if s.Flaky > 0 {
		out += fmt.Sprintf(", %d flaky", s.Flaky)
		if m.Result.FailOnFlaky {
			out += " (--fail-on-flaky)"
		}
	}
	if s.KnownFlaky > 0 {
		out += fmt.Sprintf(", %d known flaky", s.KnownFlaky)
	}
	if s.NotRun > 0 {
		out += fmt.Sprintf(", %d not run", s.NotRun)
	}
	if n, known := m.Splats(); n > 0 {
		out += fmt.Sprintf(", %s", Plural(n, "kernel splat"))
		if known > 0 {
			out += fmt.Sprintf(" (%d known)", known)
		}
		if m.Result.AllowSplats {
			out += " (--allow-splats)"
		}
	}
	out += fmt.Sprintf("; %d fallback, %d unexpected", s.Fallback, s.Unexpected)
	out += fmt.Sprintf(" in %.1fs", s.Seconds)
	if !m.Result.Complete {
		out += " [incomplete: interrupted]"
	}
	return out
}

// clean makes a line of guest output safe to print: control characters
// (terminal escapes of the guest console) become caret notation ("^[").
func clean(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == 0x7f:
			b.WriteString("^?")
		case isControl(r):
			b.WriteByte('^')
			b.WriteRune(r + '@')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }

func cleanAll(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = clean(l)
	}
	return out
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// OutputLines returns the last n lines of a test's output, made safe to
// print (see clean).
func OutputLines(s string, n int) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return cleanAll(tail(strings.Split(s, "\n"), n))
}

// ConsoleOf returns the console lines that explain a column's end: the
// panic if there was one, else the console tail.
func ConsoleOf(k *results.KernelResult, n int) []string {
	if len(k.PanicLines) > 0 {
		return cleanAll(tail(k.PanicLines, n))
	}
	return cleanAll(tail(k.ConsoleTail, n))
}

// EachCell calls f for every test cell, column by column.
func (m *Matrix) EachCell(f func(i, j int, c Cell)) {
	for j := range m.Columns {
		for i := range m.Rows {
			if c := m.Cells[i][j]; c.Test != nil {
				f(i, j, c)
			}
		}
	}
}
