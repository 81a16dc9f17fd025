package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

//go:embed html.tmpl
var htmlTemplate string

var htmlTmpl = template.Must(template.New("report").Parse(htmlTemplate))

// htmlCell is one cell of the HTML matrix.
type htmlCell struct {
	ID, Class, Symbol, Text, Title string
	Row                            string
	Column                         string
	ColumnIndex                    int
	Cell                           Cell
	Output                         []string
}

type htmlColumn struct {
	Index   int
	Label   string
	Kernel  *results.KernelResult
	OK      bool
	Console []string
}

type htmlRow struct {
	ID    string
	Cells []htmlCell
}

type htmlPage struct {
	Verdict, Summary, Started, Legend string
	Result                            *results.Result
	Columns                           []htmlColumn
	Rows                              []htmlRow
	Stats                             Stats
}

// htmlSymbol returns the symbol, CSS classes and short text of a cell.
func htmlSymbol(c Cell) (symbol, class, text string) {
	switch {
	case c.Test == nil && c.NotRun:
		symbol, class, text = "⊘", "notrun", "not run"
	case c.Test == nil:
		symbol, class, text = "·", "missing", ""
	case c.Test.Result == results.Pass:
		symbol, class, text = "✓", "pass", c.Mechanism
	case c.Test.Result == results.Fail:
		symbol, class, text = "✗", "fail", "fail"
	case c.Test.Result == results.Unsupported:
		symbol, class, text = "–", "unsupported", "unsupported"
	default:
		symbol, class, text = "○", "skip", string(c.Test.Result)
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
	return symbol, class, text
}

// HTML writes r as one self-contained HTML page (inline CSS and JS, no
// network assets): the colour matrix; clicking a cell shows the test's
// output, the mechanism and its fallback reasons, the expectation rule and
// the column's console tail; clicking a column header shows the VM.
func HTML(w io.Writer, r *results.Result) error {
	m := Build(r)
	p := htmlPage{Verdict: m.Verdict(), Summary: m.Summary(), Legend: Legend, Result: r, Stats: m.Stats()}
	if !r.Started.IsZero() {
		p.Started = r.Started.UTC().Format(time.RFC3339)
	}
	for j, c := range m.Columns {
		p.Columns = append(p.Columns, htmlColumn{Index: j, Label: c.Label, Kernel: c.Kernel,
			OK: c.Kernel.Status == results.StatusOK, Console: consoleOf(c.Kernel, 60)})
	}
	for i, id := range m.Rows {
		row := htmlRow{ID: id}
		for j, c := range m.Cells[i] {
			sym, class, text := htmlSymbol(c)
			title := id + " on " + m.Columns[j].Label
			hc := htmlCell{ID: fmt.Sprintf("c%d-%d", i, j), Class: class, Symbol: sym, Text: text, Title: title,
				Row: id, Column: m.Columns[j].Label, ColumnIndex: j, Cell: c}
			if c.Test != nil {
				hc.Output = outputLines(c.Test.Output, 400)
			}
			row.Cells = append(row.Cells, hc)
		}
		p.Rows = append(p.Rows, row)
	}
	var b strings.Builder
	if err := htmlTmpl.Execute(&b, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
