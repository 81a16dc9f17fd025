// Package transport is the in-guest suite for the two ways a BPF program
// hands events to user space: a BPF ring buffer and a perf event array.
// One tracepoint program sends the same event through both; each test
// checks its own channel's content and that both copies are byte-identical.
package transport

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.Transport.
var Suite = suite.For(facts.Transport, TestRingbuf, TestPerfEventArray)

const (
	family  = "transport"
	timeout = 5 * time.Second
)

// eventSize is the size of struct transport_event as the program sends it.
var eventSize = binary.Size(bpf.TransportTransportEvent{})

// sent is what the test wrote, the values each event must carry.
type sent struct {
	nonce   uint64
	count   uint64
	payload []byte // the 48 bytes after the nonce
}

// delivered holds the raw bytes of the test's event from each channel.
type delivered struct {
	ring, perf []byte
	mechanism  string // how the tracepoint program is attached
}

// decode parses a raw record into an event; it rejects records shorter
// than the event.
func decode(raw []byte) (bpf.TransportTransportEvent, error) {
	var ev bpf.TransportTransportEvent
	if len(raw) < eventSize {
		return ev, fmt.Errorf("%d-byte record, want at least %d", len(raw), eventSize)
	}
	err := binary.Read(bytes.NewReader(raw[:eventSize]), binary.NativeEndian, &ev)
	return ev, err
}

// ours reports whether a record is this process's event.
func ours(raw []byte) bool {
	ev, err := decode(raw)
	return err == nil && ev.Tgid == uint32(os.Getpid())
}

// readRing returns the raw bytes of this process's first ring buffer
// record, failing t if none arrives within the timeout.
func readRing(t *testing.T, rd *ringbuf.Reader) []byte {
	t.Helper()
	rd.SetDeadline(time.Now().Add(timeout))
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("ringbuf: no event of this process within %s", timeout)
		}
		require.NoError(t, err, "ringbuf read")
		if ours(rec.RawSample) {
			return rec.RawSample
		}
	}
}

// readPerf returns the raw bytes of this process's first perf event array
// sample, failing t if none arrives within the timeout or samples were
// lost.
func readPerf(t *testing.T, rd *perf.Reader) []byte {
	t.Helper()
	rd.SetDeadline(time.Now().Add(timeout))
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("perf: no event of this process within %s", timeout)
		}
		require.NoError(t, err, "perf read")
		require.Zero(t, rec.LostSamples, "perf: samples lost on CPU %d", rec.CPU)
		if ours(rec.RawSample) {
			return rec.RawSample
		}
	}
}

// emit loads the program with a write size chosen for this run, attaches
// it to syscalls/sys_enter_write, writes a buffer starting with a random
// nonce and payload, and collects the event from both channels.
func emit(t *testing.T) (sent, delivered) {
	t.Helper()
	testutil.RequireGuest(t)
	count := testutil.OddCount()
	objs := new(bpf.TransportObjects)
	testutil.Load(t, bpf.LoadTransport, map[string]any{bpf.TransportVarTargetCount: count}, objs)

	ringRd, err := ringbuf.NewReader(objs.RingEvents)
	require.NoError(t, err)
	t.Cleanup(func() { ringRd.Close() })
	perfRd, err := perf.NewReader(objs.PerfEvents, os.Getpagesize())
	require.NoError(t, err)
	t.Cleanup(func() { perfRd.Close() })

	l, err := link.Tracepoint("syscalls", "sys_enter_write", objs.TransportSysEnterWrite, nil)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })

	buf := make([]byte, count)
	_, _ = rand.Read(buf[:8+48])
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	n, err := f.Write(buf)
	require.NoError(t, err)
	require.Equal(t, int(count), n)

	s := sent{nonce: binary.NativeEndian.Uint64(buf), count: count, payload: buf[8 : 8+48]}
	d := delivered{ring: readRing(t, ringRd), perf: readPerf(t, perfRd), mechanism: testutil.LinkMechanism(l)}
	return s, d
}

// check verifies one channel's copy of the event and that it is
// byte-identical to the other channel's. The ring buffer record is exactly
// the event; a perf sample may carry up to 7 bytes of trailing padding (the
// kernel aligns size field plus data to 8 bytes and skips the padding
// without clearing it, so its content is not checked).
func check(t *testing.T, hook string, s sent, mine, other []byte, mechanism string) {
	t.Helper()
	require.GreaterOrEqual(t, len(mine), eventSize, "%s record size", hook)
	require.GreaterOrEqual(t, len(other), eventSize, "other channel's record size")
	assert.Less(t, len(mine)-eventSize, 8, "%s record: trailing bytes beyond alignment padding", hook)
	assert.Equal(t, other[:eventSize], mine[:eventSize], "ring buffer and perf event array copies differ")

	ev, err := decode(mine)
	require.NoError(t, err)
	assert.Equal(t, testutil.Want(family, uint32(os.Getpid()), uint32(os.Getpid())+1), ev.Tgid, "pid")
	assert.Equal(t, testutil.Want(family, s.nonce, s.nonce^1), ev.Nonce, "nonce")
	assert.Equal(t, testutil.Want(family, s.count, s.count+2), ev.Count, "write count argument")
	assert.Equal(t, testutil.Want(family, s.payload, append([]byte{s.payload[0] ^ 1}, s.payload[1:]...)), ev.Payload[:], "payload")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	// The thread id must be one of this process's threads.
	_, err = os.Stat("/proc/self/task/" + strconv.FormatUint(uint64(ev.Pid), 10))
	assert.NoError(t, err, "event thread %d belongs to this process", ev.Pid)
	if !t.Failed() {
		testutil.Report(t, hook, mechanism, 1)
	}
}

// TestRingbuf checks the event as it came through the BPF ring buffer
// (bpf_ringbuf_output), against what was written and the perf copy.
func TestRingbuf(t *testing.T) {
	s, d := emit(t)
	check(t, "ringbuf", s, d.ring, d.perf, "bpf_ringbuf_output from tracepoint, "+d.mechanism)
}

// TestPerfEventArray checks the event as it came through the perf event
// array (bpf_perf_event_output, BPF_F_CURRENT_CPU), against what was
// written and the ring buffer copy.
func TestPerfEventArray(t *testing.T) {
	s, d := emit(t)
	check(t, "perf_event_array", s, d.perf, d.ring, "bpf_perf_event_output from tracepoint, "+d.mechanism)
}
