package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// Mount is one file system the guest mounts if it is not mounted yet.
type Mount struct {
	Source, Target, FSType string
}

// Mounts are what eBPF tests need beyond what u-root's libinit mounts. They must
// be in place before any process that uses cilium/ebpf starts, because the
// library caches /proc/self/mountinfo.
var Mounts = []Mount{
	{"bpf", "/sys/fs/bpf", "bpf"},
	{"tracefs", "/sys/kernel/tracing", "tracefs"},
	{"debugfs", "/sys/kernel/debug", "debugfs"},
	{"cgroup2", "/sys/fs/cgroup/unified", "cgroup2"},
}

// Hello describes the running kernel.
func Hello() *wire.Hello {
	var u unix.Utsname
	_ = unix.Uname(&u)
	cmdline, _ := os.ReadFile("/proc/cmdline")
	lsm, _ := os.ReadFile("/sys/kernel/security/lsm")
	return &wire.Hello{
		Release: unix.ByteSliceToString(u.Release[:]),
		Version: unix.ByteSliceToString(u.Version[:]),
		Machine: unix.ByteSliceToString(u.Machine[:]),
		Cmdline: strings.TrimSpace(string(cmdline)),
		LSM:     strings.TrimSpace(string(lsm)),
		Clock:   bootClock(),
	}
}

// bootClock reads where the boot went: when the kernel ran /init, and
// now, in seconds since the kernel started.
func bootClock() *wire.BootClock {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return nil
	}
	return &wire.BootClock{
		Init:  initExec(),
		Hello: float64(ts.Nano()) / 1e9,
	}
}

// initExec is when the kernel started /init, from its "Run /init as init
// process" line in the kernel log (PID 1's start time is earlier: the
// kernel thread that becomes init), or 0 if the log does not say.
func initExec() float64 {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 8192)
	for {
		n, err := f.Read(buf) // one record per read; EAGAIN at the end
		if err != nil {
			return 0
		}
		if t, ok := parseInitRecord(string(buf[:n])); ok {
			return t
		}
	}
}

// parseInitRecord reads one /dev/kmsg record ("prio,seq,usec,flags;text")
// and returns its time if it is the kernel's "Run ... as init process".
func parseInitRecord(rec string) (float64, bool) {
	head, text, ok := strings.Cut(rec, ";")
	if !ok || !strings.HasPrefix(text, "Run ") || !strings.Contains(text, " as init process") {
		return 0, false
	}
	f := strings.Split(head, ",")
	if len(f) < 3 {
		return 0, false
	}
	usec, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return 0, false
	}
	return float64(usec) / 1e6, true
}

// OpenChannel opens the result channel device in raw mode, so that the tty
// layer neither echoes nor rewrites the frames.
func OpenChannel(dev string) (*os.File, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open result channel: %w", err)
	}
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		err = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, t)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("set %s raw: %w", dev, err)
	}
	return f, nil
}

// MountAll mounts every entry of Mounts that is not mounted yet.
func MountAll() error {
	mounted, err := mountedTargets()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range Mounts {
		if mounted[m.Target] {
			continue
		}
		if err := os.MkdirAll(m.Target, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.Source, m.Target, m.FSType, 0, ""); err != nil {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.FSType, m.Target, err))
		}
	}
	return errors.Join(errs...)
}

func mountedTargets() (map[string]bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out[f[4]] = true
		}
	}
	return out, nil
}

// Runner runs one guest configuration and reports on enc.
type Runner struct {
	Config *wire.Config
	Enc    *wire.Encoder
	// Test2JSON is the test2json binary; empty means wire.Test2JSONPath.
	Test2JSON string
	// KernelLog is the kernel log to watch for splats: /dev/kmsg in the
	// VM. Empty watches nothing.
	KernelLog string
}

func (r *Runner) test2json() string {
	if r.Test2JSON != "" {
		return r.Test2JSON
	}
	return wire.Test2JSONPath
}

// Run loads modules and runs every suite, then sends the done event. It
// returns the first error that kept it from running everything.
func (r *Runner) Run(ctx context.Context) error {
	stopSplats := WatchSplats(r.KernelLog, r.Enc)
	for _, m := range r.Config.Modules {
		ev := &wire.Module{Name: m}
		if err := kmodule.Probe(m, ""); err != nil {
			ev.Error = err.Error()
		}
		r.Enc.Encode(wire.Event{Type: wire.TypeModule, Module: ev})
	}
	if err := MountDisks(r.Config.Disks); err != nil {
		// Reported, not fatal: the tests that need the files fail with
		// their own error (and the machine suite names what is missing).
		r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("disks: %v", err)})
	}
	if err := Bind(r.Config.Binds); err != nil {
		r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("includes: %v", err)})
	}
	if r.Config.Exec != nil {
		r.runExec(ctx, r.Config.Exec)
		stopSplats()
		return r.Enc.Encode(wire.Event{Type: wire.TypeDone, Done: &wire.Done{}})
	}
	// Independent binaries run at once, up to Parallel, as go test -p
	// runs packages; each reports on the one (concurrency-safe) encoder.
	sem := make(chan struct{}, r.parallel())
	var wg sync.WaitGroup
	for _, group := range groupSuites(r.Config.Suites) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.runSuites(ctx, group)
		})
	}
	wg.Wait()
	stopSplats()
	return r.Enc.Encode(wire.Event{Type: wire.TypeDone, Done: &wire.Done{Suites: len(r.Config.Suites)}})
}

// parallel is how many test binaries run at once: Config.Parallel, else
// one per CPU.
func (r *Runner) parallel() int {
	if r.Config.Parallel > 0 {
		return r.Config.Parallel
	}
	return max(runtime.NumCPU(), 1)
}

// groupSuites splits suites into the runs of one binary process each:
// consecutive suites with the same Binary and Parent share one; a suite
// without a Parent is a process of its own.
func groupSuites(suites []wire.Suite) [][]wire.Suite {
	var out [][]wire.Suite
	for len(suites) > 0 {
		n := 1
		for n < len(suites) && suites[0].Parent != "" && suites[n].Binary == suites[0].Binary && suites[n].Parent == suites[0].Parent {
			n++
		}
		out = append(out, suites[:n])
		suites = suites[n:]
	}
	return out
}

// logWriter forwards a stream as log events, a line at a time.
type logWriter struct {
	enc    *wire.Encoder
	prefix string
}

func (w *logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.enc.Encode(wire.Event{Type: wire.TypeLog, Log: w.prefix + line})
	}
	return len(p), nil
}

// PowerOff syncs and ends the VM. It resets the machine rather than
// powering it off: QEMU runs with -no-reboot, so a reset ends it at once,
// on every machine and kernel alike. It does not return on success.
func PowerOff() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}
