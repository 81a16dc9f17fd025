// Package socket is the in-guest suite for socket filters: a
// BPF_PROG_TYPE_SOCKET_FILTER program attached to a UDP socket with
// SO_ATTACH_BPF decides, by a payload marker the test chose, which
// datagrams the socket receives.
package socket

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.Socket.
var Suite = suite.For(facts.Socket, TestSocketFilter)

const (
	family    = "socket"
	markerLen = 8
	timeout   = 5 * time.Second
)

// Indexes of the program's counters map (enum verdict_counter in socket.c).
const (
	countKept uint32 = iota
	countDropped
	countOther
)

// marker returns 8 random bytes that differ from avoid.
func marker(t *testing.T, avoid []byte) []byte {
	t.Helper()
	for {
		m := make([]byte, markerLen)
		_, err := rand.Read(m)
		require.NoError(t, err)
		if !slices.Equal(m, avoid) {
			return m
		}
	}
}

// payloads returns n datagrams that start with marker and carry their
// index and a random tail.
func payloads(t *testing.T, marker []byte, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		tail := make([]byte, 8+mrand.IntN(32))
		_, err := rand.Read(tail)
		require.NoError(t, err)
		out[i] = fmt.Appendf(slices.Clone(marker), "#%d:%x", i, tail)
	}
	return out
}

// attach attaches prog to conn's socket with SO_ATTACH_BPF.
func attach(conn *net.UDPConn, progFD int) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_BPF, progFD)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt(SO_ATTACH_BPF): %w", serr)
	}
	return nil
}

// counter reads one of the program's verdict counters.
func counter(t *testing.T, objs *bpf.SocketObjects, which uint32) uint64 {
	t.Helper()
	var v uint64
	require.NoError(t, objs.Counters.Lookup(which, &v))
	return v
}

// TestSocketFilter sends datagrams marked "keep" and "drop" (markers and
// counts chosen per run) to a filtered UDP socket, and checks that the
// socket received exactly the keep datagrams, byte for byte, and that the
// program counted every datagram of each kind.
func TestSocketFilter(t *testing.T) {
	testutil.RequireGuest(t)
	testutil.LoopbackUp(t)

	keepMarker := marker(t, nil)
	dropMarker := marker(t, keepMarker)
	nKeep, nDrop := 3+mrand.IntN(6), 3+mrand.IntN(6)
	keep, drop := payloads(t, keepMarker, nKeep), payloads(t, dropMarker, nDrop)

	objs := new(bpf.SocketObjects)
	testutil.Load(t, bpf.LoadSocket, map[string]any{
		bpf.SocketVarKeepMarker: [markerLen]byte(keepMarker),
		bpf.SocketVarDropMarker: [markerLen]byte(dropMarker),
	}, objs)

	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { rx.Close() })
	testutil.Unsupported(t, "socket_filter", attach(rx, objs.SocketMarkerFilter.FD()))

	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { tx.Close() })

	// Interleave the two kinds in a random order.
	all := append(slices.Clone(keep), drop...)
	mrand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, p := range all {
		_, err := tx.Write(p)
		require.NoError(t, err, "send")
	}

	// Receive until the keep datagrams are in; a drop datagram is an error.
	var got [][]byte
	buf := make([]byte, 512)
	require.NoError(t, rx.SetReadDeadline(time.Now().Add(timeout)))
	for len(got) < nKeep {
		n, err := rx.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		require.NoError(t, err, "receive")
		got = append(got, slices.Clone(buf[:n]))
	}

	// Wait until the program has seen every datagram, then make sure no
	// further datagram is queued on the socket.
	deadline := time.Now().Add(timeout)
	for counter(t, objs, countKept)+counter(t, objs, countDropped) < uint64(nKeep+nDrop) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, rx.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	for {
		n, err := rx.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		require.NoError(t, err, "receive")
		got = append(got, slices.Clone(buf[:n]))
	}

	slices.SortFunc(got, compareBytes)
	want := slices.Clone(keep)
	slices.SortFunc(want, compareBytes)
	wrong := append(slices.Clone(want), drop[0])
	assert.Equal(t, testutil.Want(family, want, wrong), got, "datagrams the socket received")
	for _, p := range got {
		assert.Falsef(t, slices.Equal(p[:markerLen], dropMarker), "received a datagram marked drop: %q", p)
	}
	assert.Equal(t, testutil.Want(family, uint64(nKeep), uint64(nKeep+1)), counter(t, objs, countKept), "kept counter")
	assert.Equal(t, testutil.Want(family, uint64(nDrop), uint64(nDrop-1)), counter(t, objs, countDropped), "dropped counter")
	assert.Zero(t, counter(t, objs, countOther), "datagrams with neither marker")
	if !t.Failed() {
		testutil.Report(t, "socket_filter", "SO_ATTACH_BPF", nKeep+nDrop)
	}
}

// compareBytes orders byte slices for sorting.
func compareBytes(a, b []byte) int { return slices.Compare(a, b) }
