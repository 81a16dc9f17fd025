//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Samples per tgid: the test's perf event only ever runs the program for
 * the test's own thread, so the map must end up with exactly one key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} perf_samples SEC(".maps");

SEC("perf_event")
int perf_sample(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n = bpf_map_lookup_elem(&perf_samples, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&perf_samples, &tgid, &one, BPF_ANY);
	return 0;
}
