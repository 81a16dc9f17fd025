/* Packet headers (uapi layouts, no CO-RE needed) for the programs that
 * parse the test's UDP datagrams. */
#ifndef __BPFMATRIX_NET_H__
#define __BPFMATRIX_NET_H__

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__be16 h_proto;
};

struct iphdr {
	__u8 ver_ihl; /* version in the high nibble, header words in the low */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__be32 saddr;
	__be32 daddr;
};

struct udphdr {
	__be16 source;
	__be16 dest;
	__be16 len;
	__u16 check;
};

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17

#endif /* __BPFMATRIX_NET_H__ */
