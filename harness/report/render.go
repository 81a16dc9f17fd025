// Package report renders the results of a bpfmatrix run for people and for
// CI: the terminal matrix (package report/text), JUnit XML, Markdown and a
// self-contained HTML page (package report/html), all drawn from the model
// of package report/matrix; the live progress of a run is package
// report/live. It also merges the results of sharded runs and diffs two
// runs.
//
// Every renderer is a pure function of a results.Result: rendering the same
// results file twice gives the same bytes, so `bpfmatrix report` re-renders
// exactly what `bpfmatrix run` wrote.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/report/html"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// Format names an output format of Render.
type Format string

// Output formats.
const (
	FormatText     Format = "text"
	FormatJSON     Format = "json"
	FormatJUnit    Format = "junit"
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
)

// Formats lists every format, for usage texts.
var Formats = []Format{FormatText, FormatJSON, FormatJUnit, FormatMarkdown, FormatHTML}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("format %q: want one of %s", s, strings.Join(names, ", "))
}

// JSON writes r exactly as results.Result.WriteJSON does (indented, with a
// final newline), so a results file read and written again is unchanged.
func JSON(w io.Writer, r *results.Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Render writes r in format f. Text is never coloured here; use Text for
// a terminal.
func Render(w io.Writer, r *results.Result, f Format) error {
	switch f {
	case FormatText:
		return text.Write(w, r, text.Options{})
	case FormatJSON:
		return JSON(w, r)
	case FormatJUnit:
		return JUnit(w, r)
	case FormatMarkdown:
		return Markdown(w, r)
	case FormatHTML:
		return html.Write(w, r)
	}
	_, err := ParseFormat(string(f))
	return err
}

// WriteFile renders r in format f to path, atomically (a temporary file in
// the same directory, then a rename).
func WriteFile(path string, r *results.Result, f Format) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return Render(w, r, f) }); err != nil {
		return fmt.Errorf("write %s report %s: %w", f, path, err)
	}
	return nil
}
