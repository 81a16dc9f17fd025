package harness

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// cell is what the plain matrix shows for one test on one kernel.
func cell(t *TestResult) string {
	if t == nil {
		return "-"
	}
	switch t.Result {
	case Pass:
		if t.Mechanism != "" {
			return "pass (" + t.Mechanism + ")"
		}
		return "pass"
	case Fail:
		return "FAIL"
	case Skip:
		return "skip"
	case Unsupported:
		return "unsupported"
	}
	return string(t.Result)
}

// WriteMatrix prints the matrix as plain text (rows: tests, columns:
// kernels), then the details of every failure, then a one-line summary. It
// is the dependency-free version for logs and tests; package
// harness/report renders the full report (colour, legend, expectations,
// fallbacks) and the JUnit, Markdown and HTML files.
func (r *Result) WriteMatrix(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"TEST"}
	for _, k := range r.Kernels {
		header = append(header, k.Column())
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))

	for _, id := range r.Rows() {
		line := []string{id}
		for _, k := range r.Kernels {
			line = append(line, cell(k.Test(id)))
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	for _, row := range []struct {
		name string
		f    func(k KernelResult) string
	}{
		{"(release)", func(k KernelResult) string { return k.Kernel.Release }},
		{"(vm)", func(k KernelResult) string { return string(k.Status) }},
		{"(seconds)", func(k KernelResult) string { return fmt.Sprintf("%.1f", k.Seconds) }},
	} {
		line := []string{row.name}
		for _, k := range r.Kernels {
			line = append(line, row.f(k))
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	tw.Flush()

	for _, k := range r.Kernels {
		if k.Status != StatusOK || k.Error != "" {
			fmt.Fprintf(w, "\n%s: %s: %s\n", k.Column(), k.Status, k.Error)
			for _, l := range tail(k.PanicLines, 20) {
				fmt.Fprintf(w, "  | %s\n", l)
			}
			if len(k.PanicLines) == 0 {
				for _, l := range tail(k.ConsoleTail, 15) {
					fmt.Fprintf(w, "  | %s\n", l)
				}
			}
			if k.ConsoleLog != "" {
				fmt.Fprintf(w, "  console log: %s\n", k.ConsoleLog)
			}
			if k.Reproduce != "" {
				fmt.Fprintf(w, "  reproduce:   %s\n", k.Reproduce)
			}
		}
		for _, fe := range k.FrameErrors {
			fmt.Fprintf(w, "%s: %s\n", k.Column(), fe)
		}
		for _, t := range k.Tests {
			if t.Result == Unsupported {
				fmt.Fprintf(w, "\nunsupported %s on %s: %s\n", t.ID(), k.Column(), t.Reason)
			}
			if t.Result != Fail {
				continue
			}
			fmt.Fprintf(w, "\n--- FAIL %s on %s", t.ID(), k.Column())
			if t.Reason != "" {
				fmt.Fprintf(w, ": %s", t.Reason)
			}
			fmt.Fprintln(w)
			for _, l := range tail(strings.Split(strings.TrimRight(t.Output, "\n"), "\n"), 30) {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", r.Summary())
}

// Summary is the one-line verdict.
func (r *Result) Summary() string {
	n := map[Outcome]int{}
	bad := 0
	for _, k := range r.Kernels {
		if k.Status != StatusOK {
			bad++
		}
		for _, t := range k.Tests {
			n[t.Result]++
		}
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	s := fmt.Sprintf("%s: %d kernels (%d not ok), %d passed, %d failed, %d unsupported, %d skipped in %.1fs",
		verdict, len(r.Kernels), bad, n[Pass], n[Fail], n[Unsupported], n[Skip], r.Seconds)
	if !r.Complete {
		s += " [incomplete: interrupted]"
	}
	return s
}

// Rows returns the row keys of the matrix (TestResult.ID), in order of
// first appearance across the columns.
func (r *Result) Rows() []string {
	var rows []string
	seen := map[string]bool{}
	for _, k := range r.Kernels {
		for _, t := range k.Tests {
			if !seen[t.ID()] {
				seen[t.ID()] = true
				rows = append(rows, t.ID())
			}
		}
	}
	return rows
}

// Test returns the cell of row id (TestResult.ID) in this column, or nil
// if the column has no such test.
func (k *KernelResult) Test(id string) *TestResult {
	for i := range k.Tests {
		if k.Tests[i].ID() == id {
			return &k.Tests[i]
		}
	}
	return nil
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}
