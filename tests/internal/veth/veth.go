// Package veth builds the small network the tc and xdp suites send packets
// through: a veth pair whose "host" end stays in the test's (root) network
// namespace, where the hooks under test attach, and whose "peer" end lives
// in a network namespace created for the test. Both ends get an address in
// a private /24 (10.199.X.0/24, X random per pair) and are brought up. The
// tests send UDP datagrams from a socket in the peer namespace to a socket
// bound to the host end's address, so every datagram enters the host end
// from the wire side (tc ingress, XDP) before local delivery.
//
// Everything New creates is removed in t.Cleanup: the host end (deleting
// one end of a veth pair deletes both) and the namespace's handle.
package veth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Pair is a veth pair between the root namespace and a test namespace.
type Pair struct {
	// Host is the end in the root namespace.
	Host netlink.Link
	// HostAddr and PeerAddr are the IPv4 addresses of the two ends.
	HostAddr, PeerAddr net.IP
	// PeerNS is the namespace holding the peer end.
	PeerNS netns.NsHandle
}

// New creates a veth pair, moves its peer end into a new network namespace,
// addresses and brings up both ends, and registers their removal with
// t.Cleanup. It fails t if any step fails.
func New(t testing.TB) *Pair {
	t.Helper()
	suffix := rand.IntN(1 << 20)
	hostName := fmt.Sprintf("bmxh%05x", suffix)
	peerName := fmt.Sprintf("bmxp%05x", suffix)
	subnet := 1 + rand.IntN(254)
	p := &Pair{
		HostAddr: net.IPv4(10, 199, byte(subnet), 1).To4(),
		PeerAddr: net.IPv4(10, 199, byte(subnet), 2).To4(),
	}

	ns, err := newNS()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	p.PeerNS = ns
	t.Cleanup(func() { ns.Close() })

	// Bring up lo in the root namespace too: the guest may start with it
	// down, and local delivery does not need it, but a test binding to it
	// should not be surprised.
	if lo, err := netlink.LinkByName("lo"); err == nil {
		_ = netlink.LinkSetUp(lo)
	}

	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostName},
		PeerName:      peerName,
		PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth pair %s/%s: %v", hostName, peerName, err)
	}
	host, err := netlink.LinkByName(hostName)
	if err != nil {
		t.Fatalf("find %s: %v", hostName, err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(host); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Logf("delete %s: %v", hostName, err)
		}
	})
	p.Host = host

	nh, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatalf("netlink handle in the peer namespace: %v", err)
	}
	defer nh.Close()
	peer, err := nh.LinkByName(peerName)
	if err != nil {
		t.Fatalf("find %s in the peer namespace: %v", peerName, err)
	}

	for _, end := range []struct {
		h    *netlink.Handle
		link netlink.Link
		addr net.IP
	}{
		{&netlink.Handle{}, host, p.HostAddr}, // the zero Handle works in the caller's namespace
		{nh, peer, p.PeerAddr},
	} {
		h := end.h
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: end.addr, Mask: net.CIDRMask(24, 32)}}
		if err := h.AddrAdd(end.link, addr); err != nil {
			t.Fatalf("add %s to %s: %v", addr, end.link.Attrs().Name, err)
		}
		if err := h.LinkSetUp(end.link); err != nil {
			t.Fatalf("bring up %s: %v", end.link.Attrs().Name, err)
		}
	}
	// Static neighbour entries on both ends: no ARP exchange delays or
	// queues the first datagrams.
	if err := p.waitUp(t, nh, peerName); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitUp waits (bounded) until both ends can carry traffic, then installs
// permanent neighbour entries for each other's addresses.
//
// It does not wait for the operational state: the kernel's link watcher
// publishes it, and before 6.x it took about a second on the first pair of
// a boot. What transmission needs is the device up, its carrier on and its
// root qdisc activated (it is "noop", dropping everything, until then). The
// end that came up first got its carrier from its peer and waits for the
// link watcher to activate its qdisc; bringing it down and up again
// activates it at once, since its carrier is now on.
func (p *Pair) waitUp(t testing.TB, nh *netlink.Handle, peerName string) error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	bounced := false
	for {
		host, err1 := netlink.LinkByIndex(p.Host.Attrs().Index)
		peer, err2 := nh.LinkByName(peerName)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("look up veth ends: %w", err)
		}
		hostReady, err1 := canTransmit(&netlink.Handle{}, host)
		peerReady, err2 := canTransmit(nh, peer)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("veth qdiscs: %w", err)
		}
		if !hostReady && peerReady && !bounced && carrierOn(host) {
			bounced = true
			if err := errors.Join(netlink.LinkSetDown(host), netlink.LinkSetUp(host)); err != nil {
				return fmt.Errorf("bring %s down and up: %w", host.Attrs().Name, err)
			}
			continue
		}
		if hostReady && peerReady {
			p.Host = host
			return errors.Join(
				netlink.NeighAdd(&netlink.Neigh{LinkIndex: host.Attrs().Index, State: netlink.NUD_PERMANENT,
					IP: p.PeerAddr, HardwareAddr: peer.Attrs().HardwareAddr}),
				nh.NeighAdd(&netlink.Neigh{LinkIndex: peer.Attrs().Index, State: netlink.NUD_PERMANENT,
					IP: p.HostAddr, HardwareAddr: host.Attrs().HardwareAddr}),
			)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth ends not ready to transmit after 5s: %s is %s (flags %#x), %s is %s (flags %#x)",
				host.Attrs().Name, host.Attrs().OperState, host.Attrs().RawFlags, peer.Attrs().Name, peer.Attrs().OperState, peer.Attrs().RawFlags)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// carrierOn reports whether l is up with its carrier on.
func carrierOn(l netlink.Link) bool {
	f := l.Attrs().RawFlags
	return f&unix.IFF_UP != 0 && f&unix.IFF_LOWER_UP != 0
}

// canTransmit reports whether l is up, has carrier and has an activated
// root qdisc (not the "noop" qdisc a device has until then).
func canTransmit(h *netlink.Handle, l netlink.Link) (bool, error) {
	if !carrierOn(l) {
		return false, nil
	}
	qs, err := h.QdiscList(l)
	if err != nil {
		return false, err
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_ROOT && q.Type() == "noop" {
			return false, nil
		}
	}
	return true, nil
}

// newNS creates a network namespace and returns a handle to it, leaving
// the calling thread in the namespace it was in.
func newNS() (netns.NsHandle, error) {
	var ns netns.NsHandle
	err := inNS(func() error {
		var err error
		ns, err = netns.New() // unshare(CLONE_NEWNET): switches this thread
		return err
	})
	return ns, err
}

// inNS runs f on a locked OS thread and afterwards moves that thread back
// to the namespace it started in. If f or anything else left the thread in
// another namespace that cannot be undone, the thread stays locked so that
// the Go runtime discards it when the goroutine ends.
func inNS(f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	ferr := f()
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("return to the original network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Do runs f with the calling goroutine's thread in the peer namespace; the
// sockets f creates belong to that namespace for their whole life.
func (p *Pair) Do(f func() error) error {
	return inNS(func() error {
		if err := netns.Set(p.PeerNS); err != nil {
			return fmt.Errorf("enter the peer namespace: %w", err)
		}
		return f()
	})
}

// Listen binds a UDP socket to the host end's address on a free port, in
// the root namespace, and closes it in t.Cleanup.
func (p *Pair) Listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: p.HostAddr})
	if err != nil {
		t.Fatalf("listen on %s: %v", p.HostAddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialFromPeer creates a UDP socket in the peer namespace connected to
// raddr, and closes it in t.Cleanup.
func (p *Pair) DialFromPeer(t testing.TB, raddr *net.UDPAddr) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := p.Do(func() error {
		var err error
		c, err = net.DialUDP("udp4", &net.UDPAddr{IP: p.PeerAddr}, raddr)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from the peer namespace: %v", raddr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Exchange sends each payload as one datagram on from, in order, and
// returns every datagram to receives until it holds want datagrams and
// then a further quiet period passes without another one (so that a
// datagram that should not have arrived has had its chance), or until
// timeout. It never blocks longer than timeout plus the quiet period.
func Exchange(t testing.TB, from, to *net.UDPConn, payloads [][]byte, want int, timeout time.Duration) [][]byte {
	t.Helper()
	for i, pl := range payloads {
		if _, err := from.Write(pl); err != nil {
			t.Fatalf("send datagram %d: %v", i, err)
		}
	}
	const quiet = 250 * time.Millisecond
	var got [][]byte
	buf := make([]byte, 65536)
	deadline := time.Now().Add(timeout)
	for {
		d := deadline
		if len(got) >= want {
			d = time.Now().Add(quiet)
		}
		if err := to.SetReadDeadline(d); err != nil {
			t.Fatalf("set read deadline: %v", err)
		}
		n, err := to.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		got = append(got, slices.Clone(buf[:n]))
	}
}
