// fuzz_reassembler: random operation sequences on StreamReassemblers sharing one budget,
// with small caps so the memcap paths run, and a sink that checks the output contract.
//
// Input: [config][op]...
//   config  bit 0     content mode: 1 = the byte at sequence number s is always
//                     content_at(s) (so every delivered byte can be checked, and no
//                     overlap can conflict); 0 = payload bytes are taken from the input
//           bits 1-2  per-flow cap, from k_flow_caps
//           bits 3-4  global cap, from k_global_caps
//           bits 5-6  number of streams sharing the budget: 1 + value % 3
//           bit 7     add_segment's max_ahead is k_window instead of unlimited
//   op      bits 0-2  0-2: add_segment, seq relative to the stream (see read_seq)
//                     3: set_isn   4: peer_ack   5: flush
//                     6: destroy the stream and start a new one
//                     7: add_segment with an absolute seq
//           bits 3-4  which stream (% number of streams)
//           bits 5-7  op flags (add_segment: bits 5-6 seq mode, bit 7 FIN)
//   add_segment operands: seq (see read_seq), length (see read_length), capture byte
//   (see read_captured: how much was captured, and whether the checksum was bad, i.e.
//   verified = false), then the captured payload bytes in input mode. In content mode a
//   segment with a bad checksum still carries the right bytes (checksum offload).
//   set_isn operand: u32.  peer_ack operands: mode byte (bit 2: absolute u32, else the
//   read_seq mode), then the ack as read_seq reads it.
//   All multi-byte numbers are big-endian.
//
// Checked after every step (abort on violation):
//   - data and gaps come in order and back to back: each starts where the last ended,
//     at offset 0 first, so no byte is delivered twice; none is empty;
//   - in content mode every delivered byte is the byte sent with that sequence number,
//     and no overlap is reported as a conflict;
//   - nothing, data or gap, lies past the FIN's stream offset ("nothing past the FIN's
//     sequence number is stream data", reassembler.cpp);
//   - next_offset() is where the sink's output ended;
//   - budget.in_use is the sum of the live streams' buffered_bytes(); after an
//     add_segment the stream is within its caps or has nothing buffered;
//   - after flush nothing is buffered; after flush and destruction of every stream
//     in_use is 0.
#include "reassembler.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

namespace {

using stethoscope::core::ReassemblyBudget;
using stethoscope::core::SegmentOutcome;
using stethoscope::core::StreamReassembler;
using stethoscope::core::StreamSink;

constexpr uint64_t k_flow_caps[] = {64, 512, 4096, 1u << 16};
constexpr uint64_t k_global_caps[] = {128, 1024, 8192, 1u << 20};
constexpr size_t k_max_streams = 3;
constexpr uint32_t k_max_captured = 8192;  // bytes actually allocated for one segment
constexpr uint64_t k_window = 1u << 16;    // max_ahead when config bit 7 is set

[[noreturn]] void violation(const char* what, uint64_t a = 0, uint64_t b = 0) {
    std::fprintf(stderr, "fuzz_reassembler: invariant violated: %s (%llu, %llu)\n", what,
                 static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
    std::abort();
}

uint8_t content_at(uint32_t seq) {
    uint32_t h = seq * 0x9E3779B1u;
    return static_cast<uint8_t>((h >> 24) ^ (h >> 11));
}

// Reads operands from the input; past its end every read yields 0.
class InputReader {
public:
    InputReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool empty() const { return p_ == end_; }
    size_t remaining() const { return static_cast<size_t>(end_ - p_); }
    uint8_t u8() { return p_ == end_ ? 0 : *p_++; }
    uint16_t u16() { return static_cast<uint16_t>(u8() << 8 | u8()); }
    uint32_t u32() { return uint32_t{u16()} << 16 | u16(); }
    const uint8_t* take(size_t n) {
        const uint8_t* at = p_;
        p_ += n;
        return at;
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

// The sink of one stream: checks the output contract as it arrives.
class CheckingSink : public StreamSink {
public:
    explicit CheckingSink(bool content_mode) : content_mode_(content_mode) {}

    void stream_data(uint64_t offset, const uint8_t* data, size_t size, int64_t) override {
        check_next(offset, size, "data");
        if (data == nullptr)
            violation("null data pointer", offset, size);
        if (fin_offset && offset + size > *fin_offset)
            violation("data past the FIN", offset + size, *fin_offset);
        volatile uint8_t touch = 0;
        for (size_t i = 0; i < size; ++i) {
            touch = touch ^ data[i];  // ASan: the chunk must be readable in full
            if (content_mode_ &&
                data[i] != content_at(base_seq + static_cast<uint32_t>(offset + i)))
                violation("delivered byte differs from the one sent", offset + i, data[i]);
        }
        (void)touch;
    }

    void stream_gap(uint64_t offset, uint64_t length, const char* reason, int64_t) override {
        check_next(offset, length, "gap");
        if (reason == nullptr || reason[0] == '\0')
            violation("gap without a reason", offset);
        if (fin_offset && offset + length > *fin_offset)
            violation("gap past the FIN", offset + length, *fin_offset);
    }

    uint64_t expected = 0;               // where the next chunk or gap must start
    uint32_t base_seq = 0;               // sequence number of offset 0, once anchored
    std::optional<uint64_t> fin_offset;  // the FIN's stream offset, once seen

private:
    void check_next(uint64_t offset, uint64_t size, const char* what) {
        if (offset != expected) {
            std::fprintf(stderr, "fuzz_reassembler: %s at %llu, expected %llu\n", what,
                         static_cast<unsigned long long>(offset),
                         static_cast<unsigned long long>(expected));
            violation("output not contiguous (a hole or a byte twice)", offset, expected);
        }
        if (size == 0)
            violation("empty chunk or gap", offset);
        if (offset + size < offset)
            violation("offset overflow", offset, size);
        expected = offset + size;
    }

    bool content_mode_;
};

struct Stream {
    Stream(uint64_t flow_cap, ReassemblyBudget* budget, bool content_mode)
        : r(flow_cap, budget), sink(content_mode) {}
    StreamReassembler r;
    CheckingSink sink;
    uint32_t last_end_seq = 0;  // seq after the last segment sent
};

class Harness {
public:
    Harness(uint8_t config, InputReader& in)
        : in_(in),
          content_mode_((config & 1) != 0),
          flow_cap_(k_flow_caps[(config >> 1) & 3]),
          stream_count_(1 + ((config >> 5) & 3) % k_max_streams),
          max_ahead_((config & 0x80) != 0 ? k_window : UINT64_MAX) {
        budget_.global_cap = k_global_caps[(config >> 3) & 3];
        for (size_t i = 0; i < stream_count_; ++i)
            restart(i);
    }

    void step() {
        const uint8_t op = in_.u8();
        const size_t i = ((op >> 3) & 3) % stream_count_;
        const uint8_t flags = op >> 5;
        switch (op & 7) {
            case 0:
            case 1:
            case 2:
                add_segment(*streams_[i], flags, false);
                break;
            case 3:
                set_isn(*streams_[i]);
                break;
            case 4:
                peer_ack(*streams_[i]);
                break;
            case 5:
                flush(*streams_[i]);
                break;
            case 6:
                restart(i);
                break;
            case 7:
                add_segment(*streams_[i], flags, true);
                break;
        }
        check_budget();
        for (const auto& s : streams_)
            if (s)
                check_position(*s);
    }

    // End of input: flush every stream, destroy them all, nothing may stay accounted.
    void finish() {
        for (auto& s : streams_)
            if (s)
                flush(*s);
        check_budget();
        for (auto& s : streams_)
            s.reset();
        if (budget_.in_use != 0)
            violation("in_use not 0 after flush and destruction", budget_.in_use);
    }

private:
    uint32_t next_seq(const Stream& s) const {
        if (!s.r.anchored())
            return s.last_end_seq;
        return s.sink.base_seq + static_cast<uint32_t>(s.r.next_offset());
    }

    // absolute: u32. Else by mode: 0 the next expected seq + int8; 1 the end of the last
    // segment + int16; 2 offset 0's seq + u16 (a stream offset); 3 the next expected seq
    // + u8 << 24 (far ahead, or behind through the wrap).
    uint32_t read_seq(const Stream& s, uint8_t mode, bool absolute) {
        if (absolute)
            return in_.u32();
        switch (mode & 3) {
            case 0:
                return next_seq(s) + static_cast<uint32_t>(static_cast<int8_t>(in_.u8()));
            case 1:
                return s.last_end_seq + static_cast<uint32_t>(static_cast<int16_t>(in_.u16()));
            case 2:
                return s.sink.base_seq + in_.u16();  // a stream offset, from 0
            default:
                return next_seq(s) + (uint32_t{in_.u8()} << 24);  // far ahead or behind
        }
    }

    // < 0xF0: that length; 0xF0-0xFE: 256..4095 with the next byte; 0xFF: any u32.
    uint32_t read_length() {
        const uint8_t l = in_.u8();
        if (l < 0xF0)
            return l;
        if (l == 0xFF)
            return in_.u32();
        return (uint32_t{l} - 0xEF) * 256 + in_.u8();
    }

    // Bit 7: bad checksum. Bits 0-6: < 0x60 all of it; 0x60-0x7F: cut by the snaplen,
    // 1..32 bytes short. Never more than k_max_captured, nor (input mode) than the input
    // has left.
    uint32_t read_captured(uint32_t length, bool& verified) {
        const uint8_t c = in_.u8();
        verified = (c & 0x80) == 0;
        uint32_t captured = length;
        if ((c & 0x7F) >= 0x60) {  // cut by the snaplen
            const uint32_t cut = (c & 0x7Fu) - 0x5Fu;
            captured = length > cut ? length - cut : 0;
        }
        if (captured > k_max_captured)
            captured = k_max_captured;
        if (!content_mode_ && captured > in_.remaining())
            captured = static_cast<uint32_t>(in_.remaining());
        return captured;
    }

    void add_segment(Stream& s, uint8_t flags, bool absolute) {
        const uint32_t seq = read_seq(s, static_cast<uint8_t>(flags & 3), absolute);
        const bool fin = (flags & 4) != 0;
        const uint32_t length = read_length();
        bool verified = true;
        const uint32_t captured = read_captured(length, verified);
        // Exactly `captured` bytes on the heap, never a null pointer (the engine passes
        // a pointer into the frame even when nothing was captured): ASan reports any
        // read beyond them.
        std::unique_ptr<uint8_t[]> payload(new uint8_t[captured]);
        if (content_mode_) {
            for (uint32_t k = 0; k < captured; ++k)
                payload[k] = content_at(seq + k);
        } else if (captured > 0) {
            std::memcpy(payload.get(), in_.take(captured), captured);
        }
        if (!s.r.anchored())
            s.sink.base_seq = seq;  // anchors on this segment, if at all
        const bool had_fin = s.r.fin_seen();
        const int64_t off = offset_of(s, seq);
        const uint64_t before = s.sink.expected;
        SegmentOutcome o = s.r.add_segment(seq, payload.get(), captured, length, fin, ++ts_, s.sink,
                                           verified, max_ahead_);
        if (o.out_of_window && s.sink.expected != before)
            violation("output from an out-of-window segment", before, s.sink.expected);
        if (!had_fin && s.r.fin_seen())
            s.sink.fin_offset = static_cast<uint64_t>(off + length);
        s.last_end_seq = seq + length;
        if (o.new_bytes > length)
            violation("new_bytes > length", o.new_bytes, length);
        if (content_mode_ && o.overlap_conflict)
            violation("conflict reported for identical bytes");
        check_caps(s);
    }

    // The stream offset of `seq` as the header defines it (before the segment is added).
    int64_t offset_of(const Stream& s, uint32_t seq) const {
        if (!s.r.anchored())
            return 0;
        const uint64_t next = s.r.next_offset();
        return static_cast<int64_t>(next) +
               static_cast<int32_t>(seq - (s.sink.base_seq + static_cast<uint32_t>(next)));
    }

    void set_isn(Stream& s) {
        const uint32_t isn = in_.u32();
        const bool was_anchored = s.r.anchored();
        s.r.set_isn(isn);
        if (!was_anchored) {
            s.sink.base_seq = isn + 1;
            s.last_end_seq = isn + 1;
        }
    }

    void peer_ack(Stream& s) {
        const uint8_t mode = in_.u8();
        const uint32_t ack = read_seq(s, mode, (mode & 4) != 0);
        s.r.peer_ack(ack, ++ts_, s.sink);
    }

    void flush(Stream& s) {
        s.r.flush(++ts_, s.sink);
        if (s.r.buffered_bytes() != 0)
            violation("bytes buffered after flush", s.r.buffered_bytes());
    }

    void restart(size_t i) {
        streams_[i].reset();  // the destructor must give its bytes back to the budget
        streams_[i] = std::make_unique<Stream>(flow_cap_, &budget_, content_mode_);
    }

    void check_caps(const Stream& s) const {
        if (s.r.buffered_bytes() == 0)
            return;
        if (s.r.buffered_bytes() > flow_cap_)
            violation("flow cap exceeded with bytes buffered", s.r.buffered_bytes(), flow_cap_);
        if (budget_.in_use > budget_.global_cap)
            violation("global cap exceeded with bytes buffered", budget_.in_use,
                      budget_.global_cap);
    }

    void check_budget() const {
        uint64_t sum = 0;
        for (const auto& s : streams_)
            if (s)
                sum += s->r.buffered_bytes();
        if (budget_.in_use != sum)
            violation("in_use != sum of buffered bytes", budget_.in_use, sum);
    }

    static void check_position(const Stream& s) {
        if (s.r.next_offset() != s.sink.expected)
            violation("next_offset() is not where the output ended", s.r.next_offset(),
                      s.sink.expected);
    }

    InputReader& in_;
    bool content_mode_;
    uint64_t flow_cap_;
    size_t stream_count_;
    uint64_t max_ahead_;
    ReassemblyBudget budget_;
    std::array<std::unique_ptr<Stream>, k_max_streams> streams_;
    int64_t ts_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    InputReader in(data + 1, size - 1);
    Harness h(data[0], in);
    while (!in.empty())
        h.step();
    h.finish();
    return 0;
}
