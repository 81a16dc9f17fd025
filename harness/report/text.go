package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// DefaultWidth is the width of the text report when the output is not a
// terminal and COLUMNS is not set.
const DefaultWidth = 120

// MinWidth is the narrowest text report: a narrower width is taken as
// this one.
const MinWidth = 30

// TextOptions configure Text.
type TextOptions struct {
	// Color adds ANSI colours (see ColorEnabled).
	Color bool
	// Width is the widest line Text prints, in terminal cells (see
	// OutputWidth); 0 means DefaultWidth, and at least MinWidth.
	Width int
	// Show selects the rows of the matrix; "" is ShowAll.
	Show Show
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
)

// Cell symbols of the compact reports (text and HTML).
const (
	SymPass        = "✓"
	SymFail        = "✗"
	SymUnsupported = "–"
	SymSkip        = "○"
	SymMissing     = "·"
	SymNotRun      = "⊘"
	// MarkFallback follows the mechanism code of a cell that fell back.
	MarkFallback = "*"
	// MarkUnexpected starts a cell that contradicts the expectation model.
	MarkUnexpected = "!"
)

// legendItems explain the symbols of the compact cells; the mechanism
// codes have a legend of their own (Codes.Legend).
var legendItems = []string{
	SymPass + " pass", SymFail + " FAIL", SymUnsupported + " unsupported: the kernel said no", SymSkip + " skip",
	SymMissing + " no such test", SymNotRun + " not run: the VM did not finish", "code: the mechanism used",
	MarkFallback + " fallback mechanism", MarkUnexpected + " UNEXPECTED: contradicts the expectation model",
}

// Legend explains the symbols of the compact cells.
var Legend = strings.Join(legendItems, " | ")

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

func cellColor(c Cell) string {
	switch {
	case c.Unexpected:
		return sgrUnexpected
	case c.Test == nil && c.NotRun:
		return sgrFail
	case c.Test == nil:
		return sgrDim
	case c.IsFallback() && c.Test.Result == results.Pass:
		return sgrFallback
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

// Text writes the terminal report of r in lines of at most opts.Width
// cells: the matrix (rows: tests, columns: VMs grouped by arch, compact
// cells; rows where every kernel agrees folded; split into pages of
// columns when it is still too wide), the columns' kernels, the legend,
// then what went wrong and why: VMs that did not finish, unexpected
// cells, failures with their output, fallback chains and unsupported
// reasons grouped by reason, and a one-line summary.
func Text(w io.Writer, r *results.Result, opts TextOptions) error {
	m := Build(r)
	p := &printer{width: opts.Width, color: opts.Color}
	if p.width <= 0 {
		p.width = DefaultWidth
	}
	p.width = max(p.width, MinWidth)
	show := opts.Show
	if show == "" {
		show = ShowAll
	}
	lay := NewLayout(m)
	codes := MechanismCodes(m)
	rows := m.Select(show)

	writeGrid(p, m, lay, codes, rows)
	if show != ShowAll {
		p.para("", "", "", "  ", fmt.Sprintf("%d of %d rows (--show %s; --show all for every row)", len(rows), len(m.Rows), show))
	}
	writeColumns(p, m, lay)
	p.items("", "  ", legendItems)
	if l := codes.Legend(); len(l) > 0 {
		p.items("codes: ", "       ", l)
	}

	writeVMs(p, m)
	writeUnexpected(p, m)
	writeFailures(p, m)
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
func writeColumns(p *printer, m *Matrix, lay *Layout) {
	var t table
	t.add([]string{"COLUMN", "KERNEL", "RELEASE", "VM", "SECONDS"}, []string{sgrBold, sgrBold, sgrBold, sgrBold, sgrBold})
	for j, c := range m.Columns {
		k := c.Kernel
		status, sc := string(k.Status), sgrDim
		if k.Status != results.StatusOK {
			status, sc = SymFail+" "+status, sgrFail
		}
		t.add([]string{lay.Name(m, j), detailName(m, j), k.Kernel.Release, status, fmt.Sprintf("%.1f", k.Seconds)},
			[]string{"", "", sgrDim, sc, sgrDim})
	}
	p.line("")
	t.write(p)
}

// writeVMs prints the VMs that did not finish: error, console tail, log
// and the command that reproduces the boot.
func writeVMs(p *printer, m *Matrix) {
	for j, c := range m.Columns {
		k := c.Kernel
		name := detailName(m, j)
		if k.Status != results.StatusOK || k.Error != "" {
			p.line("")
			p.para(name, sgrFail, "", "    ", fmt.Sprintf("%s: %s: %s", name, k.Status, k.Error))
			p.verbatim("  | ", "  |   ", consoleOf(k, 20))
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

// eachCell calls f for every test cell, column by column.
func eachCell(m *Matrix, f func(i, j int, c Cell)) {
	for j := range m.Columns {
		for i := range m.Rows {
			if c := m.Cells[i][j]; c.Test != nil {
				f(i, j, c)
			}
		}
	}
}

func writeUnexpected(p *printer, m *Matrix) {
	const head = "!! UNEXPECTED"
	eachCell(m, func(i, j int, c Cell) {
		if !c.Unexpected {
			return
		}
		e := c.Test.Expect
		p.line("")
		p.para(head, sgrUnexpected, "", "    ", fmt.Sprintf("%s %s on %s: got %s, the model expects %s: %s (%s)",
			head, m.Rows[i], detailName(m, j), got(c.Test), want(e), e.Rule, e.Source))
	})
}

func writeFailures(p *printer, m *Matrix) {
	const head = "--- FAIL"
	eachCell(m, func(i, j int, c Cell) {
		if c.Test.Result != results.Fail {
			return
		}
		text := fmt.Sprintf("%s %s on %s", head, m.Rows[i], detailName(m, j))
		if c.Test.Reason != "" {
			text += ": " + c.Test.Reason
		}
		p.line("")
		p.para(head, sgrFail, "", "    ", text)
		p.verbatim("    ", "      ", outputLines(c.Test.Output, 30))
	})
}

// writeGroups prints groups of cells that share a reason: the reason, the
// expectation rule when they share one, and which tests on which columns.
func writeGroups(p *printer, m *Matrix, lay *Layout, title, unit string, sgr string, groups []Group) {
	if len(groups) == 0 {
		return
	}
	n := 0
	for _, g := range groups {
		n += len(g.Cells)
	}
	p.line("")
	p.para(title+":", sgr, "", "  ", fmt.Sprintf("%s: %s, %s", title, plural(n, unit+" cell"), plural(len(groups), "reason")))
	for _, g := range groups {
		p.para("", "", "  ", "      ", g.Text)
		for _, r := range g.Rules {
			p.para("", "", "      model: ", "        ", r)
		}
		for _, u := range usesOf(m, lay, g) {
			p.para("", "", "      ", "        ", u)
		}
	}
}

// usesOf lists where a group's cells are: one line per set of columns,
// "fallback/TestEntry, fallback/TestExit on arm64 5.10, 6.1".
func usesOf(m *Matrix, lay *Layout, g Group) []string {
	var order []int
	cols := map[int][]int{}
	for _, pl := range g.Cells {
		if _, ok := cols[pl.Row]; !ok {
			order = append(order, pl.Row)
		}
		cols[pl.Row] = append(cols[pl.Row], pl.Col)
	}
	var lines []string
	tests := map[string][]string{}
	for _, i := range order {
		where := lay.Places(m, cols[i])
		if _, ok := tests[where]; !ok {
			lines = append(lines, where)
		}
		tests[where] = append(tests[where], m.Rows[i])
	}
	out := make([]string, len(lines))
	for k, where := range lines {
		out[k] = strings.Join(tests[where], ", ") + " on " + where
	}
	return out
}

// plural is "1 reason", "2 reasons".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// got describes a test's outcome and mechanism, e.g. "pass (kprobe)", a
// fallback as its chain: "pass (fentry -> kprobe: not supported)".
func got(t *results.TestResult) string {
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

// want describes an expectation, e.g. "pass (bpf_link (tcx))".
func want(e *results.Expectation) string {
	s := string(e.Outcome)
	if e.Mechanism != "" {
		s += " (" + e.Mechanism + ")"
	}
	return s
}
