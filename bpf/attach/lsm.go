package attach

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// LSMList is where the kernel lists the LSMs active in this boot.
const LSMList = "/sys/kernel/security/lsm"

// ObserveOnly is appended to the mechanism of a step that stands in for an
// enforcing hook but cannot change the outcome.
const ObserveOnly = "(observe only: cannot deny)"

// BPFLSMActive reports whether "bpf" is among the active LSMs. A BPF LSM
// program attaches on a kernel built with CONFIG_BPF_LSM even when the BPF
// LSM is not active, but then never runs; the error wraps ErrNotActive.
func BPFLSMActive() error {
	b, err := os.ReadFile(LSMList)
	if err != nil {
		return fmt.Errorf("read active LSMs (is securityfs mounted?): %w", err)
	}
	list := strings.TrimSpace(string(b))
	if !slices.Contains(strings.Split(list, ","), "bpf") {
		return fmt.Errorf("bpf not in %s (%s): %w", LSMList, list, ErrNotActive)
	}
	return nil
}

// LSM attaches to LSM hook hook (e.g. "file_open"): the BPF LSM program of
// spec named lsmProg, only when the BPF LSM is active in this boot
// (BPFLSMActive), falling back to the kprobe program named kprobe on the
// kernel's security_<hook> function. The fallback observes but cannot deny:
// its mechanism is "kprobe security_<hook> (observe only: cannot deny)" and
// the Attachment's ObserveOnly is set.
func LSM(spec *ebpf.CollectionSpec, hook, lsmProg, kprobe string, opts *Options) (*Attachment, error) {
	opts = orDefault(opts)
	var won *ebpf.Collection
	first := step(MechBPFLSM, spec, lsmProg, opts, func(ps *ebpf.ProgramSpec) {
		ps.Type, ps.AttachType, ps.AttachTo = ebpf.LSM, ebpf.AttachLSMMac, hook
	}, func(p *ebpf.Program) (io.Closer, error) {
		return link.AttachLSM(link.LSMOptions{Program: p})
	}, &won)
	attach := first.Attach
	first.Attach = func() (io.Closer, error) {
		if err := BPFLSMActive(); err != nil {
			return nil, err
		}
		return attach()
	}
	fn := "security_" + hook
	second := step(fmt.Sprintf("%s %s %s", MechKprobe, fn, ObserveOnly), spec, kprobe, opts, nil,
		func(p *ebpf.Program) (io.Closer, error) { return link.Kprobe(fn, p, nil) }, &won)
	a, err := run(opts.Recording, &won, first, second)
	if err == nil {
		a.ObserveOnly = a.Result.Mechanism != MechBPFLSM
	}
	return a, err
}
