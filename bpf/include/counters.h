/* An array map of __u64 counters named "counters" and count(), which adds
 * one to a counter. Define COUNTERS_MAX (the number of counters, usually
 * the last value of the program's counter enum) before including. */
#ifndef __BPFMATRIX_COUNTERS_H__
#define __BPFMATRIX_COUNTERS_H__

#ifndef COUNTERS_MAX
#error "define COUNTERS_MAX before including counters.h"
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNTERS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

#endif /* __BPFMATRIX_COUNTERS_H__ */
