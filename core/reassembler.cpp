#include "reassembler.hpp"

#include <algorithm>
#include <cstring>

namespace stethoscope::core {

StreamReassembler::~StreamReassembler() { release(buffered_); }

void StreamReassembler::release(uint64_t bytes) {
    buffered_ -= bytes;
    if (budget_ != nullptr) budget_->in_use -= bytes;
}

void StreamReassembler::set_isn(uint32_t isn) {
    if (anchored_) return;
    anchored_ = true;
    base_seq_ = isn + 1;
    next_ = 0;
}

void StreamReassembler::deliver(uint64_t offset, const uint8_t* data, uint64_t size, int64_t ts,
                                StreamSink& sink) {
    // Called with offset <= next_; nothing past the FIN's sequence number is stream data.
    uint64_t end = offset + size;
    if (fin_offset_ && end > *fin_offset_) end = *fin_offset_;
    if (end <= next_) return;
    sink.stream_data(next_, data + (next_ - offset), end - next_, ts);
    next_ = end;
}

void StreamReassembler::gap_to(uint64_t offset, const char* reason, int64_t ts, StreamSink& sink) {
    if (offset <= next_) return;
    uint64_t len = offset - next_;
    sink.stream_gap(next_, len, reason, ts);
    gap_bytes_ += len;
    ++gap_count_;
    next_ = offset;
}

void StreamReassembler::drain(int64_t ts, StreamSink& sink) {
    while (!pending_.empty()) {
        auto it = pending_.begin();
        if (it->first > next_) break;
        uint64_t end = it->first + it->second.size();
        if (end > next_) deliver(it->first, it->second.data(), it->second.size(), ts, sink);
        release(it->second.size());
        pending_.erase(it);
    }
}

bool StreamReassembler::buffer(uint64_t offset, const uint8_t* data, uint64_t size) {
    // Insert only the parts of [offset, offset+size) that no buffered segment covers.
    bool conflict = false;
    uint64_t cur = offset, end = offset + size;
    auto it = pending_.upper_bound(cur);
    if (it != pending_.begin()) {
        auto prev = std::prev(it);
        uint64_t prev_end = prev->first + prev->second.size();
        if (prev_end > cur) {
            uint64_t n = std::min(prev_end, end) - cur;
            conflict |= std::memcmp(prev->second.data() + (cur - prev->first), data, n) != 0;
            cur += n;
        }
    }
    while (cur < end) {
        it = pending_.lower_bound(cur);
        uint64_t piece_end = (it == pending_.end()) ? end : std::min(end, it->first);
        if (piece_end > cur) {
            const uint8_t* p = data + (cur - offset);
            pending_.emplace_hint(it, cur, std::vector<uint8_t>(p, p + (piece_end - cur)));
            buffered_ += piece_end - cur;
            if (budget_ != nullptr) budget_->in_use += piece_end - cur;
            cur = piece_end;
        }
        if (it != pending_.end() && it->first < end && cur == it->first) {
            uint64_t n = std::min<uint64_t>(it->first + it->second.size(), end) - cur;
            conflict |= std::memcmp(it->second.data(), data + (cur - offset), n) != 0;
            cur += n;
        }
    }
    return conflict;
}

void StreamReassembler::enforce_caps(int64_t ts, StreamSink& sink) {
    // Over a cap: give up on the first hole, deliver what follows it.
    while (!pending_.empty() &&
           (buffered_ > flow_cap_ || (budget_ != nullptr && budget_->in_use > budget_->global_cap))) {
        gap_to(pending_.begin()->first, "memcap", ts, sink);
        drain(ts, sink);
    }
}

SegmentOutcome StreamReassembler::add_segment(uint32_t seq, const uint8_t* data, uint32_t captured,
                                              uint32_t length, bool fin, int64_t ts,
                                              StreamSink& sink) {
    SegmentOutcome out;
    if (!anchored_) {
        if (length == 0 && !fin) return out;
        anchored_ = true;
        base_seq_ = seq;
        next_ = 0;
    }
    int64_t off = offset_of(seq);
    if (fin && !fin_offset_ && off + static_cast<int64_t>(length) >= 0)
        fin_offset_ = static_cast<uint64_t>(off + static_cast<int64_t>(length));
    if (length == 0) return out;
    // Bytes before offset 0 (before the SYN, or before the first byte of a pickup).
    if (off < 0) {
        uint64_t cut = static_cast<uint64_t>(-off);
        if (cut >= length) {
            out.retransmission = true;
            return out;
        }
        data += std::min<uint64_t>(cut, captured);
        captured = cut >= captured ? 0 : captured - static_cast<uint32_t>(cut);
        length -= static_cast<uint32_t>(cut);
        off = 0;
    }
    uint64_t start = static_cast<uint64_t>(off), end = start + length;
    if (end <= next_) {
        out.retransmission = true;
        return out;
    }
    out.new_bytes = end - std::max(start, next_);
    if (start > next_) {
        out.out_of_order = true;
        out.overlap_conflict = buffer(start, data, captured);
        enforce_caps(ts, sink);
        return out;
    }
    out.retransmission = start < next_;
    if (captured > 0 && start + captured > next_) deliver(start, data, captured, ts, sink);
    if (captured < length) gap_to(end, "truncated", ts, sink);
    drain(ts, sink);
    return out;
}

void StreamReassembler::peer_ack(uint32_t ack, int64_t ts, StreamSink& sink) {
    if (!anchored_) return;
    int64_t off = offset_of(ack);
    if (off <= static_cast<int64_t>(next_)) return;
    uint64_t target = static_cast<uint64_t>(off);
    if (fin_offset_ && target > *fin_offset_) target = *fin_offset_;  // the FIN's own number
    // Everything below `target` reached the receiver: holes before it are lost to us.
    while (next_ < target) {
        if (!pending_.empty() && pending_.begin()->first <= next_) {
            drain(ts, sink);
            continue;
        }
        uint64_t hole_end = pending_.empty() ? target : std::min(target, pending_.begin()->first);
        gap_to(hole_end, "ack_past_hole", ts, sink);
        drain(ts, sink);
    }
}

void StreamReassembler::flush(int64_t ts, StreamSink& sink) {
    while (!pending_.empty()) {
        gap_to(pending_.begin()->first, "close", ts, sink);
        drain(ts, sink);
    }
    if (fin_offset_ && next_ < *fin_offset_) gap_to(*fin_offset_, "close", ts, sink);
}

}  // namespace stethoscope::core

