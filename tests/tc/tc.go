// Package tc is the in-guest suite for tc BPF programs (SCHED_CLS): the
// classic clsact qdisc with a cls_bpf filter in direct-action mode, set up
// over netlink, and tcx links (Linux 6.6+). Each test attaches the program
// to the ingress of a veth end (tests/internal/veth), sends UDP datagrams
// across the pair, some starting with a drop marker chosen for the run,
// and checks that exactly the others arrive, byte for byte, and that the
// program's counters agree.
package tc

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/internal/veth"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.TC.
var Suite = suite.For(facts.TC, TestTCNetlink, TestTCX)

const family = "tc"

// Datagrams sent per test: nPass without the marker, nDrop with it.
const (
	nPass = 7
	nDrop = 5
)

// Indexes of the program's counters map (enum tc_counter in bpf/tc.c).
const (
	counterSeen uint32 = iota
	counterPassed
	counterDropped
)

// env is one test's network, program and traffic.
type env struct {
	pair  *veth.Pair
	objs  *bpf.TcObjects
	recv  *net.UDPConn
	send  *net.UDPConn
	pass  [][]byte // datagrams the program must pass, in sending order
	drop  [][]byte // datagrams the program must drop
	order [][]byte // everything, interleaved, in sending order
}

// setup builds the veth pair and the sockets, draws the run's drop marker
// and payloads, and loads the program with the marker and port.
func setup(t *testing.T) *env {
	t.Helper()
	testutil.RequireGuest(t)
	e := &env{pair: veth.New(t)}
	e.recv = e.pair.Listen(t)
	raddr := e.recv.LocalAddr().(*net.UDPAddr)
	e.send = e.pair.DialFromPeer(t, raddr)

	var marker, nonce [8]byte
	rand.Read(marker[:])
	marker[0] = 'D' // never 'P', which starts every datagram to pass
	rand.Read(nonce[:])
	for i := range nPass + nDrop {
		if i%2 == 1 && len(e.drop) < nDrop || len(e.pass) == nPass {
			pl := fmt.Appendf(marker[:8:8], "-drop-%d-%x", i, nonce)
			e.drop = append(e.drop, pl)
			e.order = append(e.order, pl)
		} else {
			pl := fmt.Appendf(nil, "PASS-%02d-%x-bpfmatrix-tc", i, nonce)
			e.pass = append(e.pass, pl)
			e.order = append(e.order, pl)
		}
	}

	e.objs = new(bpf.TcObjects)
	testutil.Load(t, bpf.LoadTc, map[string]any{
		bpf.TcVarDropMarker: binary.LittleEndian.Uint64(marker[:]),
		bpf.TcVarDstPort:    uint16(raddr.Port),
	}, e.objs)
	return e
}

// run sends the datagrams and checks what arrived and the counters. It
// returns how many events (datagrams and counters) it verified.
func (e *env) run(t *testing.T) int {
	t.Helper()
	got := veth.Exchange(t, e.send, e.recv, e.order, len(e.pass), 10*time.Second)
	assert.Equal(t, testutil.Want(family, e.pass, e.order), got, "datagrams the receiver got: exactly the pass payloads, in order")
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
		require.NoError(t, e.objs.Counters.Lookup(c.idx, &v))
		assert.Equal(t, testutil.Want(family, c.want, c.want+1), v, "counter %q", c.name)
	}
	if t.Failed() {
		t.FailNow()
	}
	return len(got) + 3
}

// TestTCNetlink attaches the program the classic way: a clsact qdisc on
// the host end and a cls_bpf filter in direct-action mode on its ingress,
// both through netlink.
func TestTCNetlink(t *testing.T) {
	e := setup(t)
	ifindex := e.pair.Host.Attrs().Index
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: ifindex,
			Handle:    netlink.MakeHandle(0xffff, 0),
			Parent:    netlink.HANDLE_CLSACT,
		},
		QdiscType: "clsact",
	}
	// clsact (4.5) and direct action (4.4) predate every kernel of the
	// matrix: a refusal here is a failure, not an unsupported hook.
	require.NoError(t, netlink.QdiscAdd(qdisc), "add clsact qdisc")
	t.Cleanup(func() { netlink.QdiscDel(qdisc) })
	filter := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: ifindex,
			Parent:    netlink.HANDLE_MIN_INGRESS,
			Handle:    netlink.MakeHandle(0, 1),
			Protocol:  unix.ETH_P_ALL,
			Priority:  1,
		},
		Fd:           e.objs.TcFilter.FD(),
		Name:         "bpfmatrix-tc",
		DirectAction: true,
	}
	require.NoError(t, netlink.FilterAdd(filter), "add cls_bpf filter")

	// The filter the kernel lists on the ingress hook runs our program.
	filters, err := netlink.FilterList(e.pair.Host, netlink.HANDLE_MIN_INGRESS)
	require.NoError(t, err)
	info, err := e.objs.TcFilter.Info()
	require.NoError(t, err)
	id, _ := info.ID()
	var ids []int
	for _, f := range filters {
		if bf, ok := f.(*netlink.BpfFilter); ok {
			ids = append(ids, bf.Id)
		}
	}
	require.Equal(t, []int{int(id)}, ids, "program ids of the cls_bpf filters on ingress")

	n := e.run(t)
	testutil.Report(t, "tc clsact", "netlink clsact/cls_bpf", n)
}

// TestTCX attaches the program with a tcx link on the host end's ingress.
// Kernels before 6.6 have no tcx: cilium/ebpf probes the kernel when the
// attach fails and returns ebpf.ErrNotSupported.
func TestTCX(t *testing.T) {
	e := setup(t)
	l, err := link.AttachTCX(link.TCXOptions{
		Interface: e.pair.Host.Attrs().Index,
		Program:   e.objs.TcFilter,
		Attach:    ebpf.AttachTCXIngress,
	})
	testutil.Unsupported(t, "tcx", err)
	t.Cleanup(func() { l.Close() })

	n := e.run(t)
	testutil.Report(t, "tcx", testutil.LinkMechanism(l), n)
}
