package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bpfmatrix/bpfmatrix/harness/collect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/internal/splat"
	"github.com/bpfmatrix/bpfmatrix/internal/wire"
	"github.com/bpfmatrix/bpfmatrix/kernels"
	"github.com/bpfmatrix/bpfmatrix/vm"
	"github.com/bpfmatrix/bpfmatrix/vm/hostfiles"
	"github.com/bpfmatrix/bpfmatrix/vm/initramfs"
)

// Request is one VM to boot: a kernel, what the guest is asked to do
// and the image parts.
type Request struct {
	// Column names a column's VM in the log and the progress updates;
	// empty for the VMs that are not columns (the probe, the floor), which
	// report nothing.
	Column string
	// Dir receives the VM's console log, events.jsonl and image.
	Dir    string
	Kernel *kernels.Kernel
	Arch   vm.Arch
	// Config is the guest's request; its Channel is filled in. The image
	// is Parts (shared archives, the base first), the kernel's modules
	// that Config names and Config itself. Nil: Initrd is booted as it
	// is.
	Config *wire.Config
	Parts  []string
	Initrd string
	// Disks are host directories the guest mounts (with Config only),
	// after the kernel's own files.
	Disks []Disk
	// Append is added to the kernel command line.
	Append []string
	// Accel, if set, is used as it is instead of the command's verdict
	// (the probe, the floor).
	Accel vm.Accel
	// Timeout, if set, replaces the command's VM timeout.
	Timeout time.Duration
	// Console, if set, receives the console lines; Stdin and RawConsole
	// connect the console to a terminal (see vm.Options).
	Console    io.Writer
	Stdin      io.Reader
	RawConsole io.Writer
}

// Booted is a VM that ended, or never started.
type Booted struct {
	// Err is why the VM could not be prepared or started; the other
	// fields below are then partly empty.
	Err error
	// Accel is the accelerator the VM ran (or would have run) under.
	Accel vm.Accel
	// Image is the seconds spent preparing the VM: the accelerator
	// verdict, the image, the kernel file.
	Image float64
	// Start and End are QEMU's start and exit.
	Start, End time.Time
	ConsoleLog string
	Reproduce  string
	Exit       *vm.Exit
	Events     *collect.Events
	// Status and Error say how the VM ended (see [status], [execStatus]).
	Status results.Status
	Error  string
	// Splats are the kernel splats of the console and of the kernel log,
	// each once.
	Splats []results.Splat
}

// Boot boots one VM, reads its result channel to the end through the one
// consumer (package collect, with every event in Dir/events.jsonl) and
// waits for it. A VM that ended well leaves no image behind.
func (r *Runner) Boot(ctx context.Context, req Request) *Booted {
	b := &Booted{Events: collect.New(collect.Options{})}
	t0 := time.Now()
	fail := func(err error) *Booted {
		b.Err, b.Status, b.Error = err, results.StatusError, err.Error()
		return b
	}
	if req.Column != "" {
		r.Progress(results.Progress{Column: req.Column, Phase: results.PhaseImage})
	}
	b.Accel = req.Accel
	if b.Accel == "" {
		v, err := r.accel(ctx, req.Kernel, req.Arch)
		if err != nil {
			return fail(err)
		}
		b.Accel = v.Accel
	}
	if err := os.MkdirAll(req.Dir, 0o755); err != nil {
		return fail(err)
	}
	initrd := req.Initrd
	suites := 0
	var disks []vm.Disk
	if req.Config != nil {
		cfg := *req.Config
		cfg.Channel = req.Arch.Channel
		suites = len(cfg.Suites)
		files, err := r.kernelFiles(ctx, req.Kernel, r.VM.CPUs, req.Dir)
		if err != nil {
			return fail(err)
		}
		var parts []string
		parts, disks = files.apply(&cfg, req.Parts, disks)
		for _, d := range req.Disks {
			disks = append(disks, d.VM)
			cfg.Disks = append(cfg.Disks, d.Guest)
			for _, b := range d.Guest.Binds {
				if b.Writable && !containsModule(cfg.Modules, overlayModule) {
					cfg.Modules = append(cfg.Modules, overlayModule)
				}
			}
		}
		inc, err := r.includeArchive(req.Arch.GOARCH)
		if err != nil {
			return fail(err)
		}
		if inc != "" {
			parts = append(parts, inc)
			cfg.Binds = append(cfg.Binds, hostfiles.Binds(wire.IncludeDir, r.Include)...)
		}
		if initrd, err = writeInitrd(r.CacheDir, req.Kernel, cfg, parts, req.Dir); err != nil {
			return fail(err)
		}
	}
	kernelImage := r.bootImage(req.Kernel) // unpacked once per kernel, then cached
	b.Image = time.Since(t0).Seconds()
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = r.VM.Timeout
	}

	b.ConsoleLog = filepath.Join(req.Dir, "console.log")
	var onHello func()
	if req.Column != "" {
		r.Logf("%s: booting %s (%s)", req.Column, req.Kernel.Release, b.Accel)
		r.Progress(results.Progress{Column: req.Column, Phase: results.PhaseBooting, Elapsed: time.Since(t0), Message: string(b.Accel)})
		onHello = func() {
			msg := ""
			if suites > 0 {
				msg = ", running tests"
			}
			r.Logf("%s: guest up after %.1fs%s", req.Column, time.Since(b.Start).Seconds(), msg)
		}
	}
	// A guest program with a request says hello; the raw initramfs boots
	// (the probe with its own short timeout, the floor) never do.
	deadline := &bootDeadline{}
	if req.Config != nil {
		deadline.after = r.VM.BootTimeout
	}
	copts := collect.Options{OnHello: func() {
		deadline.said()
		if onHello != nil {
			onHello()
		}
	}}
	if req.Column != "" {
		copts.OnTest = func(suite string, index int, test string) {
			r.Progress(results.Progress{Column: req.Column, Phase: results.PhaseTesting, Suite: suite, SuiteIndex: index, Suites: suites, Test: test, Elapsed: time.Since(t0)})
		}
	}
	b.Start = time.Now()
	v, err := vm.Start(ctx, vm.Options{
		Arch: req.Arch, Kernel: kernelImage, Initrd: initrd, Accel: b.Accel,
		MemoryMB: r.VM.MemoryMB, CPUs: r.VM.CPUs, Timeout: timeout,
		ConsoleLog: b.ConsoleLog, Console: req.Console, Append: req.Append,
		Stdin: req.Stdin, RawConsole: req.RawConsole, Disks: disks,
	})
	if err != nil {
		return fail(err)
	}
	deadline.start(v.Kill)
	b.Reproduce = v.Reproduce()
	if f, err := os.Create(filepath.Join(req.Dir, "events.jsonl")); err == nil {
		defer f.Close()
		copts.Sink = f
	}
	b.Events = collect.Read(v.Results(), copts)
	b.Exit = v.Wait()
	b.End = time.Now()
	deadline.stop()
	b.Splats = mergeSplats(b.Exit.Splats, b.Events.Splats)
	for _, s := range b.Splats {
		r.Logf("%s: kernel %s: %s", req.Column, s.Kind, firstLine(s.Lines))
	}
	switch {
	case deadline.missed() && b.Events.Hello == nil && ctx.Err() == nil:
		b.Status, b.Error = results.StatusBootFailed, deadline.error()
	case req.Config != nil && req.Config.Exec != nil:
		b.Status, b.Error = execStatus(b.Exit, b.Events)
	default:
		b.Status, b.Error = status(b.Exit, b.Events)
	}
	dropImage(req.Dir, b.Status == results.StatusOK)
	return b
}

// ProgramExit is how a raw-exec program ended: its exit code (-1 if the
// guest never reported it) and the VM's error, else the program's.
func (b *Booted) ProgramExit() (code int, msg string) {
	code, msg = -1, b.Error
	if x := b.Events.Exit; x != nil {
		code = x.Code
		if x.Error != "" && msg == "" {
			msg = x.Error
		}
	}
	return code, msg
}

// writeInitrd writes one VM's initramfs into dir: the shared parts, the
// kernel's modules that cfg names and the run configuration.
func writeInitrd(cacheDir string, k *kernels.Kernel, cfg wire.Config, parts []string, dir string) (string, error) {
	parts = append([]string(nil), parts...)
	if len(cfg.Modules) > 0 {
		mods, err := initramfs.Modules(filepath.Join(cacheDir, "initramfs"), k.Release, k.ModulesDir, cfg.Modules)
		if err != nil {
			return "", err
		}
		parts = append(parts, mods)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cfgArchive := filepath.Join(dir, "run.cpio")
	if err := initramfs.WriteArchive(cfgArchive, []initramfs.Entry{{Name: strings.TrimPrefix(wire.ConfigPath, "/"), Mode: 0o644, Data: b}}); err != nil {
		return "", err
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	return initrd, initramfs.Concat(initrd, append(parts, cfgArchive)...)
}

// status derives a suite run's status from how its VM ended and what the
// guest said. No done event is never a pass.
func status(exit *vm.Exit, ev *collect.Events) (results.Status, string) {
	return vmStatus(exit, ev.Hello != nil, ev.Done != nil, "the guest stopped without its done event")
}

// execStatus derives a raw-exec run's status from how its VM ended and what
// the guest said. No exit event is never a pass, and neither is a result
// channel with bad frames: the output may be incomplete.
func execStatus(exit *vm.Exit, ev *collect.Events) (results.Status, string) {
	var detail string
	if len(ev.Diagnostics) > 0 {
		detail = " (guest: " + strings.Join(ev.Diagnostics, "; ") + ")"
	}
	st, msg := vmStatus(exit, ev.Hello != nil, ev.Exit != nil && ev.Done != nil, "the guest stopped before the program's exit was reported"+detail)
	if st == results.StatusOK && len(ev.FrameErrors) > 0 {
		return results.StatusCrashed, fmt.Sprintf("%d bad frame(s) on the result channel: output may be incomplete (first: %s)", len(ev.FrameErrors), ev.FrameErrors[0])
	}
	return st, msg
}

// vmStatus is the status of a VM that ended with exit, whose guest did or
// did not report in (hello) and report its work finished (finished);
// unfinished says what was missing. Timeout, panic and interruption win
// over what the guest said.
func vmStatus(exit *vm.Exit, hello, finished bool, unfinished string) (results.Status, string) {
	switch exit.Reason {
	case vm.ReasonTimeout:
		return results.StatusTimeout, fmt.Sprintf("VM killed after the %s timeout (raise it with --timeout)", exit.Duration.Round(time.Second))
	case vm.ReasonPanic:
		return results.StatusPanic, "guest kernel panic: " + firstLine(exit.PanicLines)
	case vm.ReasonCanceled:
		return results.StatusInterrupted, "interrupted"
	}
	withErr := func(msg string) string {
		if exit.Err != nil {
			msg += ": " + exit.Err.Error()
		}
		return msg
	}
	switch {
	case !hello:
		return results.StatusBootFailed, withErr("the guest never reported in")
	case !finished:
		return results.StatusCrashed, withErr(unfinished)
	case exit.Err != nil:
		return results.StatusCrashed, exit.Err.Error()
	}
	return results.StatusOK, ""
}

func firstLine(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[0])
}

// mergeSplats returns the splats of the kernel log (complete: the console
// runs at the quiet loglevel and shows a splat's first lines at most) and
// those of the console that the kernel log did not bring (the guest died
// before it could send them), each report once.
func mergeSplats(console []splat.Splat, kmsg []wire.Splat) []results.Splat {
	fromLog := make([]splat.Splat, len(kmsg))
	for i, s := range kmsg {
		fromLog[i] = splat.Splat{Kind: s.Kind, Lines: s.Lines}
	}
	var out []results.Splat
	for _, s := range splat.Merge(fromLog, console) {
		out = append(out, results.Splat{Kind: s.Kind, Lines: s.Lines})
	}
	return out
}

// dropImage removes a finished VM's initramfs (its console log, events and
// result stay). A VM that did not end well keeps it, so that its reproduce
// command still works.
func dropImage(dir string, ok bool) {
	if !ok {
		return
	}
	for _, f := range []string{"initrd.cpio", "run.cpio", "boot.cpio"} {
		os.Remove(filepath.Join(dir, f))
	}
}
