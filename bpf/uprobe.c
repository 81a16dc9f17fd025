//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

enum uprobe_kind {
	UPROBE_ENTRY = 1,
	UPROBE_RETURN = 2,
};

/* One call of bpfmatrix_uprobe_target(int a, int b) in the suite's target
 * program (tests/uprobe/testdata/target.c). */
struct uprobe_event {
	__u32 kind; /* enum uprobe_kind */
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id */
	__s32 a;    /* first argument (entry) */
	__s32 b;    /* second argument (entry) */
	__s32 ret;  /* return value (return) */
	char comm[16];
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct uprobe_event *unused_uprobe_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} uprobe_events SEC(".maps");

static __always_inline struct uprobe_event *new_uprobe_event(__u32 kind)
{
	struct uprobe_event *e = bpf_ringbuf_reserve(&uprobe_events, sizeof(*e), 0);
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

/* Only the target program's inode is probed, so every hit is the test's.
 * BPF_KPROBE/BPF_KRETPROBE read the same registers as a uprobe needs (this
 * libbpf predates BPF_UPROBE). */
SEC("uprobe")
int BPF_KPROBE(uprobe_target, int a, int b)
{
	struct uprobe_event *e = new_uprobe_event(UPROBE_ENTRY);
	if (!e)
		return 0;
	e->a = a;
	e->b = b;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(uretprobe_target, int ret)
{
	struct uprobe_event *e = new_uprobe_event(UPROBE_RETURN);
	if (!e)
		return 0;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
