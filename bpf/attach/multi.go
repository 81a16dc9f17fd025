package attach

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// KprobeMulti attaches program name of spec (a kprobe program) to the
// entry of every function in symbols: one kprobe.multi link (Linux 5.18+),
// falling back to one kprobe per function. The program is loaded with the
// attach type each mechanism needs.
func KprobeMulti(spec *ebpf.CollectionSpec, symbols []string, name string, opts *Options) (*Attachment, error) {
	opts = orDefault(opts)
	var won *ebpf.Collection
	return run(opts.Recording, &won,
		step(MechKprobeMulti, spec, name, opts, func(ps *ebpf.ProgramSpec) {
			ps.AttachType = ebpf.AttachTraceKprobeMulti
		}, func(p *ebpf.Program) (io.Closer, error) {
			l, err := link.KprobeMulti(p, link.KprobeMultiOptions{Symbols: symbols})
			return l, fprobeHint(explain(err, features.HaveBPFLinkKprobeMulti))
		}, &won),
		step(MechKprobeEach, spec, name, opts, func(ps *ebpf.ProgramSpec) {
			ps.AttachType = ebpf.AttachNone
		}, func(p *ebpf.Program) (io.Closer, error) {
			return each(symbols, func(s string) (link.Link, error) { return link.Kprobe(s, p, nil) })
		}, &won),
	)
}

// UprobeMulti attaches program name of spec (a uprobe program) to the
// entry of every symbol of executable path: one uprobe.multi link (Linux
// 6.6+), falling back to one uprobe per symbol.
func UprobeMulti(spec *ebpf.CollectionSpec, path string, symbols []string, name string, opts *Options) (*Attachment, error) {
	opts = orDefault(opts)
	ex, err := link.OpenExecutable(path)
	if err != nil {
		return nil, fmt.Errorf("open executable: %w", err)
	}
	var won *ebpf.Collection
	return run(opts.Recording, &won,
		step(MechUprobeMulti, spec, name, opts, func(ps *ebpf.ProgramSpec) {
			ps.AttachType = ebpf.AttachTraceUprobeMulti
		}, func(p *ebpf.Program) (io.Closer, error) {
			l, err := ex.UprobeMulti(symbols, p, nil)
			return l, explain(err, features.HaveBPFLinkUprobeMulti)
		}, &won),
		step(MechUprobeEach, spec, name, opts, func(ps *ebpf.ProgramSpec) {
			ps.AttachType = ebpf.AttachNone
		}, func(p *ebpf.Program) (io.Closer, error) {
			return each(symbols, func(s string) (link.Link, error) { return ex.Uprobe(s, p, nil) })
		}, &won),
	)
}

// each attaches once per symbol; on an error it detaches what it attached.
func each(symbols []string, attach func(string) (link.Link, error)) (io.Closer, error) {
	var cs closers
	for _, s := range symbols {
		l, err := attach(s)
		if err != nil {
			cs.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		cs = append(cs, l)
	}
	return cs, nil
}

// explain returns err; when err does not say why and the feature probe
// says the kernel lacks the feature, it wraps the probe's
// ebpf.ErrNotSupported and keeps err's text. The probe only explains: the
// attach error decided already.
func explain(err error, probe func() error) error {
	if err == nil || errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	if perr := probe(); errors.Is(perr, ebpf.ErrNotSupported) {
		return fmt.Errorf("%w (attach: %v)", perr, err)
	}
	return err
}

// fprobeHint adds to a "not supported" kprobe.multi error that the kernel
// has no fprobe (kprobe.multi links are built on it, so a 5.18+ kernel
// built without CONFIG_FPROBE refuses them too), when /proc/kallsyms has no
// register_fprobe. Older kernels' errors already say "requires >= v5.18".
func fprobeHint(err error) error {
	if !errors.Is(err, ebpf.ErrNotSupported) || !atLeast(5, 18) {
		return err
	}
	f, ferr := os.Open("/proc/kallsyms")
	if ferr != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasSuffix(sc.Text(), " register_fprobe") {
			return err
		}
	}
	if sc.Err() != nil {
		return err
	}
	return fmt.Errorf("%w; no register_fprobe in /proc/kallsyms: kernel without CONFIG_FPROBE", err)
}

// atLeast reports whether the running kernel's release is major.minor or
// newer (false if it cannot tell).
func atLeast(major, minor int) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var ma, mi int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
