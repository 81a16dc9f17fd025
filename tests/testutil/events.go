package testutil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
)

// ReadRingbuf decodes records of type T from rd until match accepts one,
// and returns it. It fails t if none arrives within timeout. Records match
// rejects (other processes, other kinds) are skipped and counted in the log.
func ReadRingbuf[T any](t testing.TB, rd *ringbuf.Reader, timeout time.Duration, match func(T) bool) T {
	t.Helper()
	rd.SetDeadline(time.Now().Add(timeout))
	skipped := 0
	for {
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("no matching event within %s (%d others seen)", timeout, skipped)
		}
		if err != nil {
			t.Fatalf("ringbuf read: %v", err)
		}
		var v T
		if err := binary.Read(bytes.NewReader(rec.RawSample), binary.NativeEndian, &v); err != nil {
			t.Fatalf("decode %d-byte ringbuf record: %v", len(rec.RawSample), err)
		}
		if match(v) {
			if skipped > 0 {
				t.Logf("skipped %d events that were not the test's", skipped)
			}
			return v
		}
		skipped++
	}
}

// CString converts a NUL-terminated C char array to a string.
func CString[T int8 | uint8](b []T) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// LinkMechanism says how cilium/ebpf attached l: "bpf_link (<type>)" when
// the kernel gave a BPF link, or "perf_event ioctl" for the pre-5.15 way of
// attaching to a perf event, which has no link to ask.
func LinkMechanism(l link.Link) string {
	info, err := l.Info()
	switch {
	case err == nil:
		return "bpf_link (" + linkTypeName(info.Type) + ")"
	case errors.Is(err, ebpf.ErrNotSupported):
		if _, ok := l.(link.PerfEvent); ok {
			return "perf_event ioctl"
		}
		return "legacy attach"
	}
	return "unknown (" + err.Error() + ")"
}

var linkTypes = map[link.Type]string{
	link.RawTracepointType: "raw_tracepoint",
	link.TracingType:       "tracing",
	link.CgroupType:        "cgroup",
	link.IterType:          "iter",
	link.NetNsType:         "netns",
	link.XDPType:           "xdp",
	link.PerfEventType:     "perf_event",
	link.KprobeMultiType:   "kprobe_multi",
	link.TCXType:           "tcx",
	link.UprobeMultiType:   "uprobe_multi",
	link.NetfilterType:     "netfilter",
	link.NetkitType:        "netkit",
	link.StructOpsType:     "struct_ops",
}

func linkTypeName(t link.Type) string {
	if n, ok := linkTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}
