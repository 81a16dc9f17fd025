package testutil

import (
	"io"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"
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

// Spec returns the collection spec that load returns (a bpf2go LoadX) with
// each constant in consts (variable name to value) set.
func Spec(t testing.TB, load func() (*ebpf.CollectionSpec, error), consts map[string]any) *ebpf.CollectionSpec {
	t.Helper()
	spec, err := load()
	require.NoError(t, err)
	for name, value := range consts {
		v, ok := spec.Variables[name]
		require.True(t, ok, "the objects have no variable %s", name)
		require.NoError(t, v.Set(value), "set %s", name)
	}
	return spec
}

// Load loads [Spec] into objs (the matching bpf2go Objects) with
// [LoadOptions], and closes objs when the test ends.
func Load(t testing.TB, load func() (*ebpf.CollectionSpec, error), consts map[string]any, objs io.Closer) {
	t.Helper()
	require.NoError(t, Spec(t, load, consts).LoadAndAssign(objs, LoadOptions()))
	t.Cleanup(func() { objs.Close() })
}
