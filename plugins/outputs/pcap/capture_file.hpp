// One capture file of the pcap output, written without libpcap.
//
// Formats (both in this host's byte order, as libpcap writes them):
//   pcap    classic libpcap format with the nanosecond magic 0xa1b23c4d, version 2.4,
//           snaplen k_snaplen. One link type per file: the configured one, else the first
//           packet's; packets of another link type are converted to it (link_convert.hpp).
//   pcapng  a Section Header Block, then one Interface Description Block per link type
//           the file holds (if_tsresol 9: nanoseconds; snaplen k_snaplen), each written
//           just before the first packet that needs it, and one Enhanced Packet Block per
//           packet naming its interface. With a configured link type every packet is
//           converted to it (one IDB); without, each keeps its own.
// Frames keep their capture timestamps, caplen and len; a frame longer than k_snaplen is
// cut to it (len still says how long it was).
//
// Buffering: add() appends the packet's record to a memory buffer; the buffer goes to the
// file (one write) when it holds max_packets packets or max_bytes bytes, at flush() and at
// close(). The file is created (truncating an old one) by the first write; after close()
// a later add() reopens it and appends, so a file closed early stays one valid capture.
//
// Disk errors never leave a broken file behind: a failed write is cut off again
// (ftruncate to the last complete record) and the buffered packets are dropped and
// reported; the next write tries again, so a file recovers when the disk has room again.
//
// Threading: none of its own; one caller at a time (the output holds a lock).
#pragma once

#include <stethoscope/abi.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stethoscope::pcap_output {

enum class CaptureFormat { pcap, pcapng };

inline constexpr uint32_t k_snaplen = 262144;

// "pcap" or "pcapng": the file name extension of a format.
std::string_view extension(CaptureFormat format);

class CaptureFile {
public:
    struct Options {
        CaptureFormat format = CaptureFormat::pcapng;
        std::optional<int> linktype;  // LINKTYPE every packet is converted to; nullopt = own
        size_t max_packets = 1;       // buffered packets that trigger a write
        size_t max_bytes = 65536;     // buffered bytes that trigger a write
    };

    // What one call did. Counts add up across calls: every packet handed to add() ends
    // up in exactly one of packets_written, packets_dropped or unconvertible.
    struct Outcome {
        uint64_t packets_written = 0;  // records now in the file
        uint64_t bytes_written = 0;    // file bytes written (headers and blocks included)
        uint64_t packets_dropped = 0;  // lost to a failed open, write or close
        uint32_t write_errors = 0;     // failed open, write or close calls
        bool unconvertible = false;    // add(): no representation in the file's link type
        bool file_created = false;     // the file was created (not reopened)
        std::string error;             // the first failure, for the log

        Outcome& operator+=(const Outcome& o);
    };

    CaptureFile(std::string path, Options options);
    ~CaptureFile();  // close(), its outcome ignored: call close() to learn it
    CaptureFile(const CaptureFile&) = delete;
    CaptureFile& operator=(const CaptureFile&) = delete;

    Outcome add(const sth_packet& packet);
    Outcome flush();
    Outcome close();  // flush, then release the descriptor

    bool is_open() const { return fd_ >= 0; }
    bool has_pending() const { return pending_packets_ > 0; }
    const std::string& path() const { return path_; }

private:
    // What the file holds (or will, once the buffer is written): a header, and the link
    // type of each interface (pcapng) or of the file (pcap).
    struct Layout {
        bool header = false;
        std::vector<int> linktypes;
    };

    bool append_record(const sth_packet& packet);
    int target_linktype(int own);
    uint32_t interface_for(int linktype);
    void append_pcap_header(int linktype);
    void append_section_header();
    void append_interface(int linktype);
    void append_bytes(const void* p, size_t n);
    template <class T> void append(T value) { append_bytes(&value, sizeof value); }
    bool open_file(Outcome& o);
    void discard_pending(Outcome& o, const std::string& error);

    std::string path_;
    Options options_;
    int fd_ = -1;
    bool created_ = false;
    bool tail_dirty_ = false;     // a failed write may have left bytes past committed_size_
    uint64_t committed_size_ = 0;  // file bytes that are complete records
    Layout committed_;            // what the file holds
    Layout pending_;              // what it holds once buffer_ is written
    std::vector<uint8_t> buffer_;
    size_t pending_packets_ = 0;
};

}  // namespace stethoscope::pcap_output
