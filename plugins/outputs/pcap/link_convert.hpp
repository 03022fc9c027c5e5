// Link-layer conversion for the pcap output: re-frames a captured packet for another
// link type by replacing its link header, the network packet (IP) untouched.
//
// Sources: the link types the engine decodes — EN10MB (1, VLAN tags included), NULL (0),
// LOOP (108), LINUX_SLL (113), LINUX_SLL2 (276) and raw IP (12, 14, 101, 228, 229).
// Targets: the same set. What a target gets:
//   ethernet    destination MAC 00:00:00:00:00:00; source MAC the original one when the
//               source had an Ethernet address (Ethernet, or SLL/SLL2 with ARPHRD_ETHER),
//               else zero; the EtherType of the IP version. VLAN tags are not carried.
//   raw         the IP packet alone (LINKTYPE_RAW 101; 228/229 take only IPv4/IPv6).
//   null, loop  the BSD address family: 2 for IPv4, 24 for IPv6 (the value NetBSD and
//               OpenBSD use, which tcpdump and Wireshark read everywhere); NULL in this
//               host's byte order (as the file), LOOP in network order.
//   linux_sll, linux_sll2
//               the packet type of the original when it was SLL/SLL2, else 3 ("to another
//               host": a sniffer does not know which end is local); ARPHRD and address of
//               the original when known (Ethernet: ARPHRD_ETHER and the source MAC;
//               loopback: ARPHRD_LOOPBACK; raw IP: ARPHRD_NONE, no address).
// Ethernet trailers (padding, FCS) stay behind the IP packet, as captured.
//
// What cannot be converted (convert_frame returns false; the output counts the packet in
// packets_unconvertible and does not write it): IPv6 to DLT 228 (IPv4 only), IPv4 to DLT
// 229, and frames whose link header is cut short or does not carry IPv4/IPv6 (the engine
// hands over only frames it decoded, so these do not happen in practice).
#pragma once

#include <stethoscope/abi.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace stethoscope::pcap_output {

// libpcap DLT_* values (what sth_packet::linktype carries).
namespace dlt {
inline constexpr int null = 0, ethernet = 1, raw = 12, raw_openbsd = 14, linktype_raw = 101,
                     loop = 108, linux_sll = 113, ipv4 = 228, ipv6 = 229, linux_sll2 = 276;
}

// "ethernet" → 1, "raw" → 101, "null" → 0, "linux_sll" → 113; nullopt for other names.
std::optional<int> linktype_by_name(std::string_view name);

// True for the DLT values convert_frame can produce (and the engine can decode).
bool is_writable_linktype(int dlt);

// The LINKTYPE_* value a file records for a DLT: DLT_RAW (12, or 14 on OpenBSD) is
// LINKTYPE_RAW 101 in files, as libpcap writes it; the others are the same number.
int file_linktype(int dlt);

// A packet re-framed: `header` (header_len bytes) followed by the original's network
// packet (`network`, network_caplen bytes). caplen and len are the new frame's.
struct ConvertedFrame {
    uint8_t header[20];
    uint32_t header_len = 0;
    const uint8_t* network = nullptr;
    uint32_t network_caplen = 0;
    uint32_t caplen = 0;
    uint32_t len = 0;
};

// Re-frames `packet` for the file link type `to` (a LINKTYPE value, see file_linktype).
// Returns false when it cannot (see above). `out` points into packet.data.
bool convert_frame(const sth_packet& packet, int to, ConvertedFrame& out);

}  // namespace stethoscope::pcap_output
