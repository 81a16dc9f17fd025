// Package testutil holds what every in-guest test suite shares: the check
// that it runs inside a bpfmatrix VM, and the memlock set-up that old
// kernels need before any BPF object is created.
package testutil

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf/rlimit"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// InGuest reports whether the process runs inside a bpfmatrix VM.
func InGuest() bool { return os.Getenv(wire.EnvGuest) == "1" }

// RequireGuest skips t outside a bpfmatrix VM. The suites load programs into
// the running kernel and attach to it; on the host they would test the
// host's kernel, not the matrix. The harness's integration test runs them in
// the VMs and fails if any of them skipped there.
func RequireGuest(t testing.TB) {
	t.Helper()
	if !InGuest() {
		t.Skipf("runs inside a bpfmatrix VM (%s=1 is not set): `go run ./cmd/bpfmatrix run` runs it", wire.EnvGuest)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Fatalf("rlimit.RemoveMemlock() = %v", err)
	}
}

// Comm is this process's command name as the kernel keeps it (what
// bpf_get_current_comm returns for its threads): the test binary's file
// name, cut to 15 bytes.
func Comm(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatalf("comm: %v", err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// OddCount returns a byte count for a test's write or read (or the
// argument a tracepoint test looks for) that no other process in the guest
// is likely to use: odd, between 40,001 and 59,999, and different on every
// run. Programs filter their events on it, so a stray writer cannot pass
// for the test.
func OddCount() uint64 { return uint64(40_000 + 2*rand.IntN(10_000) + 1) }
