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

/* The start of the UAPI context of tc programs: the verifier rewrites each
 * access, so only the offsets of the UAPI matter. */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
};

#include "net.h"
/* Verdicts: the same values mean "pass" and "drop" for cls_bpf in
 * direct-action mode (TC_ACT_OK, TC_ACT_SHOT) and for tcx (TCX_PASS,
 * TCX_DROP). */
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* Indexes of the counters map. */
enum tc_counter {
	TC_SEEN = 0, /* the test's datagrams the program saw */
	TC_PASSED = 1,
	TC_DROPPED = 2,
	TC_NCOUNTERS = 3,
};

#define COUNTERS_MAX TC_NCOUNTERS
#include "counters.h"

/* tc_filter drops the test's UDP datagrams whose payload starts with
 * drop_marker and passes everything else; it counts the test's datagrams
 * it saw, passed and dropped. */
SEC("tc")
int tc_filter(struct __sk_buff *skb)
{
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	__u64 head;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return TC_ACT_OK;
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, sizeof(eth), &ip, sizeof(ip)))
		return TC_ACT_OK;
	if (ip.protocol != IPPROTO_UDP || (ip.ver_ihl & 0x0f) < 5)
		return TC_ACT_OK;
	__u32 l4 = sizeof(eth) + (ip.ver_ihl & 0x0f) * 4;
	if (bpf_skb_load_bytes(skb, l4, &udp, sizeof(udp)))
		return TC_ACT_OK;
	if (udp.dest != bpf_htons(dst_port))
		return TC_ACT_OK;
	count(TC_SEEN);
	if (bpf_skb_load_bytes(skb, l4 + sizeof(udp), &head, sizeof(head)) == 0 &&
	    head == drop_marker) {
		count(TC_DROPPED);
		return TC_ACT_SHOT;
	}
	count(TC_PASSED);
	return TC_ACT_OK;
}
