package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Markdown symbols of the cells.
const (
	mdPass        = "✅"
	mdFail        = "❌"
	mdUnsupported = "➖"
	mdSkip        = "⏭️"
	mdNotRun      = "⛔"
	mdFallback    = "↩️"
	mdUnexpected  = "‼️"
	mdFlaky       = "🔁"
	mdKnownFlaky  = "🔂"
)

// mdEscape makes s safe inside a table cell.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;", "`", "'")
	return r.Replace(s)
}

// MarkdownCell is the Markdown of a cell: a symbol and the mechanism's
// code (see Codes), a fallback mark, and a mark in front of a cell that
// contradicts the expectation model.
func MarkdownCell(c matrix.Cell, codes *matrix.Codes) string {
	var s string
	switch {
	case c.Test == nil && c.NotRun:
		s = mdNotRun
	case c.Test == nil:
		s = "·"
	case c.Test.Result == results.Pass:
		s = mdPass
	case c.Test.Result == results.Fail:
		s = mdFail
	case c.Test.Result == results.Unsupported:
		s = mdUnsupported
	case c.Test.Result == results.Skip:
		s = mdSkip
	case c.Test.Result == results.Flaky:
		s = mdFlaky
	case c.Test.Result == results.KnownFlaky:
		s = mdKnownFlaky
	default:
		s = mdEscape(string(c.Test.Result))
	}
	if code := codes.Code(c.Mechanism); code != "" && c.Test != nil {
		s += " " + mdEscape(code)
	}
	if c.IsFallback() {
		s += " " + mdFallback
	}
	if c.Unexpected {
		s = mdUnexpected + " " + s
	}
	return s
}

// fence returns a code fence longer than any backtick run in text.
func fence(text string) string {
	f := "```"
	for strings.Contains(text, f) {
		f += "`"
	}
	return f
}

func writeBlock(w io.Writer, lines []string) {
	text := strings.Join(lines, "\n")
	f := fence(text)
	fmt.Fprintf(w, "\n%s\n%s\n%s\n", f, text, f)
}

// Markdown writes r for $GITHUB_STEP_SUMMARY or a pull request comment,
// narrow enough for GitHub's page: the summary, the rows where the
// kernels differ as a table of compact cells (columns grouped by arch),
// the rows where every kernel agrees folded below it, the legend, then
// the unexpected cells, the VMs that did not finish (console tail), the
// failures (output), and the fallbacks and unsupported cells grouped by
// reason, the long parts folded in <details>.
func Markdown(w io.Writer, r *results.Result) error {
	m := matrix.Build(r)
	lay := matrix.NewLayout(m)
	codes := matrix.MechanismCodes(m)
	icon := mdPass
	if m.Verdict() != "PASS" {
		icon = mdFail
	}
	fmt.Fprintf(w, "## %s bpfmatrix\n\n**%s**\n\n", icon, mdEscape(m.Summary()))
	var order []int
	for _, g := range lay.Groups {
		order = append(order, g.Columns...)
	}
	var differ, agree []int
	for i := range m.Rows {
		if len(m.Columns) > 1 && m.Agrees(i) {
			agree = append(agree, i)
		} else {
			differ = append(differ, i)
		}
	}
	if len(differ) > 0 {
		fmt.Fprint(w, "| test |")
		for _, j := range order {
			lines := lay.Header(j)
			if a := m.Columns[j].Kernel.Kernel.Arch; a != "" {
				lines = append([]string{a}, lines...)
			}
			for k := range lines {
				lines[k] = mdEscape(lines[k])
			}
			head := strings.Join(lines, "<br>")
			fmt.Fprintf(w, " %s |", head)
		}
		fmt.Fprint(w, "\n|---|")
		for range order {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, i := range differ {
			fmt.Fprintf(w, "| `%s` |", strings.ReplaceAll(m.Rows[i], "`", "'"))
			for _, j := range order {
				fmt.Fprintf(w, " %s |", MarkdownCell(m.Cells[i][j], codes))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprint(w, "| *vm* |")
		for _, j := range order {
			k := m.Columns[j].Kernel
			st := string(k.Status)
			if k.Status != results.StatusOK {
				st = mdFail + " **" + st + "**"
			}
			fmt.Fprintf(w, " %s |", st)
		}
		fmt.Fprintln(w)
	}
	if len(agree) > 0 {
		fmt.Fprintf(w, "\n<details><summary>%d rows where every kernel agrees</summary>\n\n", len(agree))
		for _, i := range agree {
			fmt.Fprintf(w, "- `%s`: %s\n", strings.ReplaceAll(m.Rows[i], "`", "'"), MarkdownCell(m.Cells[i][0], codes))
		}
		fmt.Fprint(w, "\n</details>\n")
	}
	fmt.Fprintf(w, "\n%s pass · %s fail · %s unsupported by the kernel · %s skip · %s not run (VM did not finish) · %s fallback mechanism · %s contradicts the expectation model\n",
		mdPass, mdFail, mdUnsupported, mdSkip, mdNotRun, mdFallback, mdUnexpected)
	if st := m.Stats(); st.Flaky+st.KnownFlaky > 0 {
		fmt.Fprintf(w, "\n%s flaky: failed, then passed when run again · %s known flaky: failed, and listed as flaky there\n", mdFlaky, mdKnownFlaky)
	}
	fmt.Fprint(w, "\n<details><summary>Columns and mechanism codes</summary>\n\n| column | kernel | release | seconds |\n|---|---|---|---|\n")
	for j, c := range m.Columns {
		fmt.Fprintf(w, "| %s | %s | %s | %.1f |\n", mdEscape(lay.Name(m, j)), mdEscape(matrix.DetailName(m, j)), mdEscape(c.Kernel.Kernel.Release), c.Kernel.Seconds)
	}
	fmt.Fprintln(w)
	for _, l := range codes.Legend() {
		code, name, _ := strings.Cut(l, " ")
		fmt.Fprintf(w, "- **%s** %s\n", mdEscape(code), mdEscape(name))
	}
	fmt.Fprint(w, "\n</details>\n")

	type item struct {
		id  string
		col string
		c   matrix.Cell
	}
	var flaky, unexpected, failures []item
	m.EachCell(func(i, j int, c matrix.Cell) {
		it := item{m.Rows[i], matrix.DetailName(m, j), c}
		if c.Test.Result == results.Flaky || c.Test.Result == results.KnownFlaky {
			flaky = append(flaky, it)
		}
		if c.Unexpected {
			unexpected = append(unexpected, it)
		}
		if c.Test.Result == results.Fail {
			failures = append(failures, it)
		}
	})
	if len(flaky) > 0 || len(m.Result.NoLongerFlaky) > 0 {
		fmt.Fprintf(w, "\n### %s Flaky tests\n", mdFlaky)
		for _, it := range flaky {
			icon := mdFlaky
			if it.c.Test.Result == results.KnownFlaky {
				icon = mdKnownFlaky
			}
			fmt.Fprintf(w, "\n<details><summary>%s <code>%s</code> on <b>%s</b>: %s</summary>\n", icon, it.id, mdEscape(it.col), mdEscape(matrix.FlakyNote(it.c.Test)))
			writeBlock(w, matrix.OutputLines(matrix.FailedOutput(it.c.Test), 40))
			fmt.Fprint(w, "\n</details>\n")
		}
		if len(m.Result.NoLongerFlaky) > 0 {
			fmt.Fprintln(w)
		}
		for _, s := range m.Result.NoLongerFlaky {
			fmt.Fprintf(w, "- no longer flaky: `%s` on **%s** passed %d runs in a row: take it off the known-flaky list (%s)\n", s.Test, mdEscape(s.Column), s.Passes, mdEscape(s.Reason))
		}
	}
	if len(unexpected) > 0 {
		fmt.Fprintf(w, "\n### %s Unexpected cells\n\n", mdUnexpected)
		for _, it := range unexpected {
			e := it.c.Test.Expect
			fmt.Fprintf(w, "- `%s` on **%s**: got %s, the model expects %s: %s (%s)\n",
				it.id, mdEscape(it.col), mdEscape(matrix.Got(it.c.Test)), mdEscape(matrix.Want(e)), mdEscape(e.Rule), mdEscape(e.Source))
		}
	}
	var vms []int
	for j, c := range m.Columns {
		if c.Kernel.Status != results.StatusOK {
			vms = append(vms, j)
		}
	}
	if len(vms) > 0 {
		fmt.Fprintf(w, "\n### %s VMs that did not finish\n", mdNotRun)
		for _, j := range vms {
			k := m.Columns[j].Kernel
			fmt.Fprintf(w, "\n<details><summary><b>%s</b>: %s: %s</summary>\n", mdEscape(matrix.DetailName(m, j)), k.Status, mdEscape(k.Error))
			writeBlock(w, matrix.ConsoleOf(k, 30))
			if k.Reproduce != "" {
				writeBlock(w, []string{k.Reproduce})
			}
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	for j, c := range m.Columns {
		for _, s := range c.Kernel.Splats {
			fmt.Fprintf(w, "\n<details><summary><b>%s</b>: %s</summary>\n", mdEscape(matrix.DetailName(m, j)), mdEscape(matrix.SplatTitle(s)))
			writeBlock(w, s.Lines)
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "\n### %s Failures\n\n", mdFail)
		for _, wh := range m.Where() {
			fmt.Fprintf(w, "- `%s` %s\n", m.Rows[wh.Row], mdEscape(wh.Text(m, lay)))
		}
		for _, it := range failures {
			reason := ""
			if it.c.Test.Reason != "" {
				reason = ": " + mdEscape(it.c.Test.Reason)
			}
			fmt.Fprintf(w, "\n<details><summary><code>%s</code> on <b>%s</b>%s</summary>\n", it.id, mdEscape(it.col), reason)
			writeBlock(w, matrix.OutputLines(it.c.Test.Output, 40))
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	all := m.Select(matrix.ShowAll)
	for _, rs := range []struct {
		icon, title string
		groups      []matrix.Group
	}{{mdFallback, "Fallback mechanisms", m.FallbackGroups(all)}, {mdUnsupported, "Unsupported", m.UnsupportedGroups(all)}} {
		if len(rs.groups) == 0 {
			continue
		}
		n := 0
		for _, g := range rs.groups {
			n += len(g.Cells)
		}
		fmt.Fprintf(w, "\n<details><summary>%s %s: %s, %s</summary>\n\n", rs.icon, rs.title, matrix.Plural(n, "cell"), matrix.Plural(len(rs.groups), "reason"))
		for _, g := range rs.groups {
			fmt.Fprintf(w, "- %s", mdEscape(g.Text))
			for _, rule := range g.Rules {
				fmt.Fprintf(w, "<br>*model: %s*", mdEscape(rule))
			}
			for _, u := range lay.Uses(m, g) {
				fmt.Fprintf(w, "<br>%s", mdEscape(u))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprint(w, "\n</details>\n")
	}
	_, err := fmt.Fprintln(w)
	return err
}
