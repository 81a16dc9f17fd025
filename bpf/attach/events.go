package attach

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
)

// Values the Events chain gives the selector variable: which transport the
// BPF side must use (bpf_ringbuf_output or bpf_perf_event_output).
const (
	TransportRingbuf uint32 = 1
	TransportPerf    uint32 = 2
)

// Record is one event as a Reader returns it.
type Record struct {
	// RawSample is the event as the program sent it; a perf sample may
	// carry up to 7 bytes of alignment padding after it.
	RawSample []byte
	// CPU is the CPU the perf sample came from (-1 for the ring buffer).
	CPU int
	// LostSamples counts perf samples lost before this one (0 for the
	// ring buffer, which never overwrites).
	LostSamples uint64
}

// Reader reads events from whichever transport the Events chain chose.
type Reader interface {
	// Read blocks until a record arrives, the deadline passes
	// (os.ErrDeadlineExceeded) or the reader is closed.
	Read() (Record, error)
	// SetDeadline bounds the following Reads.
	SetDeadline(time.Time)
	// Close releases the reader.
	Close() error
}

type ringReader struct{ *ringbuf.Reader }

func (r ringReader) Read() (Record, error) {
	rec, err := r.Reader.Read()
	return Record{RawSample: rec.RawSample, CPU: -1}, err
}

type perfReader struct{ *perf.Reader }

func (r perfReader) Read() (Record, error) {
	rec, err := r.Reader.Read()
	return Record{RawSample: rec.RawSample, CPU: rec.CPU, LostSamples: rec.LostSamples}, err
}

// EventsOptions configure the Events chain.
type EventsOptions struct {
	// Recording, if its T is set, records the chain's Result.
	Recording
	// RingMap and PerfMap name the spec's BPF_MAP_TYPE_RINGBUF and
	// BPF_MAP_TYPE_PERF_EVENT_ARRAY maps.
	RingMap, PerfMap string
	// Selector names a uint32 global (volatile const) the chain sets to
	// TransportRingbuf or TransportPerf before loading; the programs
	// branch on it.
	Selector string
	// PerfPerCPUBuffer is the perf ring size per CPU (one page if zero).
	PerfPerCPUBuffer int
	// Collection is passed to ebpf.NewCollectionWithOptions.
	Collection ebpf.CollectionOptions
	// Verify, if set, runs after each step loaded its objects: typically
	// it attaches a program, triggers it and reads an event from rd.
	Verify func(mechanism string, coll *ebpf.Collection, rd Reader) error
}

// EventsAttachment is the outcome of the Events chain: the loaded
// objects and a Reader for the chosen transport.
type EventsAttachment struct {
	*Attachment
	// Reader reads from the transport the chain chose.
	Reader Reader
}

// Events loads every program and map of spec with the BPF ring buffer as
// the event transport, falling back to the perf event array. The perf step
// replaces the ring buffer map by a one-entry array placeholder (so that a
// kernel without ring buffers can load the collection; the verifier never
// visits the ring buffer branch the selector rules out).
func Events(spec *ebpf.CollectionSpec, opts EventsOptions) (*EventsAttachment, error) {
	var won struct {
		coll *ebpf.Collection
		rd   Reader
	}
	attempt := func(mech string, transport uint32) Attempt {
		var cur struct {
			coll *ebpf.Collection
			rd   Reader
		}
		a := Attempt{Mechanism: mech, Attach: func() (io.Closer, error) {
			cs := spec.Copy()
			v, ok := cs.Variables[opts.Selector]
			if !ok {
				return nil, fmt.Errorf("no variable %q in the spec", opts.Selector)
			}
			if err := v.Set(transport); err != nil {
				return nil, fmt.Errorf("set %s: %w", opts.Selector, err)
			}
			if transport == TransportPerf {
				if _, ok := cs.Maps[opts.RingMap]; ok {
					cs.Maps[opts.RingMap] = &ebpf.MapSpec{Name: opts.RingMap, Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1}
				}
			}
			coll, err := ebpf.NewCollectionWithOptions(cs, opts.Collection)
			if err != nil {
				return nil, fmt.Errorf("load: %w", notSupported(err))
			}
			var rd Reader
			if transport == TransportRingbuf {
				var r *ringbuf.Reader
				if r, err = ringbuf.NewReader(coll.Maps[opts.RingMap]); err == nil {
					rd = ringReader{r}
				}
			} else {
				size := opts.PerfPerCPUBuffer
				if size == 0 {
					size = os.Getpagesize()
				}
				var r *perf.Reader
				if r, err = perf.NewReader(coll.Maps[opts.PerfMap], size); err == nil {
					rd = perfReader{r}
				}
			}
			if err != nil {
				coll.Close()
				return nil, fmt.Errorf("reader: %w", notSupported(err))
			}
			cur.coll, cur.rd = coll, rd
			won = cur
			return closers{closeFunc(func() error { coll.Close(); return nil }), rd}, nil
		}}
		if opts.Verify != nil {
			a.Verify = func() error { return opts.Verify(mech, cur.coll, cur.rd) }
		}
		return a
	}
	c, r, err := Chain(attempt(MechRingbuf, TransportRingbuf), attempt(MechPerfEventArr, TransportPerf))
	opts.record(r)
	if err != nil {
		return &EventsAttachment{Attachment: &Attachment{Result: r}}, err
	}
	return &EventsAttachment{Attachment: &Attachment{Result: r, Collection: won.coll, closer: c}, Reader: won.rd}, nil
}
