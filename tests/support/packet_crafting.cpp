// packet_crafting.cpp — addresses, Ethernet, IPv4/IPv6, TCP and their checksums.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "byte_order.hpp"
#include "capture_builder.hpp"

#include <fstream>
#include <stdexcept>

namespace sth_test {

using detail::put_u16_be;
using detail::put_u32_be;
using detail::put_u8;
using detail::set_u16_be;

// ---------------------------------------------------------------- bytes

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

void write_file(const std::filesystem::path& path, ByteView bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

Bytes pseudo_random_bytes(std::size_t size, std::uint64_t seed) {
    Bytes out;
    out.reserve(size);
    std::uint64_t state = seed;
    while (out.size() < size) {
        state += 0x9E3779B97F4A7C15ull;  // splitmix64
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (int i = 0; i < 8 && out.size() < size; ++i) {
            out.push_back(static_cast<std::uint8_t>(z >> (8 * i)));
        }
    }
    return out;
}

// ---------------------------------------------------------------- addresses

IpAddress IpAddress::parse(std::string_view text) {
    const std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) {
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) {
        a.v6_ = true;
        return a;
    }
    throw std::invalid_argument("IpAddress: not an IPv4 or IPv6 address: " + s);
}

namespace {

std::string dotted_quad(const std::uint8_t* b) {
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[3]);
}

using Groups = std::array<std::uint16_t, 8>;

struct ZeroRun {
    std::size_t start = 8;  // 8 = no run
    std::size_t length = 0;
};

// The longest run of two or more zero groups (the first on a tie), or no run.
ZeroRun longest_zero_run(const Groups& groups) {
    ZeroRun best;
    ZeroRun current;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        if (groups[i] != 0) {
            current = {};
            continue;
        }
        if (current.length == 0) {
            current.start = i;
        }
        ++current.length;
        if (current.length > best.length) {
            best = current;
        }
    }
    return best.length >= 2 ? best : ZeroRun{};
}

std::string hex_group(std::uint16_t g) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%x", g);
    return buf;
}

std::string rfc5952(const std::array<std::uint8_t, 16>& b) {
    Groups groups{};
    for (std::size_t i = 0; i < groups.size(); ++i) {
        groups[i] = static_cast<std::uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
    }
    const ZeroRun run = longest_zero_run(groups);
    // Embedded IPv4 exactly where inet_ntop writes it: ::a.b.c.d and ::ffff:a.b.c.d.
    const bool embedded_v4 =
        run.start == 0 && (run.length == 6 || (run.length == 5 && groups[5] == 0xffff));
    const std::size_t hex_groups = embedded_v4 ? 6 : 8;
    std::string out;
    for (std::size_t i = 0; i < hex_groups; ++i) {
        if (i == run.start) {
            out += "::";
            i += run.length - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') {
            out += ':';
        }
        out += hex_group(groups[i]);
    }
    if (embedded_v4) {
        if (out.back() != ':') {
            out += ':';
        }
        out += dotted_quad(&b[12]);
    }
    return out;
}

}  // namespace

std::string IpAddress::file_name_form() const {
    std::string text = to_string();
    for (char& ch : text)
        if (ch == ':') ch = '.';
    return text;
}

std::string IpAddress::to_string() const {
    return v6_ ? rfc5952(bytes_) : dotted_quad(bytes_.data());
}

// ---------------------------------------------------------------- checksums

namespace {

std::uint32_t sum_words(ByteView data, std::uint32_t sum = 0) {
    std::size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
        sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    }
    if (i < data.size()) {
        sum += static_cast<std::uint32_t>(data[i] << 8);
    }
    return sum;
}

std::uint16_t fold(std::uint32_t sum) {
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

std::uint32_t pseudo_header_sum(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                std::size_t length) {
    std::uint32_t sum = sum_words(src.bytes());
    sum = sum_words(dst.bytes(), sum);
    sum += protocol;
    sum += static_cast<std::uint32_t>(length >> 16);
    sum += static_cast<std::uint32_t>(length & 0xFFFF);
    return sum;
}

}  // namespace

std::uint16_t internet_checksum(ByteView data, std::uint32_t initial) {
    return static_cast<std::uint16_t>(~fold(sum_words(data, initial)));
}

// ---------------------------------------------------------------- Ethernet

Bytes ethernet_frame(const EthernetFields& fields, std::uint16_t type, ByteView payload) {
    Bytes out(fields.dst.begin(), fields.dst.end());
    out.insert(out.end(), fields.src.begin(), fields.src.end());
    for (const VlanTag& tag : fields.vlan_tags) {
        put_u16_be(out, tag.tpid);
        put_u16_be(out, static_cast<std::uint16_t>((tag.priority & 0x7) << 13 | (tag.id & 0xFFF)));
    }
    put_u16_be(out, type);
    out.insert(out.end(), payload.begin(), payload.end());
    if (out.size() < fields.pad_to) {
        out.resize(fields.pad_to, fields.pad_byte);
    }
    out.insert(out.end(), fields.trailer.begin(), fields.trailer.end());
    return out;
}

// ---------------------------------------------------------------- IPv4 / IPv6

namespace {

Bytes padded_ip_options(const Bytes& options) {
    Bytes out = options;
    while (out.size() % 4 != 0) {
        out.push_back(0);  // EOL
    }
    if (out.size() > 40) {
        throw std::length_error("ipv4_packet: options longer than 40 bytes");
    }
    return out;
}

void require_same_family(const IpAddress& src, const IpAddress& dst) {
    if (src.is_v6() != dst.is_v6()) {
        throw std::invalid_argument("source and destination are of different IP versions");
    }
}

}  // namespace

Bytes ipv4_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                  ByteView payload, const Ipv4Fields& fields) {
    if (src.is_v6() || dst.is_v6()) {
        throw std::invalid_argument("ipv4_packet: IPv6 address given");
    }
    if (fields.fragment_offset % 8 != 0) {
        throw std::invalid_argument("ipv4_packet: fragment offset not a multiple of 8");
    }
    const Bytes options = padded_ip_options(fields.options);
    const std::size_t header_len = 20 + options.size();
    Bytes out;
    out.reserve(header_len + payload.size());
    put_u8(out, static_cast<std::uint8_t>(0x40 | header_len / 4));
    put_u8(out, fields.tos);
    put_u16_be(out, static_cast<std::uint16_t>(header_len + payload.size()));
    put_u16_be(out, fields.id);
    const std::uint16_t flags =
        (fields.dont_fragment ? 0x4000 : 0) | (fields.more_fragments ? 0x2000 : 0);
    put_u16_be(out, static_cast<std::uint16_t>(flags | fields.fragment_offset / 8));
    put_u8(out, fields.ttl);
    put_u8(out, protocol);
    put_u16_be(out, 0);  // checksum, patched below
    out.insert(out.end(), src.bytes().begin(), src.bytes().end());
    out.insert(out.end(), dst.bytes().begin(), dst.bytes().end());
    out.insert(out.end(), options.begin(), options.end());
    std::uint16_t checksum = internet_checksum(out);
    if (fields.corrupt_checksum) {
        checksum ^= 0x5a5a;
    }
    set_u16_be(out, 10, checksum);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

std::vector<Bytes> ipv4_fragments(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  ByteView payload, std::size_t fragment_size, Ipv4Fields fields) {
    const std::size_t step = fragment_size / 8 * 8;
    if (step == 0) {
        throw std::invalid_argument("ipv4_fragments: fragment size below 8");
    }
    std::vector<Bytes> out;
    fields.dont_fragment = false;
    for (std::size_t offset = 0; offset < payload.size(); offset += step) {
        const std::size_t n = std::min(step, payload.size() - offset);
        fields.fragment_offset = static_cast<std::uint16_t>(offset);
        fields.more_fragments = offset + n < payload.size();
        out.push_back(ipv4_packet(src, dst, protocol, payload.subspan(offset, n), fields));
    }
    return out;
}

Bytes ipv6_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t next_header,
                  ByteView payload, const Ipv6Fields& fields) {
    if (!src.is_v6() || !dst.is_v6()) {
        throw std::invalid_argument("ipv6_packet: IPv4 address given");
    }
    Bytes out;
    out.reserve(40 + payload.size());
    const std::uint32_t first_word = 6u << 28 |
                                     static_cast<std::uint32_t>(fields.traffic_class) << 20 |
                                     (fields.flow_label & 0xFFFFF);
    put_u32_be(out, first_word);
    put_u16_be(out, static_cast<std::uint16_t>(payload.size()));
    put_u8(out, next_header);
    put_u8(out, fields.hop_limit);
    out.insert(out.end(), src.bytes().begin(), src.bytes().end());
    out.insert(out.end(), dst.bytes().begin(), dst.bytes().end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes encode_ipv6_extensions(const std::vector<Ipv6ExtensionHeader>& extensions,
                             std::uint8_t protocol) {
    Bytes out;
    for (std::size_t i = 0; i < extensions.size(); ++i) {
        const Ipv6ExtensionHeader& h = extensions[i];
        const std::uint8_t next = i + 1 < extensions.size() ? extensions[i + 1].type : protocol;
        std::size_t total = 2 + h.body.size();
        total = (total + 7) / 8 * 8;
        if (total / 8 - 1 > 255) {
            throw std::length_error("encode_ipv6_extensions: header longer than 2048 bytes");
        }
        put_u8(out, next);
        put_u8(out, static_cast<std::uint8_t>(total / 8 - 1));
        out.insert(out.end(), h.body.begin(), h.body.end());
        out.resize(out.size() + (total - 2 - h.body.size()), 0);  // Pad1 options
    }
    return out;
}

Bytes ipv6_packet_with_extensions(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  const std::vector<Ipv6ExtensionHeader>& extensions,
                                  ByteView payload, const Ipv6Fields& fields) {
    if (extensions.empty()) {
        return ipv6_packet(src, dst, protocol, payload, fields);
    }
    Bytes body = encode_ipv6_extensions(extensions, protocol);
    body.insert(body.end(), payload.begin(), payload.end());
    return ipv6_packet(src, dst, extensions.front().type, body, fields);
}

Bytes ipv6_fragment(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                    ByteView piece, std::size_t offset, bool more, std::uint32_t id,
                    const Ipv6Fields& fields,
                    const std::vector<Ipv6ExtensionHeader>& unfragmentable) {
    if (offset % 8 != 0 || offset > 0xFFF8) {
        throw std::invalid_argument("ipv6_fragment: offset not a multiple of 8 below 65536");
    }
    Bytes body = encode_ipv6_extensions(unfragmentable, ipv6_ext::fragment);
    put_u8(body, protocol);
    put_u8(body, 0);  // reserved
    put_u16_be(body, static_cast<std::uint16_t>(offset | (more ? 1 : 0)));
    put_u32_be(body, id);
    body.insert(body.end(), piece.begin(), piece.end());
    const std::uint8_t first = unfragmentable.empty() ? ipv6_ext::fragment : unfragmentable.front().type;
    return ipv6_packet(src, dst, first, body, fields);
}

std::vector<Bytes> ipv6_fragments(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol,
                                  ByteView payload, std::size_t fragment_size, std::uint32_t id,
                                  const Ipv6Fields& fields,
                                  const std::vector<Ipv6ExtensionHeader>& unfragmentable) {
    const std::size_t step = fragment_size / 8 * 8;
    if (step == 0) {
        throw std::invalid_argument("ipv6_fragments: fragment size below 8");
    }
    std::vector<Bytes> out;
    for (std::size_t offset = 0; offset < payload.size(); offset += step) {
        const std::size_t n = std::min(step, payload.size() - offset);
        out.push_back(ipv6_fragment(src, dst, protocol, payload.subspan(offset, n), offset,
                                    offset + n < payload.size(), id, fields, unfragmentable));
    }
    return out;
}

Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t protocol, ByteView payload,
                const Ipv4Fields& v4, const Ipv6Fields& v6) {
    require_same_family(src, dst);
    return src.is_v6() ? ipv6_packet(src, dst, protocol, payload, v6)
                       : ipv4_packet(src, dst, protocol, payload, v4);
}

// ---------------------------------------------------------------- TCP

namespace {

constexpr std::uint8_t k_opt_eol = 0;
constexpr std::uint8_t k_opt_nop = 1;
constexpr std::uint8_t k_opt_mss = 2;
constexpr std::uint8_t k_opt_wscale = 3;
constexpr std::uint8_t k_opt_sack_permitted = 4;
constexpr std::uint8_t k_opt_sack = 5;
constexpr std::uint8_t k_opt_timestamps = 8;

void put_timestamps(Bytes& out, const TcpTimestamps& ts) {
    put_u8(out, k_opt_timestamps);
    put_u8(out, 10);
    put_u32_be(out, ts.value);
    put_u32_be(out, ts.echo_reply);
}

// SACK-permitted and timestamps share one 4-byte aligned slot, as Linux writes them.
void put_sack_permitted_and_timestamps(Bytes& out, const TcpOptions& o) {
    if (o.sack_permitted && o.timestamps) {
        put_u8(out, k_opt_sack_permitted);
        put_u8(out, 2);
        put_timestamps(out, *o.timestamps);
    } else if (o.timestamps) {
        put_u8(out, k_opt_nop);
        put_u8(out, k_opt_nop);
        put_timestamps(out, *o.timestamps);
    } else if (o.sack_permitted) {
        put_u8(out, k_opt_nop);
        put_u8(out, k_opt_nop);
        put_u8(out, k_opt_sack_permitted);
        put_u8(out, 2);
    }
}

void put_sack_blocks(Bytes& out, const std::vector<SackBlock>& blocks) {
    if (blocks.empty()) {
        return;
    }
    put_u8(out, k_opt_nop);
    put_u8(out, k_opt_nop);
    put_u8(out, k_opt_sack);
    put_u8(out, static_cast<std::uint8_t>(2 + 8 * blocks.size()));
    for (const SackBlock& b : blocks) {
        put_u32_be(out, b.left);
        put_u32_be(out, b.right);
    }
}

}  // namespace

Bytes encode_tcp_options(const TcpOptions& o) {
    Bytes out;
    if (o.mss) {
        put_u8(out, k_opt_mss);
        put_u8(out, 4);
        put_u16_be(out, *o.mss);
    }
    put_sack_permitted_and_timestamps(out, o);
    if (o.window_scale) {
        put_u8(out, k_opt_nop);
        put_u8(out, k_opt_wscale);
        put_u8(out, 3);
        put_u8(out, *o.window_scale);
    }
    put_sack_blocks(out, o.sack_blocks);
    out.insert(out.end(), o.raw.begin(), o.raw.end());
    while (out.size() % 4 != 0) {
        out.push_back(k_opt_eol);
    }
    if (out.size() > 40) {
        throw std::length_error("encode_tcp_options: options longer than 40 bytes");
    }
    return out;
}

namespace {

std::uint16_t tcp_checksum_value(TcpChecksum mode, std::uint32_t pseudo_sum, ByteView segment) {
    switch (mode) {
        case TcpChecksum::correct:
            return internet_checksum(segment, pseudo_sum);
        case TcpChecksum::corrupt:
            return static_cast<std::uint16_t>(internet_checksum(segment, pseudo_sum) ^ 0xa5a5);
        case TcpChecksum::zero:
            return 0;
        case TcpChecksum::pseudo_header_only:
            return fold(pseudo_sum);
    }
    return 0;
}

}  // namespace

Bytes tcp_segment(const IpAddress& src, const IpAddress& dst, const TcpFields& f,
                  ByteView payload) {
    require_same_family(src, dst);
    const Bytes options = encode_tcp_options(f.options);
    const std::size_t header_len = 20 + options.size();
    Bytes out;
    out.reserve(header_len + payload.size());
    put_u16_be(out, f.src_port);
    put_u16_be(out, f.dst_port);
    put_u32_be(out, f.seq);
    put_u32_be(out, f.ack);
    put_u8(out, static_cast<std::uint8_t>(header_len / 4 << 4));
    put_u8(out, f.flags);
    put_u16_be(out, f.window);
    put_u16_be(out, 0);  // checksum, patched below
    put_u16_be(out, f.urgent_pointer);
    out.insert(out.end(), options.begin(), options.end());
    out.insert(out.end(), payload.begin(), payload.end());
    const std::uint32_t pseudo = pseudo_header_sum(src, dst, ip_protocol::tcp, out.size());
    set_u16_be(out, 16, tcp_checksum_value(f.checksum, pseudo, out));
    return out;
}

// ---------------------------------------------------------------- link layer

std::uint32_t linktype_for(LinkKind kind) {
    switch (kind) {
        case LinkKind::ethernet:
            return linktype::ethernet;
        case LinkKind::raw_ip:
            return linktype::raw;
        case LinkKind::linux_sll:
            return linktype::linux_sll;
        case LinkKind::linux_sll2:
            return linktype::linux_sll2;
        case LinkKind::bsd_null:
            return linktype::bsd_null;
        case LinkKind::bsd_loop:
            return linktype::bsd_loop;
    }
    return linktype::raw;
}

namespace {

bool is_ipv6_packet(ByteView ip_packet) {
    return !ip_packet.empty() && (ip_packet[0] >> 4) == 6;
}

std::uint16_t ethertype_of(ByteView ip_packet) {
    return is_ipv6_packet(ip_packet) ? ethertype::ipv6 : ethertype::ipv4;
}

void put_cooked_address(Bytes& out, const MacAddress& address) {
    out.insert(out.end(), address.begin(), address.end());
    put_u8(out, 0);
    put_u8(out, 0);  // 8 address bytes, 6 used
}

}  // namespace

Bytes linux_sll_frame(const CookedFields& f, ByteView ip_packet) {
    Bytes out;
    put_u16_be(out, f.packet_type);
    put_u16_be(out, f.arphrd_type);
    put_u16_be(out, 6);
    put_cooked_address(out, f.address);
    put_u16_be(out, ethertype_of(ip_packet));
    out.insert(out.end(), ip_packet.begin(), ip_packet.end());
    return out;
}

Bytes linux_sll2_frame(const CookedFields& f, ByteView ip_packet) {
    Bytes out;
    put_u16_be(out, ethertype_of(ip_packet));
    put_u16_be(out, 0);  // reserved
    put_u32_be(out, f.interface_index);
    put_u16_be(out, f.arphrd_type);
    put_u8(out, static_cast<std::uint8_t>(f.packet_type));
    put_u8(out, 6);
    put_cooked_address(out, f.address);
    out.insert(out.end(), ip_packet.begin(), ip_packet.end());
    return out;
}

Bytes bsd_loopback_frame(std::uint32_t address_family, bool network_order, ByteView ip_packet) {
    Bytes out;
    if (network_order) {
        put_u32_be(out, address_family);
    } else {
        detail::put_u32_le(out, address_family);
    }
    out.insert(out.end(), ip_packet.begin(), ip_packet.end());
    return out;
}

Bytes link_frame(LinkKind kind, const EthernetFields& ethernet, ByteView ip_packet) {
    const bool v6 = is_ipv6_packet(ip_packet);
    switch (kind) {
        case LinkKind::raw_ip:
            return Bytes(ip_packet.begin(), ip_packet.end());
        case LinkKind::linux_sll:
        case LinkKind::linux_sll2: {
            CookedFields cooked;
            cooked.address = ethernet.src;
            return kind == LinkKind::linux_sll ? linux_sll_frame(cooked, ip_packet)
                                               : linux_sll2_frame(cooked, ip_packet);
        }
        case LinkKind::bsd_null:
            return bsd_loopback_frame(v6 ? 30 : 2, false, ip_packet);
        case LinkKind::bsd_loop:
            return bsd_loopback_frame(v6 ? 24 : 2, true, ip_packet);
        case LinkKind::ethernet:
            break;
    }
    return ethernet_frame(ethernet, v6 ? ethertype::ipv6 : ethertype::ipv4, ip_packet);
}

}  // namespace sth_test
