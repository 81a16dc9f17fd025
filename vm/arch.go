// Package vm runs one QEMU virtual machine: its command line per
// architecture, the accelerator probe, the console and result channels, the
// timeout and the process-group kill. It knows nothing about test plans.
package vm

import (
	"fmt"
	"runtime"
	"strings"
)

// Arch describes how to boot one guest architecture.
type Arch struct {
	// Name is the QEMU architecture name, e.g. "x86_64".
	Name string
	// GOARCH is the Go architecture of binaries for this guest.
	GOARCH string
	// QEMU is the system emulator binary.
	QEMU string
	// Machine holds the machine arguments.
	Machine []string
	// CPUTCG and CPUKVM are the -cpu models under each accelerator.
	CPUTCG, CPUKVM string
	// Console is the guest's console device (kernel console=).
	Console string
	// Cmdline are kernel arguments this machine needs to boot reliably
	// under emulation; none changes what a booted guest has.
	Cmdline []string
	// Channel is the guest device of the result channel.
	Channel string
	// ChannelArgs are the QEMU arguments that connect the chardev with id
	// "res" to the guest device Channel.
	ChannelArgs []string
	// Package is the Debian package that provides QEMU.
	Package string
}

// Arches are the supported guest architectures, by QEMU name.
var Arches = map[string]Arch{
	"x86_64": {
		Name:    "x86_64",
		GOARCH:  "amd64",
		QEMU:    "qemu-system-x86_64",
		Machine: []string{"-M", "pc"},
		CPUTCG:  "max",
		CPUKVM:  "host",
		Console: "ttyS0",
		// At boot, the kernel checks that the IO-APIC timer interrupt
		// arrives within a busy-wait; under TCG on a loaded host it
		// sometimes does not, and the kernel panics ("IO-APIC + timer
		// doesn't work!", seen on debian-5.10 with two VMs per core).
		// no_timer_check skips that one check, as KVM guests with
		// kvmclock do by default; the timer works as before.
		Cmdline: []string{"no_timer_check"},
		// No boot options that change the machine: acpi=off once saved
		// 0.26 s of the floor boot but left the guest one CPU whatever
		// -smp said (no MADT) and the refined-jiffies clocksource (4 ms
		// steps); pci=off needs acpi=off and hides the virtio disks.

		// A second 8250 UART: built into every x86 kernel.
		Channel:     "/dev/ttyS1",
		ChannelArgs: []string{"-serial", "chardev:res"},
		Package:     "qemu-system-x86",
	},
	"aarch64": {
		Name:    "aarch64",
		GOARCH:  "arm64",
		QEMU:    "qemu-system-aarch64",
		Machine: []string{"-M", "virt"},
		// Implementation-defined pointer authentication is much cheaper to
		// emulate than the architected QARMA algorithm.
		CPUTCG:  "max,pauth-impdef=on",
		CPUKVM:  "host",
		Console: "ttyAMA0",
		// The virt machine has one PL011; a PCI 16550 (8250_pci, built
		// into Debian's arm64 kernels) carries the results. virtio-console
		// would need modules loaded before the channel opens.
		Channel:     "/dev/ttyS0",
		ChannelArgs: []string{"-device", "pci-serial,chardev=res"},
		Package:     "qemu-system-arm",
	},
}

// ArchByGOARCH returns the Arch whose binaries are built for goarch.
func ArchByGOARCH(goarch string) (Arch, error) {
	var names []string
	for _, a := range Arches {
		if a.GOARCH == goarch {
			return a, nil
		}
		names = append(names, a.GOARCH)
	}
	return Arch{}, fmt.Errorf("unsupported guest architecture %q (supported: %s)", goarch, strings.Join(names, ", "))
}

// Native reports whether the guest architecture matches the host, which is
// the only case where KVM can help.
func (a Arch) Native() bool { return a.GOARCH == runtime.GOARCH }
