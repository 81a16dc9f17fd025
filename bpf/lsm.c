//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

/* The fields of the kernel's file, inode and super_block that the program
 * reads; CO-RE relocates them against each kernel's BTF. */
struct super_block {
	__u32 s_dev; /* dev_t, the kernel's MKDEV encoding */
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

/* What the test chose: the process whose opens are checked, and the file
 * (device and inode number) it may not open. */
volatile const __u32 target_tgid = 0;
volatile const __u32 target_dev = 0;
volatile const __u64 target_ino = 0;

/* What the program saw of the test's process. */
struct lsm_stats {
	__u64 denied;      /* opens of the target file it refused */
	__u64 allowed;     /* other opens it let through */
	__u64 denied_ino;  /* inode of the last refused open */
	__u32 denied_pid;  /* thread that made it */
	__u32 denied_tgid; /* and its process */
};

/* Keeps the type in BTF so that bpf2go generates a Go struct for it. */
const struct lsm_stats *unused_lsm_stats __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_stats);
} stats SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	if (ret != 0)
		return ret; /* an earlier BPF program already refused */
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) != target_tgid)
		return 0;
	__u32 zero = 0;
	struct lsm_stats *s = bpf_map_lookup_elem(&stats, &zero);
	if (!s)
		return 0;
	__u64 ino = BPF_CORE_READ(file, f_inode, i_ino);
	__u32 dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	if (ino != target_ino || dev != target_dev) {
		__sync_fetch_and_add(&s->allowed, 1);
		return 0;
	}
	__sync_fetch_and_add(&s->denied, 1);
	s->denied_ino = ino;
	s->denied_pid = (__u32)id;
	s->denied_tgid = id >> 32;
	return -EPERM;
}
