package vm

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeQEMU writes a shell script that stands in for QEMU.
func fakeQEMU(t *testing.T, body string) Options {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "qemu")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	for _, f := range []string{"kernel", "initrd"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	return Options{
		Arch: Arches["x86_64"], QEMU: script, Accel: AccelTCG,
		Kernel: filepath.Join(dir, "kernel"), Initrd: filepath.Join(dir, "initrd"),
		Timeout: 10 * time.Second, ConsoleLog: filepath.Join(dir, "console.log"),
	}
}

// alive reports whether pid runs; a zombie (dead, not yet reaped by
// whoever inherited it) does not count.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestVMEnds(t *testing.T) {
	tests := []struct {
		name      string
		script    string
		timeout   time.Duration
		cancel    bool
		want      Reason
		wantErr   string
		wantPanic string
		wantSplat string
	}{
		{name: "powers off", script: "echo booted; exit 0", want: ReasonExited},
		{name: "qemu fails", script: "echo 'qemu: could not load kernel' >&2; exit 1", want: ReasonExited, wantErr: "could not load kernel"},
		{name: "hangs", script: "sleep 1000 & echo $! > $PIDFILE; wait", timeout: time.Second, want: ReasonTimeout},
		{name: "canceled", script: "sleep 1000 & echo $! > $PIDFILE; wait", cancel: true, want: ReasonCanceled},
		{name: "panics and lingers", script: "echo '[ 1.0] Kernel panic - not syncing: sysrq triggered crash'; echo '[ 1.1] CPU: 0 PID: 1'; sleep 1000 & echo $! > $PIDFILE; wait", want: ReasonPanic, wantPanic: "Kernel panic - not syncing: sysrq"},
		{name: "killed from outside", script: "kill -9 $$", want: ReasonKilled, wantErr: "killed"},
		{name: "splat, then powers off", script: "echo '[ 1.0] BUG: sleeping function called from invalid context at mm/slab.h:1'; echo '[ 1.1] Call Trace:'; exit 0", want: ReasonExited, wantSplat: "bug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fakeQEMU(t, tt.script)
			pidFile := filepath.Join(t.TempDir(), "pid")
			t.Setenv("PIDFILE", pidFile)
			if tt.timeout > 0 {
				o.Timeout = tt.timeout
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			v, err := Start(ctx, o)
			require.NoError(t, err)
			if tt.cancel {
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			start := time.Now()
			e := v.Wait()
			assert.Equal(t, tt.want, e.Reason)
			assert.Less(t, time.Since(start), 8*time.Second)
			if tt.wantErr != "" {
				require.Error(t, e.Err)
				assert.Contains(t, e.Err.Error(), tt.wantErr)
			}
			if tt.wantPanic != "" {
				require.NotEmpty(t, e.PanicLines)
				assert.Contains(t, e.PanicLines[0], tt.wantPanic)
			}
			if tt.wantSplat != "" {
				require.Len(t, e.Splats, 1, "console %q", e.ConsoleTail)
				assert.Equal(t, tt.wantSplat, e.Splats[0].Kind)
				assert.Equal(t, []string{"[ 1.0] BUG: sleeping function called from invalid context at mm/slab.h:1", "[ 1.1] Call Trace:"}, e.Splats[0].Lines)
			} else {
				assert.Empty(t, e.Splats)
			}
			// Whatever the guest left running in QEMU's process group is gone.
			if b, err := os.ReadFile(pidFile); err == nil {
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				require.NotZero(t, pid)
				require.Eventually(t, func() bool { return !alive(pid) }, 2*time.Second, 20*time.Millisecond, "child %d of QEMU survived", pid)
			}
			log, err := os.ReadFile(o.ConsoleLog)
			require.NoError(t, err)
			if tt.wantPanic != "" {
				assert.Contains(t, string(log), "Kernel panic")
			}
		})
	}
}

func TestResultChannel(t *testing.T) {
	o := fakeQEMU(t, `for a in "$@"; do case "$a" in file,id=res,path=*) p="${a#file,id=res,path=}";; esac; done; echo "frame one" > "$p"`)
	v, err := Start(context.Background(), o)
	require.NoError(t, err)
	b, err := io.ReadAll(v.Results())
	require.NoError(t, err)
	assert.Equal(t, "frame one\n", string(b))
	assert.Equal(t, ReasonExited, v.Wait().Reason)
	assert.Contains(t, v.Reproduce(), "path=results.out", "the reproduce line writes results to a file")
}

func TestStartErrors(t *testing.T) {
	o := fakeQEMU(t, "exit 0")
	o.QEMU = "qemu-system-does-not-exist"
	_, err := Start(context.Background(), o)
	require.ErrorIs(t, err, ErrQEMUNotFound)
	assert.Contains(t, err.Error(), "apt-get install -y qemu-system-x86")

	o = fakeQEMU(t, "exit 0")
	o.Timeout = 0
	_, err = Start(context.Background(), o)
	require.Error(t, err)

	o = fakeQEMU(t, "exit 0")
	o.Kernel = "/nonexistent/vmlinuz"
	_, err = Start(context.Background(), o)
	require.ErrorContains(t, err, "/nonexistent/vmlinuz")
}

func TestParseAccel(t *testing.T) {
	for _, s := range []string{"auto", "kvm", "tcg"} {
		a, err := ParseAccel(s)
		require.NoError(t, err)
		assert.Equal(t, Accel(s), a)
	}
	_, err := ParseAccel("hvf")
	require.ErrorContains(t, err, `"hvf"`)
	assert.ErrorContains(t, err, "auto, kvm, tcg")
}

func TestResolveAccel(t *testing.T) {
	arch := Arches["x86_64"]
	if !arch.Native() {
		t.Skip("KVM verdicts only apply to a native guest")
	}
	dev := filepath.Join(t.TempDir(), "kvm")
	require.NoError(t, os.WriteFile(dev, nil, 0o666))
	old := KVMDevice
	KVMDevice = dev
	t.Cleanup(func() { KVMDevice = old })
	cache := filepath.Join(t.TempDir(), "accel.json")

	probes := 0
	failing := func(ctx context.Context, a Accel) error { probes++; return assert.AnError }
	v, err := ResolveAccel(context.Background(), AccelAuto, arch, cache, failing)
	require.NoError(t, err)
	assert.Equal(t, AccelTCG, v.Accel, "a /dev/kvm that cannot boot a guest means TCG")
	assert.Contains(t, v.Reason, "test boot under KVM failed")
	assert.False(t, v.Cached)

	v, err = ResolveAccel(context.Background(), AccelAuto, arch, cache, failing)
	require.NoError(t, err)
	assert.Equal(t, AccelTCG, v.Accel)
	assert.True(t, v.Cached)
	assert.Equal(t, 1, probes, "the verdict is cached")

	v, err = ResolveAccel(context.Background(), AccelTCG, arch, cache, failing)
	require.NoError(t, err)
	assert.Equal(t, AccelTCG, v.Accel)

	KVMDevice = filepath.Join(t.TempDir(), "missing")
	v, err = ResolveAccel(context.Background(), AccelAuto, arch, filepath.Join(t.TempDir(), "a.json"), failing)
	require.NoError(t, err)
	assert.Equal(t, AccelTCG, v.Accel)
	assert.Contains(t, v.Reason, "cannot open")
	_, err = ResolveAccel(context.Background(), AccelKVM, arch, cache, failing)
	require.ErrorContains(t, err, "--accel kvm")

	KVMDevice = dev
	ok := func(ctx context.Context, a Accel) error { return nil }
	v, err = ResolveAccel(context.Background(), AccelAuto, arch, filepath.Join(t.TempDir(), "b.json"), ok)
	require.NoError(t, err)
	assert.Equal(t, AccelKVM, v.Accel)
}

func TestDiskArgs(t *testing.T) {
	o := fakeQEMU(t, "exit 0")
	img := filepath.Join(t.TempDir(), "a,b.img")
	require.NoError(t, os.WriteFile(img, nil, 0o644))
	o.Disks = []Disk{{Path: img, Serial: "sys"}}
	v, err := Start(context.Background(), o)
	require.NoError(t, err)
	v.Wait()
	args := strings.Join(v.Args(), " ")
	assert.Contains(t, args, "-drive file="+strings.ReplaceAll(img, ",", ",,")+",if=none,id=disk0,format=raw,readonly=on")
	assert.Contains(t, args, "-device virtio-blk-pci,drive=disk0,serial=sys")

	for _, bad := range []string{"", "Sys", "a,b", "serial-longer-than-20-bytes"} {
		o.Disks = []Disk{{Path: img, Serial: bad}}
		_, err := Start(context.Background(), o)
		assert.ErrorContains(t, err, "serial", "Start(serial %q)", bad)
	}
}
