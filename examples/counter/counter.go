// Package counter counts the datagrams a socket receives with an eBPF
// socket filter, assembled at run time with cilium/ebpf/asm: no clang, no
// generated files. It is the example of testing your own eBPF package on
// several kernels with `go test -exec 'bpfmatrix exec ...'`.
package counter

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"
	"syscall"
)

// soAttachBPF is SO_ATTACH_BPF, which package syscall lacks.
const soAttachBPF = 50

// Counter is a socket filter that counts what passes through it.
type Counter struct {
	counts *ebpf.Map
	prog   *ebpf.Program
}

// New loads the map and the program.
func New() (*Counter, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("counter: %w", err)
	}
	counts, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return nil, fmt.Errorf("counter: map: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SocketFilter,
		License: "MIT",
		Instructions: asm.Instructions{
			// key := 0; v := counts[key]; if v != nil { *v += 1 }; keep all.
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, counts.FD()),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "keep"),
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, -1).WithSymbol("keep"),
			asm.Return(),
		},
	})
	if err != nil {
		counts.Close()
		return nil, fmt.Errorf("counter: program: %w", err)
	}
	return &Counter{counts: counts, prog: prog}, nil
}

// Attach makes the filter see every packet socket fd receives.
func (c *Counter) Attach(fd int) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soAttachBPF, c.prog.FD()); err != nil {
		return fmt.Errorf("counter: attach to socket %d: %w", fd, err)
	}
	return nil
}

// Count is how many packets the filter has seen.
func (c *Counter) Count() (uint64, error) {
	var n uint64
	if err := c.counts.Lookup(uint32(0), &n); err != nil {
		return 0, fmt.Errorf("counter: %w", err)
	}
	return n, nil
}

// Close releases the program and the map.
func (c *Counter) Close() error {
	return errors.Join(c.prog.Close(), c.counts.Close())
}
