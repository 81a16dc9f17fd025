// Package text writes the terminal report of a run: the compact matrix
// that fits the terminal's width (columns grouped by architecture, rows
// where every kernel agrees folded, pages of columns when still too wide),
// then what went wrong and why, in colour on a terminal.
package text

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// DefaultWidth is the width of the text report when the output is not a
// terminal and COLUMNS is not set.
const DefaultWidth = 120

// MinWidth is the narrowest text report: a narrower width is taken as
// this one.
const MinWidth = 30

// Options configure Write.
type Options struct {
	// Color adds ANSI colours (see ColorEnabled).
	Color bool
	// Width is the widest line Text prints, in terminal cells (see
	// OutputWidth); 0 means DefaultWidth, and at least MinWidth.
	Width int
	// Show selects the rows of the matrix; "" is ShowAuto.
	Show matrix.Show
}

// ANSI SGR codes used by the terminal matrix.
const (
	sgrReset      = "\x1b[0m"
	sgrPass       = "\x1b[32m"
	sgrFail       = "\x1b[1;31m"
	sgrUnsupp     = "\x1b[33m"
	sgrDim        = "\x1b[2m"
	sgrFallback   = "\x1b[35m"
	sgrUnexpected = "\x1b[1;97;41m"
	sgrBold       = "\x1b[1m"
	sgrFlaky      = "\x1b[1;33m"
)

// legendItems explain the symbols of the compact cells; the mechanism
// codes have a legend of their own (Codes.Legend).
var legendItems = []string{
	matrix.SymPass + " pass", matrix.SymFail + " FAIL", matrix.SymUnsupported + " unsupported: the kernel said no", matrix.SymSkip + " skip",
	matrix.SymMissing + " no such test", matrix.SymNotRun + " not run: the VM did not finish", "code: the mechanism used",
	matrix.MarkFallback + " fallback mechanism", matrix.MarkUnexpected + " UNEXPECTED: contradicts the expectation model",
}

// flakyLegend explains the flaky symbols, in a report that has some.
var flakyLegend = []string{
	matrix.SymFlaky + " flaky: failed, then passed when run again",
	matrix.SymKnownFlaky + " known flaky: failed, and listed as flaky there",
}

// Legend explains the symbols of the compact cells.
var Legend = strings.Join(legendItems, " | ")

func cellColor(c matrix.Cell) string {
	switch {
	case c.Unexpected:
		return sgrUnexpected
	case c.Test == nil && c.NotRun:
		return sgrFail
	case c.Test == nil:
		return sgrDim
	case c.IsFallback() && c.Test.Result == results.Pass:
		return sgrFallback
	case c.Test.Result == results.Flaky:
		return sgrFlaky
	case c.Test.Result == results.KnownFlaky:
		return sgrUnsupp
	}
	switch c.Test.Result {
	case results.Pass:
		return sgrPass
	case results.Fail:
		return sgrFail
	case results.Unsupported:
		return sgrUnsupp
	}
	return sgrDim
}

// printer writes lines of at most width cells, in colour or not.
type printer struct {
	b     bytes.Buffer
	width int
	color bool
}

func (p *printer) paint(sgr, s string) string {
	if p.color && sgr != "" && s != "" {
		return sgr + s + sgrReset
	}
	return s
}

// line prints one line that already fits.
func (p *printer) line(s string) { p.b.WriteString(strings.TrimRight(s, " ") + "\n") }

// para prints text word-wrapped after first, continued after indent; the
// first line's head (a prefix of first) is painted with sgr.
func (p *printer) para(head, sgr, first, indent, text string) {
	for i, l := range wrap(first, indent, text, p.width) {
		if i == 0 && head != "" {
			l = strings.Replace(l, head, p.paint(sgr, head), 1)
		}
		p.line(l)
	}
}

// items prints a list of items separated by " | ", breaking lines between
// items (inside one only when it is wider than a line).
func (p *printer) items(first, indent string, items []string) {
	cur, fresh := first, true
	for _, it := range items {
		sep := " | "
		if fresh {
			sep = ""
		}
		// Room for the item and the " |" that would follow it.
		if width(cur)+width(sep)+width(it)+2 <= p.width {
			cur += sep + it
			fresh = false
			continue
		}
		if !fresh {
			p.line(cur + " |")
			cur = indent
		}
		ls := wrap(cur, indent, it, p.width-2)
		for _, l := range ls[:len(ls)-1] {
			p.line(l)
		}
		cur, fresh = ls[len(ls)-1], false
	}
	p.line(cur)
}

// verbatim prints lines of output, each cut into pieces that fit.
func (p *printer) verbatim(first, indent string, lines []string) {
	for _, l := range lines {
		for _, piece := range hardWrap(first, indent, l, p.width) {
			p.line(piece)
		}
	}
}

// Write writes the terminal report of r in lines of at most opts.Width
// cells: the matrix (rows: tests, columns: VMs grouped by arch, compact
// cells; rows where every kernel agrees folded; split into pages of
// columns when it is still too wide), the columns' kernels, the legend,
// then what went wrong and why: VMs that did not finish, unexpected
// cells, failures with their output, fallback chains and unsupported
// reasons grouped by reason, and a one-line summary.
func Write(w io.Writer, r *results.Result, opts Options) error {
	m := matrix.Build(r)
	p := &printer{width: opts.Width, color: opts.Color}
	if p.width <= 0 {
		p.width = DefaultWidth
	}
	p.width = max(p.width, MinWidth)
	show := opts.Show
	if show == "" {
		show = matrix.ShowAuto
	}
	lay := matrix.NewLayout(m)
	codes := matrix.MechanismCodes(m)
	rows := m.Select(show)

	writeGrid(p, m, lay, codes, rows)
	if !m.ShowsAll(show) {
		what := ""
		if show == matrix.ShowAuto {
			what = ": the rows with a failure, a fallback, an unexpected cell or kernels that differ"
		}
		p.para("", "", "", "  ", fmt.Sprintf("%d of %d rows (--show %s%s; --show all for every row)", len(rows), len(m.Rows), show, what))
	}
	writeColumns(p, m, lay)
	legend := legendItems
	if st := m.Stats(); st.Flaky+st.KnownFlaky > 0 {
		legend = append(legend[:len(legend):len(legend)], flakyLegend...)
	}
	p.items("", "  ", legend)
	if l := codes.Legend(); len(l) > 0 {
		p.items("codes: ", "       ", l)
	}

	writeFlaky(p, m)
	writeVMs(p, m)
	writeSplats(p, m)
	writeUnexpected(p, m)
	writeFailures(p, m)
	writeWhere(p, m, lay)
	writeGroups(p, m, lay, "fallbacks", "fallback", sgrFallback, m.FallbackGroups(rows))
	writeGroups(p, m, lay, "unsupported", "unsupported", sgrUnsupp, m.UnsupportedGroups(rows))

	p.line("")
	if r.Accel.Accel != "" {
		for _, l := range wrap("", "  ", fmt.Sprintf("accelerator %s (%s)", r.Accel.Accel, r.Accel.Reason), p.width) {
			p.line(p.paint(sgrDim, l))
		}
	}
	for _, e := range r.Unhandled {
		p.para("error:", sgrFail, "error: ", "  ", e)
	}
	color := sgrPass
	if m.Verdict() != "PASS" {
		color = sgrFail
	}
	summary := m.Summary()
	for _, l := range wrap("", "  ", summary, p.width) {
		p.line(p.paint(color, l))
	}
	_, err := w.Write(p.b.Bytes())
	return err
}

// writeColumns prints which kernel each short column label stands for.
func writeColumns(p *printer, m *matrix.Matrix, lay *matrix.Layout) {
	var t table
	t.add([]string{"COLUMN", "KERNEL", "RELEASE", "VM", "SECONDS"}, []string{sgrBold, sgrBold, sgrBold, sgrBold, sgrBold})
	for j, c := range m.Columns {
		k := c.Kernel
		status, sc := string(k.Status), sgrDim
		if k.Status != results.StatusOK {
			status, sc = matrix.SymFail+" "+status, sgrFail
		}
		t.add([]string{lay.Name(m, j), matrix.DetailName(m, j), k.Kernel.Release, status, fmt.Sprintf("%.1f", k.Seconds)},
			[]string{"", "", sgrDim, sc, sgrDim})
	}
	p.line("")
	t.write(p)
}

// writeVMs prints the VMs that did not finish: error, console tail, log
// and the command that reproduces the boot.
func writeVMs(p *printer, m *matrix.Matrix) {
	for j, c := range m.Columns {
		k := c.Kernel
		name := matrix.DetailName(m, j)
		if k.Status != results.StatusOK || k.Error != "" {
			p.line("")
			p.para(name, sgrFail, "", "    ", fmt.Sprintf("%s: %s: %s", name, k.Status, k.Error))
			p.verbatim("  | ", "  |   ", matrix.ConsoleOf(k, 20))
			if k.ConsoleLog != "" {
				p.para("", "", "  console log: ", "    ", k.ConsoleLog)
			}
			if k.Reproduce != "" {
				for _, l := range shellWrap("  reproduce:   ", "      ", k.Reproduce, p.width) {
					p.line(l)
				}
			}
		}
		for _, fe := range k.FrameErrors {
			p.para(name, sgrFail, "", "    ", name+": "+fe)
		}
	}
}

// writeSplats prints every kernel splat with its lines: what the kernel
// said, and whether the model knows it as a kernel bug.
func writeSplats(p *printer, m *matrix.Matrix) {
	for j, c := range m.Columns {
		name := matrix.DetailName(m, j)
		for _, s := range c.Kernel.Splats {
			sgr := sgrFail
			if s.Known != "" {
				sgr = sgrDim
			}
			p.line("")
			p.para(name, sgr, "", "    ", name+": "+matrix.SplatTitle(s))
			lines := s.Lines
			if len(lines) > 12 {
				lines = append(lines[:12:12], fmt.Sprintf("... %d more lines in the results", len(s.Lines)-12))
			}
			p.verbatim("  | ", "  |   ", lines)
		}
	}
}

func writeUnexpected(p *printer, m *matrix.Matrix) {
	const head = "!! UNEXPECTED"
	m.EachCell(func(i, j int, c matrix.Cell) {
		if !c.Unexpected {
			return
		}
		e := c.Test.Expect
		p.line("")
		p.para(head, sgrUnexpected, "", "    ", fmt.Sprintf("%s %s on %s: got %s, the model expects %s: %s (%s)",
			head, m.Rows[i], matrix.DetailName(m, j), matrix.Got(c.Test), matrix.Want(e), e.Rule, e.Source))
	})
}

func writeFailures(p *printer, m *matrix.Matrix) {
	const head = "--- FAIL"
	m.EachCell(func(i, j int, c matrix.Cell) {
		if c.Test.Result != results.Fail {
			return
		}
		text := fmt.Sprintf("%s %s on %s", head, m.Rows[i], matrix.DetailName(m, j))
		if c.Test.Reason != "" {
			text += ": " + c.Test.Reason
		}
		p.line("")
		p.para(head, sgrFail, "", "    ", text)
		p.verbatim("    ", "      ", matrix.OutputLines(c.Test.Output, 30))
		if cmd := matrix.ReproduceCommand(m.Result, j, m.Rows[i]); cmd != "" {
			for _, l := range shellWrap("    reproduce: ", "      ", cmd, p.width) {
				p.line(p.paint(sgrDim, l))
			}
		}
	})
}

// writeWhere prints, for each failing test, the kernels it fails and
// passes on and what the expectation model's facts say separates them.
func writeWhere(p *printer, m *matrix.Matrix, lay *matrix.Layout) {
	where := m.Where()
	if len(where) == 0 {
		return
	}
	p.line("")
	p.para("where:", sgrFail, "", "  ", fmt.Sprintf("where: %s", matrix.Plural(len(where), "failing test")))
	for _, w := range where {
		p.para("", "", "  ", "      ", m.Rows[w.Row]+": "+w.Text(m, lay))
	}
}

// writeFlaky prints, first, the tests that failed and then passed, the
// known-flaky ones that failed, each with its first failure's output, and
// the known-flaky entries that stopped failing.
func writeFlaky(p *printer, m *matrix.Matrix) {
	m.EachCell(func(i, j int, c matrix.Cell) {
		head, sgr := "~~ FLAKY", sgrFlaky
		switch c.Test.Result {
		case results.Flaky:
		case results.KnownFlaky:
			head, sgr = "~~ KNOWN FLAKY", sgrUnsupp
		default:
			return
		}
		p.line("")
		p.para(head, sgr, "", "    ", fmt.Sprintf("%s %s on %s: %s", head, m.Rows[i], matrix.DetailName(m, j), matrix.FlakyNote(c.Test)))
		p.verbatim("    ", "      ", matrix.OutputLines(matrix.FailedOutput(c.Test), 15))
	})
	for _, s := range m.Result.NoLongerFlaky {
		p.line("")
		p.para("no longer flaky", sgrPass, "", "    ", fmt.Sprintf("no longer flaky: %s on %s passed %d runs in a row: take it off the known-flaky list (%s)", s.Test, s.Column, s.Passes, s.Reason))
	}
}

// writeGroups prints groups of cells that share a reason: the reason, the
// expectation rule when they share one, and which tests on which columns.
func writeGroups(p *printer, m *matrix.Matrix, lay *matrix.Layout, title, unit string, sgr string, groups []matrix.Group) {
	if len(groups) == 0 {
		return
	}
	n := 0
	for _, g := range groups {
		n += len(g.Cells)
	}
	p.line("")
	p.para(title+":", sgr, "", "  ", fmt.Sprintf("%s: %s, %s", title, matrix.Plural(n, unit+" cell"), matrix.Plural(len(groups), "reason")))
	for _, g := range groups {
		p.para("", "", "  ", "      ", g.Text)
		for _, r := range g.Rules {
			p.para("", "", "      model: ", "        ", r)
		}
		for _, u := range lay.Uses(m, g) {
			p.para("", "", "      ", "        ", u)
		}
	}
}
