#include "capture_file.hpp"

#include "link_convert.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace stethoscope::pcap_output {
namespace {

constexpr uint32_t k_pcap_magic_ns = 0xa1b23c4d;
constexpr uint32_t k_block_shb = 0x0a0d0d0a, k_block_idb = 1, k_block_epb = 6;
constexpr uint32_t k_byte_order_magic = 0x1a2b3c4d;
constexpr uint16_t k_opt_end = 0, k_opt_shb_userappl = 4, k_opt_if_tsresol = 9;
constexpr char k_userappl[] = "stethoscope";  // 11 bytes, padded to 12

constexpr uint32_t pad4(uint32_t n) { return (n + 3) & ~3u; }

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::string_view extension(CaptureFormat format) {
    return format == CaptureFormat::pcap ? "pcap" : "pcapng";
}

CaptureFile::Outcome& CaptureFile::Outcome::operator+=(const Outcome& o) {
    packets_written += o.packets_written;
    bytes_written += o.bytes_written;
    packets_dropped += o.packets_dropped;
    write_errors += o.write_errors;
    unconvertible = unconvertible || o.unconvertible;
    file_created = file_created || o.file_created;
    if (error.empty()) error = o.error;
    return *this;
}

CaptureFile::CaptureFile(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {}

CaptureFile::~CaptureFile() {
    try {
        (void)close();
    } catch (...) {  // out of memory for an error message: the descriptor is closed anyway
        if (fd_ >= 0) ::close(fd_);
    }
}

CaptureFile::Outcome CaptureFile::add(const sth_packet& packet) {
    Outcome o;
    if (!append_record(packet)) {
        o.unconvertible = true;
        return o;
    }
    if (pending_packets_ >= options_.max_packets || buffer_.size() >= options_.max_bytes)
        o += flush();
    return o;
}

void CaptureFile::append_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buffer_.insert(buffer_.end(), b, b + n);
}

int CaptureFile::target_linktype(int own) {
    if (options_.format == CaptureFormat::pcapng) {
        if (!pending_.header) append_section_header();
        return options_.linktype.value_or(own);
    }
    if (!pending_.header) append_pcap_header(options_.linktype.value_or(own));
    return pending_.linktypes.front();
}

bool CaptureFile::append_record(const sth_packet& packet) {
    const int own = file_linktype(packet.linktype);
    const int target = target_linktype(own);
    ConvertedFrame frame;
    if (target == own) {
        frame.network = packet.data;
        frame.network_caplen = packet.caplen;
        frame.caplen = packet.caplen;
        frame.len = packet.len;
    } else if (!convert_frame(packet, target, frame)) {
        return false;
    }
    // Cut to the snaplen, the link header first in line to be kept.
    const uint32_t caplen = std::min(frame.caplen, k_snaplen);
    const uint32_t network_caplen = caplen - std::min(caplen, frame.header_len);
    const uint32_t header_len = caplen - network_caplen;
    const uint64_t ts = packet.ts_ns > 0 ? static_cast<uint64_t>(packet.ts_ns) : 0;
    if (options_.format == CaptureFormat::pcap) {
        append(static_cast<uint32_t>(ts / 1000000000));
        append(static_cast<uint32_t>(ts % 1000000000));
        append(caplen);
        append(frame.len);
        append_bytes(frame.header, header_len);
        append_bytes(frame.network, network_caplen);
    } else {
        const uint32_t iface = interface_for(target);
        const uint32_t total = 32 + pad4(caplen);
        append(k_block_epb);
        append(total);
        append(iface);
        append(static_cast<uint32_t>(ts >> 32));
        append(static_cast<uint32_t>(ts));
        append(caplen);
        append(frame.len);
        append_bytes(frame.header, header_len);
        append_bytes(frame.network, network_caplen);
        buffer_.resize(buffer_.size() + (pad4(caplen) - caplen), 0);
        append(total);
    }
    ++pending_packets_;
    return true;
}

void CaptureFile::append_pcap_header(int linktype) {
    append(k_pcap_magic_ns);
    append(uint16_t{2});
    append(uint16_t{4});
    append(int32_t{0});   // thiszone: timestamps are UTC
    append(uint32_t{0});  // sigfigs
    append(k_snaplen);
    append(static_cast<uint32_t>(linktype));
    pending_.header = true;
    pending_.linktypes.assign(1, linktype);
}

void CaptureFile::append_section_header() {
    constexpr uint32_t total = 24 + 4 + pad4(sizeof k_userappl - 1) + 4 + 4;
    append(k_block_shb);
    append(total);
    append(k_byte_order_magic);
    append(uint16_t{1});
    append(uint16_t{0});
    append(int64_t{-1});  // section length not given
    append(k_opt_shb_userappl);
    append(static_cast<uint16_t>(sizeof k_userappl - 1));
    append_bytes(k_userappl, sizeof k_userappl - 1);
    buffer_.resize(buffer_.size() + (pad4(sizeof k_userappl - 1) - (sizeof k_userappl - 1)), 0);
    append(k_opt_end);
    append(uint16_t{0});
    append(total);
    pending_.header = true;
}

void CaptureFile::append_interface(int linktype) {
    constexpr uint32_t total = 16 + 8 + 4 + 4;
    append(k_block_idb);
    append(total);
    append(static_cast<uint16_t>(linktype));
    append(uint16_t{0});
    append(k_snaplen);
    append(k_opt_if_tsresol);
    append(uint16_t{1});
    append(uint8_t{9});  // 10^-9 s
    append(uint8_t{0});
    append(uint16_t{0});
    append(k_opt_end);
    append(uint16_t{0});
    append(total);
    pending_.linktypes.push_back(linktype);
}

uint32_t CaptureFile::interface_for(int linktype) {
    auto& l = pending_.linktypes;
    auto it = std::find(l.begin(), l.end(), linktype);
    if (it != l.end()) return static_cast<uint32_t>(it - l.begin());
    append_interface(linktype);
    return static_cast<uint32_t>(l.size() - 1);
}

bool CaptureFile::open_file(Outcome& o) {
    if (!created_) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            discard_pending(o, "cannot create " + path_ + ": " + errno_text());
            return false;
        }
        created_ = true;
        o.file_created = true;
        return true;
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ >= 0 && ::lseek(fd_, static_cast<off_t>(committed_size_), SEEK_SET) >= 0) return true;
    std::string error = "cannot reopen " + path_ + ": " + errno_text();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    discard_pending(o, error);
    return false;
}

void CaptureFile::discard_pending(Outcome& o, const std::string& error) {
    o.packets_dropped += pending_packets_;
    o.write_errors += 1;
    if (o.error.empty()) o.error = error;
    buffer_.clear();
    pending_packets_ = 0;
    pending_ = committed_;
}

CaptureFile::Outcome CaptureFile::flush() {
    Outcome o;
    if (buffer_.empty()) return o;
    if (fd_ < 0 && !open_file(o)) return o;
    size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string error = "cannot write " + path_ + ": " +
                                (n < 0 ? errno_text() : std::string("nothing written"));
            // Cut the partial record off again, so the file stays one valid capture.
            tail_dirty_ = ::ftruncate(fd_, static_cast<off_t>(committed_size_)) != 0;
            (void)::lseek(fd_, static_cast<off_t>(committed_size_), SEEK_SET);
            discard_pending(o, error);
            return o;
        }
        done += static_cast<size_t>(n);
    }
    committed_size_ += buffer_.size();
    o.packets_written = pending_packets_;
    o.bytes_written = buffer_.size();
    committed_ = pending_;
    buffer_.clear();
    pending_packets_ = 0;
    return o;
}

CaptureFile::Outcome CaptureFile::close() {
    Outcome o = flush();
    if (fd_ < 0) return o;
    if (tail_dirty_) tail_dirty_ = ::ftruncate(fd_, static_cast<off_t>(committed_size_)) != 0;
    if (::close(fd_) != 0) {
        o.write_errors += 1;
        if (o.error.empty()) o.error = "cannot close " + path_ + ": " + errno_text();
    }
    fd_ = -1;
    // Release the buffer's memory while the file rests.
    std::vector<uint8_t>().swap(buffer_);
    return o;
}

}  // namespace stethoscope::pcap_output
