// PcapngReader — a small streaming reader of pcapng files, for what libpcap refuses: a file
// whose interfaces have different link types. It reads one block at a time into a reused
// buffer and yields the packets of Enhanced, Simple and obsolete Packet Blocks, each with its
// own interface's link type; a new Section Header Block (either byte order) starts a new
// interface list. Every other block type (NRB, ISB, DSB, custom, ...) is skipped.
//
// Limits: a block may be at most 64 MiB; interface options other than if_tsresol and
// if_tsoffset are ignored; Simple Packet Blocks have no timestamp (ts_ns = 0). Damage (bad
// block length, trailing length mismatch, unknown interface, captured length beyond the block,
// a file cut inside a block, ...) throws PcapngError naming the block's byte offset and the
// reason, after every packet before the damaged block was returned. The reader never reads
// outside the bytes of the current block.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace stethoscope::pcap_file {

// What went wrong, e.g. "block at byte 1234 (type 0x00000006): truncated at byte 1300".
class PcapngError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One packet; `data` holds `caplen` bytes and is valid until the next call of next().
// `linktype` is the file's LINKTYPE_* value (not mapped to the platform's DLT_* value).
struct PcapngPacket {
    uint32_t interface_id = 0;
    int32_t linktype = 0;
    int64_t ts_ns = 0;
    uint32_t caplen = 0;
    uint32_t len = 0;
    const uint8_t* data = nullptr;
};

class PcapngReader {
public:
    static constexpr uint32_t k_max_block = 64u << 20;

    // Opens `path`; throws PcapngError("<strerror>") when it cannot.
    explicit PcapngReader(const std::string& path);

    // The next packet into `out`: true, or false at the end of the file. Throws PcapngError.
    bool next(PcapngPacket& out);

    // The byte offset where the next block starts (= bytes consumed so far).
    uint64_t offset() const { return offset_; }

private:
    struct Interface {
        int32_t linktype = 0;
        uint32_t snaplen = 0;  // 0 = unlimited
        bool tsresol_pow2 = false;
        uint8_t tsresol_exp = 6;  // default: microseconds
        int64_t tsoffset_s = 0;
    };
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };

    bool read_block();
    void read_header();
    void read_body();
    bool handle_block(PcapngPacket& out);
    void on_section_header();
    void on_interface();
    void parse_interface_options(Interface& iface, size_t pos);
    void on_enhanced_packet(PcapngPacket& out);
    void on_simple_packet(PcapngPacket& out);
    void on_obsolete_packet(PcapngPacket& out);
    void fill_packet(PcapngPacket& out, uint32_t iface, uint64_t ticks, size_t data_pos,
                     uint32_t caplen, uint32_t len) const;
    int64_t to_ns(const Interface& iface, uint64_t ticks) const;

    uint16_t u16(size_t pos) const;
    uint32_t u32(size_t pos) const;
    uint64_t u64(size_t pos) const;
    void need_body(uint32_t min_length) const;
    [[noreturn]] void fail(const std::string& why) const;

    std::unique_ptr<std::FILE, FileCloser> file_;
    uint64_t file_size_ = UINT64_MAX;  // unknown when not a regular file
    std::vector<uint8_t> block_;       // the current block, header and trailer included
    uint64_t offset_ = 0;              // where the current block starts
    uint32_t type_ = 0;
    bool type_known_ = false;
    uint32_t length_ = 0;
    bool big_endian_ = false;
    bool in_section_ = false;
    std::vector<Interface> interfaces_;
};

// The distinct link types of the Interface Description Blocks of the pcapng file `path`,
// found by reading block headers only (packet data is skipped). Stops quietly at the first
// damage; whoever reads the file afterwards reports it.
std::set<int32_t> pcapng_link_types(const std::string& path);

// True when `path` is a regular file (not a pipe: peeking would eat its bytes) that starts
// with the pcapng Section Header Block type.
bool is_pcapng(const std::string& path);

}  // namespace stethoscope::pcap_file
