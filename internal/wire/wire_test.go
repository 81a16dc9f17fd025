package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func encodeAll(t *testing.T, evs ...Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for _, ev := range evs {
		require.NoError(t, enc.Encode(ev))
	}
	return buf.Bytes()
}

// decodeAll returns the events and frame errors in the stream.
func decodeAll(t *testing.T, r io.Reader) ([]Event, []*FrameError) {
	t.Helper()
	var evs []Event
	var ferrs []*FrameError
	dec := NewDecoder(r)
	for {
		ev, err := dec.Next()
		var fe *FrameError
		switch {
		case errors.Is(err, io.EOF):
			return evs, ferrs
		case errors.As(err, &fe):
			ferrs = append(ferrs, fe)
		case err != nil:
			t.Fatalf("Next() = %v, want nil, EOF or a FrameError", err)
		default:
			evs = append(evs, ev)
		}
	}
}

func sample() []Event {
	return []Event{
		{Type: TypeHello, Hello: &Hello{Release: "6.1.0-50-cloud-amd64", Machine: "x86_64"}},
		{Type: TypeTest, Test: &TestEvent{Suite: "kprobe", Action: "pass", Test: "TestKprobe", Output: "ok\nwith newline\r\n"}},
		{Type: TypeDone, Done: &Done{Suites: 1}},
	}
}

func TestRoundTrip(t *testing.T) {
	evs, ferrs := decodeAll(t, bytes.NewReader(encodeAll(t, sample()...)))
	require.Empty(t, ferrs)
	require.Len(t, evs, 3)
	assert.Equal(t, "6.1.0-50-cloud-amd64", evs[0].Hello.Release)
	assert.Equal(t, "ok\nwith newline\r\n", evs[1].Test.Output)
	assert.Equal(t, uint64(3), evs[2].Seq)
	assert.Equal(t, TypeDone, evs[2].Type)
}

func TestDecoderRejects(t *testing.T) {
	good := encodeAll(t, sample()...)
	lines := strings.SplitAfter(string(good), "\n")
	flipped := []byte(lines[1])
	flipped[len(flipped)-5] ^= 0x20 // corrupt the JSON: checksum must catch it

	tests := []struct {
		name       string
		stream     string
		wantEvents int
		wantReason string
	}{
		{"garbage line", "hello world\n" + string(good), 3, "not a frame"},
		{"noise before magic is tolerated", "\x00\x13" + string(good), 3, ""},
		{"corrupted body", lines[0] + string(flipped) + lines[2], 2, "checksum mismatch"},
		{"truncated last frame", string(good[:len(good)-10]), 2, "truncated"},
		{"replayed frame", lines[0] + lines[1] + lines[1] + lines[2], 3, "out of order"},
		{"missing fields", "BPFM1 1\n", 0, "too few fields"},
		{"bad seq", "BPFM1 x 00000000 {}\n", 0, "bad sequence"},
		{"zero seq", "BPFM1 0 00000000 {}\n", 0, "bad sequence"},
		{"bad crc field", "BPFM1 1 zz {}\n", 0, "bad checksum field"},
		{"unknown type", string(AppendFrame(nil, 1, []byte(`{"seq":1,"type":"nope"}`))), 0, "unknown event type"},
		{"payload missing", string(AppendFrame(nil, 1, []byte(`{"seq":1,"type":"done"}`))), 0, "without its payload"},
		{"seq mismatch", string(AppendFrame(nil, 1, []byte(`{"seq":2,"type":"log"}`))), 0, "sequence 1 in frame"},
		{"bad json", string(AppendFrame(nil, 1, []byte(`{"seq":1,`))), 0, "bad JSON"},
		{"oversized", "BPFM1 1 00000000 " + strings.Repeat("x", MaxFrame+10) + "\n" + string(good), 3, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, ferrs := decodeAll(t, strings.NewReader(tt.stream))
			assert.Len(t, evs, tt.wantEvents)
			if tt.wantReason == "" {
				assert.Empty(t, ferrs)
				return
			}
			require.NotEmpty(t, ferrs, "want a frame error containing %q", tt.wantReason)
			assert.Contains(t, ferrs[0].Reason, tt.wantReason)
			assert.ErrorIs(t, ferrs[0], ErrFrame)
		})
	}
}

func TestDecoderReportsGap(t *testing.T) {
	lines := strings.SplitAfter(string(encodeAll(t, sample()...)), "\n")
	evs, ferrs := decodeAll(t, strings.NewReader(lines[0]+lines[2]))
	require.Empty(t, ferrs)
	require.Len(t, evs, 2)
	assert.Equal(t, uint64(1), evs[1].Lost, "one frame lost before the done event")
}

func FuzzDecoder(f *testing.F) {
	good := encodeAll(&testing.T{}, sample()...)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("BPFM1 1 00000000 {}\n"))
	f.Add([]byte("BPFM1 18446744073709551615 ffffffff {\"seq\":1}\n\n\r\n"))
	f.Add([]byte("\x00\xffBPFM1 BPFM1 1 1 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := NewDecoder(bytes.NewReader(data))
		var last uint64
		for i := 0; i <= len(data)+1; i++ {
			ev, err := dec.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrFrame) {
					t.Fatalf("Next() = %v, want EOF or a frame error", err)
				}
				continue
			}
			if ev.Seq <= last {
				t.Fatalf("delivered seq %d after %d", ev.Seq, last)
			}
			last = ev.Seq
			if err := ev.validate(); err != nil {
				t.Fatalf("delivered invalid event: %v", err)
			}
		}
		t.Fatalf("decoder did not reach EOF after %d calls", len(data)+2)
	})
}

func TestOutputAndExitRoundTrip(t *testing.T) {
	raw := []byte("\x16=== RUN   TestX\n\xff\x00binary")
	evs, ferrs := decodeAll(t, bytes.NewReader(encodeAll(t,
		Event{Type: TypeOutput, Output: &Output{Stream: Stdout, Data: raw}},
		Event{Type: TypeExit, Exit: &Exit{Code: 3}},
	)))
	require.Empty(t, ferrs)
	require.Len(t, evs, 2)
	assert.Equal(t, raw, evs[0].Output.Data, "bytes survive exactly")
	assert.Equal(t, 3, evs[1].Exit.Code)

	_, ferrs = decodeAll(t, bytes.NewReader(AppendFrame(nil, 1, []byte(`{"seq":1,"type":"output","output":{"stream":"stdin"}}`))))
	require.Len(t, ferrs, 1)
	assert.Contains(t, ferrs[0].Reason, "without its payload")
}
