// Package cgroup is the in-guest suite for cgroup BPF programs: cgroup_skb
// egress and ingress filters and a cgroup/connect4 sock_addr program,
// attached to a cgroup v2 directory that the test process moves itself
// into, so that they act on the test's own sockets.
package cgroup

import (
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
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
// facts.Cgroup.
var Suite = suite.For(facts.Cgroup, TestCgroupSKBEgress, TestCgroupSKBIngress, TestCgroupConnect4)

const (
	family     = "cgroup"
	cgroupRoot = "/sys/fs/cgroup/unified"
	markerLen  = 8
	timeout    = 5 * time.Second
)

// Indexes of the program's counters map (enum cgroup_counter in cgroup.c).
const (
	egressDropped uint32 = iota
	egressPassed
	ingressDropped
	ingressPassed
	connectDenied
	connectRewritten
	connectAllowed
)

// currentCgroup returns the cgroup v2 directory of this process.
func currentCgroup(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(cgroupRoot, rest)
		}
	}
	t.Fatalf("no cgroup v2 line in /proc/self/cgroup:\n%s", b)
	return ""
}

// enterCgroup creates a new cgroup v2 directory, moves this process into it
// and returns its path. Cleanup moves the process back and removes the
// directory. Sockets must be created after the move: a socket belongs to
// the cgroup its creator was in.
func enterCgroup(t *testing.T) string {
	t.Helper()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(cgroupRoot, &st))
	require.Equal(t, int64(unix.CGROUP2_SUPER_MAGIC), int64(st.Type), "%s is not cgroup2", cgroupRoot)

	orig := currentCgroup(t)
	dir := filepath.Join(cgroupRoot, fmt.Sprintf("bpfmatrix-%s-%d", family, mrand.Uint32()))
	require.NoError(t, os.Mkdir(dir, 0o755))
	pid := []byte(strconv.Itoa(os.Getpid()))
	t.Cleanup(func() {
		if err := os.WriteFile(filepath.Join(orig, "cgroup.procs"), pid, 0); err != nil {
			t.Errorf("move back to %s: %v", orig, err)
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0))
	require.Equal(t, dir, currentCgroup(t), "cgroup after the move")
	return dir
}

// load loads the cgroup objects with the given constants (variable name to
// value) set; programs that a test does not attach stay unattached.
func load(t *testing.T, consts map[string]any) *bpf.CgroupObjects {
	t.Helper()
	objs := new(bpf.CgroupObjects)
	testutil.Load(t, bpf.LoadCgroup, consts, objs)
	return objs
}

// attach attaches prog to the cgroup dir and returns how: the bpf_link
// type, or "prog_attach" when cilium/ebpf fell back to BPF_PROG_ATTACH.
func attach(t *testing.T, hook, dir string, typ ebpf.AttachType, prog *ebpf.Program) string {
	t.Helper()
	l, err := link.AttachCgroup(link.CgroupOptions{Path: dir, Attach: typ, Program: prog})
	testutil.Unsupported(t, hook, err)
	t.Cleanup(func() { l.Close() })
	if _, err := l.Info(); errors.Is(err, ebpf.ErrNotSupported) {
		return "prog_attach"
	}
	return testutil.LinkMechanism(l)
}

// counter reads one of the program's counters.
func counter(t *testing.T, objs *bpf.CgroupObjects, which uint32) uint64 {
	t.Helper()
	var v uint64
	require.NoError(t, objs.Counters.Lookup(which, &v))
	return v
}

// listenUDP opens a UDP socket on a free loopback port.
func listenUDP(t *testing.T) (*net.UDPConn, uint16) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

// payload returns a datagram starting with prefix, with its index and a
// random tail.
func payload(t *testing.T, prefix []byte, i int) []byte {
	t.Helper()
	tail := make([]byte, 8)
	_, err := rand.Read(tail)
	require.NoError(t, err)
	return fmt.Appendf(slices.Clone(prefix), "#%d:%x", i, tail)
}

// receiveAll reads datagrams from c until none arrives for quiet, or the
// overall timeout passes. Loopback delivers a datagram within the sender's
// sendto, so a short quiet period only guards against stragglers; the
// program's counters check the drops independently.
func receiveAll(t *testing.T, c *net.UDPConn, quiet time.Duration) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 512)
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(quiet)))
		n, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		require.NoError(t, err, "receive")
		got = append(got, slices.Clone(buf[:n]))
	}
	return got
}

// sortBytes returns a sorted copy of datagrams.
func sortBytes(d [][]byte) [][]byte {
	d = slices.Clone(d)
	slices.SortFunc(d, func(a, b []byte) int { return slices.Compare(a, b) })
	return d
}

// TestCgroupSKBEgress drops, on cgroup egress, the UDP datagrams the test
// sends to one of its two sockets (port chosen per run): each such send
// fails with EPERM, which is what the kernel returns for a datagram an
// egress program drops, and the socket receives nothing, while datagrams
// to the other socket arrive intact.
func TestCgroupSKBEgress(t *testing.T) {
	testutil.RequireGuest(t)
	testutil.LoopbackUp(t)
	dir := enterCgroup(t)
	// Bind both receivers first: the dropped port must be known at load.
	dropRx, dropPort := listenUDP(t)
	passRx, passPort := listenUDP(t)
	objs := load(t, map[string]any{bpf.CgroupVarEgressDropPort: dropPort})
	mech := attach(t, "cgroup_skb/egress", dir, ebpf.AttachCGroupInetEgress, objs.CgroupSkbEgress)

	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { tx.Close() })
	nDrop, nPass := 2+mrand.IntN(4), 2+mrand.IntN(4)
	var passed [][]byte
	for i := range nDrop {
		_, err := tx.WriteToUDP(payload(t, []byte("drop"), i), dropRx.LocalAddr().(*net.UDPAddr))
		assert.ErrorIs(t, err, testutil.Want[error](family, unix.EPERM, nil), "send %d to the dropped port %d", i, dropPort)
	}
	for i := range nPass {
		p := payload(t, []byte("pass"), i)
		_, err := tx.WriteToUDP(p, passRx.LocalAddr().(*net.UDPAddr))
		require.NoError(t, err, "send %d to port %d", i, passPort)
		passed = append(passed, p)
	}

	assert.Empty(t, receiveAll(t, dropRx, 300*time.Millisecond), "datagrams that reached the dropped port")
	got := receiveAll(t, passRx, 300*time.Millisecond)
	assert.Equal(t, testutil.Want(family, sortBytes(passed), sortBytes(passed[1:])), sortBytes(got), "datagrams that reached port %d", passPort)
	assert.Equal(t, testutil.Want(family, uint64(nDrop), uint64(nDrop+1)), counter(t, objs, egressDropped), "dropped counter")
	assert.Equal(t, testutil.Want(family, uint64(nPass), uint64(nPass-1)), counter(t, objs, egressPassed), "passed counter")
	if !t.Failed() {
		testutil.Report(t, "cgroup_skb/egress", mech, nDrop+nPass)
	}
}

// TestCgroupSKBIngress drops, on cgroup ingress, the datagrams to the
// test's socket that start with a marker chosen per run: their sends
// succeed (ingress drops are silent to the sender) but only the unmarked
// datagrams reach the socket.
func TestCgroupSKBIngress(t *testing.T) {
	testutil.RequireGuest(t)
	testutil.LoopbackUp(t)
	dir := enterCgroup(t)
	rx, port := listenUDP(t)
	marker := make([]byte, markerLen)
	_, err := rand.Read(marker)
	require.NoError(t, err)
	objs := load(t, map[string]any{
		bpf.CgroupVarIngressPort:       port,
		bpf.CgroupVarIngressDropMarker: [markerLen]byte(marker),
	})
	mech := attach(t, "cgroup_skb/ingress", dir, ebpf.AttachCGroupInetIngress, objs.CgroupSkbIngress)

	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	require.NoError(t, err)
	t.Cleanup(func() { tx.Close() })
	nMarked, nPlain := 2+mrand.IntN(4), 2+mrand.IntN(4)
	// Interleave marked and plain datagrams in a random order.
	marked := make([]bool, nMarked+nPlain)
	for i := range nMarked {
		marked[i] = true
	}
	mrand.Shuffle(len(marked), func(i, j int) { marked[i], marked[j] = marked[j], marked[i] })
	var plain [][]byte
	for i, m := range marked {
		p := payload(t, marker, i)
		if !m {
			p = payload(t, []byte("unmarked"), i)
			plain = append(plain, p)
		}
		_, err := tx.Write(p)
		require.NoError(t, err, "send %d (ingress drops do not fail the send)", i)
	}

	got := receiveAll(t, rx, 300*time.Millisecond)
	assert.Equal(t, testutil.Want(family, sortBytes(plain), sortBytes(plain[1:])), sortBytes(got), "datagrams that reached the socket")
	assert.Equal(t, testutil.Want(family, uint64(nMarked), uint64(nMarked+1)), counter(t, objs, ingressDropped), "dropped counter")
	assert.Equal(t, testutil.Want(family, uint64(nPlain), uint64(nPlain-1)), counter(t, objs, ingressPassed), "passed counter")
	if !t.Failed() {
		testutil.Report(t, "cgroup_skb/ingress", mech, nMarked+nPlain)
	}
}

// freePort returns a loopback TCP port nothing listens on, other than avoid.
func freePort(t *testing.T, avoid ...uint16) uint16 {
	t.Helper()
	for {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		require.NoError(t, err)
		p := uint16(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		if !slices.Contains(avoid, p) {
			return p
		}
	}
}

// TestCgroupConnect4 attaches a cgroup/connect4 program that denies
// connect() to one port (the caller gets EPERM, not ECONNREFUSED) and
// rewrites connect() to another unused port into the test's listener; a
// direct connect to the listener is left alone. Ports are chosen per run.
func TestCgroupConnect4(t *testing.T) {
	testutil.RequireGuest(t)
	testutil.LoopbackUp(t)
	dir := enterCgroup(t)
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	lnPort := uint16(ln.Addr().(*net.TCPAddr).Port)
	denyPort := freePort(t, lnPort)
	rewritePort := freePort(t, lnPort, denyPort)

	objs := load(t, map[string]any{
		bpf.CgroupVarConnectDenyPort:    denyPort,
		bpf.CgroupVarConnectRewriteFrom: rewritePort,
		bpf.CgroupVarConnectRewriteTo:   lnPort,
	})
	mech := attach(t, "cgroup/connect4", dir, ebpf.AttachCGroupInet4Connect, objs.CgroupConnect4)

	// Accept in the background; each accepted connection reports the
	// nonce its client wrote.
	accepted := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetReadDeadline(time.Now().Add(timeout))
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			accepted <- string(buf[:n])
			c.Close()
		}
	}()
	dialer := net.Dialer{Timeout: timeout}
	dial := func(port uint16, nonce string) (net.Addr, error) {
		c, err := dialer.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if _, err := c.Write([]byte(nonce)); err != nil {
			return nil, err
		}
		return c.RemoteAddr(), nil
	}
	waitAccepted := func(nonce string) {
		t.Helper()
		select {
		case got := <-accepted:
			assert.Equal(t, testutil.Want(family, nonce, nonce+"-wrong"), got, "nonce the listener read")
		case <-time.After(timeout):
			t.Errorf("listener accepted nothing within %s", timeout)
		}
	}

	_, err = dial(denyPort, "denied")
	assert.ErrorIs(t, err, testutil.Want[error](family, unix.EPERM, unix.ECONNREFUSED), "connect to the denied port %d", denyPort)

	nonce := fmt.Sprintf("rewritten-%d", mrand.Uint64())
	peer, err := dial(rewritePort, nonce)
	require.NoError(t, err, "connect to the rewritten port %d", rewritePort)
	assert.Equal(t, testutil.Want(family, int(lnPort), int(rewritePort)), peer.(*net.TCPAddr).Port, "peer port after the rewrite of %d", rewritePort)
	waitAccepted(nonce)

	nonce = fmt.Sprintf("direct-%d", mrand.Uint64())
	peer, err = dial(lnPort, nonce)
	require.NoError(t, err, "connect to the listener's port %d", lnPort)
	assert.Equal(t, int(lnPort), peer.(*net.TCPAddr).Port, "peer port of a direct connect")
	waitAccepted(nonce)

	for _, c := range []struct {
		name  string
		index uint32
	}{{"denied", connectDenied}, {"rewritten", connectRewritten}, {"allowed", connectAllowed}} {
		assert.Equal(t, testutil.Want(family, uint64(1), uint64(2)), counter(t, objs, c.index), "%s counter", c.name)
	}
	if !t.Failed() {
		testutil.Report(t, "cgroup/connect4", mech, 3)
	}
}
