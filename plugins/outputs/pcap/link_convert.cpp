#include "link_convert.hpp"

#include <algorithm>
#include <cstring>

namespace stethoscope::pcap_output {
namespace {

constexpr uint16_t k_ethertype_ipv4 = 0x0800, k_ethertype_ipv6 = 0x86dd;
constexpr uint16_t k_arphrd_ether = 1, k_arphrd_loopback = 772, k_arphrd_none = 0xfffe;
constexpr uint16_t k_sll_other_host = 3;
constexpr uint32_t k_bsd_af_inet = 2, k_bsd_af_inet6 = 24;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

// What the original link header says about the frame.
struct LinkSource {
    uint32_t header_len = 0;
    uint16_t ethertype = 0;
    uint16_t arphrd = k_arphrd_none;
    int pkttype = -1;  // SLL packet type, -1 when the source has none
    const uint8_t* addr = nullptr;
    uint8_t addr_len = 0;
};

uint16_t ethertype_of_af(uint32_t af) {
    if (af == 2) return k_ethertype_ipv4;
    if (af == 24 || af == 28 || af == 30) return k_ethertype_ipv6;
    return 0;
}

bool parse_ethernet(const uint8_t* d, uint32_t cap, LinkSource& s) {
    if (cap < 14) return false;
    uint32_t off = 12;
    uint16_t type = be16(d + off);
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
        off += 4;
        if (cap < off + 2) return false;
        type = be16(d + off);
    }
    s = {off + 2, type, k_arphrd_ether, -1, d + 6, 6};
    return true;
}

bool parse_bsd_loopback(const uint8_t* d, uint32_t cap, bool network_order, LinkSource& s) {
    if (cap < 4) return false;
    uint32_t be = uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 | uint32_t{d[2]} << 8 | d[3];
    uint32_t le = uint32_t{d[3]} << 24 | uint32_t{d[2]} << 16 | uint32_t{d[1]} << 8 | d[0];
    uint16_t type = ethertype_of_af(be);
    if (type == 0 && !network_order) type = ethertype_of_af(le);
    s = {4, type, k_arphrd_loopback, -1, nullptr, 0};
    return true;
}

bool parse_source(const sth_packet& p, LinkSource& s) {
    const uint8_t* d = p.data;
    const uint32_t cap = p.caplen;
    switch (p.linktype) {
        case dlt::ethernet:
            if (!parse_ethernet(d, cap, s)) return false;
            break;
        case dlt::null:
        case dlt::loop:
            if (!parse_bsd_loopback(d, cap, p.linktype == dlt::loop, s)) return false;
            break;
        case dlt::linux_sll:
            if (cap < 16) return false;
            s = {16, be16(d + 14), be16(d + 2), be16(d), d + 6,
                 static_cast<uint8_t>(std::min<uint16_t>(be16(d + 4), 8))};
            break;
        case dlt::linux_sll2:
            if (cap < 20) return false;
            s = {20, be16(d), be16(d + 8), d[10], d + 12, std::min<uint8_t>(d[11], 8)};
            break;
        case dlt::raw:
        case dlt::raw_openbsd:
        case dlt::linktype_raw:
        case dlt::ipv4:
        case dlt::ipv6:
            if (cap < 1) return false;
            s = {0, (d[0] >> 4) == 6 ? k_ethertype_ipv6 : k_ethertype_ipv4, k_arphrd_none, -1,
                 nullptr, 0};
            break;
        default: return false;
    }
    return (s.ethertype == k_ethertype_ipv4 || s.ethertype == k_ethertype_ipv6) &&
           p.len >= s.header_len;
}

// Writes the header of link type `to` for `s` into out.header; false when impossible.
bool build_header(const LinkSource& s, int to, ConvertedFrame& out) {
    uint8_t* h = out.header;
    const bool v6 = s.ethertype == k_ethertype_ipv6;
    const uint16_t pkttype = s.pkttype >= 0 ? static_cast<uint16_t>(s.pkttype) : k_sll_other_host;
    switch (to) {
        case dlt::ethernet:
            std::memset(h, 0, 12);
            if (s.arphrd == k_arphrd_ether && s.addr_len == 6) std::memcpy(h + 6, s.addr, 6);
            put_be16(h + 12, s.ethertype);
            out.header_len = 14;
            return true;
        case dlt::linktype_raw: out.header_len = 0; return true;
        case dlt::ipv4: out.header_len = 0; return !v6;
        case dlt::ipv6: out.header_len = 0; return v6;
        case dlt::null: {
            uint32_t af = v6 ? k_bsd_af_inet6 : k_bsd_af_inet;  // host byte order
            std::memcpy(h, &af, 4);
            out.header_len = 4;
            return true;
        }
        case dlt::loop:
            put_be16(h, 0);
            put_be16(h + 2, static_cast<uint16_t>(v6 ? k_bsd_af_inet6 : k_bsd_af_inet));
            out.header_len = 4;
            return true;
        case dlt::linux_sll:
            std::memset(h, 0, 16);
            put_be16(h, pkttype);
            put_be16(h + 2, s.arphrd);
            put_be16(h + 4, s.addr_len);
            if (s.addr_len > 0) std::memcpy(h + 6, s.addr, s.addr_len);
            put_be16(h + 14, s.ethertype);
            out.header_len = 16;
            return true;
        case dlt::linux_sll2:
            std::memset(h, 0, 20);
            put_be16(h, s.ethertype);
            put_be16(h + 8, s.arphrd);
            h[10] = static_cast<uint8_t>(pkttype);
            h[11] = s.addr_len;
            if (s.addr_len > 0) std::memcpy(h + 12, s.addr, s.addr_len);
            out.header_len = 20;
            return true;
        default: return false;
    }
}

}  // namespace

std::optional<int> linktype_by_name(std::string_view name) {
    if (name == "ethernet") return dlt::ethernet;
    if (name == "raw") return dlt::linktype_raw;
    if (name == "null") return dlt::null;
    if (name == "linux_sll") return dlt::linux_sll;
    return std::nullopt;
}

bool is_writable_linktype(int d) {
    switch (d) {
        case dlt::null: case dlt::ethernet: case dlt::raw: case dlt::raw_openbsd:
        case dlt::linktype_raw: case dlt::loop: case dlt::linux_sll: case dlt::ipv4:
        case dlt::ipv6: case dlt::linux_sll2: return true;
        default: return false;
    }
}

int file_linktype(int d) {
    return d == dlt::raw || d == dlt::raw_openbsd ? dlt::linktype_raw : d;
}

bool convert_frame(const sth_packet& packet, int to, ConvertedFrame& out) {
    LinkSource s;
    if (!parse_source(packet, s) || !build_header(s, to, out)) return false;
    out.network = packet.data + s.header_len;
    out.network_caplen = packet.caplen - s.header_len;
    out.caplen = out.header_len + out.network_caplen;
    out.len = out.header_len + (packet.len - s.header_len);
    return true;
}

}  // namespace stethoscope::pcap_output
