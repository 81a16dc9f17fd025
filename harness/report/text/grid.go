package text

import (
	"fmt"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// groupSep separates the arch groups of the matrix.
const groupSep = " │ "

// minTestWidth is how narrow long test names get before the columns are
// paged instead.
const minTestWidth = 32

// page is the columns of the matrix that fit side by side, by arch group.
type page struct {
	groups []matrix.ArchGroup
}

func (pg page) columns() []int {
	var out []int
	for _, g := range pg.groups {
		out = append(out, g.Columns...)
	}
	return out
}

// paginate splits the arch groups into pages no wider than limit: whole
// groups side by side as long as they fit, a group too wide for a page of
// its own cut into as few nearly equal parts as fit (a page holds at
// least one column, whatever its width).
func paginate(groups []matrix.ArchGroup, colW []int, testW, gap, limit int) []page {
	var chunks []matrix.ArchGroup
	for _, g := range groups {
		for k := 1; k <= len(g.Columns); k++ {
			parts := splitGroup(g, k)
			fits := true
			for _, pt := range parts {
				fits = fits && pageWidth(page{groups: []matrix.ArchGroup{pt}}, colW, testW, gap) <= limit
			}
			if fits || k == len(g.Columns) {
				chunks = append(chunks, parts...)
				break
			}
		}
	}
	var pages []page
	var cur page
	for _, ch := range chunks {
		next := page{groups: append(append([]matrix.ArchGroup(nil), cur.groups...), ch)}
		if len(cur.groups) > 0 && pageWidth(next, colW, testW, gap) > limit {
			pages = append(pages, cur)
			next = page{groups: []matrix.ArchGroup{ch}}
		}
		cur = next
	}
	if len(cur.groups) > 0 {
		pages = append(pages, cur)
	}
	return pages
}

// splitGroup cuts g into k parts of nearly equal numbers of columns.
func splitGroup(g matrix.ArchGroup, k int) []matrix.ArchGroup {
	out := make([]matrix.ArchGroup, 0, k)
	n := len(g.Columns)
	for i := range k {
		out = append(out, matrix.ArchGroup{Arch: g.Arch, Columns: g.Columns[i*n/k : (i+1)*n/k]})
	}
	return out
}

// pageWidth is the width of the widest line of a page.
func pageWidth(pg page, colW []int, testW, gap int) int {
	w := testW
	for _, g := range pg.groups {
		w += width(groupSep) - gap
		for _, j := range g.Columns {
			w += gap + colW[j]
		}
	}
	return w
}

// writeGrid prints the rows of m that rows selects as a grid of compact
// cells that fits p.width: columns grouped by arch, the rows where every
// kernel agrees folded into one cell, and pages of columns when all of
// them do not fit side by side.
func writeGrid(p *printer, m *matrix.Matrix, lay *matrix.Layout, codes *matrix.Codes, rows []int) {
	if len(rows) == 0 {
		if len(m.Rows) == 0 {
			p.line("(no tests ran)")
		}
		return
	}
	folded := map[int]bool{}
	if len(m.Columns) > 2 {
		for _, i := range rows {
			folded[i] = m.Agrees(i)
		}
	}
	vm := make([]string, len(m.Columns))
	colW := make([]int, len(m.Columns))
	for j, c := range m.Columns {
		vm[j] = string(c.Kernel.Status)
		if c.Kernel.Status != results.StatusOK {
			vm[j] = matrix.SymFail + " " + vm[j]
		}
		colW[j] = width(vm[j])
		for _, h := range lay.Header(j) {
			colW[j] = max(colW[j], width(h))
		}
		for _, i := range rows {
			if !folded[i] {
				colW[j] = max(colW[j], width(matrix.CellText(m.Cells[i][j], codes)))
			}
		}
	}
	testW := width("TEST")
	for _, i := range rows {
		testW = max(testW, width(m.Rows[i]))
	}
	widest := 0
	for _, w := range colW {
		widest = max(widest, w)
	}
	// Long test names (a Go project's subtests run to 100 characters and
	// more) give way before the columns are paged: cut in the middle with
	// "…", so that the test and the end of the subtest stay, down to
	// minTestWidth (the full names are in the failure and reason
	// sections); and always before a single column would not fit.
	all := page{groups: lay.Groups}
	if room := p.width - pageWidth(all, colW, 0, 1); testW > room {
		testW = max(room, min(testW, minTestWidth))
	}
	testW = min(testW, max(p.width-width(groupSep)-widest, 8))

	gap := 2
	if pageWidth(all, colW, testW, gap) > p.width {
		gap = 1
	}
	pages := paginate(lay.Groups, colW, testW, gap, p.width)
	for n, pg := range pages {
		if len(pages) > 1 {
			if n > 0 {
				p.line("")
			}
			cols := pg.columns()
			p.line(p.paint(sgrDim, truncate(fmt.Sprintf("page %d of %d: columns %d-%d of %d (the terminal is %d wide)",
				n+1, len(pages), cols[0]+1, cols[len(cols)-1]+1, len(m.Columns), p.width), p.width)))
		}
		writePage(p, m, lay, codes, pg, rows, folded, colW, testW, gap, vm)
	}
}

func writePage(p *printer, m *matrix.Matrix, lay *matrix.Layout, codes *matrix.Codes, pg page, rows []int, folded map[int]bool, colW []int, testW, gap int, vm []string) {
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(w-width(s), 0)) }
	spanW := pageWidth(pg, colW, testW, gap) - testW - width(groupSep)

	// The arch line: each group's arch over its columns.
	var b strings.Builder
	b.WriteString(pad("", testW))
	for _, g := range pg.groups {
		gw := -gap
		for _, j := range g.Columns {
			gw += gap + colW[j]
		}
		b.WriteString(groupSep + p.paint(sgrBold, pad(truncate(g.Arch, gw), gw)))
	}
	p.line(b.String())

	heads := 1
	for _, j := range pg.columns() {
		heads = max(heads, len(lay.Header(j)))
	}
	for h := range heads {
		b.Reset()
		label := ""
		if h == 0 {
			label = "TEST"
		}
		b.WriteString(p.paint(sgrBold, pad(label, testW)))
		for _, g := range pg.groups {
			b.WriteString(groupSep)
			for k, j := range g.Columns {
				if k > 0 {
					b.WriteString(strings.Repeat(" ", gap))
				}
				hl := lay.Header(j)
				s := ""
				if h < len(hl) {
					s = hl[h]
				}
				b.WriteString(p.paint(sgrBold, pad(s, colW[j])))
			}
		}
		p.line(b.String())
	}

	row := func(label, labelColor string, cells func(j int) (string, string)) {
		b.Reset()
		b.WriteString(p.paint(labelColor, pad(truncateMiddle(label, testW), testW)))
		for _, g := range pg.groups {
			b.WriteString(groupSep)
			for k, j := range g.Columns {
				if k > 0 {
					b.WriteString(strings.Repeat(" ", gap))
				}
				s, c := cells(j)
				b.WriteString(p.paint(c, s) + strings.Repeat(" ", max(colW[j]-width(s), 0)))
			}
		}
		p.line(b.String())
	}
	for _, i := range rows {
		cells := m.Cells[i]
		if folded[i] {
			c := cells[0]
			s := matrix.CellText(c, codes)
			note := ""
			for _, n := range []string{"  same on every kernel", "  same on all", " (all)"} {
				if width(s)+width(n) <= spanW {
					note = n
					break
				}
			}
			b.Reset()
			b.WriteString(pad(truncateMiddle(m.Rows[i], testW), testW) + groupSep)
			b.WriteString(p.paint(cellColor(c), s))
			b.WriteString(p.paint(sgrDim, note))
			p.line(b.String())
			continue
		}
		row(m.Rows[i], "", func(j int) (string, string) {
			return matrix.CellText(cells[j], codes), cellColor(cells[j])
		})
	}
	row("(vm)", sgrDim, func(j int) (string, string) {
		if m.Columns[j].Kernel.Status != results.StatusOK {
			return vm[j], sgrFail
		}
		return vm[j], sgrDim
	})
}

// table prints rows of cells padded to their column widths, cutting the
// widest columns when a line would be wider than the printer; colour
// codes are added around the padded text so they do not disturb the
// alignment.
type table struct {
	text  [][]string
	color [][]string
}

func (t *table) add(text, color []string) {
	t.text = append(t.text, text)
	t.color = append(t.color, color)
}

func (t *table) write(p *printer) {
	var colW []int
	for _, row := range t.text {
		for i, s := range row {
			if i >= len(colW) {
				colW = append(colW, 0)
			}
			colW[i] = max(colW[i], width(s))
		}
	}
	total := func() int {
		n := 2 * (len(colW) - 1)
		for _, w := range colW {
			n += w
		}
		return n
	}
	for total() > p.width {
		wi := 0
		for i, w := range colW {
			if w > colW[wi] {
				wi = i
			}
		}
		if colW[wi] <= 1 {
			break
		}
		colW[wi]--
	}
	for r, row := range t.text {
		var b strings.Builder
		for i, s := range row {
			s = truncate(s, colW[i])
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", colW[i]-width(s)+2)
			}
			b.WriteString(p.paint(t.color[r][i], s) + pad)
		}
		p.line(b.String())
	}
}
