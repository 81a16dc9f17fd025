package testutil

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/record"
)

// Report records, for the matrix and the JSON results, which hook the test
// exercised, the attach mechanism it actually used (e.g. "perf_event link"
// or "ioctl") and how many events it verified by content.
func Report(t testing.TB, hook, mechanism string, events int) {
	t.Helper()
	write(t, wire.Record{Hook: hook, Mechanism: mechanism, Events: events})
}

// Unsupported ends t as "unsupported on this kernel" if err is the kernel
// saying no: ebpf.ErrNotSupported, or one of the errnos the caller names as
// meaning "not supported" for this hook (e.g. ENOENT from perf_event_open
// for a hardware event without a PMU). Any other error fails the test: a
// real failure must never pass as unsupported. It returns only if err is
// nil.
func Unsupported(t testing.TB, hook string, err error, errnos ...syscall.Errno) {
	t.Helper()
	if err == nil {
		return
	}
	var errno syscall.Errno
	if !errors.Is(err, ebpf.ErrNotSupported) && !(errors.As(err, &errno) && slices.Contains(errnos, errno)) {
		t.Fatalf("%s: %v", hook, err)
	}
	reason := fmt.Sprintf("%v (kernel %s)", err, kernelRelease())
	write(t, wire.Record{Hook: hook, Unsupported: reason})
	t.Skipf("unsupported: %s: %s", hook, reason)
}

// NotActive ends t as unsupported for a reason the kernel states outside an
// error, e.g. the BPF LSM missing from /sys/kernel/security/lsm.
func NotActive(t testing.TB, hook, reason string) {
	t.Helper()
	reason = fmt.Sprintf("%s (kernel %s)", reason, kernelRelease())
	write(t, wire.Record{Hook: hook, Unsupported: reason})
	t.Skipf("unsupported: %s: %s", hook, reason)
}

func kernelRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// write appends one record to the test binary's record file through
// package record, the same way users' tests report theirs.
func write(t testing.TB, r wire.Record) {
	t.Helper()
	err := record.Write(t, record.Record{Hook: r.Hook, Mechanism: r.Mechanism, Events: r.Events, Unsupported: r.Unsupported})
	if err != nil {
		t.Fatalf("record: %v", err)
	}
}

// Want returns right, or wrong when the run injects wrong expectations for
// family (`bpfmatrix run --inject-wrong FAMILY`). Every content check of a
// suite compares against a value that went through Want, so that a run with
// injection proves the check can fail.
func Want[T any](family string, right, wrong T) T {
	for _, f := range strings.Split(os.Getenv(wire.EnvInject), ",") {
		if f == family || f == "all" {
			return wrong
		}
	}
	return right
}
