#include "decoder.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace stethoscope::core {

namespace {

// Link types (libpcap DLT_* values as pcap_datalink() reports them).
constexpr int k_dlt_null = 0, k_dlt_en10mb = 1, k_dlt_raw = 12, k_dlt_raw_openbsd = 14,
              k_linktype_raw = 101, k_dlt_loop = 108, k_dlt_linux_sll = 113,
              k_dlt_ipv4 = 228, k_dlt_ipv6 = 229, k_dlt_linux_sll2 = 276;

constexpr uint16_t k_ethertype_ipv4 = 0x0800, k_ethertype_ipv6 = 0x86dd;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

struct Cursor {
    const uint8_t* data;
    uint32_t size;  // captured bytes from data on
};

// Where the IP packet starts, and its version (from the link header) or 0 to sniff.
struct LinkResult {
    DecodeStatus status;
    uint32_t offset;
};

LinkResult ethernet(const uint8_t* d, uint32_t cap) {
    if (cap < 14) return {DecodeStatus::link_truncated, 0};
    uint32_t off = 12;
    uint16_t type = be16(d + off);
    // 802.1Q, 802.1ad (QinQ) and the old 0x9100 tag, any depth.
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
        off += 4;
        if (cap < off + 2) return {DecodeStatus::link_truncated, 0};
        type = be16(d + off);
    }
    off += 2;
    if (type != k_ethertype_ipv4 && type != k_ethertype_ipv6) return {DecodeStatus::not_ip, 0};
    return {DecodeStatus::ok, off};
}

LinkResult bsd_loopback(const uint8_t* d, uint32_t cap, bool network_order) {
    if (cap < 4) return {DecodeStatus::link_truncated, 0};
    uint32_t be = be32(d);
    uint32_t le = uint32_t{d[0]} | uint32_t{d[1]} << 8 | uint32_t{d[2]} << 16 | uint32_t{d[3]} << 24;
    // DLT_NULL is in the capturing host's byte order, which we do not know: accept both.
    auto known = [](uint32_t af) { return af == 2 || af == 24 || af == 28 || af == 30; };
    if (!(known(be) || (!network_order && known(le)))) return {DecodeStatus::not_ip, 0};
    return {DecodeStatus::ok, 4};
}

LinkResult linux_sll(const uint8_t* d, uint32_t cap) {
    if (cap < 16) return {DecodeStatus::link_truncated, 0};
    uint16_t type = be16(d + 14);
    if (type != k_ethertype_ipv4 && type != k_ethertype_ipv6) return {DecodeStatus::not_ip, 0};
    return {DecodeStatus::ok, 16};
}

LinkResult linux_sll2(const uint8_t* d, uint32_t cap) {
    if (cap < 20) return {DecodeStatus::link_truncated, 0};
    uint16_t type = be16(d);
    if (type != k_ethertype_ipv4 && type != k_ethertype_ipv6) return {DecodeStatus::not_ip, 0};
    return {DecodeStatus::ok, 20};
}

LinkResult link_layer(int linktype, const uint8_t* d, uint32_t cap) {
    switch (linktype) {
        case k_dlt_en10mb: return ethernet(d, cap);
        case k_dlt_null: return bsd_loopback(d, cap, false);
        case k_dlt_loop: return bsd_loopback(d, cap, true);
        case k_dlt_linux_sll: return linux_sll(d, cap);
        case k_dlt_linux_sll2: return linux_sll2(d, cap);
        case k_dlt_raw:
        case k_dlt_raw_openbsd:
        case k_linktype_raw:
        case k_dlt_ipv4:
        case k_dlt_ipv6: return {DecodeStatus::ok, 0};
        default: return {DecodeStatus::unsupported_linktype, 0};
    }
}

DecodeStatus parse_tcp_options(const uint8_t* p, uint32_t len, TcpOptions& o) {
    uint32_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (kind == 0) break;          // end of options
        if (kind == 1) { ++i; continue; }  // NOP
        if (i + 1 >= len) return DecodeStatus::tcp_bad_options;
        uint8_t olen = p[i + 1];
        if (olen < 2 || i + olen > len) return DecodeStatus::tcp_bad_options;
        const uint8_t* v = p + i + 2;
        switch (kind) {
            case 2: if (olen == 4) o.mss = be16(v); break;
            case 3: if (olen == 3) o.window_scale = static_cast<int8_t>(v[0] > 14 ? 14 : v[0]); break;
            case 4: o.sack_permitted = true; break;
            case 5:
                o.sack_block_count = 0;
                for (uint32_t b = 0; b + 8 <= uint32_t{olen} - 2 && o.sack_block_count < 4; b += 8) {
                    o.sack_blocks[o.sack_block_count++] = {be32(v + b), be32(v + b + 4)};
                }
                break;
            case 8:
                if (olen == 10) {
                    o.has_timestamps = true;
                    o.ts_val = be32(v);
                    o.ts_ecr = be32(v + 4);
                }
                break;
            case 34: o.fast_open = true; break;
            default: break;
        }
        i += olen;
    }
    return DecodeStatus::ok;
}

// Ones' complement sum of `n` bytes in native byte order. 32-bit words are added into
// 64-bit accumulators, which cannot overflow for an IP packet (at most 2^14 words), so
// no carry handling is needed in the loop and the compiler can vectorize it. Summing
// in native order gives the byte-swapped network-order sum; a valid checksum folds to
// 0xffff either way. `n` is a multiple of 2 except for the final call.
uint64_t sum_bytes(const uint8_t* p, size_t n, uint64_t acc) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#if defined(__SSE2__)
    // 32 bytes a round: widen the 32-bit words to 64-bit lanes and add.
    const __m128i zero = _mm_setzero_si128();
    __m128i v0 = zero, v1 = zero;
    while (n >= 32) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
        v0 = _mm_add_epi64(v0, _mm_add_epi64(_mm_unpacklo_epi32(x, zero), _mm_unpackhi_epi32(x, zero)));
        v1 = _mm_add_epi64(v1, _mm_add_epi64(_mm_unpacklo_epi32(y, zero), _mm_unpackhi_epi32(y, zero)));
        p += 32;
        n -= 32;
    }
    uint64_t lanes[4];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes), v0);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(lanes + 2), v1);
    a0 = lanes[0] + lanes[1];
    a1 = lanes[2] + lanes[3];
#endif
    while (n >= 16) {
        uint32_t w[4];
        std::memcpy(w, p, 16);
        a0 += w[0];
        a1 += w[1];
        a2 += w[2];
        a3 += w[3];
        p += 16;
        n -= 16;
    }
    while (n >= 4) {
        uint32_t w;
        std::memcpy(&w, p, 4);
        a0 += w;
        p += 4;
        n -= 4;
    }
    uint32_t tail = 0;
    std::memcpy(&tail, p, n);  // zero-padded: an odd last byte pairs with a zero
    return acc + a0 + a1 + a2 + a3 + tail;
}

uint16_t fold(uint64_t acc) {
    acc = (acc & 0xffffffffULL) + (acc >> 32);
    acc = (acc & 0xffffffffULL) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}

DecodeStatus tcp(const uint8_t* d, uint32_t ip_payload_len, uint32_t captured, DecodedPacket& out) {
    if (captured < 20) {
        return ip_payload_len < 20 ? DecodeStatus::tcp_bad_data_offset : DecodeStatus::tcp_truncated;
    }
    uint32_t hdr = uint32_t{static_cast<uint8_t>(d[12] >> 4)} * 4;
    if (hdr < 20 || hdr > ip_payload_len) return DecodeStatus::tcp_bad_data_offset;
    if (hdr > captured) return DecodeStatus::tcp_truncated;
    out.src_port = be16(d);
    out.dst_port = be16(d + 2);
    out.seq = be32(d + 4);
    out.ack = be32(d + 8);
    out.flags = d[13];
    out.window = be16(d + 14);
    out.options.reset();
    if (DecodeStatus s = parse_tcp_options(d + 20, hdr - 20, out.options); s != DecodeStatus::ok)
        return s;
    out.payload = d + hdr;
    out.payload_len = ip_payload_len - hdr;
    out.payload_captured = captured - hdr < out.payload_len ? captured - hdr : out.payload_len;
    out.checksum_ok = true;
    out.checksum_partial = false;
    return DecodeStatus::ok;
}

// The quoted packet of an ICMP error: an IP header and at least the TCP ports and seq.
DecodeStatus quoted_tcp(const uint8_t* q, uint32_t len, DecodedPacket& out) {
    uint32_t hdr = 0;
    if (len >= 20 && (q[0] >> 4) == 4) {
        hdr = uint32_t{static_cast<uint8_t>(q[0] & 0x0f)} * 4;
        if (hdr < 20 || q[9] != 6 || (be16(q + 6) & 0x1fff) != 0) return DecodeStatus::not_tcp;
        out.ip_version = 4;
        out.src.fill(0);
        out.dst.fill(0);
        std::memcpy(out.src.data(), q + 12, 4);
        std::memcpy(out.dst.data(), q + 16, 4);
    } else if (len >= 40 && (q[0] >> 4) == 6) {
        hdr = 40;
        if (q[6] != 6) return DecodeStatus::not_tcp;  // extension headers: not followed
        out.ip_version = 6;
        std::memcpy(out.src.data(), q + 8, 16);
        std::memcpy(out.dst.data(), q + 24, 16);
    } else {
        return DecodeStatus::not_tcp;
    }
    if (len < hdr + 8) return DecodeStatus::not_tcp;  // RFC 792: 8 bytes of the datagram
    out.src_port = be16(q + hdr);
    out.dst_port = be16(q + hdr + 2);
    out.seq = be32(q + hdr + 4);
    out.ack = 0;
    out.flags = 0;
    out.window = 0;
    out.options.reset();
    out.payload = nullptr;
    out.payload_len = out.payload_captured = 0;
    out.ip_total_len = 0;
    out.checksum_ok = true;
    out.checksum_partial = false;
    out.segment = nullptr;
    out.segment_len = 0;
    out.segment_complete = false;
    return DecodeStatus::icmp_error;
}

// ICMP errors about a TCP packet (RFC 792, RFC 1191, RFC 4443); everything else not_tcp.
DecodeStatus icmp_error(uint8_t version, const uint8_t* d, uint32_t len, const uint8_t* reporter,
                        DecodedPacket& out) {
    if (len < 8) return DecodeStatus::not_tcp;
    const uint8_t type = d[0], code = d[1];
    uint32_t mtu = 0;
    if (version == 4) {
        if (type != 3 && type != 11) return DecodeStatus::not_tcp;
        if (type == 3 && code == 4) mtu = be16(d + 6);
    } else {
        if (type < 1 || type > 3) return DecodeStatus::not_tcp;
        if (type == 2) mtu = be32(d + 4);
    }
    DecodeStatus st = quoted_tcp(d + 8, len - 8, out);
    if (st != DecodeStatus::icmp_error) return st;
    out.icmp.version = version;
    out.icmp.type = type;
    out.icmp.code = code;
    out.icmp.mtu = mtu;
    out.icmp.reporter.fill(0);
    std::memcpy(out.icmp.reporter.data(), reporter, version == 4 ? 4 : 16);
    return DecodeStatus::icmp_error;
}

DecodeStatus ipv4(const uint8_t* d, uint32_t cap, bool cut_by_snaplen, DecodedPacket& out) {
    if (cap < 20) return DecodeStatus::ip_truncated;
    uint32_t ihl = uint32_t{static_cast<uint8_t>(d[0] & 0x0f)} * 4;
    if (ihl < 20) return DecodeStatus::ip_bad_header_length;
    uint32_t total = be16(d + 2);
    if (total < ihl) return DecodeStatus::ip_bad_total_length;
    if (cap < ihl) return DecodeStatus::ip_truncated;
    if (total > cap && !cut_by_snaplen) return DecodeStatus::ip_length_past_packet;
    out.ip_version = 4;
    out.src.fill(0);
    out.dst.fill(0);
    std::memcpy(out.src.data(), d + 12, 4);
    std::memcpy(out.dst.data(), d + 16, 4);
    uint16_t frag = be16(d + 6);
    if ((frag & 0x3fff) != 0) {  // MF set or offset != 0
        if (d[9] != 6) return DecodeStatus::not_tcp;
        if (total > cap) return DecodeStatus::ip_truncated;  // a cut fragment cannot be used
        FragmentInfo& f = out.fragment;
        f = FragmentInfo{4, be16(d + 4), uint32_t{static_cast<uint16_t>(frag & 0x1fff)} * 8,
                         (frag & 0x2000) != 0, 6, d, ihl, 0, d + ihl, total - ihl};
        return DecodeStatus::ip_fragment;
    }
    if (d[9] == 1) return icmp_error(4, d + ihl, (total < cap ? total : cap) - ihl, d + 12, out);
    if (d[9] != 6) return DecodeStatus::not_tcp;
    out.ip_total_len = total;
    uint32_t avail = (total < cap ? total : cap) - ihl;
    out.segment = d + ihl;
    out.segment_len = total - ihl;
    out.segment_complete = avail >= total - ihl;
    return tcp(d + ihl, total - ihl, avail, out);
}

DecodeStatus ipv6(const uint8_t* d, uint32_t cap, bool cut_by_snaplen, DecodedPacket& out) {
    if (cap < 40) return DecodeStatus::ip_truncated;
    uint32_t payload_len = be16(d + 4);
    uint32_t total = 40 + payload_len;
    if (total > cap && !cut_by_snaplen) return DecodeStatus::ip_length_past_packet;
    uint32_t limit = total < cap ? total : cap;
    uint8_t next = d[6];
    uint32_t off = 40;
    uint32_t next_at = 6;  // where the current "next header" value was read from
    for (int hops = 0; hops < 16; ++hops) {
        switch (next) {
            case 6: {
                if (off > limit) return DecodeStatus::tcp_truncated;  // headers ran past a snaplen cut
                out.ip_version = 6;
                std::memcpy(out.src.data(), d + 8, 16);
                std::memcpy(out.dst.data(), d + 24, 16);
                out.ip_total_len = total;
                out.segment = d + off;
                out.segment_len = total - off;
                out.segment_complete = limit >= total;
                return tcp(d + off, total - off, limit - off, out);
            }
            case 0: case 43: case 60: case 135: case 139: case 140: {  // options, routing
                if (off + 8 > limit) return DecodeStatus::ipv6_bad_extension;
                uint32_t len = (uint32_t{d[off + 1]} + 1) * 8;
                next = d[off];
                next_at = off;
                off += len;
                if (off > total) return DecodeStatus::ipv6_bad_extension;
                if (off > limit) return DecodeStatus::ip_truncated;
                break;
            }
            case 51: {  // AH: length in 4-octet units minus 2
                if (off + 8 > limit) return DecodeStatus::ipv6_bad_extension;
                uint32_t len = (uint32_t{d[off + 1]} + 2) * 4;
                next = d[off];
                next_at = off;
                off += len;
                if (off > total) return DecodeStatus::ipv6_bad_extension;
                if (off > limit) return DecodeStatus::ip_truncated;
                break;
            }
            case 44: {
                if (off + 8 > limit) return off + 8 > total ? DecodeStatus::ipv6_bad_extension
                                                            : DecodeStatus::ip_truncated;
                if (d[off] != 6) return DecodeStatus::not_tcp;
                if (total > cap) return DecodeStatus::ip_truncated;
                std::memcpy(out.src.data(), d + 8, 16);
                std::memcpy(out.dst.data(), d + 24, 16);
                out.ip_version = 6;
                uint16_t fo = be16(d + off + 2);
                out.fragment = FragmentInfo{6, be32(d + off + 4), uint32_t{static_cast<uint16_t>(fo & 0xfff8)},
                                            (fo & 1) != 0, 6, d, off, next_at, d + off + 8,
                                            total - off - 8};
                return DecodeStatus::ip_fragment;
            }
            case 58:
                if (off > limit) return DecodeStatus::not_tcp;
                return icmp_error(6, d + off, limit - off, d + 8, out);
            default: return DecodeStatus::not_tcp;  // includes 59 (no next header)
        }
    }
    return DecodeStatus::ipv6_bad_extension;
}

}  // namespace

static DecodeStatus decode_headers(const sth_packet& packet, DecodedPacket& out);

TcpChecksumState tcp_checksum_state(uint8_t ip_version, const uint8_t* src, const uint8_t* dst,
                                    const uint8_t* segment, uint32_t length) {
    // The pseudo-header as 32-bit words: the addresses, then zero, protocol 6 and the
    // length as they would sit in memory (network order). Summed the same way as the
    // segment (native 32-bit words into 64 bits), so the fold below treats them alike.
    const size_t words = ip_version == 6 ? 4 : 1;
    uint64_t acc = 0;
    for (size_t i = 0; i < words; ++i) {
        uint32_t a, b;
        std::memcpy(&a, src + 4 * i, 4);
        std::memcpy(&b, dst + 4 * i, 4);
        acc += uint64_t{a} + b;
    }
    const uint8_t tail[8] = {0, 6, 0, 0, static_cast<uint8_t>(length >> 24),
                             static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 8),
                             static_cast<uint8_t>(length)};
    uint32_t t0, t1;
    std::memcpy(&t0, tail, 4);
    std::memcpy(&t1, tail + 4, 4);
    acc += uint64_t{t0} + t1;
    if (fold(sum_bytes(segment, length, acc)) == 0xffff) return TcpChecksumState::valid;
    // Offload: the field is the pseudo-header sum folded, not complemented. Both sides
    // are in native byte order (the ones' complement sum is byte-order independent).
    uint16_t field;
    std::memcpy(&field, segment + 16, 2);
    return field == fold(acc) ? TcpChecksumState::partial : TcpChecksumState::bad;
}

const char* decode_status_name(DecodeStatus s) {
    static const char* const names[] = {
        "ok", "not_ip", "not_tcp", "unsupported_linktype", "ip_fragment", "icmp_error",
        "link_truncated",
        "ip_truncated", "ip_bad_version", "ip_bad_header_length", "ip_bad_total_length",
        "ip_length_past_packet", "ipv6_bad_extension", "tcp_truncated", "tcp_bad_data_offset",
        "tcp_bad_options"};
    static_assert(sizeof(names) / sizeof(names[0]) == k_decode_status_count);
    return names[static_cast<size_t>(s)];
}

bool decode_status_is_malformed(DecodeStatus s) {
    return s >= DecodeStatus::link_truncated;
}

DecodeStatus decode_packet(const sth_packet& packet, DecodedPacket& out, bool verify_checksum) {
    DecodeStatus st = decode_headers(packet, out);
    if (st == DecodeStatus::ok && verify_checksum && out.segment_complete) {
        const TcpChecksumState c = tcp_checksum_state(out.ip_version, out.src.data(),
                                                      out.dst.data(), out.segment, out.segment_len);
        out.checksum_ok = c != TcpChecksumState::bad;
        out.checksum_partial = c == TcpChecksumState::partial;
    }
    return st;
}

static DecodeStatus decode_headers(const sth_packet& packet, DecodedPacket& out) {
    LinkResult link = link_layer(packet.linktype, packet.data, packet.caplen);
    if (link.status != DecodeStatus::ok) return link.status;
    const uint8_t* ip = packet.data + link.offset;
    uint32_t cap = packet.caplen - link.offset;
    if (cap < 1) return DecodeStatus::ip_truncated;
    bool cut = packet.caplen < packet.len;
    switch (ip[0] >> 4) {
        case 4: return ipv4(ip, cap, cut, out);
        case 6: return ipv6(ip, cap, cut, out);
        default: return DecodeStatus::ip_bad_version;
    }
}

}  // namespace stethoscope::core
