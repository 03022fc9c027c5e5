#include "mapped_pcap.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stethoscope::pcap_file {

namespace {
constexpr uint32_t k_magic_usec = 0xa1b2c3d4, k_magic_nsec = 0xa1b23c4d;
constexpr size_t k_file_header = 24, k_record_header = 16;
constexpr uint32_t k_max_caplen = 256u << 20;  // libpcap's own sanity limit is lower

uint32_t bswap(uint32_t v) { return __builtin_bswap32(v); }

bool known_magic(uint32_t m) {
    return m == k_magic_usec || m == k_magic_nsec || bswap(m) == k_magic_usec ||
           bswap(m) == k_magic_nsec;
}
}  // namespace

bool MappedPcap::handles(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<size_t>(st.st_size) < k_file_header)
        return false;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    uint32_t magic = 0;
    bool ok = ::read(fd, &magic, sizeof magic) == sizeof magic && known_magic(magic);
    ::close(fd);
    return ok;
}

MappedPcap::MappedPcap(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw MappedPcapError(path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        throw MappedPcapError(path + ": " + std::strerror(e));
    }
    size_ = static_cast<size_t>(st.st_size);
    void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    if (m == MAP_FAILED) throw MappedPcapError(path + ": cannot map: " + std::strerror(e));
    base_ = static_cast<const uint8_t*>(m);
    ::madvise(m, size_, MADV_SEQUENTIAL);
    if (size_ < k_file_header) throw MappedPcapError("file header is truncated");
    uint32_t magic;
    std::memcpy(&magic, base_, 4);
    swapped_ = magic != k_magic_usec && magic != k_magic_nsec;
    nanoseconds_ = (swapped_ ? bswap(magic) : magic) == k_magic_nsec;
    linktype_ = static_cast<int32_t>(u32(20) & 0x0fffffff);  // upper bits: FCS info
    offset_ = k_file_header;
}

MappedPcap::~MappedPcap() {
    if (base_ != nullptr) ::munmap(const_cast<uint8_t*>(base_), size_);
}

void MappedPcap::release_consumed() {
    // Pages already read are dropped from our resident set (they stay in the page
    // cache), so memory use does not grow with the file. The previous packet may still
    // be in use: keep a margin behind the read position.
    constexpr size_t k_step = 8u << 20, k_margin = 1u << 20;
    if (offset_ < released_ + k_step + k_margin) return;
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t end = (offset_ - k_margin) / page * page;
    ::madvise(const_cast<uint8_t*>(base_) + released_, end - released_, MADV_DONTNEED);
    released_ = end;
}

uint32_t MappedPcap::u32(size_t offset) const {
    uint32_t v;
    std::memcpy(&v, base_ + offset, 4);
    return swapped_ ? bswap(v) : v;
}

bool MappedPcap::next(MappedPacket& out) {
    if (offset_ == size_) return false;
    if (size_ - offset_ < k_record_header)
        throw MappedPcapError("truncated dump file; tried to read " +
                              std::to_string(k_record_header) + " header bytes, only got " +
                              std::to_string(size_ - offset_));
    const uint32_t secs = u32(offset_), frac = u32(offset_ + 4);
    const uint32_t caplen = u32(offset_ + 8), len = u32(offset_ + 12);
    if (caplen > k_max_caplen)
        throw MappedPcapError("invalid packet capture length " + std::to_string(caplen));
    if (size_ - offset_ - k_record_header < caplen)
        throw MappedPcapError("truncated dump file; tried to read " + std::to_string(caplen) +
                              " captured bytes, only got " +
                              std::to_string(size_ - offset_ - k_record_header));
    out.ts_ns = static_cast<int64_t>(secs) * 1000000000 +
                (nanoseconds_ ? frac : static_cast<int64_t>(frac) * 1000);
    out.caplen = caplen;
    out.len = len < caplen ? caplen : len;
    out.data = base_ + offset_ + k_record_header;
    offset_ += k_record_header + caplen;
    release_consumed();
    return true;
}

}  // namespace stethoscope::pcap_file
