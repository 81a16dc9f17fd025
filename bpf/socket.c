//go:build ignore

#include "bpfmatrix.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The start of the uapi struct __sk_buff (the program context); only the
 * first field is read. Context fields are rewritten by the verifier, so the
 * struct carries no CO-RE relocations. */
struct __sk_buff {
	__u32 len;
};

/* bpf_skb_load_bytes_relative: offsets count from the network header. */
#define HDR_START_NET 1

#define MARKER_LEN 8

/* The markers the test chose: a datagram whose payload starts with
 * keep_marker is delivered, one that starts with drop_marker is dropped. */
volatile const __u8 keep_marker[MARKER_LEN] = {};
volatile const __u8 drop_marker[MARKER_LEN] = {};

enum verdict_counter {
	COUNT_KEPT = 0,
	COUNT_DROPPED = 1,
	COUNT_OTHER = 2, /* datagrams with neither marker, delivered */
	COUNT_MAX,
};

#define COUNTERS_MAX COUNT_MAX
#include "counters.h"

static __always_inline bool has_marker(const __u8 *payload, const volatile __u8 *marker)
{
#pragma unroll
	for (int i = 0; i < MARKER_LEN; i++)
		if (payload[i] != marker[i])
			return false;
	return true;
}

/* Attached to a UDP/IPv4 socket with SO_ATTACH_BPF. The socket filter sees
 * the datagram from its IP header on; the payload starts after the IP
 * header (ihl words) and the 8-byte UDP header. */
SEC("socket")
int socket_marker_filter(struct __sk_buff *skb)
{
	__u8 vihl;
	__u8 payload[MARKER_LEN];

	if (bpf_skb_load_bytes_relative(skb, 0, &vihl, 1, HDR_START_NET))
		goto other;
	__u32 off = (vihl & 0x0f) * 4 + 8;
	if (bpf_skb_load_bytes_relative(skb, off, payload, MARKER_LEN, HDR_START_NET))
		goto other;
	if (has_marker(payload, keep_marker)) {
		count(COUNT_KEPT);
		return skb->len;
	}
	if (has_marker(payload, drop_marker)) {
		count(COUNT_DROPPED);
		return 0;
	}
other:
	count(COUNT_OTHER);
	return skb->len;
}
