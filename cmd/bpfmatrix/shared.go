package main

import (
	"io"

	"github.com/bpfmatrix/bpfmatrix/harness/report/live"
	"github.com/bpfmatrix/bpfmatrix/harness/report/text"
	"github.com/bpfmatrix/bpfmatrix/kernels/catalog"
)

// newDisplay is the progress display of a matrix command (run, test) on
// stderr, one line per column; a plain log when stderr is no terminal or
// the consoles are streamed (verbose).
func newDisplay(stderr io.Writer, specs []catalog.Spec, verbose bool) *live.Live {
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	return live.New(stderr, live.Options{
		TTY: text.IsTerminal(stderr) && !verbose, Color: text.ColorEnabled(stderr),
		Width: text.TerminalWidth(stderr), Columns: names,
	})
}
