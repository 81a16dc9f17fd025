package testutil

import (
	"testing"

	"github.com/vishvananda/netlink"
)

// LoopbackUp brings lo up through netlink (the guest boots with it down);
// the kernel then gives it 127.0.0.1/8.
func LoopbackUp(t testing.TB) {
	t.Helper()
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatalf("find lo: %v", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatalf("bring lo up: %v", err)
	}
}
