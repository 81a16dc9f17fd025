// Package tracepoint is the in-guest suite for tracepoints: a classic
// (tracefs, perf_event) tracepoint, a raw tracepoint and a BTF-typed raw
// tracepoint (tp_btf), all watching the test's own write system call.
package tracepoint

import (
	"crypto/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
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
// facts.Tracepoint.
var Suite = suite.For(facts.Tracepoint, TestTracepoint, TestRawTracepoint, TestTpBTF)

const family = "tracepoint"

// hookCase describes one way of hooking the write system call's entry.
type hookCase struct {
	hook    string // row name in the matrix
	program string // program name in tracepoint.c
	kind    uint32 // enum tp_kind the program emits
	attach  func(*ebpf.Program) (link.Link, error)
}

// run loads only c's program, attaches it, writes to /dev/null a buffer
// whose size and first bytes this run chose, and checks the event: this
// process, the system call number of write on the guest's architecture,
// the file descriptor, the size and the buffer's first bytes. It reports
// the row when every check passed.
func run(t *testing.T, c hookCase) {
	t.Helper()
	testutil.RequireGuest(t)
	count := testutil.OddCount()

	spec := testutil.Spec(t, bpf.LoadTracepoint, map[string]any{
		bpf.TracepointVarTargetCount: count,
		bpf.TracepointVarWriteNr:     int64(unix.SYS_WRITE),
	})
	for name := range spec.Programs {
		if name != c.program {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, *testutil.LoadOptions())
	testutil.Unsupported(t, c.hook, err)
	t.Cleanup(coll.Close)

	rd, err := ringbuf.NewReader(coll.Maps["tp_events"])
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })

	l, err := c.attach(coll.Programs[c.program])
	testutil.Unsupported(t, c.hook, err)
	t.Cleanup(func() { l.Close() })

	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	fd := f.Fd()
	payload := make([]byte, count)
	_, _ = rand.Read(payload[:16]) // the marker checked in the event
	n, err := f.Write(payload)
	require.NoError(t, err)
	require.Equal(t, int(count), n)

	ev := testutil.ReadRingbuf(t, rd, 5*time.Second, func(ev bpf.TracepointTpEvent) bool {
		return ev.Tgid == uint32(os.Getpid()) && ev.Kind == c.kind
	})
	assert.Equal(t, testutil.Want(family, int64(unix.SYS_WRITE), int64(unix.SYS_WRITE)+1), ev.Nr, "system call number (__NR_write)")
	assert.Equal(t, testutil.Want(family, uint64(fd), uint64(fd)+1), ev.Fd, "write fd argument")
	assert.Equal(t, testutil.Want(family, count, count+2), ev.Count, "write count argument")
	assert.Equal(t, testutil.Want(family, payload[:16], payload[1:17]), ev.Data[:], "first bytes of the written buffer")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	// The thread id must be one of this process's threads.
	_, err = os.Stat("/proc/self/task/" + strconv.FormatUint(uint64(ev.Pid), 10))
	assert.NoError(t, err, "event thread %d belongs to this process", ev.Pid)
	if !t.Failed() {
		testutil.Report(t, c.hook, testutil.LinkMechanism(l), 1)
	}
}

// TestTracepoint attaches to the classic tracepoint syscalls/sys_enter_write,
// whose record carries the syscall number and the arguments as fields.
func TestTracepoint(t *testing.T) {
	run(t, hookCase{
		hook: "tracepoint", program: "tp_sys_enter_write", kind: 1,
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.Tracepoint("syscalls", "sys_enter_write", p, nil)
		},
	})
}

// TestRawTracepoint attaches to the raw tracepoint sys_enter, which passes
// the syscall id and the user registers, from which the program reads the
// arguments.
func TestRawTracepoint(t *testing.T) {
	run(t, hookCase{
		hook: "raw_tracepoint", program: "raw_sys_enter", kind: 2,
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sys_enter", Program: p})
		},
	})
}

// TestTpBTF attaches a BTF-typed raw tracepoint (tp_btf) to sys_enter.
func TestTpBTF(t *testing.T) {
	run(t, hookCase{
		hook: "tp_btf", program: "btf_sys_enter", kind: 3,
		attach: func(p *ebpf.Program) (link.Link, error) {
			return link.AttachTracing(link.TracingOptions{Program: p})
		},
	})
}
