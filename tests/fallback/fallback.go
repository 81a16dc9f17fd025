// Package fallback is the in-guest suite for the attach-with-fallback
// chains of bpf/attach. Each test runs one chain on the kernel at hand,
// lets the chain verify the winning mechanism with a real event, checks
// that event's content (pid, the argument, return value or packet the
// test chose), and reports the chain's Result: the mechanism that won and
// why every preferred one failed.
package fallback

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/bpf/attach"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/internal/veth"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.Fallback.
var Suite = suite.For(facts.Fallback, TestEntry, TestExit, TestModuleFunc, TestMultiKprobe, TestMultiUprobe, TestTC, TestLSM, TestEvents)

const (
	family  = "fallback"
	timeout = 5 * time.Second
)

// Event kinds, as enum fallback_kind in bpf/fallback.c.
const (
	kindEntry  = 1
	kindExit   = 2
	kindXmit   = 3
	kindWrite  = 4
	kindRead   = 5
	kindUprobe = 6
)

// event is the struct every program of bpf/fallback.c sends.
type event = bpf.FallbackFallbackEvent

// readEvents reads events from coll's ring buffer until match has accepted
// n of them or the timeout passes (then it returns an error: it runs inside
// a chain's Verify, where a missing event makes the chain move on).
func readEvents(coll *ebpf.Collection, n int, match func(event) bool) ([]event, error) {
	rd, err := ringbuf.NewReader(coll.Maps["fallback_events"])
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	rd.SetDeadline(time.Now().Add(timeout))
	var got []event
	for len(got) < n {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got, fmt.Errorf("%d of %d events within %s", len(got), n, timeout)
		}
		if err != nil {
			return got, err
		}
		var ev event
		if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &ev); err != nil {
			return got, err
		}
		if match(ev) {
			got = append(got, ev)
		}
	}
	return got, nil
}

// writeNull writes count bytes, starting with 16 random ones, to /dev/null
// and returns the buffer.
func writeNull(count uint64) ([]byte, error) {
	payload := make([]byte, count)
	_, _ = rand.Read(payload[:16])
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.Write(payload)
	if err == nil && n != int(count) {
		err = fmt.Errorf("wrote %d of %d bytes", n, count)
	}
	return payload, err
}

// done reports the chain's outcome; a chain whose every step the kernel
// refused is unsupported, any other failure fails t.
func done(t *testing.T, hook string, a *attach.Attachment, err error) {
	t.Helper()
	if a != nil {
		t.Logf("%s: %s", hook, a.Result)
	}
	testutil.Unsupported(t, hook, err)
	t.Cleanup(func() { a.Close() })
}

// mine reports whether ev comes from this process.
func mine(ev event) bool { return ev.Tgid == uint32(os.Getpid()) }

// threadOfMine asserts that thread id tid belongs to this process.
func threadOfMine(t *testing.T, tid uint32) {
	t.Helper()
	_, err := os.Stat("/proc/self/task/" + strconv.FormatUint(uint64(tid), 10))
	assert.NoError(t, err, "event thread %d belongs to this process", tid)
}

// tracingCase runs the entry or exit chain on vfs_write.
func tracingCase(t *testing.T, hook string, kind uint32,
	chain func(*ebpf.CollectionSpec, string, string, string, *attach.Options) (*attach.Attachment, error),
	first, second string) (*attach.Attachment, event, []byte) {
	testutil.RequireGuest(t)
	count := testutil.OddCount()
	s := testutil.Spec(t, bpf.LoadFallback, map[string]any{bpf.FallbackVarTargetCount: count})
	var ev event
	var payload []byte
	a, err := chain(s, "vfs_write", first, second, &attach.Options{
		Collection: *testutil.LoadOptions(),
		Verify: func(mech string, coll *ebpf.Collection) error {
			var err error
			if payload, err = writeNull(count); err != nil {
				return err
			}
			evs, err := readEvents(coll, 1, func(ev event) bool { return mine(ev) && ev.Kind == kind })
			if err != nil {
				return err
			}
			ev = evs[0]
			return nil
		},
	})
	done(t, hook, a, err)
	return a, ev, payload
}

// TestEntry runs the function entry chain (fentry, then kprobe) on
// vfs_write and checks the test's write: pid, size and first bytes.
func TestEntry(t *testing.T) {
	a, ev, payload := tracingCase(t, "entry", kindEntry, attach.Entry, "fentry_vfs_write", "kprobe_vfs_write")
	assert.Equal(t, testutil.Want(family, uint64(len(payload)), uint64(len(payload))+2), ev.A, "vfs_write count argument")
	assert.Equal(t, testutil.Want(family, payload[:16], payload[1:17]), ev.Data[:], "first bytes written")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	threadOfMine(t, ev.Pid)
	if !t.Failed() {
		testutil.Report(t, "entry", a.Result.String(), 1)
	}
}

// TestExit runs the function exit chain (fexit, then kretprobe) on
// vfs_write and checks the test's write: pid and return value, and under
// fexit also the size argument.
func TestExit(t *testing.T) {
	a, ev, payload := tracingCase(t, "exit", kindExit, attach.Exit, "fexit_vfs_write", "kretprobe_vfs_write")
	n := int64(len(payload))
	assert.Equal(t, testutil.Want(family, n, n-1), ev.Ret, "vfs_write return value")
	if a.Result.Mechanism == attach.MechFexit {
		assert.Equal(t, uint64(n), ev.A, "vfs_write count argument seen by fexit")
		assert.Equal(t, payload[:16], ev.Data[:], "first bytes written, seen by fexit")
	}
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	threadOfMine(t, ev.Pid)
	if !t.Failed() {
		testutil.Report(t, "exit", a.Result.String(), 1)
	}
}

// TestModuleFunc runs the module function chain (fentry with module BTF,
// then kprobe) on veth_xmit, sends a UDP datagram of a size and content
// chosen for the run from the peer end of a veth pair, and checks the
// skb's length, the sending device and the payload.
func TestModuleFunc(t *testing.T) {
	testutil.RequireGuest(t)
	pair := veth.New(t)
	recv := pair.Listen(t)
	raddr := recv.LocalAddr().(*net.UDPAddr)
	send := pair.DialFromPeer(t, raddr)
	payload := make([]byte, 32+mrand.IntN(200))
	_, _ = rand.Read(payload)

	s := testutil.Spec(t, bpf.LoadFallback, map[string]any{bpf.FallbackVarDstPort: uint16(raddr.Port)})
	var ev event
	a, err := attach.ModuleFunc(s, "veth", "veth_xmit", "fentry_veth_xmit", "kprobe_veth_xmit", &attach.Options{
		Collection: *testutil.LoadOptions(),
		Verify: func(mech string, coll *ebpf.Collection) error {
			if _, err := send.Write(payload); err != nil {
				return err
			}
			evs, err := readEvents(coll, 1, func(ev event) bool {
				return ev.Kind == kindXmit && bytes.Equal(ev.Data[:], payload[:16])
			})
			if err != nil {
				return err
			}
			ev = evs[0]
			return nil
		},
	})
	done(t, "module func", a, err)

	wire := uint64(14 + 20 + 8 + len(payload))
	assert.Equal(t, testutil.Want(family, wire, wire+1), ev.A, "skb->len: Ethernet, IPv4, UDP and payload")
	assert.Equal(t, testutil.Want(family, uint32(os.Getpid()), uint32(os.Getpid())+1), ev.Tgid, "sending process")
	if peer := pair.Host.Attrs().ParentIndex; peer != 0 {
		assert.Equal(t, uint64(peer), ev.B, "ifindex of the sending (peer) end")
	}
	buf := make([]byte, 2048)
	require.NoError(t, recv.SetReadDeadline(time.Now().Add(timeout)))
	n, err := recv.Read(buf)
	require.NoError(t, err, "the datagram arrives")
	assert.Equal(t, payload, buf[:n], "datagram received")
	if !t.Failed() {
		testutil.Report(t, "module func", a.Result.String(), 2)
	}
}

// TestMultiKprobe runs the many-functions chain (kprobe.multi, then one
// kprobe each) on vfs_write and vfs_read and checks the test's write and
// read: sizes chosen for the run, pid, first bytes written.
func TestMultiKprobe(t *testing.T) {
	testutil.RequireGuest(t)
	wcount := testutil.OddCount()
	rcount := wcount + 2*uint64(1+mrand.IntN(1000))
	s := testutil.Spec(t, bpf.LoadFallback, map[string]any{
		bpf.FallbackVarTargetCount: wcount,
		bpf.FallbackVarReadCount:   rcount,
		bpf.FallbackVarTargetTgid:  uint32(os.Getpid()),
	})
	var evs []event
	var payload []byte
	a, err := attach.KprobeMulti(s, []string{"vfs_write", "vfs_read"}, "kprobe_multi_rw", &attach.Options{
		Collection: *testutil.LoadOptions(),
		Verify: func(mech string, coll *ebpf.Collection) error {
			var err error
			if payload, err = writeNull(wcount); err != nil {
				return err
			}
			f, err := os.Open("/dev/zero")
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := f.Read(make([]byte, rcount)); err != nil {
				return err
			}
			evs, err = readEvents(coll, 2, func(ev event) bool { return mine(ev) })
			return err
		},
	})
	done(t, "multi kprobe", a, err)

	got := map[uint32]event{}
	for _, ev := range evs {
		got[ev.Kind] = ev
	}
	require.Contains(t, got, uint32(kindWrite), "vfs_write event")
	require.Contains(t, got, uint32(kindRead), "vfs_read event")
	assert.Equal(t, testutil.Want(family, wcount, wcount+2), got[kindWrite].A, "vfs_write count")
	w := got[kindWrite]
	assert.Equal(t, payload[:16], w.Data[:], "first bytes written")
	assert.Equal(t, testutil.Want(family, rcount, rcount+2), got[kindRead].A, "vfs_read count")
	for _, ev := range evs {
		threadOfMine(t, ev.Pid)
		assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	}
	if !t.Failed() {
		testutil.Report(t, "multi kprobe", a.Result.String(), 2)
	}
}

//go:embed testdata/target_amd64 testdata/target_arm64
var targets embed.FS

// uprobeSymbols are the probed functions of testdata/target.c.
var uprobeSymbols = []string{"bpfmatrix_fallback_one", "bpfmatrix_fallback_two", "bpfmatrix_fallback_three"}

// TestMultiUprobe runs the many-uprobes chain (uprobe.multi, then one
// uprobe each) on the three functions of the target program, runs it with
// an argument chosen for the run, and checks that each function reported
// its id and that argument from the target's pid.
func TestMultiUprobe(t *testing.T) {
	testutil.RequireGuest(t)
	bin, err := targets.ReadFile("testdata/target_" + runtime.GOARCH)
	require.NoError(t, err, "target program for GOARCH=%s (go generate ./tests/fallback/)", runtime.GOARCH)
	path := filepath.Join(t.TempDir(), "bpfmatrix-fallback-target")
	require.NoError(t, os.WriteFile(path, bin, 0o755))

	arg := 1_000 + mrand.IntN(100_000)
	var evs []event
	var pid int
	s := testutil.Spec(t, bpf.LoadFallback, nil)
	a, err := attach.UprobeMulti(s, path, uprobeSymbols, "uprobe_multi_target", &attach.Options{
		Collection: *testutil.LoadOptions(),
		Verify: func(mech string, coll *ebpf.Collection) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, strconv.Itoa(arg))
			var out strings.Builder
			cmd.Stdout = &out
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("run target: %w", err)
			}
			if want := strconv.Itoa((arg + 1) + arg*2 + (arg - 3)); strings.TrimSpace(out.String()) != want {
				return fmt.Errorf("target printed %q, want %s", out.String(), want)
			}
			pid = cmd.Process.Pid
			var err error
			evs, err = readEvents(coll, 3, func(ev event) bool { return ev.Kind == kindUprobe && ev.Tgid == uint32(pid) })
			return err
		},
	})
	done(t, "multi uprobe", a, err)

	ids := map[uint64]uint64{}
	for _, ev := range evs {
		ids[ev.A] = ev.B
		assert.Equal(t, uint32(pid), ev.Pid, "thread of the single-threaded target")
		assert.Equal(t, "bpfmatrix-fallb", testutil.CString(ev.Comm[:]), "comm")
	}
	want := uint64(arg)
	assert.Equal(t, map[uint64]uint64{1: testutil.Want(family, want, want+1), 2: want, 3: want}, ids,
		"function id -> argument, one event per probed function")
	if !t.Failed() {
		testutil.Report(t, "multi uprobe", a.Result.String(), 3)
	}
}

// Indexes of the tc program's counters (enum tc_counter in bpf/fallback.c).
const (
	counterSeen uint32 = iota
	counterPassed
	counterDropped
)

// TestTC runs the TC chain (tcx, then netlink clsact/cls_bpf) on the
// ingress of a veth end, sends datagrams across the pair of which those
// starting with a marker chosen for the run must be dropped, and checks
// that exactly the others arrive and that the counters agree.
func TestTC(t *testing.T) {
	testutil.RequireGuest(t)
	pair := veth.New(t)
	recv := pair.Listen(t)
	raddr := recv.LocalAddr().(*net.UDPAddr)
	send := pair.DialFromPeer(t, raddr)

	var marker, nonce [8]byte
	_, _ = rand.Read(marker[:])
	marker[0] = 'D'
	_, _ = rand.Read(nonce[:])
	var pass, order [][]byte
	for i := range 6 {
		var pl []byte
		if i%2 == 1 {
			pl = fmt.Appendf(marker[:8:8], "-drop-%d-%x", i, nonce)
		} else {
			pl = fmt.Appendf(nil, "PASS-%02d-%x", i, nonce)
			pass = append(pass, pl)
		}
		order = append(order, pl)
	}

	// The tc suite's program: the chain is what this test is about.
	var objs bpf.TcObjects
	testutil.Load(t, bpf.LoadTc, map[string]any{
		bpf.TcVarDropMarker: binary.LittleEndian.Uint64(marker[:]),
		bpf.TcVarDstPort:    uint16(raddr.Port),
	}, &objs)

	counter := func(idx uint32) uint64 {
		var v uint64
		require.NoError(t, objs.Counters.Lookup(idx, &v))
		return v
	}
	var got [][]byte
	a, err := attach.TC(objs.TcFilter, pair.Host.Attrs().Index, &attach.TCOptions{
		Name: "bpfmatrix-fallback",
		Verify: func(mech string) error {
			before := counter(counterSeen)
			got = veth.Exchange(t, send, recv, order, len(pass), 10*time.Second)
			if seen := counter(counterSeen) - before; seen == 0 {
				return fmt.Errorf("program saw none of %d datagrams", len(order))
			}
			return nil
		},
	})
	done(t, "tc", a, err)

	assert.Equal(t, testutil.Want(family, pass, order), got, "datagrams received: exactly the pass ones, in order")
	assert.Equal(t, uint64(len(order)), counter(counterSeen), "seen")
	assert.Equal(t, testutil.Want(family, uint64(len(pass)), uint64(len(pass))+1), counter(counterPassed), "passed")
	assert.Equal(t, uint64(len(order)-len(pass)), counter(counterDropped), "dropped")
	if !t.Failed() {
		testutil.Report(t, "tc", a.Result.String(), len(got)+3)
	}
}

// TestLSM runs the LSM chain on file_open (BPF LSM where it is active,
// else a kprobe on security_file_open that can only observe) and opens a
// file chosen for the run and another one. Under BPF LSM the chosen file
// must be refused with EPERM; under the kprobe it must open, and the
// program must still have seen the open, of that inode, by this process.
func TestLSM(t *testing.T) {
	testutil.RequireGuest(t)
	dir := t.TempDir()
	target, other := filepath.Join(dir, fmt.Sprintf("target-%d", mrand.Uint64())), filepath.Join(dir, "other")
	var st unix.Stat_t
	for _, p := range []string{target, other} {
		require.NoError(t, os.WriteFile(p, []byte(p), 0o644))
	}
	require.NoError(t, unix.Stat(target, &st))
	s := testutil.Spec(t, bpf.LoadFallback, map[string]any{
		bpf.FallbackVarTargetTgid: uint32(os.Getpid()),
		bpf.FallbackVarTargetDev:  unix.Major(st.Dev)<<20 | unix.Minor(st.Dev),
		bpf.FallbackVarTargetIno:  st.Ino,
	})
	var openErr, otherErr error
	var stats bpf.FallbackLsmStats
	a, err := attach.LSM(s, "file_open", "lsm_file_open", "kprobe_security_file_open", &attach.Options{
		Collection: *testutil.LoadOptions(),
		Verify: func(mech string, coll *ebpf.Collection) error {
			open := func(p string) error {
				f, err := os.Open(p)
				if err == nil {
					f.Close()
				}
				return err
			}
			openErr, otherErr = open(target), open(other)
			if err := coll.Maps["file_opens"].Lookup(uint32(0), &stats); err != nil {
				return err
			}
			if stats.TargetOpens == 0 {
				return fmt.Errorf("program saw no open of the target file (open: %v)", openErr)
			}
			return nil
		},
	})
	done(t, "lsm", a, err)

	// Enforcing: the open fails with EPERM; observe only: it succeeds.
	wantErr, wantDenied := testutil.Want[error](family, unix.EPERM, nil), uint64(1)
	if a.ObserveOnly {
		wantErr, wantDenied = testutil.Want[error](family, nil, unix.EPERM), 0
		assert.Contains(t, a.Result.Mechanism, "cannot deny")
	}
	if wantErr == nil {
		assert.NoError(t, openErr, "open of the target file")
	} else {
		assert.ErrorIs(t, openErr, wantErr, "open of the target file")
	}
	assert.NoError(t, otherErr, "open of another file")
	assert.Equal(t, testutil.Want(family, uint64(1), uint64(2)), stats.TargetOpens, "target opens seen")
	assert.Equal(t, wantDenied, stats.Denied, "target opens refused")
	assert.Equal(t, st.Ino, stats.Ino, "inode seen")
	assert.Equal(t, uint32(os.Getpid()), stats.Tgid, "process seen")
	assert.NotZero(t, stats.OtherOpens, "other opens seen")
	if !t.Failed() {
		testutil.Report(t, "lsm", a.Result.String(), 1)
	}
}

// TestEvents runs the events chain (ring buffer, then perf event array) on
// bpf/fallback_events.c, attaches its tracepoint program, writes a buffer
// of a size and nonce chosen for the run and checks the event read through
// the chain's Reader.
func TestEvents(t *testing.T) {
	testutil.RequireGuest(t)
	count := testutil.OddCount()
	s := testutil.Spec(t, bpf.LoadFallbackEvents, map[string]any{bpf.FallbackEventsVarTargetCount: count})

	var ev bpf.FallbackEventsEventsEvent
	var nonce uint64
	size := binary.Size(ev)
	a, err := attach.Events(s, attach.EventsOptions{
		Collection: *testutil.LoadOptions(),
		RingMap:    "ring_events", PerfMap: "perf_events", Selector: "events_transport",
		Verify: func(mech string, coll *ebpf.Collection, rd attach.Reader) error {
			l, err := link.Tracepoint("syscalls", "sys_enter_write", coll.Programs["events_sys_enter_write"], nil)
			if err != nil {
				return err
			}
			defer l.Close()
			buf, err := writeNull(count)
			if err != nil {
				return err
			}
			nonce = binary.NativeEndian.Uint64(buf)
			rd.SetDeadline(time.Now().Add(timeout))
			for {
				rec, err := rd.Read()
				if err != nil {
					return err
				}
				if rec.LostSamples > 0 || len(rec.RawSample) < size {
					continue
				}
				if err := binary.Read(bytes.NewReader(rec.RawSample[:size]), binary.NativeEndian, &ev); err != nil {
					return err
				}
				if ev.Tgid == uint32(os.Getpid()) {
					return nil
				}
			}
		},
	})
	if a != nil {
		t.Logf("events: %s", a.Result)
	}
	testutil.Unsupported(t, "events", err)
	t.Cleanup(func() { a.Close() })

	transport := uint64(attach.TransportRingbuf)
	if a.Result.Mechanism == attach.MechPerfEventArr {
		transport = uint64(attach.TransportPerf)
	}
	assert.Equal(t, transport, ev.Transport, "transport the program used")
	assert.Equal(t, testutil.Want(family, nonce, nonce^1), ev.Nonce, "nonce written")
	assert.Equal(t, testutil.Want(family, count, count+2), ev.Count, "write size")
	assert.Equal(t, testutil.Comm(t), testutil.CString(ev.Comm[:]), "comm")
	threadOfMine(t, ev.Pid)
	if !t.Failed() {
		testutil.Report(t, "events", a.Result.String(), 1)
	}
}
