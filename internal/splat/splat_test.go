package splat

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func feed(lines string) *Detector {
	d := &Detector{}
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		d.Line(l)
	}
	return d
}

func TestDetector(t *testing.T) {
	tests := []struct {
		name  string
		log   string
		kinds []string
		first string // the first line of the first splat
		lines int    // lines of the first splat
	}{
		{
			name: "WARN with cut here",
			log: `[    1.000000] virtio_blk virtio0: [vda] 100 512-byte logical blocks
[    2.000000] ------------[ cut here ]------------
[    2.000001] WARNING: CPU: 1 PID: 301 at kernel/bpf/verifier.c:1234 do_check+0x1/0x2
[    2.000002] Modules linked in: veth
[    2.000003] Call Trace:
[    2.000004]  <TASK>
[    2.000005] ---[ end trace 0000000000000000 ]---
[    2.100000] veth0: link up`,
			kinds: []string{KindWarning},
			first: "[    2.000000] ------------[ cut here ]------------",
			lines: 6,
		},
		{
			name: "oops then panic",
			log: `BUG: kernel NULL pointer dereference, address: 0000000000000000
#PF: supervisor read access in kernel mode
Oops: 0000 [#1] PREEMPT SMP NOPTI
CPU: 0 PID: 1 Comm: init`,
			kinds: []string{KindBug},
			first: "BUG: kernel NULL pointer dereference, address: 0000000000000000",
			lines: 4,
		},
		{
			name: "KASAN says BUG and WARNING inside",
			log: `==================================================================
BUG: KASAN: slab-out-of-bounds in bpf_map_lookup+0x10/0x20
Read of size 8 at addr ffff888 by task test/42
==================================================================`,
			kinds: []string{KindKASAN},
			lines: 3,
		},
		{
			name: "lockdep",
			log: `======================================================
WARNING: possible circular locking dependency detected
6.12.0 #1 Not tainted
------------------------------------------------------`,
			kinds: []string{KindLockdep},
		},
		{
			name:  "rcu stall",
			log:   "[  30.1] rcu: INFO: rcu_sched self-detected stall on CPU\n[  30.2] rcu: \t0-....: (5249 ticks this GP)",
			kinds: []string{KindRCUStall},
			lines: 2,
		},
		{
			name:  "hung task and soft lockup are two splats",
			log:   "INFO: task kworker/0:1:12 blocked for more than 120 seconds.\nwatchdog: BUG: soft lockup - CPU#1 stuck for 22s! [test:99]",
			kinds: []string{KindHungTask, KindSoftLockup},
			lines: 1,
		},
		{
			name:  "arm64 oops",
			log:   "Internal error: Oops: 96000004 [#1] SMP",
			kinds: []string{KindOops},
		},
		{
			name:  "ordinary boot log",
			log:   "Linux version 6.1.0\nCommand line: console=ttyS0 quiet\nRun /init as init process\nbpf: warning: no BTF for module\nbug_table: 12 entries",
			kinds: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := feed(tt.log).Flush()
			var kinds []string
			for _, s := range got {
				kinds = append(kinds, s.Kind)
			}
			require.Equal(t, tt.kinds, kinds, "Flush() kinds")
			if tt.first != "" {
				assert.Equal(t, tt.first, got[0].Lines[0])
			}
			if tt.lines != 0 {
				assert.Len(t, got[0].Lines, tt.lines, "lines of %q", got[0].Lines)
			}
		})
	}
}

func TestDetectorBounds(t *testing.T) {
	d := &Detector{}
	for i := 0; i < 100; i++ {
		d.Line("WARNING: CPU: 0 PID: 1 at x.c:1 f")
		for j := 0; j < 100; j++ {
			d.Line(" frame")
		}
	}
	got := d.Flush()
	require.Len(t, got, maxSplats)
	for _, s := range got {
		assert.LessOrEqual(t, len(s.Lines), maxLines)
	}
	assert.Positive(t, d.Dropped())
}

func TestPendingKeepsOpenReport(t *testing.T) {
	d := feed("BUG: unable to handle page fault\n---[ end trace 1 ]---\nWARNING: CPU: 0 PID: 1 at a.c:1 f")
	p := d.Pending()
	require.Len(t, p, 1, "the BUG ended with its end trace")
	assert.Equal(t, KindBug, p[0].Kind)
	f := d.Flush()
	require.Len(t, f, 1, "the open WARNING")
	assert.Equal(t, KindWarning, f[0].Kind)
}

func TestMerge(t *testing.T) {
	console := []Splat{{Kind: KindBug, Lines: []string{"[    1.5] BUG: x"}}}
	kmsg := []Splat{{Kind: KindBug, Lines: []string{"BUG: x"}}, {Kind: KindWarning, Lines: []string{"WARNING: CPU: 0"}}}
	got := Merge(console, kmsg)
	require.Len(t, got, 2)
	assert.Equal(t, KindWarning, got[1].Kind)
}

func FuzzDetector(f *testing.F) {
	f.Add("------------[ cut here ]------------\nWARNING: CPU: 0\n---[ end trace ]---")
	f.Add("BUG: KASAN: x\nUBSAN: y\n[ 1] Oops: z")
	f.Fuzz(func(t *testing.T, log string) {
		d := &Detector{}
		for _, l := range strings.Split(log, "\n") {
			d.Line(l)
		}
		for _, s := range d.Flush() {
			if s.Kind == "" || len(s.Lines) == 0 || len(s.Lines) > maxLines {
				t.Fatalf("bad splat %+v", s)
			}
		}
	})
}
