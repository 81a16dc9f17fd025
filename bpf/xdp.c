//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* The first 8 bytes of a UDP payload that mark a datagram to drop, as a
 * little-endian load from the packet sees them; random per run. */
volatile const __u64 drop_marker = 0;
/* The UDP destination port of the test's datagrams (host byte order); the
 * program counts and judges only those. */
volatile const __u16 dst_port = 0;

/* The UAPI context of XDP programs. */
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
};

#include "net.h"
#define XDP_DROP 1
#define XDP_PASS 2

/* Indexes of the counters map. */
enum xdp_counter {
	XDP_SEEN = 0, /* the test's datagrams the program saw */
	XDP_PASSED = 1,
	XDP_DROPPED = 2,
	XDP_NCOUNTERS = 3,
};

#define COUNTERS_MAX XDP_NCOUNTERS
#include "counters.h"

/* xdp_filter drops the test's UDP datagrams whose payload starts with
 * drop_marker and passes everything else; it counts the test's datagrams
 * it saw, passed and dropped. */
SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;
	__u64 head;

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->protocol != IPPROTO_UDP || (ip->ver_ihl & 0x0f) < 5)
		return XDP_PASS;
	udp = (void *)ip + (ip->ver_ihl & 0x0f) * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (udp->dest != bpf_htons(dst_port))
		return XDP_PASS;
	count(XDP_SEEN);
	if ((void *)(udp + 1) + sizeof(head) <= data_end) {
		__builtin_memcpy(&head, udp + 1, sizeof(head));
		if (head == drop_marker) {
			count(XDP_DROPPED);
			return XDP_DROP;
		}
	}
	count(XDP_PASSED);
	return XDP_PASS;
}
