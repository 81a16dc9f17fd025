package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// TextOptions configure Text.
type TextOptions struct {
	// Color adds ANSI colours (see ColorEnabled).
	Color bool
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

// Legend explains the cells of the text matrix.
const Legend = "legend: pass (mechanism used) | * fallback mechanism (reasons below) | = as the expectation model says | !! UNEXPECTED: contradicts the expectation model | unsupported: the kernel said no | - no such test | not run: the VM did not finish"

// CellText is the plain text of a cell in the terminal matrix.
func CellText(c Cell) string {
	var s string
	switch {
	case c.Test == nil && c.NotRun:
		s = "not run"
	case c.Test == nil:
		s = "-"
	case c.Test.Result == results.Pass:
		s = "pass"
		if c.Mechanism != "" {
			s += " (" + c.Mechanism + ")"
		}
	case c.Test.Result == results.Fail:
		s = "FAIL"
	default:
		s = string(c.Test.Result)
	}
	if c.IsFallback() {
		s += "*"
	}
	if c.Expected {
		s += " ="
	}
	if c.Unexpected {
		s = "!! " + s
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

// table prints rows of cells padded to their column widths; colour codes
// are added around the padded text so they do not disturb the alignment.
type table struct {
	text  [][]string
	color [][]string
}

func (t *table) add(text, color []string) {
	t.text = append(t.text, text)
	t.color = append(t.color, color)
}

func (t *table) write(w io.Writer, useColor bool) {
	var width []int
	for _, row := range t.text {
		for i, s := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	for r, row := range t.text {
		var b strings.Builder
		for i, s := range row {
			pad := ""
			if i < len(row)-1 {
				pad = strings.Repeat(" ", width[i]-utf8.RuneCountInString(s)+2)
			}
			if c := t.color[r][i]; useColor && c != "" {
				b.WriteString(c + s + sgrReset + pad)
			} else {
				b.WriteString(s + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// Text writes the terminal report of r: the matrix (rows: tests, columns:
// VMs), the legend, what went wrong (VMs that did not finish, unexpected
// cells, fallbacks, unsupported reasons, failures with their output) and a
// one-line summary.
func Text(w io.Writer, r *results.Result, opts TextOptions) error {
	m := Build(r)
	paint := func(c, s string) string {
		if opts.Color {
			return c + s + sgrReset
		}
		return s
	}
	var t table
	header, hc := []string{"TEST"}, []string{sgrBold}
	for _, c := range m.Columns {
		header, hc = append(header, c.Label), append(hc, sgrBold)
	}
	t.add(header, hc)
	for i, id := range m.Rows {
		text, color := []string{id}, []string{""}
		for _, c := range m.Cells[i] {
			text, color = append(text, CellText(c)), append(color, cellColor(c))
		}
		t.add(text, color)
	}
	for _, row := range []struct {
		name string
		f    func(k *results.KernelResult) (string, string)
	}{
		{"(release)", func(k *results.KernelResult) (string, string) { return k.Kernel.Release, sgrDim }},
		{"(vm)", func(k *results.KernelResult) (string, string) {
			if k.Status != results.StatusOK {
				return string(k.Status), sgrFail
			}
			return string(k.Status), sgrDim
		}},
		{"(seconds)", func(k *results.KernelResult) (string, string) { return fmt.Sprintf("%.1f", k.Seconds), sgrDim }},
	} {
		text, color := []string{row.name}, []string{sgrDim}
		for _, c := range m.Columns {
			s, col := row.f(c.Kernel)
			text, color = append(text, s), append(color, col)
		}
		t.add(text, color)
	}
	t.write(w, opts.Color)
	fmt.Fprintln(w, paint(sgrDim, Legend))

	for _, c := range m.Columns {
		k := c.Kernel
		if k.Status != results.StatusOK || k.Error != "" {
			fmt.Fprintf(w, "\n%s: %s: %s\n", paint(sgrFail, c.Label), k.Status, k.Error)
			for _, l := range consoleOf(k, 20) {
				fmt.Fprintf(w, "  | %s\n", l)
			}
			if k.ConsoleLog != "" {
				fmt.Fprintf(w, "  console log: %s\n", k.ConsoleLog)
			}
			if k.Reproduce != "" {
				fmt.Fprintf(w, "  reproduce:   %s\n", k.Reproduce)
			}
		}
		for _, fe := range k.FrameErrors {
			fmt.Fprintf(w, "%s: %s\n", c.Label, fe)
		}
	}
	each := func(f func(id string, col Column, c Cell)) {
		for j, col := range m.Columns {
			for i, id := range m.Rows {
				if c := m.Cells[i][j]; c.Test != nil {
					f(id, col, c)
				}
			}
		}
	}
	each(func(id string, col Column, c Cell) {
		if c.Unexpected {
			e := c.Test.Expect
			fmt.Fprintf(w, "\n%s %s on %s: got %s, the model expects %s: %s (%s)\n",
				paint(sgrUnexpected, "!! UNEXPECTED"), id, col.Label, got(c.Test), want(e), e.Rule, e.Source)
		}
	})
	each(func(id string, col Column, c Cell) {
		if c.IsFallback() {
			fmt.Fprintf(w, "\n%s %s on %s: used %s; fallback: %s\n", paint(sgrFallback, "fallback*"), id, col.Label, c.Mechanism, c.Fallback)
		}
	})
	each(func(id string, col Column, c Cell) {
		if c.Test.Result == results.Unsupported {
			fmt.Fprintf(w, "\nunsupported %s on %s: %s\n", id, col.Label, c.Test.Reason)
		}
	})
	each(func(id string, col Column, c Cell) {
		if c.Test.Result != results.Fail {
			return
		}
		fmt.Fprintf(w, "\n%s %s on %s", paint(sgrFail, "--- FAIL"), id, col.Label)
		if c.Test.Reason != "" {
			fmt.Fprintf(w, ": %s", c.Test.Reason)
		}
		fmt.Fprintln(w)
		for _, l := range outputLines(c.Test.Output, 30) {
			fmt.Fprintf(w, "    %s\n", l)
		}
	})
	fmt.Fprintln(w)
	if r.Accel.Accel != "" {
		fmt.Fprintf(w, "%s\n", paint(sgrDim, fmt.Sprintf("accelerator %s (%s)", r.Accel.Accel, r.Accel.Reason)))
	}
	for _, e := range r.Unhandled {
		fmt.Fprintf(w, "error: %s\n", e)
	}
	color := sgrPass
	if m.Verdict() != "PASS" {
		color = sgrFail
	}
	_, err := fmt.Fprintln(w, paint(color, m.Summary()))
	return err
}

// got describes a test's outcome and mechanism, e.g. "pass (kprobe)".
func got(t *results.TestResult) string {
	s := string(t.Result)
	if t.Mechanism != "" {
		s += " (" + t.Mechanism + ")"
	}
	return s
}

// want describes an expectation, e.g. "pass (bpf_link (tcx))".
func want(e *results.Expectation) string {
	s := string(e.Outcome)
	if e.Mechanism != "" {
		s += " (" + e.Mechanism + ")"
	}
	return s
}
