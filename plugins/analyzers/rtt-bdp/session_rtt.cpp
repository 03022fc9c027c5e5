// SessionRtt: packet processing (see session_rtt.hpp for the rules).
#include "session_rtt.hpp"

#include <cmath>
#include <cstddef>
#include <cstring>

namespace stethoscope::rtt_bdp {

static_assert(sizeof(SessionRtt) < 256, "per-session analyzer state must stay under 256 bytes");

namespace {

constexpr uint32_t k_retransmitted = STH_SEG_RETRANSMISSION | STH_SEG_FAST_RETRANSMISSION |
                                     STH_SEG_SPURIOUS_RETRANSMISSION | STH_SEG_KEEP_ALIVE;

uint32_t us32(int64_t ns) { return static_cast<uint32_t>(static_cast<uint64_t>(ns / 1000)); }
bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
// The size of a full segment of d: the receiver's MSS option less the timestamps option
// d's segments carry (as Linux's mss_cache), else the largest payload seen, else 1460.
uint32_t mss_of(const DirRtt& r) {
    if (r.mss == 0) return 1460;
    const bool less_ts = (r.flags & (k_mss_option | k_ts_seen)) == (k_mss_option | k_ts_seen);
    return less_ts && r.mss > 12 ? r.mss - 12u : r.mss;
}

// Adds `units` (microseconds >> halvings) to one of r's buckets, halving all on overflow.
void add_units(DirRtt& r, uint32_t* slot, uint32_t units) {
    while (*slot > UINT32_MAX - units) {
        for (uint32_t& v : r.lim_us) v /= 2;
        r.gap_us /= 2;
        ++r.halvings;
        units /= 2;
    }
    *slot += units;
}

void add_time(DirRtt& r, uint32_t dt) {
    if (r.lim < 3) add_units(r, &r.lim_us[r.lim], dt >> r.halvings);
    else if (r.lim == k_pending) add_units(r, &r.gap_us, dt >> r.halvings);
}

// The pending gap becomes `limit` time.
void add_time_to(DirRtt& r, uint8_t limit) {
    add_units(r, &r.lim_us[limit], r.gap_us);
    r.gap_us = 0;
}

}  // namespace

void RttStats::add(uint32_t us) {
    ++n;
    if (n == 1 || us < min) min = us;
    if (us > max) max = us;
    const float x = static_cast<float>(us);
    const float delta = x - mean;
    mean += delta / static_cast<float>(n);
    m2 += delta * (x - mean);
    // RFC 6298 2.2 and 2.3.
    if (n == 1) {
        srtt = us;
        rttvar = us / 2;
    } else {
        const uint32_t diff = srtt > us ? srtt - us : us - srtt;
        rttvar = static_cast<uint32_t>((3ull * rttvar + diff) / 4);
        srtt = static_cast<uint32_t>((7ull * srtt + us) / 8);
    }
}

bool SessionRtt::on_segment(const sth_segment& seg, int64_t interval_ns, SampleSink* log) {
    const uint32_t now = us32(seg.ts_ns);
    account(seg.ts_ns, interval_ns);  // the time before this packet, in the old states
    handshake(seg, now);
    ack_rtt(seg, now, log);  // its ACK frees ring slots before its own segment takes one
    const bool full = record_segment(seg, now, log);
    timestamps(seg, now);
    sequence(seg);
    classify(0);
    classify(1);
    return full;
}

void SessionRtt::advance(int64_t now_ns, int64_t interval_ns) {
    account(now_ns, interval_ns);
    classify(0);
    classify(1);
}

bool SessionRtt::take_metrics_due() {
    const bool due = (hs & k_metrics_due) != 0;
    hs = static_cast<uint8_t>(hs & ~k_metrics_due);
    return due;
}

void SessionRtt::account(int64_t now_ns, int64_t interval_ns) {
    const uint32_t now = us32(now_ns);
    if ((hs & k_clock) == 0) {
        hs |= k_clock;
        last_t = now;
        return;
    }
    const uint32_t dt = now - last_t;
    if (static_cast<int32_t>(dt) <= 0) return;  // not later (capture-order jitter)
    if (interval_ns > 0) {
        const int64_t prev_ns = now_ns - static_cast<int64_t>(dt) * 1000;
        if (now_ns / interval_ns != prev_ns / interval_ns) hs |= k_metrics_due;
    }
    for (DirRtt& r : dir) add_time(r, dt);
    last_t = now;
}

void SessionRtt::handshake(const sth_segment& seg, uint32_t now) {
    const bool syn = (seg.flags & 0x02) != 0, ack = (seg.flags & 0x10) != 0;
    if (syn && !ack) {
        syn_t = now;
        hs |= k_syn;
    } else if (syn) {
        synack_t = now;
        hs |= k_synack;
    } else if (ack && (hs & k_syn) != 0 && (hs & k_hs_ack) == 0) {
        hsack_t = now;  // tshark: the first pure ACK after a SYN
        hs |= k_hs_ack;
    }
}

void SessionRtt::ack_rtt(const sth_segment& seg, uint32_t now, SampleSink* log) {
    if ((seg.flags & 0x10) == 0) return;
    const int data_dir = 1 - seg.direction;
    int oldest = -1;
    uint32_t oldest_age = 0;
    bool tainted = false;
    for (int i = 0; i < k_ring; ++i) {
        const uint8_t bit = static_cast<uint8_t>(1u << i);
        if ((ring_used & bit) == 0 || ((ring_dir & bit) != 0) != (data_dir == 1)) continue;
        if (ring_end[i] == seg.ack) {
            const uint32_t age = now - ring_t[i];
            if (oldest < 0 || age > oldest_age) oldest = i, oldest_age = age;
            tainted = tainted || (ring_taint & bit) != 0;
        } else if (!seq_gt(seg.ack, ring_end[i])) {
            continue;  // still outstanding
        }
        ring_used = static_cast<uint8_t>(ring_used & ~bit);
    }
    if (oldest < 0) return;
    DirRtt& r = dir[data_dir];
    if (tainted) ++r.karn;
    else r.ack.add(oldest_age);
    if (log != nullptr)
        log->ack_sample(static_cast<uint8_t>(data_dir), seg.ts_ns, int64_t{oldest_age} * 1000,
                        tainted);
}

bool SessionRtt::record_segment(const sth_segment& seg, uint32_t now, SampleSink* log) {
    const uint32_t len = seg.payload_len + ((seg.flags & 0x02) != 0) + ((seg.flags & 0x01) != 0);
    if (len == 0) return false;
    const int d = seg.direction;
    const DirRtt& r = dir[d];
    const uint32_t end = seg.seq + len;
    // Below the highest end sent: a retransmission, unless the engine saw it arrive out of
    // order, which holds only while every earlier copy was timed (nothing found the ring
    // full since): else the first copy of these bytes may be one we did not record.
    const bool below = (r.flags & k_nxt_valid) != 0 && seq_lt(seg.seq, r.nxt) &&
                       ((seg.analysis & STH_SEG_OUT_OF_ORDER) == 0 || (r.flags & k_unrecorded) != 0);
    const bool retransmitted = (seg.analysis & k_retransmitted) != 0 || below;
    int free_slot = -1;
    for (int i = 0; i < k_ring; ++i) {
        const uint8_t bit = static_cast<uint8_t>(1u << i);
        if ((ring_used & bit) == 0) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (retransmitted && ((ring_dir & bit) != 0) == (d == 1) && seq_gt(ring_end[i], seg.seq))
            ring_taint |= bit;  // its bytes were sent again: no sample from it
    }
    if (free_slot < 0) {
        dir[d].flags |= k_unrecorded;
        if (log != nullptr) log->ring_full(static_cast<uint8_t>(d), seg.ts_ns, end);
        return true;
    }
    const uint8_t bit = static_cast<uint8_t>(1u << free_slot);
    ring_end[free_slot] = end;
    ring_t[free_slot] = now;
    ring_used |= bit;
    ring_dir = static_cast<uint8_t>(d == 1 ? ring_dir | bit : ring_dir & ~bit);
    ring_taint = static_cast<uint8_t>(retransmitted ? ring_taint | bit : ring_taint & ~bit);
    return false;
}

void SessionRtt::timestamps(const sth_segment& seg, uint32_t now) {
    if (seg.has_timestamps == 0) return;
    DirRtt& me = dir[seg.direction];
    DirRtt& peer = dir[1 - seg.direction];
    if ((seg.flags & 0x10) != 0 && (peer.flags & k_ts_pending) != 0) {
        if (seg.ts_ecr == peer.ts_pend) {
            const uint32_t rtt = now - peer.ts_pend_t;
            if (peer.ts_n++ == 0 || rtt < peer.ts_min) peer.ts_min = rtt;
            peer.flags &= static_cast<uint16_t>(~k_ts_pending);
        } else if (seq_gt(seg.ts_ecr, peer.ts_pend)) {
            peer.flags &= static_cast<uint16_t>(~k_ts_pending);  // echo of a later TSval
        }
    }
    if ((me.flags & k_ts_seen) == 0 || seq_gt(seg.ts_val, me.ts_last)) {
        me.ts_last = seg.ts_val;
        me.flags |= k_ts_seen;
        if ((me.flags & k_ts_pending) == 0) {
            me.ts_pend = seg.ts_val;
            me.ts_pend_t = now;
            me.flags |= k_ts_pending;
        }
    }
}

void SessionRtt::sequence(const sth_segment& seg) {
    const int d = seg.direction;
    DirRtt& me = dir[d];
    DirRtt& peer = dir[1 - d];
    const bool syn = (seg.flags & 0x02) != 0;
    if (syn) {
        me.flags |= k_syn_sent;
        if (seg.mss != 0) {  // what this side receives bounds the other side's segments
            peer.mss = seg.mss;
            peer.flags |= k_mss_option;
        }
    }
    if (seg.payload_len > 0) {
        if ((me.flags & k_mss_option) == 0 && seg.payload_len > me.mss)
            me.mss = static_cast<uint16_t>(seg.payload_len > 65535 ? 65535 : seg.payload_len);
        const uint32_t end = seg.seq + syn + seg.payload_len;
        if ((me.flags & k_nxt_valid) == 0 || seq_gt(end, me.nxt)) {
            if (me.lim == k_pending && (me.flags & k_peer_data) == 0)
                add_time_to(me, (me.flags & k_gap_closed) != 0 ? k_receiver : k_sender);
            me.gap_us = 0;
            me.last_partial = seg.payload_len < mss_of(me);
        }
        me.flags |= k_data_sent;
        if ((seg.analysis & (STH_SEG_RETRANSMISSION | STH_SEG_FAST_RETRANSMISSION)) != 0 &&
            (me.flags & k_recovery) == 0) {
            me.flags |= k_recovery;
            me.recovery_end = (me.flags & k_nxt_valid) != 0 && seq_gt(me.nxt, end) ? me.nxt : end;
        }
        if (peer.lim == k_pending) peer.flags |= k_peer_data;
    }
    const uint32_t len = seg.payload_len + syn + ((seg.flags & 0x01) != 0);
    if (len > 0) {
        const uint32_t end = seg.seq + len;
        if ((me.flags & k_nxt_valid) == 0 || seq_gt(end, me.nxt)) me.nxt = end;
        if ((me.flags & k_una_valid) == 0) me.una = seg.seq;
        me.flags |= k_nxt_valid | k_una_valid;
    }
    if ((seg.flags & 0x01) != 0) me.flags |= k_fin_sent;
    if ((seg.flags & 0x10) != 0) acknowledge(peer, seg);
}

void SessionRtt::acknowledge(DirRtt& r, const sth_segment& seg) {
    if ((r.flags & k_una_valid) == 0) {
        r.una = seg.ack;  // picked up mid-stream: what came before is not ours to count
        r.flags |= k_una_valid;
    } else if (seq_gt(seg.ack, r.una)) {
        uint32_t delta = seg.ack - r.una;
        if ((r.flags & (k_syn_sent | k_syn_acked)) == k_syn_sent) {
            --delta;  // the SYN's sequence number
            r.flags |= k_syn_acked;
        }
        if ((r.flags & k_fin_sent) != 0 && seg.ack == r.nxt && delta > 0) --delta;  // the FIN's
        const uint64_t acked = ((uint64_t{r.acked_hi} << 32) | r.acked_lo) + delta;
        r.acked_lo = static_cast<uint32_t>(acked);
        r.acked_hi = static_cast<uint32_t>(acked >> 32);
        r.una = seg.ack;
        if ((r.flags & k_recovery) != 0 && !seq_lt(r.una, r.recovery_end))
            r.flags &= static_cast<uint16_t>(~k_recovery);
    }
    if ((r.flags & k_nxt_valid) == 0 || seq_gt(r.una, r.nxt)) {
        r.nxt = r.una;
        r.flags |= k_nxt_valid;
    }
    if (!seq_lt(r.una, r.nxt)) r.flags &= static_cast<uint16_t>(~k_unrecorded);  // all ACKed
    if ((seg.analysis & STH_SEG_DUPLICATE_ACK) != 0 && in_flight_of(r) > 0 &&
        (r.flags & k_recovery) == 0) {
        r.flags |= k_recovery;
        r.recovery_end = r.nxt;
    }
    r.win = seg.window;
    if (seg.window_shift >= 0) r.flags |= k_win_known;
    else r.flags &= static_cast<uint16_t>(~k_win_known);
}

void SessionRtt::classify(int d) {
    DirRtt& r = dir[d];
    const uint32_t f = in_flight_of(r);
    const uint32_t m = mss_of(r);
    const bool win_known = (r.flags & k_win_known) != 0;
    if (f == 0) r.flags &= static_cast<uint16_t>(~k_recovery);
    uint8_t next;
    if ((r.flags & k_data_sent) == 0) next = k_idle;
    else if ((r.flags & k_fin_sent) != 0 && f <= 1) next = k_idle;  // only the FIN is left
    else if ((r.flags & k_recovery) != 0) next = k_network;
    else if (f > 0 && win_known && uint64_t{f} + m >= r.win) next = k_receiver;
    else if (f > 0) next = r.last_partial != 0 ? k_sender : k_network;
    else next = k_pending;
    if (next == k_pending) {
        if (r.lim != k_pending) {
            r.gap_us = 0;
            r.flags &= static_cast<uint16_t>(~(k_peer_data | k_gap_closed));
        }
        if (win_known && r.win < m) r.flags |= k_gap_closed;
    }
    r.lim = next;
}

uint32_t SessionRtt::in_flight_of(const DirRtt& r) {
    if ((r.flags & (k_una_valid | k_nxt_valid)) != (k_una_valid | k_nxt_valid)) return 0;
    return seq_gt(r.nxt, r.una) ? r.nxt - r.una : 0;
}

}  // namespace stethoscope::rtt_bdp
