// capture_writer.cpp — CaptureWriter: classic pcap and pcapng, little-endian.
#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "byte_order.hpp"
#include "capture_builder.hpp"

namespace sth_test {

using detail::put_u16_le;
using detail::put_u32_le;
using detail::set_u32_le;

namespace {

constexpr std::uint32_t k_pcap_magic_us = 0xa1b2c3d4;
constexpr std::uint32_t k_pcapng_shb = 0x0A0D0D0A;
constexpr std::uint32_t k_pcapng_idb = 0x00000001;
constexpr std::uint32_t k_pcapng_epb = 0x00000006;
constexpr std::uint32_t k_pcapng_bom = 0x1A2B3C4D;
constexpr std::uint16_t k_opt_endofopt = 0;
constexpr std::uint16_t k_opt_if_tsresol = 9;

std::size_t padded4(std::size_t n) {
    return (n + 3) & ~static_cast<std::size_t>(3);
}

void pad_to_4(Bytes& out) {
    while (out.size() % 4 != 0) {
        out.push_back(0);
    }
}

// Starts a pcapng block; returns its offset so end_block() can patch the length.
std::size_t begin_block(Bytes& out, std::uint32_t type) {
    const std::size_t start = out.size();
    put_u32_le(out, type);
    put_u32_le(out, 0);  // total length, patched by end_block()
    return start;
}

void end_block(Bytes& out, std::size_t start) {
    const auto total = static_cast<std::uint32_t>(out.size() - start + 4);
    put_u32_le(out, total);
    set_u32_le(out, start + 4, total);
}

std::uint64_t pow10(std::uint8_t exponent) {
    std::uint64_t v = 1;
    for (std::uint8_t i = 0; i < exponent; ++i) {
        v *= 10;
    }
    return v;
}

// Converts microseconds to units of 10^-exponent seconds.
std::uint64_t to_tsresol(std::uint64_t ts_us, std::uint8_t exponent) {
    if (exponent >= 6) {
        return ts_us * pow10(static_cast<std::uint8_t>(exponent - 6));
    }
    return ts_us / pow10(static_cast<std::uint8_t>(6 - exponent));
}

}  // namespace

CaptureWriter::CaptureWriter(CaptureFormat format, std::uint32_t linktype, std::uint32_t snaplen)
    : format_(format) {
    interfaces_.push_back({linktype, snaplen, 6});
    if (format_ == CaptureFormat::pcap) {
        write_pcap_header();
    } else {
        write_pcapng_section_header();
        write_pcapng_interface(interfaces_.front());
    }
}

std::uint32_t CaptureWriter::add_interface(std::uint32_t linktype, std::uint32_t snaplen,
                                           std::uint8_t tsresol_exponent) {
    if (format_ != CaptureFormat::pcapng) {
        throw std::logic_error("CaptureWriter: a pcap file has exactly one interface");
    }
    if (tsresol_exponent > 19) {
        throw std::invalid_argument("CaptureWriter: if_tsresol exponent above 19");
    }
    interfaces_.push_back({linktype, snaplen, tsresol_exponent});
    write_pcapng_interface(interfaces_.back());
    return static_cast<std::uint32_t>(interfaces_.size() - 1);
}

std::uint32_t CaptureWriter::linktype_of(std::uint32_t interface) const {
    return interface_at(interface).linktype;
}

const CaptureWriter::Interface& CaptureWriter::interface_at(std::uint32_t interface) const {
    if (interface >= interfaces_.size()) {
        throw std::out_of_range("CaptureWriter: no interface " + std::to_string(interface));
    }
    return interfaces_[interface];
}

void CaptureWriter::write(std::uint64_t ts_us, ByteView frame, std::uint32_t interface,
                          std::uint32_t orig_len) {
    const Interface& iface = interface_at(interface);
    if (orig_len == 0) {
        orig_len = static_cast<std::uint32_t>(frame.size());
    }
    const ByteView captured = frame.first(std::min<std::size_t>(frame.size(), iface.snaplen));
    const std::size_t before = file_.size();
    if (format_ == CaptureFormat::pcap) {
        write_pcap_record(ts_us, captured, orig_len);
    } else {
        write_pcapng_packet(ts_us, captured, interface, orig_len);
    }
    last_record_size_ = file_.size() - before;
    ++record_count_;
}

void CaptureWriter::write_raw_bytes(ByteView bytes) {
    file_.insert(file_.end(), bytes.begin(), bytes.end());
}

void CaptureWriter::truncate_last(std::size_t n) {
    if (n > file_.size()) {
        throw std::invalid_argument("CaptureWriter::truncate_last: more than the file holds");
    }
    file_.resize(file_.size() - n);
}

void CaptureWriter::save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(file_.data()),
              static_cast<std::streamsize>(file_.size()));
    if (!out) {
        throw std::runtime_error("CaptureWriter: cannot write " + path.string());
    }
}

void CaptureWriter::write_pcap_header() {
    put_u32_le(file_, k_pcap_magic_us);
    put_u16_le(file_, 2);  // version major
    put_u16_le(file_, 4);  // version minor
    put_u32_le(file_, 0);  // thiszone
    put_u32_le(file_, 0);  // sigfigs
    put_u32_le(file_, interfaces_.front().snaplen);
    put_u32_le(file_, interfaces_.front().linktype);
}

void CaptureWriter::write_pcap_record(std::uint64_t ts_us, ByteView data, std::uint32_t orig_len) {
    put_u32_le(file_, static_cast<std::uint32_t>(ts_us / 1'000'000));
    put_u32_le(file_, static_cast<std::uint32_t>(ts_us % 1'000'000));
    put_u32_le(file_, static_cast<std::uint32_t>(data.size()));
    put_u32_le(file_, orig_len);
    file_.insert(file_.end(), data.begin(), data.end());
}

void CaptureWriter::write_pcapng_section_header() {
    const std::size_t start = begin_block(file_, k_pcapng_shb);
    put_u32_le(file_, k_pcapng_bom);
    put_u16_le(file_, 1);           // version major
    put_u16_le(file_, 0);           // version minor
    put_u32_le(file_, 0xFFFFFFFF);  // section length: unknown (-1)
    put_u32_le(file_, 0xFFFFFFFF);
    end_block(file_, start);
}

void CaptureWriter::write_pcapng_interface(const Interface& iface) {
    const std::size_t start = begin_block(file_, k_pcapng_idb);
    put_u16_le(file_, static_cast<std::uint16_t>(iface.linktype));
    put_u16_le(file_, 0);  // reserved
    put_u32_le(file_, iface.snaplen);
    if (iface.tsresol_exponent != 6) {
        put_u16_le(file_, k_opt_if_tsresol);
        put_u16_le(file_, 1);
        file_.push_back(iface.tsresol_exponent);
        pad_to_4(file_);
        put_u16_le(file_, k_opt_endofopt);
        put_u16_le(file_, 0);
    }
    end_block(file_, start);
}

void CaptureWriter::write_pcapng_packet(std::uint64_t ts_us, ByteView data, std::uint32_t interface,
                                        std::uint32_t orig_len) {
    const std::uint64_t ts = to_tsresol(ts_us, interfaces_[interface].tsresol_exponent);
    const std::size_t start = begin_block(file_, k_pcapng_epb);
    put_u32_le(file_, interface);
    put_u32_le(file_, static_cast<std::uint32_t>(ts >> 32));
    put_u32_le(file_, static_cast<std::uint32_t>(ts));
    put_u32_le(file_, static_cast<std::uint32_t>(data.size()));
    put_u32_le(file_, orig_len);
    file_.insert(file_.end(), data.begin(), data.end());
    file_.resize(start + 28 + padded4(data.size()), 0);
    end_block(file_, start);
}

}  // namespace sth_test
