package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// ChangeKind ranks a change between two runs.
type ChangeKind int

// Change kinds; Diff and WriteDiff list them regressions first, then the
// newly flaky, improvements and the rest.
const (
	// Regression: pass -> fail or unsupported, anything -> fail (a flaky
	// test that now fails every time included), native
	// mechanism -> fallback, expected -> unexpected, VM ok -> not ok.
	Regression ChangeKind = iota
	// Improvement: the reverse of a regression.
	Improvement
	// Other: any other change (mechanism, new or removed cells, skips).
	Other
	// Flaky: a test that passed (or was unsupported) is now flaky or
	// known-flaky: not a regression, but listed right after them.
	Flaky
)

// kinds is the order in which Diff and WriteDiff list changes.
var kinds = []ChangeKind{Regression, Flaky, Improvement, Other}

func (k ChangeKind) String() string {
	return [...]string{"regression", "improvement", "other", "flaky"}[k]
}

// heading is a kind's section title in WriteDiff.
func (k ChangeKind) heading() string {
	if k == Flaky {
		return "newly flaky"
	}
	return k.String() + "s"
}

// Change is one cell (or column) that differs between two runs.
type Change struct {
	Kind ChangeKind
	// Column is the column's key (ColumnKey); Row the test ID, or "(vm)"
	// for the VM status.
	Column, Row string
	// Old and New describe the cell in each run ("-" when absent).
	Old, New string
	// Why lists what changed, e.g. "pass -> fail".
	Why []string
}

// describe is a cell as one short string for a diff.
func describe(c *matrix.Cell) string {
	if c == nil || c.Test == nil {
		return "-"
	}
	s := string(c.Test.Result)
	if c.Test.Mechanism != "" {
		s += " (" + c.Test.Mechanism + ")"
	}
	if c.Unexpected {
		s += " [unexpected]"
	}
	return s
}

type cellIndex map[string]map[string]*matrix.Cell // column key -> row -> cell

func index(m *matrix.Matrix) cellIndex {
	idx := cellIndex{}
	for j, col := range m.Columns {
		idx[col.Key] = map[string]*matrix.Cell{}
		for i, id := range m.Rows {
			if m.Cells[i][j].Test != nil {
				idx[col.Key][id] = &m.Cells[i][j]
			}
		}
	}
	return idx
}

// compare classifies the change of one cell; ok is false when nothing
// changed.
func compare(o, n *matrix.Cell) (kind ChangeKind, why []string, ok bool) {
	if o == nil || n == nil {
		if o == nil && n == nil {
			return 0, nil, false
		}
		if n == nil {
			return Other, []string{"removed"}, true
		}
		if n.Test.Result == results.Fail || n.Unexpected {
			return Regression, []string{"new cell: " + string(n.Test.Result)}, true
		}
		return Other, []string{"new cell"}, true
	}
	var reg, flaky, imp, other []string
	or, nr := o.Test.Result, n.Test.Result
	if or != nr {
		step := string(or) + " -> " + string(nr)
		switch {
		case nr == results.Fail, or == results.Pass && nr == results.Unsupported:
			reg = append(reg, step)
		case or == results.Fail, or == results.Unsupported && nr == results.Pass,
			(or == results.Flaky || or == results.KnownFlaky) && nr == results.Pass:
			imp = append(imp, step)
		case nr == results.Flaky || nr == results.KnownFlaky:
			flaky = append(flaky, step)
		default:
			other = append(other, step)
		}
	}
	switch {
	case !o.IsFallback() && n.IsFallback():
		reg = append(reg, "native -> fallback ("+n.Fallback+")")
	case o.IsFallback() && !n.IsFallback():
		imp = append(imp, "fallback -> native")
	}
	if o.Mechanism != n.Mechanism && o.Mechanism != "" && n.Mechanism != "" {
		other = append(other, "mechanism "+o.Mechanism+" -> "+n.Mechanism)
	}
	switch {
	case !o.Unexpected && n.Unexpected:
		reg = append(reg, "expected -> unexpected ("+n.Test.Expect.Rule+")")
	case o.Unexpected && !n.Unexpected:
		imp = append(imp, "unexpected -> expected")
	}
	why = append(append(append(append(why, reg...), flaky...), imp...), other...)
	switch {
	case len(reg) > 0:
		return Regression, why, true
	case len(flaky) > 0:
		return Flaky, why, true
	case len(imp) > 0:
		return Improvement, why, true
	case len(other) > 0:
		return Other, why, true
	}
	return 0, nil, false
}

// Diff lists the cells that changed from old to new: regressions first,
// then improvements, then other changes; within a kind, in the new run's
// column and row order (then the old run's, for what disappeared).
func Diff(old, new *results.Result) []Change {
	om, nm := matrix.Build(old), matrix.Build(new)
	oi, ni := index(om), index(nm)
	var changes []Change
	seen := map[string]bool{}
	visit := func(col, row string) {
		if seen[col+"\x00"+row] {
			return
		}
		seen[col+"\x00"+row] = true
		o, n := oi[col][row], ni[col][row]
		if kind, why, ok := compare(o, n); ok {
			changes = append(changes, Change{Kind: kind, Column: col, Row: row, Old: describe(o), New: describe(n), Why: why})
		}
	}
	oldCols := map[string]*results.KernelResult{}
	for _, c := range om.Columns {
		oldCols[c.Key] = c.Kernel
	}
	for _, c := range nm.Columns {
		if ok, found := oldCols[c.Key]; found && ok.Status != c.Kernel.Status {
			kind := Other
			switch {
			case ok.Status == results.StatusOK:
				kind = Regression
			case c.Kernel.Status == results.StatusOK:
				kind = Improvement
			}
			changes = append(changes, Change{Kind: kind, Column: c.Key, Row: "(vm)", Old: string(ok.Status), New: string(c.Kernel.Status),
				Why: []string{"vm " + string(ok.Status) + " -> " + string(c.Kernel.Status)}})
		}
		for _, row := range nm.Rows {
			visit(c.Key, row)
		}
		for _, row := range om.Rows {
			visit(c.Key, row)
		}
	}
	for _, c := range om.Columns {
		for _, row := range om.Rows {
			visit(c.Key, row)
		}
	}
	var out []Change
	for _, kind := range kinds {
		for _, c := range changes {
			if c.Kind == kind {
				out = append(out, c)
			}
		}
	}
	return out
}

// HasRegression reports whether changes holds a regression.
func HasRegression(changes []Change) bool {
	for _, c := range changes {
		if c.Kind == Regression {
			return true
		}
	}
	return false
}

// WriteDiff prints changes grouped by kind, one line per cell, and a count
// line.
func WriteDiff(w io.Writer, changes []Change) error {
	n := map[ChangeKind]int{}
	for _, c := range changes {
		n[c.Kind]++
	}
	for _, kind := range kinds {
		if n[kind] == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (%d):\n", kind.heading(), n[kind])
		for _, c := range changes {
			if c.Kind == kind {
				fmt.Fprintf(w, "  %s on %s: %s -> %s [%s]\n", c.Row, c.Column, c.Old, c.New, strings.Join(c.Why, "; "))
			}
		}
	}
	flaky := ""
	if n[Flaky] > 0 {
		flaky = fmt.Sprintf(", %d newly flaky", n[Flaky])
	}
	_, err := fmt.Fprintf(w, "%d regressions%s, %d improvements, %d other changes\n", n[Regression], flaky, n[Improvement], n[Other])
	return err
}
