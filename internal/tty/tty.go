// Package tty connects a VM's console to the user's terminal: raw mode,
// the terminal's size, a quit key, CR LF line ends.
package tty

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// QuitOn returns a reader of r that passes the terminal's input through
// until the key quit, where it calls onQuit and ends.
func QuitOn(r io.Reader, quit byte, onQuit func()) io.Reader {
	return &quitReader{r: r, key: quit, quit: onQuit}
}

// quitReader is the reader of QuitOn.
type quitReader struct {
	r    io.Reader
	key  byte
	quit func()
	done bool
}

func (q *quitReader) Read(p []byte) (int, error) {
	if q.done {
		return 0, io.EOF
	}
	n, err := q.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == q.key {
			q.done = true
			q.quit()
			return i, nil
		}
	}
	return n, err
}

// CRLF returns a writer to w that ends lines with CR LF, for a terminal in
// raw mode.
func CRLF(w io.Writer) io.Writer { return &crlfWriter{w} }

// crlfWriter is the writer of CRLF.
type crlfWriter struct{ w io.Writer }

func (c *crlfWriter) Write(b []byte) (int, error) {
	out := make([]byte, 0, len(b)+8)
	for _, x := range b {
		if x == '\n' {
			out = append(out, '\r')
		}
		out = append(out, x)
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// MakeRaw puts the terminal f in raw mode (as cfmakeraw) and returns the
// function that restores it. It fails if f is not a terminal.
func MakeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// Size returns the rows and columns of the terminal f; ok is false if f
// is not a terminal or has no size.
func Size(f *os.File) (rows, cols int, ok bool) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 {
		return 0, 0, false
	}
	return int(ws.Row), int(ws.Col), true
}
