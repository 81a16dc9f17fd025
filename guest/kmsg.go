package guest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/splat"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// kmsgPoll is how often the kernel log is read for new records.
const kmsgPoll = 100 * time.Millisecond

// WatchSplats reads the kernel log (/dev/kmsg, from its first record) and
// sends every kernel splat on enc as soon as it is complete. The console
// runs at the quiet loglevel, so a WARN, a lockdep report or a hung-task
// report reaches only the kernel log. stop reads what is left, sends the
// splat still open and returns when all is sent.
func WatchSplats(kmsg string, enc *wire.Encoder) (stop func()) {
	if kmsg == "" {
		return func() {}
	}
	// A raw descriptor: os.File would park a non-blocking read in the
	// runtime's poller instead of returning EAGAIN at the end of the log.
	fd, err := unix.Open(kmsg, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("kernel log %s: %v: kernel splats are seen on the console only", kmsg, err)})
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer unix.Close(fd)
		var d splat.Detector
		send := func(ss []splat.Splat) {
			for _, s := range ss {
				enc.Encode(wire.Event{Type: wire.TypeSplat, Splat: &wire.Splat{Kind: s.Kind, Lines: s.Lines}})
			}
		}
		buf := make([]byte, 8192)
		// drain reads every record there is now.
		drain := func() {
			for {
				n, err := unix.Read(fd, buf) // one record per read
				switch {
				case err == nil && n == 0:
					return // a regular file (tests) ends; /dev/kmsg never does
				case err == nil:
					if line, ok := kmsgLine(string(buf[:n])); ok {
						d.Line(line)
						send(d.Pending())
					}
				case errors.Is(err, unix.EPIPE), errors.Is(err, unix.EINTR):
					// records were overwritten before we read them
				default:
					return // EAGAIN: all read
				}
			}
		}
		for {
			drain()
			select {
			case <-quit:
				// What was logged since the last read, up to this moment.
				drain()
				send(d.Flush())
				return
			case <-time.After(kmsgPoll):
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// kmsgLine turns one /dev/kmsg record ("prio,seq,usec,flags;text\n" and
// continuation lines) into a console-style line: "[   12.345678] text".
func kmsgLine(rec string) (string, bool) {
	head, text, ok := strings.Cut(rec, ";")
	if !ok {
		return "", false
	}
	text, _, _ = strings.Cut(text, "\n")
	f := strings.Split(head, ",")
	if len(f) < 3 {
		return "", false
	}
	usec, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("[%5d.%06d] %s", usec/1e6, usec%1e6, text), true
}
