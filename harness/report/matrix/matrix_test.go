package matrix

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestSplitMechanism(t *testing.T) {
	tests := []struct{ in, mech, fallback string }{
		{"bpf_link (tcx)", "bpf_link (tcx)", ""},
		{"kprobe (fallback: fentry: no BTF for module veth: not supported)", "kprobe", "fentry: no BTF for module veth: not supported"},
		{"c (fallback: a: not supported; b: permission denied)", "c", "a: not supported; b: permission denied"},
		{"x (fallback:)", "x", "(no reason given)"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, fb := SplitMechanism(tt.in)
			assert.Equal(t, tt.mech, m)
			assert.Equal(t, tt.fallback, fb)
		})
	}
}

func TestLabels(t *testing.T) {
	k := func(name, arch string) results.KernelResult {
		return results.KernelResult{Kernel: results.KernelInfo{Name: name, Arch: arch}}
	}
	one := &results.Result{Kernels: []results.KernelResult{k("debian-6.1", "amd64"), k("debian-6.12", "amd64")}}
	assert.Equal(t, []string{"debian-6.1", "debian-6.12"}, Labels(one))
	mixed := &results.Result{Kernels: []results.KernelResult{k("debian-6.1", "amd64"), k("debian-6.1", "arm64")}}
	assert.Equal(t, []string{"debian-6.1 amd64", "debian-6.1 arm64"}, Labels(mixed))
	assert.Equal(t, "debian-6.1/arm64", ColumnKey(mixed.Kernels[1]))
}

func TestParseChain(t *testing.T) {
	tests := []struct {
		mech, path, reason string
	}{
		{"kprobe (fallback: fentry: create raw tracepoint: not supported)", "fentry -> kprobe", "create raw tracepoint: not supported"},
		{"kprobe each (fallback: kprobe.multi: bpf_link_kprobe_multi not supported (requires >= v5.18); no register_fprobe in /proc/kallsyms: kernel without CONFIG_FPROBE)",
			"kprobe.multi -> kprobe each", "bpf_link_kprobe_multi not supported (requires >= v5.18); no register_fprobe in /proc/kallsyms: kernel without CONFIG_FPROBE"},
		{"c (fallback: a: not supported; b: permission denied)", "a -> b -> c", "a: not supported; b: permission denied"},
		{"kprobe security_file_open (observe only: cannot deny) (fallback: bpf lsm: not active)", "bpf lsm -> kprobe security_file_open (observe only: cannot deny)", "not active"},
		{"x (fallback:)", "(no reason given) -> x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := Classify(&results.KernelResult{Status: results.StatusOK}, &results.TestResult{Result: results.Pass, Mechanism: tt.mech})
			ch, ok := ParseChain(c)
			require.True(t, ok)
			assert.Equal(t, tt.path, ch.Path())
			assert.Equal(t, tt.reason, ch.Reason())
		})
	}
	_, ok := ParseChain(Classify(&results.KernelResult{}, &results.TestResult{Mechanism: "fentry"}))
	assert.False(t, ok, "no chain without a fallback")
}

func TestMechanismCodes(t *testing.T) {
	cs := MechanismCodes(&Matrix{})
	tests := []struct{ mech, code string }{
		{"bpf_link (perf_event)", "pl"},
		{"bpf_ringbuf_output from tracepoint, perf_event ioctl", "rb+io"},
		{"tcx", "tcx"},
		{"bpf_link (tcx)", "tcx"},
		{"bpf_link (netkit)", "bln"},
		{"bpf link netkit", "bln2"},
		{"kprobe", "kp"},
		{"kp", "kp2"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.code, cs.Code(tt.mech), "Code(%q)", tt.mech)
	}
	assert.Equal(t, []string{"pl bpf_link (perf_event)", "rb bpf_ringbuf_output from tracepoint", "io perf_event ioctl",
		"tcx tcx / bpf_link (tcx)", "bln bpf_link (netkit)", "bln2 bpf link netkit", "kp kprobe", "kp2 kp"}, cs.Legend())
}
