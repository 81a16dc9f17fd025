package testutil

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// kernelTypes is the process's one cache of kernel BTF. Decoding
// /sys/kernel/btf/vmlinux costs 0.2-0.9 s under TCG (kernels before 6.16
// cannot mmap it, so it is read a page per syscall); without a shared cache
// every load with CO-RE relocations or a BTF attach target decodes it again.
var kernelTypes = btf.NewCache()

// LoadOptions are the options every suite loads its objects with: they
// share the process's kernel BTF cache.
func LoadOptions() *ebpf.CollectionOptions {
	return &ebpf.CollectionOptions{Cache: kernelTypes}
}
