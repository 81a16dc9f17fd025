//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* The write size the test chose: only system calls whose third argument is
 * exactly this are reported, so the test's own write stands out. */
volatile const __u64 target_count = 0;
/* __NR_write of the guest's architecture (1 on x86_64, 64 on arm64), from
 * Go's unix.SYS_WRITE: the raw sys_enter hooks see every system call and
 * only read the third argument as a user buffer for write. */
volatile const __s64 write_nr = -1;

enum tp_kind {
	TP_CLASSIC = 1, /* tracepoint/syscalls/sys_enter_write */
	TP_RAW = 2,     /* raw_tracepoint/sys_enter */
	TP_BTF = 3,     /* tp_btf/sys_enter */
};

struct tp_event {
	__u32 kind; /* enum tp_kind */
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id, what user space calls the pid */
	__u32 pad;
	__s64 nr;      /* system call number */
	__u64 fd;      /* first argument */
	__u64 count;   /* third argument */
	__u8 data[16]; /* the first bytes of the written buffer */
	char comm[16];
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct tp_event *unused_tp_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} tp_events SEC(".maps");

/* emit reports one system call entry; buf is read only for write. */
static __always_inline void emit(__u32 kind, __s64 nr, __u64 fd, const void *buf, __u64 count)
{
	struct tp_event *e = bpf_ringbuf_reserve(&tp_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->kind = kind;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->nr = nr;
	e->fd = fd;
	e->count = count;
	if (nr == write_nr)
		bpf_probe_read_user(e->data, sizeof(e->data), buf);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

/* The record of syscalls/sys_enter_write, as its format file in tracefs
 * lays it out: 8 bytes of common fields, the syscall number, then each
 * argument in an 8-byte slot. Not BTF: the layout is the tracepoint's ABI. */
struct sys_enter_write_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 fd;
	__u64 buf;
	__u64 count;
};

SEC("tracepoint/syscalls/sys_enter_write")
int tp_sys_enter_write(struct sys_enter_write_ctx *ctx)
{
	if (ctx->count != target_count)
		return 0;
	emit(TP_CLASSIC, ctx->syscall_nr, ctx->fd, (const void *)ctx->buf, ctx->count);
	return 0;
}

/* The context of a raw tracepoint program (UAPI): the tracepoint's
 * arguments, each widened to 64 bits. */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

/* sys_enter(struct pt_regs *regs, long id): the registers are the user
 * space ones saved at syscall entry. A raw tracepoint gets them untyped, so
 * they are read with bpf_probe_read_kernel (CO-RE relocated). */
SEC("raw_tracepoint/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	__s64 nr = (__s64)ctx->args[1];
	__u64 count = PT_REGS_PARM3_CORE_SYSCALL(regs);
	if (count != target_count)
		return 0;
	emit(TP_RAW, nr, PT_REGS_PARM1_CORE_SYSCALL(regs), (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), count);
	return 0;
}

/* The same tracepoint with BTF-typed arguments. */
SEC("tp_btf/sys_enter")
int BPF_PROG(btf_sys_enter, struct pt_regs *regs, long id)
{
	__u64 count = PT_REGS_PARM3_CORE_SYSCALL(regs);
	if (count != target_count)
		return 0;
	emit(TP_BTF, id, PT_REGS_PARM1_CORE_SYSCALL(regs), (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), count);
	return 0;
}
