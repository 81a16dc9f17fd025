//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The write size the test chose: only writes of exactly this many bytes
 * are reported, so the test's own write stands out. */
volatile const __u64 target_count = 0;

/* One event, sent unchanged through both transports. Its size is a
 * multiple of 8 and it has no implicit padding, so both copies are fully
 * defined bytes. */
struct transport_event {
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id, what user space calls the pid */
	__u64 nonce;       /* the first 8 bytes of the written buffer */
	__u64 count;       /* the write's size argument */
	__u8 payload[48];  /* the next 48 bytes of the written buffer */
	char comm[16];
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct transport_event *unused_transport_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} ring_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

/* The record of syscalls/sys_enter_write, as its format file in tracefs
 * lays it out: 8 bytes of common fields, the syscall number, then each
 * argument in an 8-byte slot. */
struct sys_enter_write_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

SEC("tracepoint/syscalls/sys_enter_write")
int transport_sys_enter_write(struct sys_enter_write_ctx *ctx)
{
	if (ctx->count != target_count)
		return 0;
	struct transport_event e;
	__builtin_memset(&e, 0, sizeof(e));
	__u64 id = bpf_get_current_pid_tgid();
	e.pid = (__u32)id;
	e.tgid = id >> 32;
	e.count = ctx->count;
	const __u8 *buf = (const __u8 *)ctx->buf;
	bpf_probe_read_user(&e.nonce, sizeof(e.nonce), buf);
	bpf_probe_read_user(e.payload, sizeof(e.payload), buf + sizeof(e.nonce));
	bpf_get_current_comm(e.comm, sizeof(e.comm));

	bpf_ringbuf_output(&ring_events, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}
