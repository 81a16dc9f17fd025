// Package perf is the in-guest suite for BPF_PROG_TYPE_PERF_EVENT programs
// attached to perf events the test opens itself: a software cpu-clock event
// and a hardware cpu-cycles event, both sampling the test's own thread.
package perf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

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
// facts.Perf.
var Suite = suite.For(facts.Perf, TestPerfEventSoftware, TestPerfEventHardware)

const family = "perf"

// perfCase is one kind of perf event the program is attached to.
type perfCase struct {
	hook   string // row name in the matrix
	event  string // the event's name in error messages
	typ    uint32 // perf_event_attr.type
	config uint64 // perf_event_attr.config
	freq   bool   // sample is a frequency in Hz rather than a period
	sample uint64 // perf_event_attr.sample_period or sample_freq
	// unsupported are the perf_event_open errnos that mean the kernel has
	// no such event (no PMU), as opposed to a failure.
	unsupported []syscall.Errno
}

var (
	software = perfCase{
		hook:   "perf_event software cpu-clock",
		event:  "PERF_TYPE_SOFTWARE/PERF_COUNT_SW_CPU_CLOCK",
		typ:    unix.PERF_TYPE_SOFTWARE,
		config: unix.PERF_COUNT_SW_CPU_CLOCK,
		sample: 1_000_000, // ns: one sample per millisecond on the CPU
	}
	hardware = perfCase{
		hook:   "perf_event hardware cpu-cycles",
		event:  "PERF_TYPE_HARDWARE/PERF_COUNT_HW_CPU_CYCLES",
		typ:    unix.PERF_TYPE_HARDWARE,
		config: unix.PERF_COUNT_HW_CPU_CYCLES,
		freq:   true,
		sample: 1_000, // Hz: the kernel tunes the cycle period to ~1 ms
		// Without a PMU (e.g. QEMU TCG) no PMU claims the event: ENOENT;
		// some architectures or PMUs say EOPNOTSUPP or ENODEV.
		unsupported: []syscall.Errno{unix.ENOENT, unix.EOPNOTSUPP, unix.ENODEV},
	}
)

// openEvent opens pc's perf event, disabled, for the calling thread tid on
// any CPU, and closes it when t ends.
func openEvent(t *testing.T, pc perfCase, tid int) (int, error) {
	t.Helper()
	attr := unix.PerfEventAttr{
		Type:   pc.typ,
		Config: pc.config,
		Sample: pc.sample,
		Bits:   unix.PerfBitDisabled,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	if pc.freq {
		attr.Bits |= unix.PerfBitFreq
	}
	fd, err := unix.PerfEventOpen(&attr, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("perf_event_open(%s): %w", pc.event, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, nil
}

// attach attaches prog to the perf event fd through a BPF link
// (BPF_LINK_CREATE with BPF_PERF_EVENT, 5.15+), or, where the kernel does
// not know that attach type (EINVAL), through the PERF_EVENT_IOC_SET_BPF
// ioctl. It returns the mechanism used. The event is enabled afterwards.
func attach(t *testing.T, fd int, prog *ebpf.Program) string {
	t.Helper()
	var mechanism string
	l, err := link.AttachRawLink(link.RawLinkOptions{Target: fd, Program: prog, Attach: ebpf.AttachPerfEvent})
	switch {
	case err == nil:
		t.Cleanup(func() { l.Close() })
		mechanism = testutil.LinkMechanism(l)
	case errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, unix.EINVAL):
		t.Logf("no perf_event bpf_link (%v): using PERF_EVENT_IOC_SET_BPF", err)
		require.NoError(t, unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.FD()), "PERF_EVENT_IOC_SET_BPF")
		mechanism = "perf_event ioctl"
	default:
		t.Fatalf("attach perf_event program: %v", err)
	}
	require.NoError(t, unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0), "PERF_EVENT_IOC_ENABLE")
	t.Cleanup(func() { unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_DISABLE, 0) })
	return mechanism
}

// samples returns the per-tgid sample counts the program recorded.
func samples(t *testing.T, m *ebpf.Map) map[uint32]uint64 {
	t.Helper()
	got := make(map[uint32]uint64)
	var (
		tgid uint32
		n    uint64
	)
	it := m.Iterate()
	for it.Next(&tgid, &n) {
		got[tgid] = n
	}
	require.NoError(t, it.Err())
	return got
}

// total sums the counts of got.
func total(got map[uint32]uint64) uint64 {
	var sum uint64
	for _, n := range got {
		sum += n
	}
	return sum
}

// burn keeps the calling thread on the CPU until d has passed.
func burn(d time.Duration) uint64 {
	var x uint64 = 1
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10_000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// run opens pc's event for the test's own thread, attaches the program,
// burns CPU and checks that every sample was taken in the test's process.
func run(t *testing.T, pc perfCase) {
	testutil.RequireGuest(t)
	// The event follows one thread: keep this goroutine on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	objs := new(bpf.PerfObjects)
	testutil.Load(t, bpf.LoadPerf, nil, objs)

	fd, err := openEvent(t, pc, unix.Gettid())
	testutil.Unsupported(t, pc.hook, err, pc.unsupported...)
	mechanism := attach(t, fd, objs.PerfSample)

	// ~300 ms of CPU, then more in small steps (5 s at most) if a slow
	// emulated CPU has not produced a sample yet.
	burn(300 * time.Millisecond)
	for deadline := time.Now().Add(5 * time.Second); total(samples(t, objs.PerfSamples)) == 0 && time.Now().Before(deadline); {
		burn(100 * time.Millisecond)
	}
	require.NoError(t, unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_DISABLE, 0), "PERF_EVENT_IOC_DISABLE")

	got := samples(t, objs.PerfSamples)
	n := total(got)
	require.NotZero(t, n, "no perf_event samples reached the program")
	tgid := uint32(os.Getpid())
	want := testutil.Want(family, tgid, tgid+1)
	for g, c := range got {
		assert.Equal(t, want, g, "tgid of %d samples", c)
	}
	t.Logf("%d samples, all in tgid %d, via %s", n, tgid, mechanism)
	testutil.Report(t, pc.hook, mechanism, int(n))
}

// TestPerfEventSoftware samples the test's thread with the software
// cpu-clock event every millisecond of CPU time.
func TestPerfEventSoftware(t *testing.T) { run(t, software) }

// TestPerfEventHardware samples the test's thread on CPU cycles at ~1 kHz;
// kernels without a PMU (QEMU TCG) refuse the event and report unsupported.
func TestPerfEventHardware(t *testing.T) { run(t, hardware) }
