package matrix

import (
	"fmt"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Show selects the rows of the matrix that a report shows.
type Show string

// Row selections.
const (
	// ShowAll shows every row; the rows where every kernel agrees are
	// folded into one cell.
	ShowAll Show = "all"
	// ShowFail shows the rows with a failed test or a test that never ran
	// because its VM did not finish.
	ShowFail Show = "fail"
	// ShowFallback shows the rows where a test used a fallback mechanism.
	ShowFallback Show = "fallback"
	// ShowUnexpected shows the rows with a cell that contradicts the
	// expectation model.
	ShowUnexpected Show = "unexpected"
	// ShowDiffers shows the rows where the kernels do not all agree.
	ShowDiffers Show = "differs"
	// ShowAuto shows every row of a matrix of at most AutoRows rows; of
	// a bigger one (a Go project's whole test suite), the rows with
	// something to see: a failure, a fallback, an unexpected cell or
	// kernels that do not agree.
	ShowAuto Show = "auto"
)

// Shows lists every selection, for usage texts.
var Shows = []Show{ShowAuto, ShowAll, ShowFail, ShowFallback, ShowUnexpected, ShowDiffers}

// AutoRows is the most rows ShowAuto shows all of.
const AutoRows = 60

// ParseShow checks a selection name; "" is ShowAll.
func ParseShow(s string) (Show, error) {
	if s == "" {
		return ShowAll, nil
	}
	for _, sh := range Shows {
		if string(sh) == s {
			return sh, nil
		}
	}
	names := make([]string, len(Shows))
	for i, sh := range Shows {
		names[i] = string(sh)
	}
	return "", fmt.Errorf("show %q: want one of %s", s, strings.Join(names, ", "))
}

// Agrees reports whether every column of row i has the same outcome
// through the same mechanism (fallback reasons included).
func (m *Matrix) Agrees(i int) bool {
	row := m.Cells[i]
	if len(row) == 0 {
		return true
	}
	for _, c := range row[1:] {
		if !sameCell(c, row[0]) {
			return false
		}
	}
	return true
}

func sameCell(a, b Cell) bool {
	if (a.Test == nil) != (b.Test == nil) {
		return false
	}
	if a.Test == nil {
		return a.NotRun == b.NotRun
	}
	return a.Test.Result == b.Test.Result && a.Test.Mechanism == b.Test.Mechanism && a.Unexpected == b.Unexpected
}

// Selects reports whether the selection shows row i.
func (m *Matrix) Selects(s Show, i int) bool {
	row := m.Cells[i]
	some := func(f func(Cell) bool) bool {
		for _, c := range row {
			if f(c) {
				return true
			}
		}
		return false
	}
	switch s {
	case ShowFail:
		return some(func(c Cell) bool {
			return c.Outcome().Final() == results.Fail || c.Outcome() == results.Flaky || c.Test == nil && c.NotRun
		})
	case ShowFallback:
		return some(Cell.IsFallback)
	case ShowUnexpected:
		return some(func(c Cell) bool { return c.Unexpected })
	case ShowDiffers:
		return !m.Agrees(i)
	case ShowAuto:
		if len(m.Rows) <= AutoRows {
			return true
		}
		for _, sub := range []Show{ShowFail, ShowFallback, ShowUnexpected, ShowDiffers} {
			if m.Selects(sub, i) {
				return true
			}
		}
		return false
	}
	return true
}

// ShowsAll reports whether the selection s shows every row of m.
func (m *Matrix) ShowsAll(s Show) bool {
	return s == ShowAll || s == ShowAuto && len(m.Rows) <= AutoRows
}

// Select returns the indexes of the rows the selection shows.
func (m *Matrix) Select(s Show) []int {
	var out []int
	for i := range m.Rows {
		if m.Selects(s, i) {
			out = append(out, i)
		}
	}
	return out
}
