package report

import (
	"fmt"
	"io"
	"strings"

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
	mdExpected    = "🎯"
	mdUnexpected  = "‼️"
)

// mdEscape makes s safe inside a table cell.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;", "`", "'")
	return r.Replace(s)
}

// MarkdownCell is the Markdown of a cell: a symbol and the mechanism.
func MarkdownCell(c Cell) string {
	var s string
	switch {
	case c.Test == nil && c.NotRun:
		s = mdNotRun + " not run"
	case c.Test == nil:
		s = "·"
	case c.Test.Result == results.Pass:
		s = mdPass
		if c.Mechanism != "" {
			s += " " + mdEscape(c.Mechanism)
		}
	case c.Test.Result == results.Fail:
		s = mdFail + " **fail**"
	case c.Test.Result == results.Unsupported:
		s = mdUnsupported + " unsupported"
	case c.Test.Result == results.Skip:
		s = mdSkip + " skip"
	default:
		s = mdEscape(string(c.Test.Result))
	}
	if c.IsFallback() {
		s += " " + mdFallback
	}
	if c.Expected {
		s += " " + mdExpected
	}
	if c.Unexpected {
		s = mdUnexpected + " **UNEXPECTED** " + s
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

// Markdown writes r for $GITHUB_STEP_SUMMARY or a pull request comment:
// the summary, the matrix as a table with symbols and a legend, then the
// unexpected cells, fallbacks, VMs that did not finish (console tail) and
// failures (output), the long parts folded in <details>.
func Markdown(w io.Writer, r *results.Result) error {
	m := Build(r)
	icon := mdPass
	if m.Verdict() != "PASS" {
		icon = mdFail
	}
	fmt.Fprintf(w, "## %s bpfmatrix\n\n**%s**\n\n", icon, mdEscape(m.Summary()))
	fmt.Fprint(w, "| test |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " %s |", mdEscape(c.Label))
	}
	fmt.Fprint(w, "\n|---|")
	for range m.Columns {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for i, id := range m.Rows {
		fmt.Fprintf(w, "| `%s` |", strings.ReplaceAll(id, "`", "'"))
		for _, c := range m.Cells[i] {
			fmt.Fprintf(w, " %s |", MarkdownCell(c))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| *release* |")
	for _, c := range m.Columns {
		fmt.Fprintf(w, " %s |", mdEscape(c.Kernel.Kernel.Release))
	}
	fmt.Fprint(w, "\n| *vm* |")
	for _, c := range m.Columns {
		st := string(c.Kernel.Status)
		if c.Kernel.Status != results.StatusOK {
			st = mdFail + " **" + st + "**"
		}
		fmt.Fprintf(w, " %s (%.1fs) |", st, c.Kernel.Seconds)
	}
	fmt.Fprintf(w, "\n\n%s pass (mechanism used) · %s fail · %s unsupported by the kernel · %s skip · %s not run (VM did not finish) · %s fallback mechanism · %s as the expectation model says · %s contradicts it\n",
		mdPass, mdFail, mdUnsupported, mdSkip, mdNotRun, mdFallback, mdExpected, mdUnexpected)

	type item struct {
		id  string
		col Column
		c   Cell
	}
	var unexpected, fallbacks, failures, unsupported []item
	for j, col := range m.Columns {
		for i, id := range m.Rows {
			c := m.Cells[i][j]
			if c.Test == nil {
				continue
			}
			it := item{id, col, c}
			if c.Unexpected {
				unexpected = append(unexpected, it)
			}
			if c.IsFallback() {
				fallbacks = append(fallbacks, it)
			}
			switch c.Test.Result {
			case results.Fail:
				failures = append(failures, it)
			case results.Unsupported:
				unsupported = append(unsupported, it)
			}
		}
	}
	if len(unexpected) > 0 {
		fmt.Fprintf(w, "\n### %s Unexpected cells\n\n", mdUnexpected)
		for _, it := range unexpected {
			e := it.c.Test.Expect
			fmt.Fprintf(w, "- `%s` on **%s**: got %s, the model expects %s: %s (%s)\n",
				it.id, mdEscape(it.col.Label), mdEscape(got(it.c.Test)), mdEscape(want(e)), mdEscape(e.Rule), mdEscape(e.Source))
		}
	}
	var vms []Column
	for _, c := range m.Columns {
		if c.Kernel.Status != results.StatusOK {
			vms = append(vms, c)
		}
	}
	if len(vms) > 0 {
		fmt.Fprintf(w, "\n### %s VMs that did not finish\n", mdNotRun)
		for _, c := range vms {
			k := c.Kernel
			fmt.Fprintf(w, "\n<details><summary><b>%s</b>: %s: %s</summary>\n", mdEscape(c.Label), k.Status, mdEscape(k.Error))
			writeBlock(w, consoleOf(k, 30))
			if k.Reproduce != "" {
				writeBlock(w, []string{k.Reproduce})
			}
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "\n### %s Failures\n", mdFail)
		for _, it := range failures {
			reason := ""
			if it.c.Test.Reason != "" {
				reason = ": " + mdEscape(it.c.Test.Reason)
			}
			fmt.Fprintf(w, "\n<details><summary><code>%s</code> on <b>%s</b>%s</summary>\n", it.id, mdEscape(it.col.Label), reason)
			writeBlock(w, outputLines(it.c.Test.Output, 40))
			fmt.Fprint(w, "\n</details>\n")
		}
	}
	if len(fallbacks) > 0 {
		fmt.Fprintf(w, "\n### %s Fallback mechanisms\n\n", mdFallback)
		for _, it := range fallbacks {
			fmt.Fprintf(w, "- `%s` on **%s**: used %s; fallback: %s\n", it.id, mdEscape(it.col.Label), mdEscape(it.c.Mechanism), mdEscape(it.c.Fallback))
		}
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(w, "\n<details><summary>%s Unsupported (%d)</summary>\n\n", mdUnsupported, len(unsupported))
		for _, it := range unsupported {
			fmt.Fprintf(w, "- `%s` on **%s**: %s\n", it.id, mdEscape(it.col.Label), mdEscape(it.c.Test.Reason))
		}
		fmt.Fprint(w, "\n</details>\n")
	}
	_, err := fmt.Fprintln(w)
	return err
}
