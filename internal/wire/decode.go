package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

// ErrFrame is wrapped by every [*FrameError].
var ErrFrame = errors.New("bad frame")

// FrameError describes one frame the [Decoder] rejected. It is not fatal: the
// next call to [Decoder.Next] reads on.
type FrameError struct {
	// Line is the 1-based line number on the channel.
	Line int
	// Reason says what was wrong.
	Reason string
	// Excerpt is the start of the offending bytes, for the report.
	Excerpt string
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("result channel line %d: %s: %q", e.Line, e.Reason, e.Excerpt)
}

// Unwrap makes errors.Is(err, ErrFrame) true.
func (e *FrameError) Unwrap() error { return ErrFrame }

// Decoder reads frames written by an [Encoder].
type Decoder struct {
	r       *bufio.Reader
	line    int
	lastSeq uint64
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next event. It returns a [*FrameError] for a frame it
// rejects (call Next again to go on) and io.EOF at the end of the stream.
// It never panics, whatever the input.
func (d *Decoder) Next() (Event, error) {
	for {
		line, complete, oversized, err := d.readLine()
		if err != nil && len(line) == 0 && !oversized {
			return Event{}, err
		}
		d.line++
		if oversized {
			return Event{}, d.frameErr(fmt.Sprintf("frame longer than %d bytes", MaxFrame), line)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			if err != nil {
				return Event{}, err
			}
			continue
		}
		if !complete {
			return Event{}, d.frameErr("truncated frame (stream ended mid-line)", line)
		}
		return d.parse(line)
	}
}

// readLine reads one line of at most MaxFrame bytes. A longer line is
// consumed up to its newline and reported as oversized with its start.
func (d *Decoder) readLine() (line []byte, complete, oversized bool, err error) {
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(line)+len(chunk) > MaxFrame {
			oversized = true
			if len(line) < 64 {
				line = append(line, chunk[:min(len(chunk), 64)]...)
			}
		} else if !oversized {
			line = append(line, chunk...)
		}
		switch {
		case err == nil:
			return line, true, oversized, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, false, oversized, err
		}
	}
}

func (d *Decoder) parse(line []byte) (Event, error) {
	i := bytes.Index(line, []byte(Magic+" "))
	if i < 0 {
		return Event{}, d.frameErr("not a frame", line)
	}
	if i > 0 {
		// Bytes before the magic are noise; the frame after them is judged
		// on its own (its CRC still has to match).
		line = line[i:]
	}
	fields := bytes.SplitN(line[len(Magic)+1:], []byte(" "), 3)
	if len(fields) != 3 {
		return Event{}, d.frameErr("frame has too few fields", line)
	}
	seq, err := strconv.ParseUint(string(fields[0]), 10, 64)
	if err != nil || seq == 0 {
		return Event{}, d.frameErr("bad sequence number", line)
	}
	sum, err := strconv.ParseUint(string(fields[1]), 16, 32)
	if err != nil || len(fields[1]) != 8 {
		return Event{}, d.frameErr("bad checksum field", line)
	}
	body := fields[2]
	if crc32.ChecksumIEEE(body) != uint32(sum) {
		return Event{}, d.frameErr("checksum mismatch", line)
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return Event{}, d.frameErr("bad JSON: "+err.Error(), line)
	}
	if ev.Seq != seq {
		return Event{}, d.frameErr(fmt.Sprintf("sequence %d in frame but %d in event", seq, ev.Seq), line)
	}
	if err := ev.validate(); err != nil {
		return Event{}, d.frameErr(err.Error(), line)
	}
	if seq <= d.lastSeq {
		return Event{}, d.frameErr(fmt.Sprintf("out of order: sequence %d after %d", seq, d.lastSeq), line)
	}
	gap := seq - d.lastSeq - 1
	d.lastSeq = seq
	if gap > 0 {
		// The event itself is intact and is delivered; the loss is reported
		// through Lost.
		ev.Lost = gap
	}
	return ev, nil
}

func (d *Decoder) frameErr(reason string, line []byte) error {
	return &FrameError{Line: d.line, Reason: reason, Excerpt: string(line[:min(len(line), 80)])}
}

func (ev *Event) validate() error {
	var want bool
	switch ev.Type {
	case TypeHello:
		want = ev.Hello != nil
	case TypeModule:
		want = ev.Module != nil
	case TypeTest:
		want = ev.Test != nil
	case TypeRecord:
		want = ev.Record != nil
	case TypeSuite:
		want = ev.Suite != nil
	case TypeLog:
		want = true
	case TypeDone:
		want = ev.Done != nil
	case TypeOutput:
		want = ev.Output != nil && (ev.Output.Stream == Stdout || ev.Output.Stream == Stderr)
	case TypeExit:
		want = ev.Exit != nil
	case TypeSplat:
		want = ev.Splat != nil && ev.Splat.Kind != "" && len(ev.Splat.Lines) > 0
	case TypeCoverage:
		want = ev.Cover != nil && ev.Cover.Suite != ""
	default:
		return fmt.Errorf("unknown event type %q", ev.Type)
	}
	if !want {
		return fmt.Errorf("%s event without its payload", ev.Type)
	}
	return nil
}
