#include "pcapng_reader.hpp"

#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace stethoscope::pcap_file {

namespace {

constexpr uint32_t k_shb = 0x0A0D0D0A;
constexpr uint32_t k_idb = 0x00000001;
constexpr uint32_t k_pb = 0x00000002;  // obsolete Packet Block
constexpr uint32_t k_spb = 0x00000003;
constexpr uint32_t k_epb = 0x00000006;
constexpr uint32_t k_byte_order_magic = 0x1A2B3C4D;

constexpr uint16_t k_opt_endofopt = 0;
constexpr uint16_t k_opt_if_tsresol = 9;
constexpr uint16_t k_opt_if_tsoffset = 14;

constexpr uint32_t k_min_block = 12;     // type, length, trailing length
constexpr uint32_t k_min_shb = 28;       // + byte-order magic, version, section length
constexpr uint32_t k_min_idb = 20;       // + link type, reserved, snaplen
constexpr uint32_t k_min_epb = 32;       // + interface, timestamp, caplen, len
constexpr uint32_t k_min_spb = 16;       // + original length
constexpr uint32_t k_min_pb = 32;        // + interface, drops, timestamp, caplen, len
constexpr uint64_t k_ns_per_s = 1000000000;

uint32_t load_u32(const uint8_t* p, bool big_endian) {
    if (big_endian)
        return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

uint16_t load_u16(const uint8_t* p, bool big_endian) {
    return static_cast<uint16_t>(big_endian ? (p[0] << 8 | p[1]) : (p[1] << 8 | p[0]));
}

// Reads the byte order from a Section Header Block's magic; false when it is neither.
bool byte_order_of(const uint8_t* magic, bool& big_endian) {
    if (load_u32(magic, true) == k_byte_order_magic) {
        big_endian = true;
        return true;
    }
    if (load_u32(magic, false) == k_byte_order_magic) {
        big_endian = false;
        return true;
    }
    return false;
}

uint64_t pow10(unsigned e) {
    uint64_t v = 1;
    while (e-- > 0) v *= 10;
    return v;
}

// `ticks` units of 10^-e s in ns (wrapping, never undefined).
uint64_t pow10_ticks_to_ns(uint64_t ticks, unsigned e) {
    if (e > 9) return ticks / pow10(e - 9);
    const uint64_t unit = pow10(e);
    return ticks / unit * k_ns_per_s + ticks % unit * pow10(9 - e);
}

// `ticks` units of 2^-e s in ns (wrapping, never undefined).
uint64_t pow2_ticks_to_ns(uint64_t ticks, unsigned e) {
    if (e == 0) return ticks * k_ns_per_s;
    const uint64_t frac = ticks & ((uint64_t{1} << e) - 1);
    // frac * 10^9 fits 64 bits while frac < 2^34; finer fractions lose their lowest bits.
    const uint64_t frac_ns =
        e <= 34 ? (frac * k_ns_per_s) >> e : ((frac >> (e - 34)) * k_ns_per_s) >> 34;
    return (ticks >> e) * k_ns_per_s + frac_ns;
}

std::string block_name(uint32_t type) {
    switch (type) {
        case k_shb: return "section header block";
        case k_idb: return "interface description block";
        case k_pb: return "obsolete packet block";
        case k_spb: return "simple packet block";
        case k_epb: return "enhanced packet block";
        default: break;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "block of type 0x%08X", static_cast<unsigned>(type));
    return buf;
}

uint64_t regular_file_size(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return UINT64_MAX;
    const auto size = std::filesystem::file_size(path, ec);
    return ec ? UINT64_MAX : static_cast<uint64_t>(size);
}

}  // namespace

// ---------------------------------------------------------------- PcapngReader

PcapngReader::PcapngReader(const std::string& path)
    : file_(std::fopen(path.c_str(), "rb")), file_size_(regular_file_size(path)) {
    if (!file_) throw PcapngError(std::strerror(errno));
}

bool PcapngReader::next(PcapngPacket& out) {
    while (read_block()) {
        if (handle_block(out)) return true;
    }
    return false;
}

// Reads the next whole block into block_; false at a clean end of the file.
bool PcapngReader::read_block() {
    offset_ += length_;
    type_known_ = false;
    length_ = 0;
    block_.resize(k_min_block);
    const size_t got = std::fread(block_.data(), 1, 8, file_.get());
    if (std::ferror(file_.get())) fail(std::string("read error: ") + std::strerror(errno));
    if (got == 0) return false;
    type_ = load_u32(block_.data(), big_endian_);
    type_known_ = got >= 4;
    if (got < 8) fail("truncated at byte " + std::to_string(offset_ + got));
    read_header();
    read_body();
    return true;
}

// Decodes and checks the block length (the byte order first, for a Section Header Block).
void PcapngReader::read_header() {
    if (type_ == k_shb) {
        const size_t got = std::fread(block_.data() + 8, 1, 4, file_.get());
        if (got < 4) fail("truncated at byte " + std::to_string(offset_ + 8 + got));
        if (!byte_order_of(block_.data() + 8, big_endian_))
            fail("no valid byte-order magic (expected 0x1A2B3C4D in either byte order)");
    } else if (!in_section_) {
        fail("the file does not start with a section header block");
    }
    length_ = load_u32(block_.data() + 4, big_endian_);
    const std::string len = "block length " + std::to_string(length_);
    if (length_ < k_min_block) fail(len + " is below the minimum of 12");
    if (length_ % 4 != 0) fail(len + " is not a multiple of 4");
    if (length_ > k_max_block) fail(len + " exceeds the limit of 64 MiB");
    if (file_size_ != UINT64_MAX && offset_ + length_ > file_size_)
        fail(len + " runs past the end of the file: truncated at byte " +
             std::to_string(file_size_));
}

void PcapngReader::read_body() {
    const size_t have = type_ == k_shb ? 12 : 8;
    block_.resize(length_);
    const size_t want = length_ - have;
    const size_t got = std::fread(block_.data() + have, 1, want, file_.get());
    if (got < want) {
        if (std::ferror(file_.get())) fail(std::string("read error: ") + std::strerror(errno));
        fail("truncated at byte " + std::to_string(offset_ + have + got));
    }
    const uint32_t trailing = u32(length_ - 4);
    if (trailing != length_)
        fail("trailing block length " + std::to_string(trailing) +
             " does not match the leading block length " + std::to_string(length_));
}

// Acts on the block in block_; true when it filled `out` with a packet.
bool PcapngReader::handle_block(PcapngPacket& out) {
    switch (type_) {
        case k_shb: on_section_header(); return false;
        case k_idb: on_interface(); return false;
        case k_epb: on_enhanced_packet(out); return true;
        case k_spb: on_simple_packet(out); return true;
        case k_pb: on_obsolete_packet(out); return true;
        default: return false;  // NRB, ISB, DSB, custom, ...: not needed
    }
}

void PcapngReader::on_section_header() {
    need_body(k_min_shb);
    const uint16_t major = u16(12);
    if (major != 1)
        fail("unsupported pcapng version " + std::to_string(major) + "." +
             std::to_string(u16(14)));
    interfaces_.clear();
    in_section_ = true;
}

void PcapngReader::on_interface() {
    need_body(k_min_idb);
    Interface iface;
    iface.linktype = u16(8);
    iface.snaplen = u32(12);
    parse_interface_options(iface, 16);
    interfaces_.push_back(iface);
}

// Reads if_tsresol and if_tsoffset from the options starting at `pos`; ignores the others.
void PcapngReader::parse_interface_options(Interface& iface, size_t pos) {
    const size_t end = length_ - 4;
    while (pos + 4 <= end) {
        const uint16_t code = u16(pos);
        const uint16_t len = u16(pos + 2);
        if (code == k_opt_endofopt) return;
        const std::string opt = "option " + std::to_string(code) + " at byte " +
                                std::to_string(offset_ + pos);
        pos += 4;
        if (len > end - pos) fail(opt + " runs past the end of the block");
        if (code == k_opt_if_tsresol && len >= 1) {
            iface.tsresol_pow2 = (block_[pos] & 0x80) != 0;
            iface.tsresol_exp = block_[pos] & 0x7F;
            if (iface.tsresol_exp > (iface.tsresol_pow2 ? 63 : 19))
                fail(opt + ": unsupported if_tsresol " +
                     (iface.tsresol_pow2 ? "2^-" : "10^-") + std::to_string(iface.tsresol_exp));
        } else if (code == k_opt_if_tsoffset && len >= 8) {
            iface.tsoffset_s = static_cast<int64_t>(u64(pos));
        }
        pos += (size_t{len} + 3) & ~size_t{3};
    }
}

void PcapngReader::on_enhanced_packet(PcapngPacket& out) {
    need_body(k_min_epb);
    const uint64_t ticks = uint64_t{u32(12)} << 32 | u32(16);
    fill_packet(out, u32(8), ticks, 28, u32(20), u32(24));
}

void PcapngReader::on_obsolete_packet(PcapngPacket& out) {
    need_body(k_min_pb);
    const uint64_t ticks = uint64_t{u32(12)} << 32 | u32(16);
    fill_packet(out, u16(8), ticks, 28, u32(20), u32(24));
}

// A Simple Packet Block: interface 0, no timestamp, caplen = min(len, snaplen, room).
void PcapngReader::on_simple_packet(PcapngPacket& out) {
    need_body(k_min_spb);
    if (interfaces_.empty()) fail("simple packet block before any interface description block");
    const uint32_t len = u32(8);
    uint32_t caplen = std::min(len, length_ - k_min_spb);
    if (interfaces_[0].snaplen != 0) caplen = std::min(caplen, interfaces_[0].snaplen);
    fill_packet(out, 0, 0, 12, caplen, len);
    out.ts_ns = 0;
}

void PcapngReader::fill_packet(PcapngPacket& out, uint32_t iface, uint64_t ticks, size_t data_pos,
                               uint32_t caplen, uint32_t len) const {
    if (iface >= interfaces_.size())
        fail("unknown interface " + std::to_string(iface) + " (the section describes " +
             std::to_string(interfaces_.size()) + ")");
    const size_t room = length_ - 4 - data_pos;
    if (caplen > room)
        fail("captured length " + std::to_string(caplen) + " exceeds the " +
             std::to_string(room) + " bytes of room in the block");
    const Interface& i = interfaces_[iface];
    out.interface_id = iface;
    out.linktype = i.linktype;
    out.ts_ns = to_ns(i, ticks);
    out.caplen = caplen;
    out.len = len;
    out.data = block_.data() + data_pos;
}

int64_t PcapngReader::to_ns(const Interface& iface, uint64_t ticks) const {
    uint64_t ns = iface.tsresol_pow2 ? pow2_ticks_to_ns(ticks, iface.tsresol_exp)
                                     : pow10_ticks_to_ns(ticks, iface.tsresol_exp);
    ns += static_cast<uint64_t>(iface.tsoffset_s) * k_ns_per_s;
    return static_cast<int64_t>(ns);
}

uint16_t PcapngReader::u16(size_t pos) const { return load_u16(block_.data() + pos, big_endian_); }

uint32_t PcapngReader::u32(size_t pos) const { return load_u32(block_.data() + pos, big_endian_); }

uint64_t PcapngReader::u64(size_t pos) const {
    const uint64_t a = u32(pos);
    const uint64_t b = u32(pos + 4);
    return big_endian_ ? (a << 32 | b) : (b << 32 | a);
}

void PcapngReader::need_body(uint32_t min_length) const {
    if (length_ < min_length)
        fail("block length " + std::to_string(length_) + " is below the minimum of " +
             std::to_string(min_length) + " for this block type");
}

void PcapngReader::fail(const std::string& why) const {
    const std::string where = type_known_ ? block_name(type_) : "block";
    throw PcapngError(where + " at byte " + std::to_string(offset_) + ": " + why);
}

// ---------------------------------------------------------------- header scan

bool is_pcapng(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return false;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    uint8_t magic[4];
    return f && std::fread(magic, 1, 4, f.get()) == 4 && load_u32(magic, false) == k_shb;
}

std::set<int32_t> pcapng_link_types(const std::string& path) {
    std::set<int32_t> types;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) return types;
    bool big_endian = false;
    uint64_t offset = 0;
    uint8_t head[12];
    while (std::fread(head, 1, 8, f.get()) == 8) {
        const uint32_t type = load_u32(head, big_endian);
        if (type == k_shb &&
            (std::fread(head + 8, 1, 4, f.get()) != 4 || !byte_order_of(head + 8, big_endian)))
            break;
        const uint32_t length = load_u32(head + 4, big_endian);
        if (length < k_min_block || length % 4 != 0 || length > PcapngReader::k_max_block) break;
        if (type == k_idb) {
            if (length < k_min_idb || std::fread(head, 1, 2, f.get()) != 2) break;
            types.insert(load_u16(head, big_endian));
        }
        offset += length;
        if (fseeko(f.get(), static_cast<off_t>(offset), SEEK_SET) != 0) break;
    }
    return types;
}

}  // namespace stethoscope::pcap_file
