// MappedPcap: reads a classic pcap file (microsecond or nanosecond, either byte order)
// straight from a read-only memory mapping — no copy through the kernel or stdio, which
// is most of what reading a file costs (libpcap copies every record twice). Packets point
// into the mapping and stay valid while the object lives.
//
// Only for regular files; everything else (pipes, pcapng, unknown magic) goes through
// libpcap. A record whose header or data runs past the end of the file, or whose length
// is absurd, ends the reading with MappedPcapError after every complete record before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace stethoscope::pcap_file {

class MappedPcapError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct MappedPacket {
    int64_t ts_ns;
    uint32_t caplen;
    uint32_t len;
    const uint8_t* data;
};

class MappedPcap {
public:
    // True when `path` is a regular file starting with a classic pcap magic number.
    static bool handles(const std::string& path);

    // Maps the file and checks its header; throws MappedPcapError.
    explicit MappedPcap(const std::string& path);
    ~MappedPcap();
    MappedPcap(const MappedPcap&) = delete;
    MappedPcap& operator=(const MappedPcap&) = delete;

    int32_t linktype() const { return linktype_; }  // LINKTYPE_* of the file
    // The next packet; false at the end of the file. Throws MappedPcapError on damage.
    bool next(MappedPacket& out);

private:
    uint32_t u32(size_t offset) const;
    void release_consumed();

    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    size_t offset_ = 0;
    size_t released_ = 0;  // [0, released_) was given back with MADV_DONTNEED
    bool swapped_ = false;
    bool nanoseconds_ = false;
    int32_t linktype_ = 0;
};

}  // namespace stethoscope::pcap_file
