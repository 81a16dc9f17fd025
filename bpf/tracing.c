//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* The write size the test chose: only writes of exactly this many bytes (or
 * returning it) are reported, so the test's own write stands out. */
volatile const __u64 target_count = 0;

enum tracing_kind {
	TRACING_FENTRY = 1,
	TRACING_FEXIT = 2,
};

struct tracing_event {
	__u32 kind; /* enum tracing_kind */
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id, what user space calls the pid */
	__u32 pad;
	__u64 count;   /* the size argument (both) */
	__s64 ret;     /* the return value (fexit) */
	__u8 data[16]; /* the first bytes of the written buffer (both) */
	char comm[16];
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct tracing_event *unused_tracing_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} tracing_events SEC(".maps");

/* emit reports one call of vfs_write; ret is only meaningful for fexit. */
static __always_inline void emit(__u32 kind, const char *buf, __u64 count, long ret)
{
	struct tracing_event *e = bpf_ringbuf_reserve(&tracing_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->kind = kind;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->count = count;
	e->ret = ret;
	bpf_probe_read_user(e->data, sizeof(e->data), buf);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* vfs_write(struct file *file, const char __user *buf, size_t count,
 * loff_t *pos): the BPF trampoline hands the arguments over as they are,
 * typed by the kernel's BTF, with no pt_regs in between. */
SEC("fentry/vfs_write")
int BPF_PROG(fentry_vfs_write, void *file, const char *buf, __u64 count, void *pos)
{
	if (count == target_count)
		emit(TRACING_FENTRY, buf, count, 0);
	return 0;
}

/* fexit sees the arguments again, followed by the return value. */
SEC("fexit/vfs_write")
int BPF_PROG(fexit_vfs_write, void *file, const char *buf, __u64 count, void *pos, long ret)
{
	if (count == target_count)
		emit(TRACING_FEXIT, buf, count, ret);
	return 0;
}
