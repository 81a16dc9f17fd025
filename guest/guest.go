package guest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/harness/wire"
)

// Mount is one file system the guest mounts if it is not mounted yet.
type Mount struct {
	Source, Target, FSType string
}

// Mounts are what eBPF tests need beyond what u-root's init mounts. They must
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
	}
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
	Config *Config
	Enc    *wire.Encoder
}

// Run loads modules and runs every suite, then sends the done event. It
// returns the first error that kept it from running everything.
func (r *Runner) Run(ctx context.Context) error {
	for _, m := range r.Config.Modules {
		ev := &wire.Module{Name: m}
		if err := kmodule.Probe(m, ""); err != nil {
			ev.Error = err.Error()
		}
		r.Enc.Encode(wire.Event{Type: wire.TypeModule, Module: ev})
	}
	if r.Config.Exec != nil {
		r.runExec(ctx, r.Config.Exec)
		return r.Enc.Encode(wire.Event{Type: wire.TypeDone, Done: &wire.Done{}})
	}
	for _, s := range r.Config.Suites {
		end := r.runSuite(ctx, s)
		r.Enc.Encode(wire.Event{Type: wire.TypeSuite, Suite: end})
	}
	return r.Enc.Encode(wire.Event{Type: wire.TypeDone, Done: &wire.Done{Suites: len(r.Config.Suites)}})
}

func (r *Runner) runSuite(ctx context.Context, s Suite) *wire.SuiteEnd {
	start := time.Now()
	end := &wire.SuiteEnd{Suite: s.Name}
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.Timeout))
		defer cancel()
	}
	dir := filepath.Join("/tmp", "suite-"+s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		end.Error = err.Error()
		return end
	}
	args := append([]string{"-t", "-p", s.Package, s.Binary, "-test.v=test2json"}, s.Args...)
	cmd := exec.CommandContext(ctx, Test2JSONPath, args...)
	cmd.Dir = dir
	records := filepath.Join(dir, "records.jsonl")
	cmd.Env = append(os.Environ(), EnvGuest+"=1", EnvSuite+"="+s.Name, EnvRecords+"="+records, "HOME=/tmp")
	cmd.Env = append(cmd.Env, r.Config.Env...)
	cmd.Stderr = &logWriter{enc: r.Enc, prefix: s.Name + ": "}
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		end.Error = err.Error()
		end.ExitCode = -1
		return end
	}
	r.forward(s, out)
	err = cmd.Wait()
	r.sendRecords(s, records)
	end.Seconds = time.Since(start).Seconds()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		end.ExitCode = -1
		end.Error = fmt.Sprintf("suite timed out after %s", time.Duration(s.Timeout))
	case errors.As(err, &exit):
		end.ExitCode = exit.ExitCode()
	case err != nil:
		end.ExitCode = -1
		end.Error = err.Error()
	}
	return end
}

// forward turns test2json's output into test events. A line that is not
// JSON (it should not happen) is forwarded as output so nothing is lost.
func (r *Runner) forward(s Suite, out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), wire.MaxFrame/2)
	for sc.Scan() {
		ev := &wire.TestEvent{}
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil || ev.Action == "" {
			ev = &wire.TestEvent{Action: "output", Package: s.Package, Output: sc.Text() + "\n"}
		}
		ev.Suite = s.Name
		r.Enc.Encode(wire.Event{Type: wire.TypeTest, Test: ev})
	}
	if err := sc.Err(); err != nil {
		r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: reading test2json output: %v", s.Name, err)})
	}
}

// sendRecords forwards the records the suite's tests wrote, even if the
// binary crashed after writing them.
func (r *Runner) sendRecords(s Suite, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return // no test reported a record
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec wire.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Test == "" {
			r.Enc.Encode(wire.Event{Type: wire.TypeLog, Log: fmt.Sprintf("%s: bad record %q", s.Name, line)})
			continue
		}
		rec.Suite = s.Name
		r.Enc.Encode(wire.Event{Type: wire.TypeRecord, Record: &rec})
	}
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

// PowerOff syncs and powers the VM off. It does not return on success.
func PowerOff() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}
