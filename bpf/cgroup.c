//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* The start of the uapi struct __sk_buff (the context of cgroup_skb
 * programs); only len is read. Context fields are rewritten by the
 * verifier, so the struct carries no CO-RE relocations. */
struct __sk_buff {
	__u32 len;
};

/* The start of the uapi struct bpf_sock_addr (the context of cgroup/connect4). */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;    /* network byte order */
	__u32 user_ip6[4];
	__u32 user_port;   /* network byte order, in the low 16 bits */
	__u32 family;
	__u32 type;
	__u32 protocol;
};

/* bpf_skb_load_bytes_relative: offsets count from the network header. */
#define HDR_START_NET 1
#define IPPROTO_UDP 17
#define AF_INET 2
#define MARKER_LEN 8

/* What the test chose: the UDP port whose egress datagrams are dropped, the
 * receiving port and payload marker of the ingress datagrams to drop, and
 * the connect4 ports to deny and to rewrite (from -> to). Ports are in host
 * byte order. */
volatile const __u16 egress_drop_port = 0;
volatile const __u16 ingress_port = 0;
volatile const __u8 ingress_drop_marker[MARKER_LEN] = {};
volatile const __u16 connect_deny_port = 0;
volatile const __u16 connect_rewrite_from = 0;
volatile const __u16 connect_rewrite_to = 0;

enum cgroup_counter {
	EGRESS_DROPPED = 0, /* UDP datagrams to egress_drop_port */
	EGRESS_PASSED,      /* other UDP datagrams */
	INGRESS_DROPPED,    /* UDP datagrams to ingress_port with the marker */
	INGRESS_PASSED,     /* other UDP datagrams to ingress_port */
	CONNECT_DENIED,
	CONNECT_REWRITTEN,
	CONNECT_ALLOWED,    /* other IPv4 connects */
	COUNT_MAX,
};

#define COUNTERS_MAX COUNT_MAX
#include "counters.h"

/* udp_info finds a UDP/IPv4 datagram's destination port (host order) and
 * the offset of its payload from the network header. cgroup_skb programs
 * see packets from the IP header on, in both directions. */
static __always_inline bool udp_info(struct __sk_buff *skb, __u16 *dport, __u32 *payload_off)
{
	__u8 iph[10]; /* up to the protocol field */
	__be16 port;

	if (bpf_skb_load_bytes_relative(skb, 0, iph, sizeof(iph), HDR_START_NET))
		return false;
	if ((iph[0] >> 4) != 4 || iph[9] != IPPROTO_UDP)
		return false;
	__u32 ihl = (iph[0] & 0x0f) * 4;
	if (bpf_skb_load_bytes_relative(skb, ihl + 2, &port, sizeof(port), HDR_START_NET))
		return false;
	*dport = bpf_ntohs(port);
	*payload_off = ihl + 8;
	return true;
}

/* Drops (returns 0) the UDP datagrams this cgroup sends to egress_drop_port. */
SEC("cgroup_skb/egress")
int cgroup_skb_egress(struct __sk_buff *skb)
{
	__u16 dport;
	__u32 off;

	if (!udp_info(skb, &dport, &off))
		return 1;
	if (dport == egress_drop_port) {
		count(EGRESS_DROPPED);
		return 0;
	}
	count(EGRESS_PASSED);
	return 1;
}

/* Drops the UDP datagrams to ingress_port whose payload starts with
 * ingress_drop_marker, before they reach this cgroup's socket. */
SEC("cgroup_skb/ingress")
int cgroup_skb_ingress(struct __sk_buff *skb)
{
	__u16 dport;
	__u32 off;
	__u8 payload[MARKER_LEN];

	if (!udp_info(skb, &dport, &off) || dport != ingress_port)
		return 1;
	if (bpf_skb_load_bytes_relative(skb, off, payload, MARKER_LEN, HDR_START_NET)) {
		count(INGRESS_PASSED);
		return 1;
	}
#pragma unroll
	for (int i = 0; i < MARKER_LEN; i++) {
		if (payload[i] != ingress_drop_marker[i]) {
			count(INGRESS_PASSED);
			return 1;
		}
	}
	count(INGRESS_DROPPED);
	return 0;
}

/* Denies connect() to connect_deny_port (the caller gets EPERM) and
 * redirects connect() to connect_rewrite_from to connect_rewrite_to. */
SEC("cgroup/connect4")
int cgroup_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_family != AF_INET)
		return 1;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (port == connect_deny_port) {
		count(CONNECT_DENIED);
		return 0;
	}
	if (port == connect_rewrite_from) {
		ctx->user_port = bpf_htons(connect_rewrite_to);
		count(CONNECT_REWRITTEN);
		return 1;
	}
	count(CONNECT_ALLOWED);
	return 1;
}
