// StreamReassembler: turns the TCP segments of one direction into an in-order byte
// stream, reporting every hole as a gap and never inventing bytes.
//
// How it works. Sequence numbers are mapped to 64-bit stream offsets relative to the
// next expected byte (`next_`), so 32-bit wraparound is invisible above this class:
//     offset = next_ + int32_t(seq - seq_at(next_))
// Offset 0 is the byte after the SYN, or the first payload byte captured when the SYN
// was not seen. A segment is
//   - old      (ends at or before next_): a retransmission; nothing is delivered;
//   - in order (starts at or before next_): the new part is delivered straight from the
//     packet buffer (no copy), then buffered segments that now fit are drained;
//   - ahead    (starts after next_): copied into the out-of-order buffer. Buffered
//     segments never overlap: first-seen bytes win, later copies fill only the parts
//     nobody had yet, and a differing overlap is counted as a conflict.
// A hole becomes a gap when the peer ACKs past it (the receiver got bytes we never
// saw), when the per-flow or global buffer cap is hit, and at close. A payload cut by
// the snaplen delivers what was captured and reports the rest as a gap.
//
// Checksums: a segment whose TCP checksum is wrong is buffered as *unverified* (the
// receiver drops a corrupted segment; the capturing host's own packets carry unfinished
// checksums under offload). Unverified bytes block delivery at their offset until a
// valid copy replaces them or the peer's ACK past them confirms them; a valid copy
// always wins over unverified bytes, and unverified bytes never replace anything. At
// close, bytes never confirmed become a gap (reason "unverified").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace stethoscope::core {

// Bytes held in out-of-order buffers across all flows of one worker.
struct ReassemblyBudget {
    uint64_t global_cap = 256u << 20;
    uint64_t in_use = 0;
};

// Receives the reassembler's output. `ts_ns` is the time of the packet that caused it.
class StreamSink {
public:
    virtual ~StreamSink() = default;
    virtual void stream_data(uint64_t offset, const uint8_t* data, size_t size, int64_t ts_ns) = 0;
    virtual void stream_gap(uint64_t offset, uint64_t length, const char* reason, int64_t ts_ns) = 0;
};

// What happened to one segment, for classification and counters.
struct SegmentOutcome {
    bool retransmission = false;  // all its bytes were seen before
    bool out_of_order = false;    // it started beyond the next expected byte
    bool overlap_conflict = false;
    bool out_of_window = false;   // ignored: it starts more than max_ahead beyond the stream
    uint64_t new_bytes = 0;       // bytes not seen before
};

class StreamReassembler {
public:
    StreamReassembler(uint64_t flow_cap, ReassemblyBudget* budget)
        : flow_cap_(flow_cap), budget_(budget) {}
    ~StreamReassembler();
    StreamReassembler(const StreamReassembler&) = delete;
    StreamReassembler& operator=(const StreamReassembler&) = delete;

    // The SYN of this direction was seen: offset 0 is isn + 1.
    void set_isn(uint32_t isn);
    bool anchored() const { return anchored_; }

    // One segment. `captured` <= `length` bytes of payload are present at `data`.
    // `verified` is false for a segment whose checksum is wrong. A segment starting more
    // than `max_ahead` bytes beyond the next expected byte is ignored (out of window).
    SegmentOutcome add_segment(uint32_t seq, const uint8_t* data, uint32_t captured,
                               uint32_t length, bool fin, int64_t ts_ns, StreamSink& sink,
                               bool verified = true, uint64_t max_ahead = UINT64_MAX);

    // Where `seq` falls relative to the next expected byte (negative: already seen).
    // Only meaningful once anchored().
    int64_t relative(uint32_t seq) const { return offset_of(seq) - static_cast<int64_t>(next_); }

    // The peer acknowledged everything before `ack`: holes before it become gaps.
    void peer_ack(uint32_t ack, int64_t ts_ns, StreamSink& sink);

    // End of session: every buffered byte is delivered, holes between them are gaps.
    void flush(int64_t ts_ns, StreamSink& sink);

    uint64_t next_offset() const { return next_; }
    // True once the FIN's sequence number has been reached in order.
    bool finished() const { return fin_offset_ && next_ >= *fin_offset_; }
    bool fin_seen() const { return fin_offset_.has_value(); }
    uint64_t buffered_bytes() const { return buffered_; }
    uint64_t gap_bytes() const { return gap_bytes_; }
    uint32_t gap_count() const { return gap_count_; }

private:
    uint32_t seq_at(uint64_t offset) const { return base_seq_ + static_cast<uint32_t>(offset); }
    int64_t offset_of(uint32_t seq) const {
        return static_cast<int64_t>(next_) + static_cast<int32_t>(seq - seq_at(next_));
    }
    void deliver(uint64_t offset, const uint8_t* data, uint64_t size, int64_t ts, StreamSink& sink);
    void gap_to(uint64_t offset, const char* reason, int64_t ts, StreamSink& sink);
    void drain(int64_t ts, StreamSink& sink);
    struct Pending {
        std::vector<uint8_t> bytes;
        bool verified;
    };
    bool buffer(uint64_t offset, const uint8_t* data, uint64_t size, bool verified);
    void insert_piece(std::map<uint64_t, Pending>::iterator hint, uint64_t offset,
                      const uint8_t* data, uint64_t size, bool verified);
    void erase_piece(std::map<uint64_t, Pending>::iterator it);
    void drop_beyond_fin();
    void split_verified(std::map<uint64_t, Pending>::iterator it, uint64_t from, uint64_t n);
    void enforce_caps(int64_t ts, StreamSink& sink);
    void release(uint64_t bytes);

    uint64_t flow_cap_;
    ReassemblyBudget* budget_;
    bool anchored_ = false;
    uint32_t base_seq_ = 0;  // sequence number of offset 0
    uint64_t next_ = 0;      // next expected stream offset
    std::map<uint64_t, Pending> pending_;  // offset -> bytes, non-overlapping
    uint64_t buffered_ = 0;
    std::optional<uint64_t> fin_offset_;
    uint64_t gap_bytes_ = 0;
    uint32_t gap_count_ = 0;
};

}  // namespace stethoscope::core
