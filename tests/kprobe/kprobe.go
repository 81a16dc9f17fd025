// Package kprobe is the in-guest suite for kprobes and kretprobes.
package kprobe

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
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
// facts.Kprobe.
var Suite = suite.For(facts.Kprobe, TestKprobe, TestKretprobe)

const family = "kprobe"

// setup loads the kprobe objects with a write size chosen for this test
// and returns them with a ring buffer reader.
func setup(t *testing.T) (*bpf.KprobeObjects, *ringbuf.Reader, uint64) {
	t.Helper()
	testutil.RequireGuest(t)
	count := testutil.OddCount()
	objs := new(bpf.KprobeObjects)
	testutil.Load(t, bpf.LoadKprobe, map[string]any{bpf.KprobeVarTargetCount: count}, objs)
	rd, err := ringbuf.NewReader(objs.WriteEvents)
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })
	return objs, rd, count
}

// write writes count bytes starting with a marker to /dev/null.
func write(t *testing.T, count uint64) []byte {
	t.Helper()
	payload := make([]byte, count)
	copy(payload, "bpfmatrix-kprobe")
	for i := 16; i < len(payload); i++ {
		payload[i] = byte(i)
	}
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	n, err := f.Write(payload)
	require.NoError(t, err)
	require.Equal(t, int(count), n)
	return payload
}

// TestKprobe attaches a kprobe to vfs_write, writes a buffer whose size and
// content the test chose, and checks that the event carries this process's
// pid, that size and the first bytes of the buffer.
func TestKprobe(t *testing.T) {
	objs, rd, count := setup(t)
	l, err := link.Kprobe("vfs_write", objs.KprobeVfsWrite, nil)
	testutil.Unsupported(t, "kprobe", err)
	t.Cleanup(func() { l.Close() })

	payload := write(t, count)
	ev := testutil.ReadRingbuf(t, rd, 5*time.Second, func(ev bpf.KprobeWriteEvent) bool {
		return ev.Tgid == uint32(os.Getpid()) && ev.Kind == 1
	})
	assert.Equal(t, testutil.Want(family, count, count+2), ev.Count, "vfs_write count argument")
	assert.Equal(t, payload[:16], ev.Data[:], "first bytes of the written buffer")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	testutil.Report(t, "kprobe", testutil.LinkMechanism(l), 1)
}

// TestKretprobe attaches a kretprobe to vfs_write and checks the return
// value (the bytes written) and pid of the test's own write.
func TestKretprobe(t *testing.T) {
	objs, rd, count := setup(t)
	l, err := link.Kretprobe("vfs_write", objs.KretprobeVfsWrite, nil)
	testutil.Unsupported(t, "kretprobe", err)
	t.Cleanup(func() { l.Close() })

	write(t, count)
	ev := testutil.ReadRingbuf(t, rd, 5*time.Second, func(ev bpf.KprobeWriteEvent) bool {
		return ev.Tgid == uint32(os.Getpid()) && ev.Kind == 2
	})
	assert.Equal(t, testutil.Want(family, int64(count), int64(count)-1), ev.Ret, "vfs_write return value")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	testutil.Report(t, "kretprobe", testutil.LinkMechanism(l), 1)
}
