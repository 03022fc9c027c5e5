#include "tcp_analysis.hpp"

namespace stethoscope::core {

namespace {

constexpr int64_t k_fast_retransmission_window_ns = 20'000'000;  // after the last dup ACK
constexpr int64_t k_default_out_of_order_ns = 3'000'000;         // before the first RTT
constexpr uint8_t k_syn_fin_rst = tcp_flag::syn | tcp_flag::fin | tcp_flag::rst;

// Sequence-space comparisons with 32-bit wraparound.
bool seq_gt(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) > 0;
}
bool seq_lt(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) < 0;
}
bool seq_le(uint32_t a, uint32_t b) {
    return static_cast<int32_t>(a - b) <= 0;
}

// Time since `earlier`, unsigned as in Wireshark: a clock going backwards gives a huge
// value, which no threshold accepts.
uint64_t elapsed(int64_t now, int64_t earlier) {
    return static_cast<uint64_t>(now) - static_cast<uint64_t>(earlier);
}

}  // namespace

TcpAnalysisResult TcpAnalysis::analyze(const DecodedPacket& p, uint8_t dir, int64_t ts_ns) {
    const Segment s{p.seq, p.ack, p.payload_len, p.window, p.flags, ts_ns};
    restart_on_new_syn(s, dir & 1);
    Flow& fwd = flows_[dir & 1];
    Flow& rev = flows_[(dir & 1) ^ 1];
    const uint32_t found = sequence_analysis(s, fwd, rev);
    after_packet(s, p, fwd, rev);
    return to_result(found);
}

// A SYN with a new ISN starts a new connection on the same ports (Wireshark opens a new
// conversation); the same ISN again is a retransmitted SYN, which first rewinds next_seq
// to the contiguous end (a RST may have been sent with a later seq).
void TcpAnalysis::restart_on_new_syn(const Segment& s, uint8_t dir) {
    Flow& fwd = flows_[dir];
    if (!fwd.base_seq_set || !(s.flags & tcp_flag::syn))
        return;
    if (s.flags & tcp_flag::ack) {
        if (s.seq != fwd.base_seq)
            fwd.base_seq = s.seq;
        return;
    }
    if (s.seq != fwd.base_seq) {
        *this = TcpAnalysis{};
    } else {
        fwd.next_seq = fwd.max_seq_to_be_acked;
    }
}

uint32_t TcpAnalysis::sequence_analysis(const Segment& s, Flow& fwd, Flow& rev) {
    if (!fwd.base_seq_set) {
        fwd.base_seq = (s.flags & tcp_flag::syn) ? s.seq : s.seq - 1;
        fwd.base_seq_set = true;
    }
    if (!rev.base_seq_set && (s.flags & tcp_flag::ack)) {
        rev.base_seq = s.ack - 1;
        rev.base_seq_set = true;
    }
    uint32_t found = header_checks(s, fwd, rev);
    if (s.ack != fwd.last_ack)
        fwd.dup_ack_count = 0;
    found |= ack_lost_check(s, rev);
    if ((s.len > 0 || (s.flags & (tcp_flag::syn | tcp_flag::fin))) && !(found & a_keep_alive)) {
        found |= retransmission_check(s, fwd, rev);
    }
    update_flow(s, fwd, found);
    return found;
}

// Steps 1-8 of the file comment: what the header alone says against the flows.
uint32_t TcpAnalysis::header_checks(const Segment& s, Flow& fwd, const Flow& rev) {
    if (s.len == 1 && s.seq == fwd.next_seq && rev.window == 0)
        return a_zero_window_probe;

    const bool plain = (s.flags & k_syn_fin_rst) == 0;
    uint32_t found = 0;
    if (s.window == 0 && plain)
        found |= a_zero_window;
    if (fwd.next_seq && seq_gt(s.seq, fwd.next_seq) && !(s.flags & tcp_flag::rst)) {
        found |= a_lost_segment;
    }
    if (s.len <= 1 && s.seq == fwd.next_seq - 1 && plain)
        found |= a_keep_alive;

    // A pure ACK that repeats this side's position: a window update or some repetition.
    const bool repeats = s.len == 0 && plain && s.seq == fwd.next_seq && s.ack == fwd.last_ack;
    if (repeats && s.window != 0 && s.window != fwd.window)
        found |= a_window_update;

    if (s.len > 0 && plain && rev.win_scale != -1) {
        const int shift = (rev.is_first_ack || rev.win_scale == -2) ? 0 : rev.win_scale;
        if (s.seq + s.len == rev.last_ack + (rev.window << shift))
            found |= a_window_full;
    }

    if (!repeats || s.window != fwd.window)
        return found;
    if (s.window != 0 && (rev.last_flags & a_keep_alive))
        return found | a_keep_alive_ack;
    if (s.window == 0 && (rev.last_flags & a_zero_window_probe)) {
        return found | a_zero_window_probe_ack;
    }
    if (s.window != 0) {
        fwd.dup_ack_count = fwd.dup_ack_count == -1 ? 1 : fwd.dup_ack_count + 1;
        found |= a_duplicate_ack;
    }
    return found;
}

// Step 9: an ACK past the peer's contiguous data acknowledges bytes we never saw. When the
// peer has sent more since, the mark moves up to its highest byte and the ACK is
// reported; otherwise it is reported once per stall: the peer's duplicate-ACK counter is
// parked at -1 until the peer's own ACK changes. (This is what tshark 4.0 reports.)
uint32_t TcpAnalysis::ack_lost_check(const Segment& s, Flow& rev) {
    if (!rev.max_seq_to_be_acked || !seq_gt(s.ack, rev.max_seq_to_be_acked) ||
        !(s.flags & tcp_flag::ack)) {
        return 0;
    }
    if (seq_lt(rev.max_seq_to_be_acked, rev.next_seq)) {
        rev.max_seq_to_be_acked = rev.next_seq;
        return a_ack_lost_segment;
    }
    const bool first = rev.dup_ack_count == 0;
    rev.dup_ack_count = -1;
    return first ? a_ack_lost_segment : 0;
}

// Step 10, for a segment that occupies sequence space and is not a keep-alive.
uint32_t TcpAnalysis::retransmission_check(const Segment& s, const Flow& fwd,
                                           const Flow& rev) const {
    bool behind = fwd.next_seq && seq_lt(s.seq, fwd.next_seq);
    if (s.len > 1 && fwd.next_seq - 1 == s.seq)
        behind = false;  // data after a probe

    if (s.len > 0 && rev.last_ack && seq_le(s.seq + s.len, rev.last_ack)) {
        return a_spurious_retransmission;
    }
    if (!behind)
        return 0;
    // A count parked at -1 (see ack_lost_check) passes, as tshark 4.0's unsigned one does.
    const bool dup_acks = rev.dup_ack_count >= 2 || rev.dup_ack_count == -1;
    if (dup_acks && rev.last_ack == s.seq &&
        elapsed(s.ts, rev.last_ack_ts) < static_cast<uint64_t>(k_fast_retransmission_window_ns)) {
        return a_fast_retransmission;
    }
    const int64_t threshold = first_rtt_ns_ != 0 ? first_rtt_ns_ : k_default_out_of_order_ns;
    const uint32_t end = s.seq + s.len + ((s.flags & (tcp_flag::syn | tcp_flag::fin)) ? 1 : 0);
    if (elapsed(s.ts, fwd.next_seq_ts) < static_cast<uint64_t>(threshold) && fwd.next_seq != end) {
        return a_out_of_order;
    }
    return a_retransmission;
}

void TcpAnalysis::update_flow(const Segment& s, Flow& fwd, uint32_t found) {
    const bool probe = found & a_zero_window_probe;  // probes never advance next_seq
    const uint32_t end = s.seq + s.len + ((s.flags & (tcp_flag::syn | tcp_flag::fin)) ? 1 : 0);
    if ((seq_gt(end, fwd.next_seq) || !fwd.next_seq) && !probe) {
        fwd.next_seq = end;
        fwd.next_seq_ts = s.ts;
    }
    if ((s.seq == fwd.max_seq_to_be_acked || !fwd.max_seq_to_be_acked) && !probe) {
        fwd.max_seq_to_be_acked = fwd.next_seq;
    }
    fwd.window = s.window;
    fwd.last_ack = s.ack;
    fwd.last_ack_ts = s.ts;
    fwd.last_flags = found;
}

// What Wireshark learns from the rest of the header after the analysis: the SYN time and
// first RTT (the out-of-order threshold), whether the last window came with a SYN, and
// the window scale.
void TcpAnalysis::after_packet(const Segment& s, const DecodedPacket& p, Flow& fwd, Flow& rev) {
    const uint8_t syn_ack = s.flags & (tcp_flag::syn | tcp_flag::ack);
    if (s.flags & tcp_flag::syn) {
        fwd.is_first_ack = true;
        if (!(s.flags & tcp_flag::ack))
            last_syn_ts_ = s.ts;
    }
    if (syn_ack == tcp_flag::ack) {
        if (last_syn_ts_ != 0 && first_rtt_ns_ == 0)
            first_rtt_ns_ = s.ts - last_syn_ts_;
        fwd.is_first_ack = false;
    }
    if (p.options.window_scale >= 0)
        fwd.win_scale = p.options.window_scale;
    if (s.flags & tcp_flag::syn) {
        // Scaling is on only when both SYNs carried the option.
        if (fwd.win_scale == -1) {
            fwd.win_scale = -2;
            rev.win_scale = -2;
        } else if ((s.flags & tcp_flag::ack) && rev.win_scale == -2) {
            fwd.win_scale = -2;
        }
    }
}

TcpAnalysisResult TcpAnalysis::to_result(uint32_t found) {
    struct Mapping {
        uint32_t wireshark, bits, extra;
    };
    static constexpr Mapping k_map[] = {
        {a_retransmission, STH_SEG_RETRANSMISSION, 0},
        {a_fast_retransmission, STH_SEG_FAST_RETRANSMISSION | STH_SEG_RETRANSMISSION, 0},
        {a_spurious_retransmission, STH_SEG_SPURIOUS_RETRANSMISSION | STH_SEG_RETRANSMISSION, 0},
        {a_out_of_order, STH_SEG_OUT_OF_ORDER, 0},
        {a_lost_segment, STH_SEG_LOST_SEGMENT, 0},
        {a_duplicate_ack, STH_SEG_DUPLICATE_ACK, 0},
        {a_zero_window, STH_SEG_ZERO_WINDOW, 0},
        {a_window_full, STH_SEG_WINDOW_FULL, 0},
        {a_keep_alive, STH_SEG_KEEP_ALIVE, 0},
        {a_zero_window_probe, 0, tcp_analysis_extra::zero_window_probe},
        {a_zero_window_probe_ack, 0, tcp_analysis_extra::zero_window_probe_ack},
        {a_keep_alive_ack, 0, tcp_analysis_extra::keep_alive_ack},
        {a_window_update, 0, tcp_analysis_extra::window_update},
        {a_ack_lost_segment, 0, tcp_analysis_extra::ack_lost_segment},
    };
    TcpAnalysisResult r;
    if (found == 0) return r;  // most segments
    for (const Mapping& m : k_map) {
        if (found & m.wireshark) {
            r.bits |= m.bits;
            r.extra |= m.extra;
        }
    }
    return r;
}

}  // namespace stethoscope::core
