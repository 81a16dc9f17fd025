package vm

import (
	"bufio"
	"io"
	"strings"
	"sync"

	"github.com/bpfmatrix/bpfmatrix/internal/splat"
)

// panicMarkers are console lines that mean the guest kernel died.
var panicMarkers = []string{
	"Kernel panic - not syncing",
	"---[ end Kernel panic",
}

// console consumes the guest console: it writes every byte to the log,
// keeps the last lines and spots a kernel panic as it happens.
type console struct {
	mu       sync.Mutex
	tail     []string
	max      int
	panicked []string
	onPanic  func()
	splats   splat.Detector
}

func newConsole(max int, onPanic func()) *console {
	return &console{max: max, onPanic: onPanic}
}

// consume reads r to its end, copying to w.
func (c *console) consume(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if w != nil {
			io.WriteString(w, line+"\n")
		}
		c.add(strings.TrimRight(line, "\r"))
	}
	// A line longer than the buffer ends the scan; drain the rest so QEMU
	// never blocks on a full pipe.
	io.Copy(w0(w), r)
}

func w0(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (c *console) add(line string) {
	c.mu.Lock()
	c.splats.Line(line)
	c.tail = append(c.tail, line)
	if len(c.tail) > c.max {
		c.tail = c.tail[len(c.tail)-c.max:]
	}
	first := false
	if c.panicked != nil {
		if len(c.panicked) < 40 {
			c.panicked = append(c.panicked, line)
		}
	} else {
		for _, m := range panicMarkers {
			if strings.Contains(line, m) {
				c.panicked = []string{line}
				first = true
				break
			}
		}
	}
	c.mu.Unlock()
	if first && c.onPanic != nil {
		c.onPanic()
	}
}

func (c *console) snapshot() (tail, panicLines []string, splats []splat.Splat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tail...), append([]string(nil), c.panicked...), c.splats.Flush()
}
