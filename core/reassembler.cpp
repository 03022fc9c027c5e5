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
    if (fin_offset_ && offset > *fin_offset_) offset = *fin_offset_;  // the stream ends there
    if (offset <= next_) return;
    uint64_t len = offset - next_;
    sink.stream_gap(next_, len, reason, ts);
    gap_bytes_ += len;
    ++gap_count_;
    next_ = offset;
}

void StreamReassembler::insert_piece(std::map<uint64_t, Pending>::iterator hint, uint64_t offset,
                                     const uint8_t* data, uint64_t size, bool verified) {
    pending_.emplace_hint(hint, offset, Pending{std::vector<uint8_t>(data, data + size), verified});
    buffered_ += size;
    if (budget_ != nullptr) budget_->in_use += size;
}

void StreamReassembler::erase_piece(std::map<uint64_t, Pending>::iterator it) {
    release(it->second.bytes.size());
    pending_.erase(it);
}

void StreamReassembler::drain(int64_t ts, StreamSink& sink) {
    while (!pending_.empty()) {
        auto it = pending_.begin();
        if (it->first > next_) break;
        const uint64_t start = it->first, end = start + it->second.bytes.size();
        if (end <= next_) {
            erase_piece(it);
            continue;
        }
        if (!it->second.verified) {
            if (start < next_) {  // keep only the part not delivered yet
                std::vector<uint8_t> rest(it->second.bytes.begin() + static_cast<long>(next_ - start),
                                          it->second.bytes.end());
                erase_piece(it);
                insert_piece(pending_.begin(), next_, rest.data(), rest.size(), false);
            }
            break;  // unverified bytes wait for a valid copy or the peer's ACK
        }
        deliver(start, it->second.bytes.data(), it->second.bytes.size(), ts, sink);
        erase_piece(it);
    }
}

void StreamReassembler::drop_beyond_fin() {
    // Nothing at or past the FIN's sequence number is stream data.
    while (!pending_.empty()) {
        auto last = std::prev(pending_.end());
        const uint64_t start = last->first, end = start + last->second.bytes.size();
        if (end <= *fin_offset_) break;
        if (start >= *fin_offset_) {
            erase_piece(last);
            continue;
        }
        const uint64_t keep = *fin_offset_ - start;
        release(end - start - keep);
        last->second.bytes.resize(keep);
        break;
    }
}

bool StreamReassembler::buffer(uint64_t offset, const uint8_t* data, uint64_t size, bool verified) {
    // Insert the parts of [offset, offset+size) that no buffered segment covers; a valid
    // copy also replaces unverified bytes. Returns true on a conflicting valid overlap.
    bool conflict = false;
    uint64_t cur = offset;
    uint64_t end = offset + size;
    if (fin_offset_ && end > *fin_offset_) end = std::max(offset, *fin_offset_);
    while (cur < end) {
        auto it = pending_.upper_bound(cur);
        if (it != pending_.begin()) {
            auto prev = std::prev(it);
            const uint64_t prev_end = prev->first + prev->second.bytes.size();
            if (prev_end > cur) {  // `cur` lies inside an existing piece
                const uint64_t n = std::min(prev_end, end) - cur;
                const uint8_t* mine = data + (cur - offset);
                const uint8_t* theirs = prev->second.bytes.data() + (cur - prev->first);
                if (prev->second.verified || !verified) {
                    if (verified && std::memcmp(theirs, mine, n) != 0) conflict = true;
                } else {  // a valid copy over unverified bytes: take the valid ones
                    std::memcpy(prev->second.bytes.data() + (cur - prev->first), mine, n);
                    if (cur == prev->first && n == prev->second.bytes.size())
                        prev->second.verified = true;
                    else
                        split_verified(prev, cur, n);
                }
                cur += n;
                continue;
            }
        }
        const uint64_t piece_end = (it == pending_.end()) ? end : std::min(end, it->first);
        insert_piece(it, cur, data + (cur - offset), piece_end - cur, verified);
        cur = piece_end;
    }
    return conflict;
}

void StreamReassembler::enforce_caps(int64_t ts, StreamSink& sink) {
    // Over a cap: give up on the first hole (or unverified piece), deliver what follows.
    while (!pending_.empty() &&
           (buffered_ > flow_cap_ || (budget_ != nullptr && budget_->in_use > budget_->global_cap))) {
        auto first = pending_.begin();
        if (first->first > next_) {
            gap_to(first->first, "memcap", ts, sink);
        } else if (!first->second.verified) {
            uint64_t end = first->first + first->second.bytes.size();
            erase_piece(first);
            gap_to(end, "memcap", ts, sink);
        }
        drain(ts, sink);
    }
}

SegmentOutcome StreamReassembler::add_segment(uint32_t seq, const uint8_t* data, uint32_t captured,
                                              uint32_t length, bool fin, int64_t ts,
                                              StreamSink& sink, bool verified, uint64_t max_ahead) {
    SegmentOutcome out;
    if (anchored_ && offset_of(seq) > static_cast<int64_t>(next_) &&
        static_cast<uint64_t>(offset_of(seq)) - next_ > max_ahead) {
        out.out_of_window = true;
        return out;
    }
    if (!anchored_) {
        if (length == 0 && !fin) return out;
        anchored_ = true;
        base_seq_ = seq;
        next_ = 0;
    }
    int64_t off = offset_of(seq);
    if (fin && verified && !fin_offset_ && off + static_cast<int64_t>(length) >= 0 &&
        static_cast<uint64_t>(off + static_cast<int64_t>(length)) >= next_) {
        fin_offset_ = static_cast<uint64_t>(off + static_cast<int64_t>(length));
        drop_beyond_fin();
    }
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
    const bool blocked = !pending_.empty() && pending_.begin()->first <= next_;
    if (start > next_ || !verified || blocked) {
        // Ahead of the stream, unverified, or behind unverified bytes: buffer it. (A
        // snaplen-cut segment buffered here leaves a hole that the peer's ACK or the
        // close turns into a gap.)
        const uint64_t skip = next_ > start ? next_ - start : 0;  // already delivered
        const uint64_t avail = captured > skip ? captured - skip : 0;
        out.out_of_order = start > next_;
        out.retransmission = skip > 0;
        out.overlap_conflict =
            buffer(start + skip, data + std::min<uint64_t>(skip, captured), avail, verified);
        drain(ts, sink);
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
    // The receiver accepted everything below `target`: unverified bytes there are
    // confirmed, and holes there are bytes we will never see.
    for (auto& [offset, piece] : pending_) {
        if (offset >= target) break;
        if (offset + piece.bytes.size() <= target) piece.verified = true;
    }
    while (next_ < target) {
        drain(ts, sink);
        if (next_ >= target) break;
        if (!pending_.empty() && pending_.begin()->first <= next_) {
            // An unverified piece straddling the ACK: confirmed up to `target` only.
            auto first = pending_.begin();
            uint64_t n = target - next_;
            split_verified(first, next_, n);
            continue;
        }
        uint64_t hole_end = pending_.empty() ? target : std::min(target, pending_.begin()->first);
        gap_to(hole_end, "ack_past_hole", ts, sink);
    }
    drain(ts, sink);
}

void StreamReassembler::split_verified(std::map<uint64_t, Pending>::iterator it, uint64_t from,
                                       uint64_t n) {
    // Marks [from, from+n) of an unverified piece as verified by splitting it in up to
    // three pieces.
    const uint64_t start = it->first;
    Pending old = std::move(it->second);
    release(old.bytes.size());
    pending_.erase(it);
    const uint8_t* b = old.bytes.data();
    const uint64_t size = old.bytes.size();
    if (from > start) insert_piece(pending_.end(), start, b, from - start, false);
    insert_piece(pending_.end(), from, b + (from - start), n, true);
    if (from + n < start + size)
        insert_piece(pending_.end(), from + n, b + (from + n - start), start + size - from - n, false);
}

void StreamReassembler::flush(int64_t ts, StreamSink& sink) {
    if (fin_offset_) drop_beyond_fin();
    drain(ts, sink);
    while (!pending_.empty()) {
        auto first = pending_.begin();
        if (first->first > next_) {
            gap_to(first->first, "close", ts, sink);
        } else if (!first->second.verified) {
            uint64_t end = first->first + first->second.bytes.size();
            erase_piece(first);
            gap_to(end, "unverified", ts, sink);
        }
        drain(ts, sink);
    }
    if (fin_offset_ && next_ < *fin_offset_) gap_to(*fin_offset_, "close", ts, sink);
}

}  // namespace stethoscope::core
