package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Accel is a QEMU accelerator.
type Accel string

// Accelerators.
const (
	AccelAuto Accel = "auto"
	AccelKVM  Accel = "kvm"
	AccelTCG  Accel = "tcg"
)

// ParseAccel checks an accelerator name from a flag.
func ParseAccel(s string) (Accel, error) {
	switch a := Accel(s); a {
	case AccelAuto, AccelKVM, AccelTCG:
		return a, nil
	}
	return "", fmt.Errorf("unknown accelerator %q (valid: auto, kvm, tcg)", s)
}

// Options describe one VM.
type Options struct {
	Arch   Arch
	Kernel string
	Initrd string
	// Append is added to the kernel command line after the console and
	// panic settings.
	Append []string
	// MemoryMB defaults to 1024.
	MemoryMB int
	// CPUs defaults to 1.
	CPUs int
	// Accel must be kvm or tcg here; resolve auto first (see ResolveAccel).
	Accel Accel
	// Timeout bounds the VM's whole life. Required.
	Timeout time.Duration
	// ConsoleLog is the file the console is written to. Required.
	ConsoleLog string
	// Console, if set, also receives the console (e.g. --verbose).
	Console io.Writer
	// QEMU overrides the emulator binary of Arch.
	QEMU string
	// Stdin, if set, is the console's input, for an interactive console
	// (bpfmatrix shell). Reading it never delays Wait.
	Stdin io.Reader
	// RawConsole, if set, receives the console's bytes as they arrive,
	// not split into lines (a shell prompt has no newline).
	RawConsole io.Writer
}

// Reason says why a VM stopped.
type Reason string

// Reasons a VM stops.
const (
	// ReasonExited: QEMU exited by itself (the guest powered off, or QEMU
	// failed: see Exit.Err).
	ReasonExited Reason = "exited"
	// ReasonTimeout: the VM ran past Options.Timeout and was killed.
	ReasonTimeout Reason = "timeout"
	// ReasonPanic: the guest kernel panicked.
	ReasonPanic Reason = "panic"
	// ReasonCanceled: the context was canceled (e.g. Ctrl-C) and the VM
	// was killed.
	ReasonCanceled Reason = "canceled"
	// ReasonKilled: QEMU died from a signal nobody here sent.
	ReasonKilled Reason = "killed"
)

// Exit describes how a VM ended.
type Exit struct {
	Reason   Reason
	ExitCode int
	// Err is QEMU's own failure, with its stderr.
	Err         error
	Duration    time.Duration
	PanicLines  []string
	ConsoleTail []string
	// MaxRSSKiB is QEMU's peak resident memory.
	MaxRSSKiB int64
}

// VM is one running QEMU process.
type VM struct {
	opts    Options
	cmd     *exec.Cmd
	args    []string
	results *os.File
	log     *os.File
	con     *console
	stderr  bytes.Buffer
	start   time.Time

	mu     sync.Mutex
	reason Reason // set by whoever kills the VM first

	conDone chan struct{}
	exited  chan struct{}
	exit    *Exit
}

// ErrQEMUNotFound is returned when the emulator binary is not installed.
var ErrQEMUNotFound = errors.New("qemu not found")

// Start boots a VM. The caller must call Wait.
func Start(ctx context.Context, o Options) (*VM, error) {
	if o.Timeout <= 0 {
		return nil, errors.New("vm: Options.Timeout is required")
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	bin := o.QEMU
	if bin == "" {
		bin = o.Arch.QEMU
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not installed: run `sudo apt-get install -y %s`", ErrQEMUNotFound, bin, o.Arch.Package)
	}
	for _, f := range []string{o.Kernel, o.Initrd} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("vm: %w", err)
		}
	}
	logf, err := os.Create(o.ConsoleLog)
	if err != nil {
		return nil, fmt.Errorf("vm: console log: %w", err)
	}
	rr, rw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	v := &VM{opts: o, results: rr, log: logf, conDone: make(chan struct{}), exited: make(chan struct{})}
	v.args = v.qemuArgs("/dev/fd/3")
	v.cmd = exec.Command(path, v.args...)
	v.cmd.ExtraFiles = []*os.File{rw}
	if o.Stdin != nil {
		in, owned, err := stdinFile(o.Stdin)
		if err != nil {
			rr.Close()
			rw.Close()
			logf.Close()
			return nil, err
		}
		if owned {
			defer in.Close() // QEMU has its own copy once started
		}
		v.cmd.Stdin = in
	}
	v.cmd.Stderr = io.MultiWriter(&v.stderr, logf)
	// Own process group, so that the kill reaches every thread and child;
	// and die with us if we die without cleaning up.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	conR, err := v.cmd.StdoutPipe()
	if err != nil {
		rr.Close()
		rw.Close()
		logf.Close()
		return nil, err
	}
	v.con = newConsole(60, func() {
		// panic=-1 makes the guest reboot at once and -no-reboot makes QEMU
		// exit; kill it anyway if it lingers.
		time.AfterFunc(3*time.Second, func() { v.kill(ReasonPanic) })
	})
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		rr.Close()
		rw.Close()
		logf.Close()
		return nil, fmt.Errorf("vm: start %s: %w", bin, err)
	}
	rw.Close()
	go func() {
		var w io.Writer = logf
		if o.Console != nil {
			w = io.MultiWriter(logf, o.Console)
		}
		var r io.Reader = conR
		if o.RawConsole != nil {
			r = io.TeeReader(conR, o.RawConsole)
		}
		v.con.consume(r, w)
		close(v.conDone)
	}()
	go v.watch(ctx)
	return v, nil
}

func (v *VM) watch(ctx context.Context) {
	t := time.NewTimer(v.opts.Timeout)
	defer t.Stop()
	select {
	case <-t.C:
		v.kill(ReasonTimeout)
	case <-ctx.Done():
		v.kill(ReasonCanceled)
	case <-v.exited:
	}
}

// kill sends SIGKILL to QEMU's process group, recording why.
func (v *VM) kill(r Reason) {
	v.mu.Lock()
	if v.reason == "" {
		v.reason = r
	}
	v.mu.Unlock()
	if v.cmd.Process != nil {
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Kill stops the VM now.
func (v *VM) Kill() { v.kill(ReasonCanceled) }

// Results is the host end of the result channel. It reaches EOF when QEMU
// exits.
func (v *VM) Results() io.Reader { return v.results }

// Wait waits for QEMU to exit and says how the VM ended. It is safe to call
// more than once.
func (v *VM) Wait() *Exit {
	v.mu.Lock()
	if v.exit != nil {
		v.mu.Unlock()
		<-v.exited
		return v.exit
	}
	v.exit = &Exit{}
	v.mu.Unlock()

	err := v.cmd.Wait()
	// Make sure nothing of the group survives, whatever happened.
	_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
	<-v.conDone
	v.log.Close()
	e := v.exit
	e.Duration = time.Since(v.start)
	if ru, ok := v.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		e.MaxRSSKiB = ru.Maxrss
	}
	e.ConsoleTail, e.PanicLines = v.con.snapshot()
	v.mu.Lock()
	reason := v.reason
	v.mu.Unlock()
	var exitErr *exec.ExitError
	switch {
	case reason != "":
		e.Reason = reason
	case len(e.PanicLines) > 0:
		e.Reason = ReasonPanic
	case errors.As(err, &exitErr) && exitErr.ProcessState.Sys().(syscall.WaitStatus).Signaled():
		e.Reason = ReasonKilled
		e.Err = fmt.Errorf("qemu killed by %v%s", exitErr.ProcessState.Sys().(syscall.WaitStatus).Signal(), stderrTail(v.stderr.String()))
	default:
		e.Reason = ReasonExited
	}
	if errors.As(err, &exitErr) {
		e.ExitCode = exitErr.ExitCode()
		if e.Reason == ReasonExited {
			e.Err = fmt.Errorf("qemu exited with code %d%s", e.ExitCode, stderrTail(v.stderr.String()))
		}
	}
	close(v.exited)
	return e
}

// stdinFile returns a file QEMU can read r from. Any reader but a file is
// copied through a pipe by a goroutine that Wait does not wait for, so a
// terminal that is never typed at again cannot keep Wait from returning.
// owned says the file is ours to close.
func stdinFile(r io.Reader) (f *os.File, owned bool, err error) {
	if f, ok := r.(*os.File); ok {
		return f, false, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, false, fmt.Errorf("vm: console input: %w", err)
	}
	go func() {
		io.Copy(pw, r)
		pw.Close()
	}()
	return pr, true, nil
}

// Stderr is what QEMU itself printed (not the guest console).
func (v *VM) Stderr() string { return v.stderr.String() }

// Args returns QEMU's arguments as started.
func (v *VM) Args() []string { return append([]string(nil), v.args...) }

// Reproduce is a shell command line that boots the same VM by hand, with
// the result channel written to results.out.
func (v *VM) Reproduce() string {
	bin := v.opts.QEMU
	if bin == "" {
		bin = v.opts.Arch.QEMU
	}
	parts := []string{bin}
	for _, a := range v.qemuArgs("results.out") {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func (v *VM) qemuArgs(channel string) []string {
	o := v.opts
	cpu := o.Arch.CPUTCG
	if o.Accel == AccelKVM {
		cpu = o.Arch.CPUKVM
	}
	appendLine := []string{"console=" + o.Arch.Console, "panic=-1", "quiet"}
	appendLine = append(appendLine, BootArgs...)
	appendLine = append(appendLine, o.Arch.BootArgs...)
	appendLine = append(appendLine, o.Append...)
	args := []string{"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"}
	args = append(args, o.Arch.Machine...)
	args = append(args,
		"-accel", string(o.Accel),
		"-cpu", cpu,
		"-m", strconv.Itoa(o.MemoryMB),
		"-smp", strconv.Itoa(o.CPUs),
		"-kernel", o.Kernel,
		"-initrd", o.Initrd,
		"-append", strings.Join(appendLine, " "),
		"-chardev", "stdio,id=con,signal=off",
		"-serial", "chardev:con",
		"-chardev", "file,id=res,path="+channel,
	)
	return append(args, o.Arch.ChannelArgs...)
}

// BootArgs are kernel arguments of every VM that cut boot time without
// changing what the tests see. cryptomgr.notests skips the crypto
// self-tests, which the kernel runs at boot: 0.30 s of crypto_algapi_init
// under TCG (initcall_debug, debian-6.1), and the floor boot went from a
// median of 2.79 s to 2.30 s.
var BootArgs = []string{"cryptomgr.notests"}

// stderrTail is the end of QEMU's stderr, for error messages.
func stderrTail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return ": " + strings.Join(lines, " / ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
