package attach

import (
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TCOptions configure the TC chain.
type TCOptions struct {
	// Recording, if its T is set, records the chain's Result.
	Recording
	// Egress attaches to the egress hook instead of ingress.
	Egress bool
	// Priority of the cls_bpf filter in the netlink fallback (1 if zero).
	Priority uint16
	// Name of the cls_bpf filter ("bpfmatrix" if empty).
	Name string
	// Verify, if set, runs after each step attached (see Attempt.Verify).
	Verify func(mechanism string) error
}

// TC attaches prog, a SCHED_CLS program written for direct action (its
// return value is the verdict), to interface ifindex: a tcx link (Linux
// 6.6+), falling back to a clsact qdisc with a cls_bpf filter in
// direct-action mode, set up over netlink. The fallback adds the clsact
// qdisc if the interface has none, and removes the filter (and the qdisc
// it added) on Close.
func TC(prog *ebpf.Program, ifindex int, opts *TCOptions) (*Attachment, error) {
	var o TCOptions
	if opts != nil {
		o = *opts
	}
	at, parent := ebpf.AttachTCXIngress, uint32(netlink.HANDLE_MIN_INGRESS)
	if o.Egress {
		at, parent = ebpf.AttachTCXEgress, netlink.HANDLE_MIN_EGRESS
	}
	verify := func(mech string) func() error {
		if o.Verify == nil {
			return nil
		}
		return func() error { return o.Verify(mech) }
	}
	c, r, err := Chain(
		Attempt{Mechanism: MechTCX, Verify: verify(MechTCX), Attach: func() (io.Closer, error) {
			return link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: prog, Attach: at})
		}},
		Attempt{Mechanism: MechNetlinkTC, Verify: verify(MechNetlinkTC), Attach: func() (io.Closer, error) {
			return clsBPF(prog, ifindex, parent, o)
		}},
	)
	o.record(r)
	if err != nil {
		return &Attachment{Result: r}, err
	}
	return &Attachment{Result: r, closer: c}, nil
}

// clsBPF adds a clsact qdisc (unless there is one) and a direct-action
// cls_bpf filter running prog.
func clsBPF(prog *ebpf.Program, ifindex int, parent uint32, o TCOptions) (io.Closer, error) {
	qdisc := &netlink.GenericQdisc{
		QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: ifindex,
			Handle:    netlink.MakeHandle(0xffff, 0),
			Parent:    netlink.HANDLE_CLSACT,
		},
		QdiscType: "clsact",
	}
	var cs closers
	switch err := netlink.QdiscAdd(qdisc); {
	case err == nil:
		cs = append(cs, closeFunc(func() error { return netlink.QdiscDel(qdisc) }))
	case errors.Is(err, unix.EEXIST):
	default:
		return nil, fmt.Errorf("add clsact qdisc: %w", notSupported(err))
	}
	prio, name := o.Priority, o.Name
	if prio == 0 {
		prio = 1
	}
	if name == "" {
		name = "bpfmatrix"
	}
	filter := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: ifindex,
			Parent:    parent,
			Handle:    netlink.MakeHandle(0, 1),
			Protocol:  unix.ETH_P_ALL,
			Priority:  prio,
		},
		Fd:           prog.FD(),
		Name:         name,
		DirectAction: true,
	}
	if err := netlink.FilterAdd(filter); err != nil {
		cs.Close()
		return nil, fmt.Errorf("add cls_bpf filter: %w", notSupported(err))
	}
	cs = append(cs, closeFunc(func() error { return netlink.FilterDel(filter) }))
	return cs, nil
}
