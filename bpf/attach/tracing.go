package attach

import (
	"fmt"
	"io"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Mechanism names used in Results.
const (
	MechFentry       = "fentry"
	MechFexit        = "fexit"
	MechKprobe       = "kprobe"
	MechKretprobe    = "kretprobe"
	MechKprobeMulti  = "kprobe.multi"
	MechKprobeEach   = "kprobe each"
	MechUprobeMulti  = "uprobe.multi"
	MechUprobeEach   = "uprobe each"
	MechTCX          = "tcx"
	MechNetlinkTC    = "netlink clsact/cls_bpf"
	MechBPFLSM       = "bpf lsm"
	MechRingbuf      = "ringbuf"
	MechPerfEventArr = "perf event array"
)

// Entry attaches to the entry of kernel function symbol: the fentry
// program of spec named fentry (retargeted to symbol), falling back to the
// kprobe program named kprobe. Both should report the same event.
func Entry(spec *ebpf.CollectionSpec, symbol, fentry, kprobe string, opts *Options) (*Attachment, error) {
	return tracingChain(spec, symbol, fentry, kprobe, ebpf.AttachTraceFEntry, opts, nil)
}

// Exit attaches to the return of kernel function symbol: the fexit
// program named fexit, falling back to the kretprobe program named
// kretprobe (which sees only the return value, not the arguments).
func Exit(spec *ebpf.CollectionSpec, symbol, fexit, kretprobe string, opts *Options) (*Attachment, error) {
	return tracingChain(spec, symbol, fexit, kretprobe, ebpf.AttachTraceFExit, opts, nil)
}

// ModuleFunc attaches to the entry of symbol, a function of kernel module
// module (which must be loaded): fentry, which needs the module's BTF
// (/sys/kernel/btf/<module>, CONFIG_DEBUG_INFO_BTF_MODULES), falling back
// to a kprobe.
func ModuleFunc(spec *ebpf.CollectionSpec, module, symbol, fentry, kprobe string, opts *Options) (*Attachment, error) {
	pre := func() error {
		if _, err := os.Stat("/sys/module/" + module); err != nil {
			return fmt.Errorf("module %s not loaded: %w", module, err)
		}
		if _, err := os.Stat("/sys/kernel/btf/" + module); err != nil {
			return fmt.Errorf("no BTF for module %s (/sys/kernel/btf/%s missing: kernel without CONFIG_DEBUG_INFO_BTF_MODULES): %w",
				module, module, ebpf.ErrNotSupported)
		}
		return nil
	}
	return tracingChain(spec, symbol, fentry, kprobe, ebpf.AttachTraceFEntry, opts, pre)
}

// tracingChain is fentry/fexit (at) on symbol, then kprobe/kretprobe.
func tracingChain(spec *ebpf.CollectionSpec, symbol, tracing, kprobe string, at ebpf.AttachType, opts *Options, pre func() error) (*Attachment, error) {
	opts = orDefault(opts)
	var won *ebpf.Collection
	mech, kmech, ret := MechFentry, MechKprobe, false
	if at == ebpf.AttachTraceFExit {
		mech, kmech, ret = MechFexit, MechKretprobe, true
	}
	first := step(mech, spec, tracing, opts, func(ps *ebpf.ProgramSpec) {
		ps.Type, ps.AttachType, ps.AttachTo = ebpf.Tracing, at, symbol
	}, func(p *ebpf.Program) (io.Closer, error) {
		return link.AttachTracing(link.TracingOptions{Program: p})
	}, &won)
	if pre != nil {
		attach := first.Attach
		first.Attach = func() (io.Closer, error) {
			if err := pre(); err != nil {
				return nil, err
			}
			return attach()
		}
	}
	second := step(kmech, spec, kprobe, opts, nil, func(p *ebpf.Program) (io.Closer, error) {
		if ret {
			return link.Kretprobe(symbol, p, nil)
		}
		return link.Kprobe(symbol, p, nil)
	}, &won)
	return run(opts.Recording, &won, first, second)
}
