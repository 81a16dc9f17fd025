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

	"github.com/bpfmatrix/bpfmatrix/internal/splat"
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
	// Disks are attached as read-only virtio block devices, in order.
	Disks []Disk
}

// Disk is a read-only disk image the guest sees as a virtio block device
// whose serial number (/sys/block/vdX/serial) is Serial.
type Disk struct {
	// Path is the image file on the host.
	Path string
	// Serial names the disk for the guest; at most 20 bytes of [a-z0-9-].
	Serial string
}

// validSerial reports whether s can name a disk: virtio-blk keeps 20 bytes
// of serial, and QEMU's -drive syntax gives ',' a meaning.
func validSerial(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
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
	// Splats are the kernel's warnings, BUGs, oopses, stalls and lockups
	// seen on the console (see package splat).
	Splats []splat.Splat
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
	files := []string{o.Kernel, o.Initrd}
	for _, d := range o.Disks {
		if !validSerial(d.Serial) {
			return nil, fmt.Errorf("vm: disk %s: serial %q is not 1-20 characters of [a-z0-9-]", d.Path, d.Serial)
		}
		files = append(files, d.Path)
	}
	for _, f := range files {
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
	// The console pipe is ours, not exec's StdoutPipe: Wait closes that
	// one as soon as QEMU exits, which loses the console's last lines (a
	// panic or a splat just before the guest reset). This one reaches EOF
	// when every process of the group has closed it.
	conR, conW, err := os.Pipe()
	if err != nil {
		rr.Close()
		rw.Close()
		logf.Close()
		return nil, err
	}
	v.cmd.Stdout = conW
	v.con = newConsole(60, func() {
		// panic=-1 makes the guest reboot at once and -no-reboot makes QEMU
		// exit; kill it anyway if it lingers.
		time.AfterFunc(3*time.Second, func() { v.kill(ReasonPanic) })
	})
	v.start = time.Now()
	if err := v.cmd.Start(); err != nil {
		rr.Close()
		rw.Close()
		conR.Close()
		conW.Close()
		logf.Close()
		return nil, fmt.Errorf("vm: start %s: %w", bin, err)
	}
	rw.Close()
	conW.Close()
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
		conR.Close()
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
	e.ConsoleTail, e.PanicLines, e.Splats = v.con.snapshot()
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
	appendLine := append([]string{"console=" + o.Arch.Console}, BaseCmdline...)
	appendLine = append(appendLine, o.Arch.Cmdline...)
	appendLine = append(appendLine, o.Append...)
	args := []string{"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"}
	args = append(args, o.Arch.Machine...)
	args = append(args,
		"-accel", accelArg(o.Accel),
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
	args = append(args, o.Arch.ChannelArgs...)
	for i, d := range o.Disks {
		id := "disk" + strconv.Itoa(i)
		args = append(args,
			"-drive", "file="+strings.ReplaceAll(d.Path, ",", ",,")+",if=none,id="+id+",format=raw,readonly=on",
			"-device", "virtio-blk-pci,drive="+id+",serial="+d.Serial)
	}
	return args
}

// accelArg is QEMU's -accel value for a. TCG runs every vCPU of a guest on
// one host thread (thread=single): the guest still has all its CPUs, but
// multi-threaded TCG let a vCPU execute kernel text while another one was
// patching it, and kprobes and ftrace patch it live: debian-5.10 with two
// vCPUs oopsed at vfs_write+0 ("BUG: kernel NULL pointer dereference")
// as a kprobe was attached there, and a kprobe test on 6.12 died of an
// int3 in interrupt. Several VMs run at once on a few cores anyway, so
// the threads cost little.
func accelArg(a Accel) string {
	if a == AccelTCG {
		return "tcg,thread=single"
	}
	return string(a)
}

// BaseCmdline is what every guest's kernel command line holds besides
// console= and the profile's arguments. Nothing here trades what the tests
// can see for boot speed: panic=-1 reboots at once on a panic (QEMU's
// -no-reboot then ends the VM, so a panic is reported instead of hanging
// until the timeout), and quiet is the distributions' default console
// loglevel (dmesg still has every line).
var BaseCmdline = []string{"panic=-1", "quiet"}

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
