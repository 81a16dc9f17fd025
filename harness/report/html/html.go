// Package html writes the HTML report of a run: one self-contained page
// with the matrix, its filters and a details panel for each cell.
package html

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

//go:embed html.tmpl
var htmlTemplate string

var htmlTmpl = template.Must(template.New("report").Parse(htmlTemplate))

// htmlCell is one cell of the HTML matrix.
type htmlCell struct {
	ID, Class, Symbol, Code, Title string
	Row                            string
	Column                         string
	ColumnIndex                    int
	Cell                           matrix.Cell
	Chain                          string
	Output                         []string
	// Flaky says what happened to a flaky or known-flaky test; Failed is
	// its first failed run's output.
	Flaky  string
	Failed []string
}

type htmlColumn struct {
	Index   int
	Label   string
	Head    []string
	Kernel  *results.KernelResult
	OK      bool
	Console []string
}

type htmlGroup struct {
	Arch    string
	Columns []htmlColumn
}

type htmlRow struct {
	ID, Suite, Name string
	// Flags are the --show selections the row belongs to, as CSS classes.
	Flags string
	Cells []htmlCell
}

type htmlFilter struct {
	Show  matrix.Show
	Label string
	Rows  int
}

type htmlReasons struct {
	Heading, Class string
	Groups         []htmlReason
}

type htmlReason struct {
	Text  string
	Rules []string
	Uses  []string
}

type htmlPage struct {
	Verdict, Summary, Started string
	Result                    *results.Result
	Groups                    []htmlGroup
	Columns                   []htmlColumn
	Rows                      []htmlRow
	Stats                     matrix.Stats
	Filters                   []htmlFilter
	Codes                     []string
	Reasons                   []htmlReasons
}

// htmlClass returns the CSS classes of a cell.
func htmlClass(c matrix.Cell) string {
	var class string
	switch {
	case c.Test == nil && c.NotRun:
		class = "notrun"
	case c.Test == nil:
		class = "missing"
	case c.Test.Result == results.Pass:
		class = "pass"
	case c.Test.Result == results.Fail:
		class = "fail"
	case c.Test.Result == results.Unsupported:
		class = "unsupported"
	case c.Test.Result == results.Flaky:
		class = "flaky"
	case c.Test.Result == results.KnownFlaky:
		class = "knownflaky"
	default:
		class = "skip"
	}
	if c.IsFallback() {
		class += " fallback"
	}
	if c.Expected {
		class += " expected"
	}
	if c.Unexpected {
		class += " unexpected"
	}
	return class
}

// flakyReasons lists the flaky and known-flaky cells, and the known-flaky
// entries that stopped failing: shown first under the matrix.
func flakyReasons(m *matrix.Matrix) htmlReasons {
	hr := htmlReasons{Class: "flaky"}
	m.EachCell(func(i, j int, c matrix.Cell) {
		if note := matrix.FlakyNote(c.Test); note != "" {
			hr.Groups = append(hr.Groups, htmlReason{Text: fmt.Sprintf("%s on %s: %s", m.Rows[i], matrix.DetailName(m, j), note)})
		}
	})
	n := len(hr.Groups)
	for _, s := range m.Result.NoLongerFlaky {
		hr.Groups = append(hr.Groups, htmlReason{Text: fmt.Sprintf("no longer flaky: %s on %s passed %d runs in a row: take it off the known-flaky list (%s)", s.Test, s.Column, s.Passes, s.Reason)})
	}
	hr.Heading = "Flaky: " + matrix.Plural(n, "cell")
	return hr
}

// htmlTitle is a cell's tooltip: the test, the column and what happened.
func htmlTitle(row, col string, c matrix.Cell) string {
	s := row + " on " + col + ": "
	switch {
	case c.Test == nil && c.NotRun:
		return s + "not run: the VM did not finish"
	case c.Test == nil:
		return s + "no such test"
	}
	s += string(c.Test.Result)
	if ch, ok := matrix.ParseChain(c); ok {
		s += " via " + ch.String()
	} else if c.Mechanism != "" {
		s += " via " + c.Mechanism
	}
	if c.Unexpected {
		s += " (UNEXPECTED)"
	}
	return s
}

// Write writes r as one self-contained HTML page (inline CSS and JS, no
// network assets) that fits a laptop screen: the compact matrix (columns
// grouped by arch, sticky header and first column, filters for the rows
// that fail, fall back, are unexpected or differ between kernels), the
// fallbacks and unsupported cells grouped by reason, and beside the
// matrix a panel that shows a clicked cell's result, fallback chain,
// expectation rule, output and the column's console tail (a column
// header shows the VM).
func Write(w io.Writer, r *results.Result) error {
	m := matrix.Build(r)
	lay := matrix.NewLayout(m)
	codes := matrix.MechanismCodes(m)
	p := htmlPage{Verdict: m.Verdict(), Summary: m.Summary(), Result: r, Stats: m.Stats(), Codes: codes.Legend()}
	if !r.Started.IsZero() {
		p.Started = r.Started.UTC().Format(time.RFC3339)
	}
	for j, c := range m.Columns {
		p.Columns = append(p.Columns, htmlColumn{Index: j, Label: matrix.DetailName(m, j), Head: lay.Header(j), Kernel: c.Kernel,
			OK: c.Kernel.Status == results.StatusOK, Console: matrix.ConsoleOf(c.Kernel, 60)})
	}
	var order []int
	for _, g := range lay.Groups {
		hg := htmlGroup{Arch: g.Arch}
		for _, j := range g.Columns {
			hg.Columns = append(hg.Columns, p.Columns[j])
			order = append(order, j)
		}
		p.Groups = append(p.Groups, hg)
	}
	for _, f := range []struct {
		show  matrix.Show
		label string
	}{{matrix.ShowAll, "all"}, {matrix.ShowFail, "failed"}, {matrix.ShowUnexpected, "unexpected"}, {matrix.ShowFallback, "fallback"}, {matrix.ShowDiffers, "kernels differ"}} {
		p.Filters = append(p.Filters, htmlFilter{Show: f.show, Label: f.label, Rows: len(m.Select(f.show))})
	}
	for i, id := range m.Rows {
		suite, name, _ := strings.Cut(id, "/")
		row := htmlRow{ID: id, Suite: suite, Name: name}
		var flags []string
		for _, s := range matrix.Shows[1:] {
			if m.Selects(s, i) {
				flags = append(flags, "is-"+string(s))
			}
		}
		row.Flags = strings.Join(flags, " ")
		for _, j := range order {
			c := m.Cells[i][j]
			code := ""
			if c.Test != nil {
				code = codes.Code(c.Mechanism)
			}
			hc := htmlCell{ID: fmt.Sprintf("c%d-%d", i, j), Class: htmlClass(c), Symbol: matrix.Symbol(c), Code: code,
				Title: htmlTitle(id, matrix.DetailName(m, j), c), Row: id, Column: matrix.DetailName(m, j), ColumnIndex: j, Cell: c}
			if ch, ok := matrix.ParseChain(c); ok {
				hc.Chain = ch.String()
			}
			if c.Test != nil {
				hc.Output = matrix.OutputLines(c.Test.Output, 400)
				if hc.Flaky = matrix.FlakyNote(c.Test); hc.Flaky != "" {
					hc.Failed = matrix.OutputLines(matrix.FailedOutput(c.Test), 400)
				}
			}
			row.Cells = append(row.Cells, hc)
		}
		p.Rows = append(p.Rows, row)
	}
	if fr := flakyReasons(m); len(fr.Groups) > 0 {
		p.Reasons = append(p.Reasons, fr)
	}
	all := m.Select(matrix.ShowAll)
	for _, rs := range []struct {
		title, class string
		groups       []matrix.Group
	}{{"Fallbacks", "fallback", m.FallbackGroups(all)}, {"Unsupported", "unsupported", m.UnsupportedGroups(all)}} {
		if len(rs.groups) == 0 {
			continue
		}
		hr := htmlReasons{Class: rs.class}
		n := 0
		for _, g := range rs.groups {
			n += len(g.Cells)
			hr.Groups = append(hr.Groups, htmlReason{Text: g.Text, Rules: g.Rules, Uses: lay.Uses(m, g)})
		}
		hr.Heading = fmt.Sprintf("%s: %s, %s", rs.title, matrix.Plural(n, "cell"), matrix.Plural(len(hr.Groups), "reason"))
		p.Reasons = append(p.Reasons, hr)
	}
	var b strings.Builder
	if err := htmlTmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
