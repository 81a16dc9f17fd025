//go:build ignore

/* The events chain of bpf/attach: one tracepoint program that sends its
 * event through the BPF ring buffer or, where the chain fell back, the perf
 * event array, as the constant events_transport (set by the chain) says. */

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Set by attach.Events before loading: 1 ring buffer, 2 perf event array.
 * The verifier prunes the branch not taken, so a kernel without ring
 * buffers never sees the bpf_ringbuf_output call. */
volatile const __u32 events_transport = 0;

/* The write size the test chose. */
volatile const __u64 target_count = 0;

struct events_event {
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id */
	__u64 nonce; /* the first 8 bytes of the written buffer */
	__u64 count; /* the write's size argument */
	__u64 transport; /* events_transport, as the program saw it */
	char comm[16];
};

const struct events_event *unused_events_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} ring_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* syscalls/sys_enter_write as its tracefs format lays it out. */
struct sys_enter_write_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

SEC("tracepoint/syscalls/sys_enter_write")
int events_sys_enter_write(struct sys_enter_write_ctx *ctx)
{
	if (ctx->count != target_count)
		return 0;
	struct events_event e;
	__builtin_memset(&e, 0, sizeof(e));
	__u64 id = bpf_get_current_pid_tgid();
	e.pid = (__u32)id;
	e.tgid = id >> 32;
	e.count = ctx->count;
	e.transport = events_transport;
	bpf_probe_read_user(&e.nonce, sizeof(e.nonce), (const void *)ctx->buf);
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (events_transport == 1)
		bpf_ringbuf_output(&ring_events, &e, sizeof(e), 0);
	else if (events_transport == 2)
		bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
