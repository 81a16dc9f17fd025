//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* The write size the test chose; only writes of exactly this many bytes (or
 * returning it) are reported, so the test's own write is easy to tell from
 * everything else. */
volatile const __u64 target_count = 0;

enum write_kind {
	WRITE_ENTRY = 1,
	WRITE_RETURN = 2,
};

struct write_event {
	__u32 kind; /* enum write_kind */
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id, what user space calls the pid */
	__u32 pad;
	__u64 count; /* the size argument (entry) */
	__s64 ret;   /* the return value (return) */
	__u8 data[16]; /* the first bytes of the written buffer (entry) */
	char comm[16];
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct write_event *unused_write_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} write_events SEC(".maps");

static __always_inline struct write_event *new_event(__u32 kind)
{
	struct write_event *e = bpf_ringbuf_reserve(&write_events, sizeof(*e), 0);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->kind = kind;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* vfs_write(struct file *file, const char __user *buf, size_t count, loff_t *pos)
 * has kept this signature from 5.10 to 7.x. */
SEC("kprobe/vfs_write")
int BPF_KPROBE(kprobe_vfs_write, void *file, const char *buf, __u64 count)
{
	if (count != target_count)
		return 0;
	struct write_event *e = new_event(WRITE_ENTRY);
	if (!e)
		return 0;
	e->count = count;
	bpf_probe_read_user(e->data, sizeof(e->data), buf);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(kretprobe_vfs_write, long ret)
{
	if (ret != (long)target_count)
		return 0;
	struct write_event *e = new_event(WRITE_RETURN);
	if (!e)
		return 0;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
