package cmdflag

import (
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report"
	"github.com/bpfmatrix/bpfmatrix/harness/report/matrix"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Outputs are the report flags of a command that prints a matrix: the
// report files and the rows of the terminal matrix.
type Outputs struct {
	json, junit, markdown, html, showFlag *string
	show                                  matrix.Show
}

// RegisterOutputs registers --json, --junit, --markdown, --html and --show
// in fs.
func RegisterOutputs(fs interface {
	String(name, value, usage string) *string
}) *Outputs {
	return &Outputs{
		json:     fs.String("json", "", "write the results as JSON to `FILE` (schema bpfmatrix/v1, see docs/results.md)"),
		junit:    fs.String("junit", "", "write the results as JUnit XML to `FILE` (one testsuite per kernel)"),
		markdown: fs.String("markdown", "", "write the matrix as Markdown to `FILE` (e.g. $GITHUB_STEP_SUMMARY)"),
		html:     fs.String("html", "", "write a self-contained HTML report to `FILE`"),
		showFlag: fs.String("show", "auto", "rows of the terminal matrix to show: `WHICH` of "+ShowNames()),
	}
}

// Validate checks --show. Call it right after parsing.
func (o *Outputs) Validate() error {
	show, err := matrix.ParseShow(*o.showFlag)
	if err != nil {
		return fmt.Errorf("%w: --show: %v", ErrUsage, err)
	}
	o.show = show
	return nil
}

// Write writes the report files and prints the matrix on stdout.
func (o *Outputs) Write(stdout io.Writer, res *results.Result) error {
	for _, out := range []struct {
		path   string
		format report.Format
	}{{*o.json, report.FormatJSON}, {*o.junit, report.FormatJUnit}, {*o.markdown, report.FormatMarkdown}, {*o.html, report.FormatHTML}} {
		if out.path != "" {
			if err := report.WriteFile(out.path, res, out.format); err != nil {
				return err
			}
		}
	}
	return text.Write(stdout, res, TextOptions(stdout, o.show))
}

// TextOptions are the options of the text matrix on w: colour and width
// of the terminal (or COLUMNS), and the rows --show selects.
func TextOptions(w io.Writer, show matrix.Show) text.Options {
	return text.Options{Color: text.ColorEnabled(w), Width: text.OutputWidth(w), Show: show}
}

// ShowNames lists the values of --show.
func ShowNames() string {
	names := make([]string, len(matrix.Shows))
	for i, s := range matrix.Shows {
		names[i] = string(s)
	}
	return strings.Join(names, ", ") + fmt.Sprintf(" (auto: every row of a matrix of up to %d rows, else the rows with a failure, a fallback, an unexpected cell or kernels that differ)", matrix.AutoRows)
}
