// Package kprobe is the in-guest suite for kprobes.
package kprobe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// TestKprobeVfsWrite attaches a kprobe to vfs_write, writes a buffer whose
// size and content the test chose, and checks that the event carries this
// process's pid, that size and the first bytes of the buffer.
func TestKprobeVfsWrite(t *testing.T) {
	testutil.RequireGuest(t)

	// An odd size no other writer in the guest is likely to use, different
	// on every run.
	count := uint64(40_000 + 2*rand.IntN(10_000) + 1)
	payload := make([]byte, count)
	copy(payload, "bpfmatrix-kprobe")
	for i := 16; i < len(payload); i++ {
		payload[i] = byte(i)
	}

	spec, err := bpf.LoadKprobe()
	require.NoError(t, err)
	require.NoError(t, spec.Variables[bpf.KprobeVarTargetCount].Set(count))
	var objs bpf.KprobeObjects
	require.NoError(t, spec.LoadAndAssign(&objs, nil))
	t.Cleanup(func() { objs.Close() })

	l, err := link.Kprobe("vfs_write", objs.KprobeVfsWrite, nil)
	require.NoError(t, err, "link.Kprobe(vfs_write)")
	t.Cleanup(func() { l.Close() })

	rd, err := ringbuf.NewReader(objs.WriteEvents)
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })

	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	n, err := f.Write(payload)
	require.NoError(t, err)
	require.Equal(t, int(count), n)
	require.NoError(t, f.Close())

	ev := readOwnEvent(t, rd, uint32(os.Getpid()))
	assert.Equal(t, uint32(os.Getpid()), ev.Tgid, "event pid")
	assert.Equal(t, count, ev.Count, "event byte count")
	assert.Equal(t, payload[:16], ev.Data[:], "first bytes of the written buffer")
	assert.Equal(t, "kprobe.test", cString(ev.Comm[:]), "event comm")
}

// readOwnEvent returns the first event from pid, failing after 5 s. Events
// from other processes that happened to write the same size are logged and
// skipped.
func readOwnEvent(t *testing.T, rd *ringbuf.Reader, pid uint32) bpf.KprobeWriteEvent {
	t.Helper()
	rd.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("no vfs_write event from pid %d within 5s", pid)
		}
		require.NoError(t, err)
		var ev bpf.KprobeWriteEvent
		require.NoError(t, binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &ev))
		if ev.Tgid == pid {
			return ev
		}
		t.Logf("skipping a write of the same size by pid %d (%s)", ev.Tgid, cString(ev.Comm[:]))
	}
}

func cString(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
