// Package xdp is the in-guest suite for XDP programs, attached in generic
// (skb) mode and in native (driver) mode to one end of a veth pair
// (tests/internal/veth). Each test sends UDP datagrams across the pair,
// some starting with a drop marker chosen for the run, and checks that
// exactly the others arrive, byte for byte, that the program's counters
// agree, and that the kernel reports the program attached in the mode the
// test asked for.
package xdp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/internal/veth"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.XDP.
var Suite = suite.For(facts.XDP, TestXDPGeneric, TestXDPNative)

const family = "xdp"

// Datagrams sent per test: nPass without the marker, nDrop with it.
const (
	nPass = 7
	nDrop = 5
)

// Indexes of the program's counters map (enum xdp_counter in bpf/xdp.c).
const (
	counterSeen uint32 = iota
	counterPassed
	counterDropped
)

// TestXDPGeneric attaches in generic mode: the program runs on the skb in
// the core receive path, for any driver.
func TestXDPGeneric(t *testing.T) {
	testXDP(t, "generic", link.XDPGenericMode, nl.XDP_ATTACHED_SKB)
}

// TestXDPNative attaches in native mode: veth runs the program in its own
// receive path (veth_xdp_rcv_skb, from its NAPI poll). Native XDP on a
// veth that receives ordinary skbs from its peer (veth_xmit) needs only the
// program on the receiving end, on every kernel of the matrix (veth gained
// ndo_bpf in 4.19); a peer program or GRO is only needed for frames
// XDP_REDIRECTed into a veth (ndo_xdp_xmit), which this test does not do.
func TestXDPNative(t *testing.T) {
	testXDP(t, "native", link.XDPDriverMode, nl.XDP_ATTACHED_DRV)
}

// testXDP attaches the program to the host end of a veth pair in mode, sends
// the run's datagrams from the peer and checks what arrived and the
// counters; wantAttach is the IFLA_XDP_ATTACHED value the kernel must
// report for that mode.
func testXDP(t *testing.T, mode string, flags link.XDPAttachFlags, wantAttach uint32) {
	testutil.RequireGuest(t)
	hook := "xdp " + mode
	pair := veth.New(t)
	recv := pair.Listen(t)
	raddr := recv.LocalAddr().(*net.UDPAddr)
	send := pair.DialFromPeer(t, raddr)

	var marker, nonce [8]byte
	rand.Read(marker[:])
	marker[0] = 'D' // never 'P', which starts every datagram to pass
	rand.Read(nonce[:])
	var pass, order [][]byte
	drops := 0
	for i := range nPass + nDrop {
		if i%2 == 1 && drops < nDrop || len(pass) == nPass {
			order = append(order, fmt.Appendf(marker[:8:8], "-drop-%d-%x", i, nonce))
			drops++
		} else {
			pl := fmt.Appendf(nil, "PASS-%02d-%x-bpfmatrix-xdp-%s", i, nonce, mode)
			pass = append(pass, pl)
			order = append(order, pl)
		}
	}

	objs := new(bpf.XdpObjects)
	testutil.Load(t, bpf.LoadXdp, map[string]any{
		bpf.XdpVarDropMarker: binary.LittleEndian.Uint64(marker[:]),
		bpf.XdpVarDstPort:    uint16(raddr.Port),
	}, objs)

	l, err := link.AttachXDP(link.XDPOptions{
		Program:   objs.XdpFilter,
		Interface: pair.Host.Attrs().Index,
		Flags:     flags,
	})
	// EOPNOTSUPP is what dev_xdp_attach answers when the driver has no
	// native XDP (no ndo_bpf) for driver mode.
	testutil.Unsupported(t, hook, err, unix.EOPNOTSUPP)
	t.Cleanup(func() { l.Close() })

	// The kernel's own view of the device: our program, in the mode asked.
	dev, err := netlink.LinkByIndex(pair.Host.Attrs().Index)
	require.NoError(t, err)
	xdp := dev.Attrs().Xdp
	require.NotNil(t, xdp, "IFLA_XDP of %s", dev.Attrs().Name)
	info, err := objs.XdpFilter.Info()
	require.NoError(t, err)
	id, _ := info.ID()
	assert.Equal(t, uint32(id), xdp.ProgId, "program id attached to %s", dev.Attrs().Name)
	assert.Equal(t, wantAttach, xdp.AttachMode, "IFLA_XDP_ATTACHED mode of %s", dev.Attrs().Name)

	got := veth.Exchange(t, send, recv, order, len(pass), 10*time.Second)
	assert.Equal(t, testutil.Want(family, pass, order), got, "datagrams the receiver got: exactly the pass payloads, in order")
	for _, c := range []struct {
		name string
		idx  uint32
		want uint64
	}{
		{"seen", counterSeen, nPass + nDrop},
		{"passed", counterPassed, nPass},
		{"dropped", counterDropped, nDrop},
	} {
		var v uint64
		require.NoError(t, objs.Counters.Lookup(c.idx, &v))
		assert.Equal(t, testutil.Want(family, c.want, c.want+1), v, "counter %q", c.name)
	}
	if t.Failed() {
		return
	}
	testutil.Report(t, hook, fmt.Sprintf("xdp %s, %s", mode, testutil.LinkMechanism(l)), len(got)+3)
}
