// Package probe counts the calls a process makes to a kernel function
// through a fallback chain: fentry where the kernel has BPF trampolines,
// else a kprobe. Each step is verified (the probe must see a call of the
// process) before it wins, and the chain says which step won and why the
// earlier one failed. The programs are assembled at run time with
// cilium/ebpf/asm: no clang, no generated files.
//
// It is the example of `bpfmatrix test`: its test records the winning
// mechanism (package record), and bpfmatrix.yaml says which one each
// kernel must use.
package probe

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Symbol is the kernel function the probe counts: write(2) reaches it on
// every kernel and architecture.
const Symbol = "vfs_write"

// The mechanisms of the chain, in order.
const (
	Fentry = "fentry"
	Kprobe = "kprobe"
)

// Probe counts the calls of Symbol by one process.
type Probe struct {
	// Mechanism is the step that won, Failed why each earlier one did not.
	Mechanism string
	Failed    []string

	counts *ebpf.Map
	prog   *ebpf.Program
	link   link.Link
}

// String is the chain's result: "fentry", or "kprobe (fallback: fentry:
// <why>)".
func (p *Probe) String() string {
	if len(p.Failed) == 0 {
		return p.Mechanism
	}
	return p.Mechanism + " (fallback: " + strings.Join(p.Failed, "; ") + ")"
}

// Open attaches the probe for the calling process, through the first
// mechanism that attaches and sees a call of trigger (which must call
// Symbol: write to a file).
func Open(trigger func() error) (*Probe, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	p := &Probe{}
	steps := []struct {
		name   string
		attach func(*ebpf.Map) (*ebpf.Program, link.Link, error)
	}{{Fentry, attachFentry}, {Kprobe, attachKprobe}}
	for _, s := range steps {
		err := p.try(s.attach, trigger)
		if err == nil {
			p.Mechanism = s.name
			return p, nil
		}
		p.Failed = append(p.Failed, s.name+": "+err.Error())
	}
	return nil, fmt.Errorf("probe: every mechanism failed: %s", strings.Join(p.Failed, "; "))
}

// try attaches one step and checks that it counts a call of trigger.
func (p *Probe) try(attach func(*ebpf.Map) (*ebpf.Program, link.Link, error), trigger func() error) error {
	counts, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return fmt.Errorf("map: %w", err)
	}
	prog, l, err := attach(counts)
	if err == nil {
		p.counts, p.prog, p.link = counts, prog, l
		if err = trigger(); err == nil {
			var n uint64
			if n, err = p.Count(); err == nil && n == 0 {
				err = errors.New("attached, but saw no call")
			}
		}
		if err == nil {
			return nil
		}
		p.Close()
		return err
	}
	counts.Close()
	return err
}

// Count is how many calls of Symbol by the process the probe saw.
func (p *Probe) Count() (uint64, error) {
	var n uint64
	if err := p.counts.Lookup(uint32(0), &n); err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	return n, nil
}

// Close detaches the probe.
func (p *Probe) Close() error {
	var errs []error
	if p.link != nil {
		errs = append(errs, p.link.Close())
	}
	if p.prog != nil {
		errs = append(errs, p.prog.Close())
	}
	if p.counts != nil {
		errs = append(errs, p.counts.Close())
	}
	p.link, p.prog, p.counts = nil, nil, nil
	return errors.Join(errs...)
}

// attachFentry needs a BPF trampoline: x86_64 since 5.5, arm64 since 6.4.
func attachFentry(counts *ebpf.Map) (*ebpf.Program, link.Link, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: Symbol,
		License: "GPL", Instructions: countCalls(counts),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: prog})
	if err != nil {
		prog.Close()
		return nil, nil, fmt.Errorf("attach: %w", err)
	}
	return prog, l, nil
}

// attachKprobe works on every kernel bpfmatrix boots.
func attachKprobe(counts *ebpf.Map) (*ebpf.Program, link.Link, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL", Instructions: countCalls(counts)})
	if err != nil {
		return nil, nil, fmt.Errorf("load: %w", err)
	}
	l, err := link.Kprobe(Symbol, prog, nil)
	if err != nil {
		prog.Close()
		return nil, nil, fmt.Errorf("attach: %w", err)
	}
	return prog, l, nil
}

// countCalls is a program that adds 1 to counts[0] when the calling
// process is this one.
func countCalls(counts *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.FnGetCurrentPidTgid.Call(),
		asm.RSh.Imm(asm.R0, 32),
		asm.JNE.Imm(asm.R0, int32(os.Getpid()), "exit"),
		asm.StoreImm(asm.RFP, -4, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, counts.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, -4),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "exit"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
		asm.Return(),
	}
}
