package text

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// TerminalWidth returns the width of the terminal w, or 0 if unknown.
func TerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// ColorEnabled reports whether output to w should be coloured: w is a
// terminal, NO_COLOR (https://no-color.org) is unset or empty, and TERM is
// not "dumb".
func ColorEnabled(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && IsTerminal(w)
}

// OutputWidth is the width the text report of w may take: COLUMNS when it
// is set to a number, else the terminal's width, else DefaultWidth.
func OutputWidth(w io.Writer) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if n := TerminalWidth(w); n > 0 {
		return n
	}
	return DefaultWidth
}
