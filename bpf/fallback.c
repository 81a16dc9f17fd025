//go:build ignore

/* Programs for the fallback suite (tests/fallback): for each chain of
 * bpf/attach, the preferred program and its fallback, written so that both
 * report the same event. Every chain step loads only its own program. */

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

/* What the test chose for this run. */
volatile const __u64 target_count = 0; /* size of the test's write */
volatile const __u64 read_count = 0;   /* size of the test's read (multi kprobe) */
volatile const __u32 target_tgid = 0;  /* the test's process */
volatile const __u16 dst_port = 0;     /* UDP port of the test's datagrams */
volatile const __u32 target_dev = 0;   /* file the LSM program guards: device ... */
volatile const __u64 target_ino = 0;   /* ... and inode */

enum fallback_kind {
	FB_ENTRY = 1,  /* vfs_write entry: fentry or kprobe */
	FB_EXIT = 2,   /* vfs_write return: fexit or kretprobe */
	FB_XMIT = 3,   /* veth_xmit entry: fentry or kprobe */
	FB_WRITE = 4,  /* multi kprobe hit on vfs_write */
	FB_READ = 5,   /* multi kprobe hit on vfs_read */
	FB_UPROBE = 6, /* a uprobe of the target program */
};

struct fallback_event {
	__u32 kind; /* enum fallback_kind */
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id */
	__u32 pad;
	__u64 a;       /* size argument, skb->len, or the uprobe's first argument */
	__u64 b;       /* net_device ifindex, or the uprobe's second argument */
	__s64 ret;     /* return value (exit) */
	__u8 data[16]; /* first bytes of the written buffer or UDP payload */
	char comm[16];
};

/* Keeps the types in BTF so that bpf2go generates Go structs for them. */
const struct fallback_event *unused_fallback_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} fallback_events SEC(".maps");

static __always_inline struct fallback_event *new_event(__u32 kind)
{
	struct fallback_event *e = bpf_ringbuf_reserve(&fallback_events, sizeof(*e), 0);
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

/* ---- function entry and exit: vfs_write ---- */

static __always_inline void write_event(__u32 kind, const char *buf, __u64 count, long ret)
{
	struct fallback_event *e = new_event(kind);
	if (!e)
		return;
	e->a = count;
	e->ret = ret;
	if (buf)
		bpf_probe_read_user(e->data, sizeof(e->data), buf);
	bpf_ringbuf_submit(e, 0);
}

SEC("fentry/vfs_write")
int BPF_PROG(fentry_vfs_write, void *file, const char *buf, __u64 count, void *pos)
{
	if (count == target_count)
		write_event(FB_ENTRY, buf, count, 0);
	return 0;
}

SEC("kprobe/vfs_write")
int BPF_KPROBE(kprobe_vfs_write, void *file, const char *buf, __u64 count)
{
	if (count == target_count)
		write_event(FB_ENTRY, buf, count, 0);
	return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(fexit_vfs_write, void *file, const char *buf, __u64 count, void *pos, long ret)
{
	if (count == target_count)
		write_event(FB_EXIT, buf, count, ret);
	return 0;
}

/* A kretprobe sees only the return value. */
SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(kretprobe_vfs_write, long ret)
{
	if (ret == (long)target_count)
		write_event(FB_EXIT, NULL, 0, ret);
	return 0;
}

/* ---- a function of a module: veth_xmit(struct sk_buff *, struct net_device *) ---- */

struct sk_buff {
	unsigned int len;
	unsigned char *data;
} __attribute__((preserve_access_index));

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

#include "net.h"

/* xmit reports the test's UDP datagrams (to dst_port) that veth sends:
 * skb->data points at the Ethernet header. */
static __always_inline void xmit(struct sk_buff *skb, struct net_device *dev)
{
	unsigned char *data = BPF_CORE_READ(skb, data);
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	if (bpf_probe_read_kernel(&eth, sizeof(eth), data) || eth.h_proto != bpf_htons(ETH_P_IP))
		return;
	if (bpf_probe_read_kernel(&ip, sizeof(ip), data + sizeof(eth)))
		return;
	if (ip.protocol != IPPROTO_UDP || (ip.ver_ihl & 0x0f) < 5)
		return;
	__u32 l4 = sizeof(eth) + (ip.ver_ihl & 0x0f) * 4;
	if (bpf_probe_read_kernel(&udp, sizeof(udp), data + l4) || udp.dest != bpf_htons(dst_port))
		return;
	struct fallback_event *e = new_event(FB_XMIT);
	if (!e)
		return;
	e->a = BPF_CORE_READ(skb, len);
	e->b = BPF_CORE_READ(dev, ifindex);
	bpf_probe_read_kernel(e->data, sizeof(e->data), data + l4 + sizeof(udp));
	bpf_ringbuf_submit(e, 0);
}

SEC("fentry/veth_xmit")
int BPF_PROG(fentry_veth_xmit, struct sk_buff *skb, struct net_device *dev)
{
	xmit(skb, dev);
	return 0;
}

SEC("kprobe/veth_xmit")
int BPF_KPROBE(kprobe_veth_xmit, struct sk_buff *skb, struct net_device *dev)
{
	xmit(skb, dev);
	return 0;
}

/* ---- many functions: vfs_write and vfs_read, one program ---- */

/* Attached as kprobe.multi or as one kprobe per function; the size the
 * test chose for each call tells the two functions apart. */
SEC("kprobe")
int BPF_KPROBE(kprobe_multi_rw, void *file, const char *buf, __u64 count)
{
	__u32 kind;
	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	if (count == target_count)
		kind = FB_WRITE;
	else if (count == read_count)
		kind = FB_READ;
	else
		return 0;
	struct fallback_event *e = new_event(kind);
	if (!e)
		return 0;
	e->a = count;
	if (kind == FB_WRITE)
		bpf_probe_read_user(e->data, sizeof(e->data), buf);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- many uprobes: the target program's three functions (int id, int a) ---- */

/* Only the target program's inode is probed. BPF_KPROBE reads the same
 * registers a uprobe needs. */
SEC("uprobe")
int BPF_KPROBE(uprobe_multi_target, int id, int a)
{
	struct fallback_event *e = new_event(FB_UPROBE);
	if (!e)
		return 0;
	e->a = id;
	e->b = a;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* ---- tc: the chain attaches tc.c's tc_filter (the tc suite's program) ---- */

/* ---- LSM file_open: deny with BPF LSM, observe with a kprobe ---- */

struct super_block {
	__u32 s_dev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct lsm_stats {
	__u64 target_opens; /* opens of the target file by the test's process */
	__u64 other_opens;  /* its other opens */
	__u64 denied;       /* target opens the program refused */
	__u64 ino;          /* inode of the last target open */
	__u32 pid;          /* thread that made it */
	__u32 tgid;         /* and its process */
};

const struct lsm_stats *unused_lsm_stats __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lsm_stats);
} file_opens SEC(".maps");

/* file_open counts the test's opens and reports whether this one is of
 * the target file. */
static __always_inline bool file_open(struct file *file, bool deny)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) != target_tgid)
		return false;
	__u32 zero = 0;
	struct lsm_stats *s = bpf_map_lookup_elem(&file_opens, &zero);
	if (!s)
		return false;
	__u64 ino = BPF_CORE_READ(file, f_inode, i_ino);
	__u32 dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	if (ino != target_ino || dev != target_dev) {
		__sync_fetch_and_add(&s->other_opens, 1);
		return false;
	}
	__sync_fetch_and_add(&s->target_opens, 1);
	if (deny)
		__sync_fetch_and_add(&s->denied, 1);
	s->ino = ino;
	s->pid = (__u32)id;
	s->tgid = id >> 32;
	return true;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	if (ret != 0)
		return ret;
	return file_open(file, true) ? -EPERM : 0;
}

/* The fallback can only watch: a kprobe's return value changes nothing. */
SEC("kprobe/security_file_open")
int BPF_KPROBE(kprobe_security_file_open, struct file *file)
{
	file_open(file, false);
	return 0;
}
