// Packet decoding: link layer -> IPv4/IPv6 -> TCP, without copying. Bounds are checked
// at every layer; a packet that fails a check gets a DecodeStatus naming the reason, so
// the caller can count it per reason and skip it (hostile input is never fatal).
//
// Lengths: the IP header's length field is the authority for where the TCP payload
// ends, so link-layer padding never reaches a stream. When the capture was cut by the
// snaplen (caplen < len) the payload may be only partly present: `payload_captured` <
// `payload_len`, and the reassembler turns the missing part into a gap.
#pragma once

#include <stethoscope/abi.h>

#include <array>
#include <cstdint>

namespace stethoscope::core {

enum class DecodeStatus : uint8_t {
    ok = 0,
    not_ip,               // ARP, LLDP, ... (ignored, counted)
    not_tcp,              // UDP, ICMP, ...
    unsupported_linktype,
    ip_fragment,          // a fragment: see DecodedPacket::fragment (Defragmenter)
    icmp_error,           // an ICMP(v6) error quoting a TCP packet: see DecodedPacket::icmp
    link_truncated,       // the frame ends inside the link header
    ip_truncated,         // the frame ends inside the IP header
    ip_bad_version,
    ip_bad_header_length, // IHL < 5
    ip_bad_total_length,  // total length < header length
    ip_length_past_packet,// total length beyond the frame (not a snaplen cut)
    ipv6_bad_extension,   // an extension header chain that runs past the packet
    tcp_truncated,        // the frame ends inside the TCP header
    tcp_bad_data_offset,  // data offset < 5 or past the IP payload
    tcp_bad_options,      // an option whose length overflows the header
    count_
};
constexpr size_t k_decode_status_count = static_cast<size_t>(DecodeStatus::count_);
const char* decode_status_name(DecodeStatus s);
// True for the statuses that are malformed input (as opposed to traffic we ignore).
bool decode_status_is_malformed(DecodeStatus s);

struct TcpOptions {
    uint16_t mss = 0;          // 0 = absent
    int8_t window_scale = -1;  // -1 = absent
    bool sack_permitted = false;
    bool has_timestamps = false;
    uint32_t ts_val = 0, ts_ecr = 0;
    uint8_t sack_block_count = 0;
    std::array<std::array<uint32_t, 2>, 4> sack_blocks{};  // the first sack_block_count
    bool fast_open = false;

    // Back to "no options", field by field: assigning a TcpOptions{} built a temporary
    // whose narrow stores the wide copy then waited on (a store-forwarding stall on every
    // packet). The SACK block values are left: only the first sack_block_count count.
    void reset() {
        mss = 0;
        window_scale = -1;
        sack_permitted = false;
        has_timestamps = false;
        ts_val = ts_ecr = 0;
        sack_block_count = 0;
        fast_open = false;
    }
};

// Where a fragment sits, filled in when decode_packet returns ip_fragment.
struct FragmentInfo {
    uint8_t ip_version = 0;
    uint32_t id = 0;              // IPv4 identification or IPv6 fragment identification
    uint32_t offset = 0;          // byte offset of this fragment's data in the datagram
    bool more = false;            // more fragments follow
    uint8_t protocol = 0;         // transport protocol of the datagram
    const uint8_t* header = nullptr;  // IPv4 header, or IPv6 header + extension headers
    uint32_t header_len = 0;      //   ... up to (not including) the fragment header
    uint32_t next_header_at = 0;  // IPv6: offset in `header` of the byte that says 44
    const uint8_t* data = nullptr;
    uint32_t data_len = 0;
};

// An ICMP error (IPv4 type 3 or 11, ICMPv6 type 1, 2 or 3) that quotes the start of a
// TCP packet. DecodedPacket's addresses, ports and seq are then the quoted packet's, so
// the flow key is the quoted packet's flow.
struct IcmpErrorInfo {
    uint8_t version = 0;  // 4: ICMP, 6: ICMPv6
    uint8_t type = 0, code = 0;
    uint32_t mtu = 0;     // next-hop MTU (v4 3/4) or packet-too-big MTU (v6 2), else 0
    std::array<uint8_t, 16> reporter{};  // the error's sender
};

struct DecodedPacket {
    uint8_t ip_version = 0;          // 4 or 6
    std::array<uint8_t, 16> src{}, dst{};
    uint16_t src_port = 0, dst_port = 0;
    uint32_t seq = 0, ack = 0;
    uint8_t flags = 0;               // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20
    uint16_t window = 0;             // raw, unscaled
    TcpOptions options;
    const uint8_t* payload = nullptr;
    uint32_t payload_len = 0;        // as the IP header says
    uint32_t payload_captured = 0;   // how much of it is in the capture
    uint32_t ip_total_len = 0;
    // The TCP checksum: false only when the whole segment was captured and the sum is
    // wrong (a corrupted segment, or an offloaded packet of a host that leaves something
    // other than Linux's partial sum in the field).
    bool checksum_ok = true;
    // The field held the folded pseudo-header sum alone: the capturing host's own packet
    // with transmit checksum offload (Linux CHECKSUM_PARTIAL; the NIC finishes it on the
    // wire). Counted as checksum_ok: the receiver sees the finished checksum.
    bool checksum_partial = false;
    const uint8_t* segment = nullptr;  // the TCP segment (header + payload) ...
    uint32_t segment_len = 0;          // ... its length as the IP header says
    bool segment_complete = false;     // the whole segment is in the capture
    FragmentInfo fragment;           // valid when decode_packet returned ip_fragment
    IcmpErrorInfo icmp;              // valid when decode_packet returned icmp_error
};

namespace tcp_flag {
constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

// The TCP checksum of a whole captured segment (header + payload, `length` bytes, at
// least 20) against its pseudo-header.
enum class TcpChecksumState : uint8_t {
    valid,    // the Internet checksum over segment and pseudo-header is right
    partial,  // the field holds the folded pseudo-header sum only: what Linux leaves for
              // a NIC with transmit checksum offload (CHECKSUM_PARTIAL; tcp_v4_send_check,
              // tcp_v6_send_check), seen when capturing on the sending host
    bad,      // neither: corrupted on the way, or another stack's unfinished offload
};
TcpChecksumState tcp_checksum_state(uint8_t ip_version, const uint8_t* src, const uint8_t* dst,
                                    const uint8_t* segment, uint32_t length);

// Decodes `packet` into `out`. Reads only packet->data[0 .. caplen). Without
// `verify_checksum` (only the flow is needed, e.g. to pick a shard) the payload is not
// read and `checksum_ok` stays true.
DecodeStatus decode_packet(const sth_packet& packet, DecodedPacket& out,
                           bool verify_checksum = true);

}  // namespace stethoscope::core
