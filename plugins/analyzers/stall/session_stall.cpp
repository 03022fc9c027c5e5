// SessionStall: detection and reports (see session_stall.hpp for the rules).
#include "session_stall.hpp"

#include "../common/fixed_decimal.hpp"

#include <stethoscope/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace stethoscope::stall {

static_assert(sizeof(SessionStall) < 256, "per-session analyzer state must stay under 256 bytes");

namespace {

enum Flag : uint16_t {
    k_valid = 1 << 0,     // una/nxt known
    k_stalled = 1 << 1,
    k_zero = 1 << 2,      // the receiver's window is zero
    k_timed = 1 << 3,     // timed_end/timed_ns hold a segment being timed
    k_rexmit = 1 << 4,    // the oldest un-ACKed byte was sent again since the last progress
    k_data = 1 << 5,      // d has sent payload or a FIN (an unanswered SYN is no stall)
};
constexpr uint8_t k_hs_syn = 1, k_hs_done = 2;

bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
bool seq_le(uint32_t a, uint32_t b) { return !seq_gt(a, b); }

// RFC 3339 UTC with microseconds, as the core writes event times.
std::string format_ts(int64_t ts_ns) {
    int64_t secs = ts_ns / 1000000000, us = (ts_ns % 1000000000) / 1000;
    if (us < 0) us += 1000000, secs -= 1;
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us));
    return buf;
}


}  // namespace

const char* cause_name(uint8_t cause) {
    switch (cause) {
        case k_zero_window: return "zero_window";
        case k_no_ack: return "no_ack";
        default: return "retransmission_timeout";
    }
}

uint32_t SessionStall::in_flight(int d) const {
    const DirStall& r = dir[d];
    return (r.flags & k_valid) != 0 && seq_gt(r.nxt, r.una) ? r.nxt - r.una : 0;
}

uint32_t SessionStall::min_rtt_us() const {
    const uint32_t a = dir[0].min_rtt_us, b = dir[1].min_rtt_us;
    uint32_t sides = a != 0 && b != 0 ? a + b : std::max(a, b);
    if ((hs & k_hs_done) == 0) return sides;
    return a != 0 && b != 0 ? std::min(initial_rtt_us, sides) : initial_rtt_us;
}

void SessionStall::on_segment(const sth_segment& seg, const Thresholds& t, StallEvents& out) {
    const int64_t now = seg.ts_ns;
    last_ns = std::max(last_ns, now);
    for (int d = 0; d < 2; ++d) detect(d, now, t, out);  // up to this packet, before it
    handshake(seg);
    data(seg);
    if ((seg.flags & 0x10) != 0) acknowledge(seg, out);
}

void SessionStall::on_tick(int64_t now_ns, const Thresholds& t, StallEvents& out) {
    last_ns = std::max(last_ns, now_ns);
    for (int d = 0; d < 2; ++d) detect(d, now_ns, t, out);
}

void SessionStall::handshake(const sth_segment& seg) {
    const bool syn = (seg.flags & 0x02) != 0, ack = (seg.flags & 0x10) != 0;
    if (syn && !ack) {
        syn_ns = seg.ts_ns;
        hs |= k_hs_syn;
    } else if (!syn && ack && hs == k_hs_syn) {
        initial_rtt_us = static_cast<uint32_t>((seg.ts_ns - syn_ns) / 1000);
        hs |= k_hs_done;
    }
}

void SessionStall::data(const sth_segment& seg) {
    DirStall& r = dir[seg.direction];
    const uint32_t len = seg.payload_len + ((seg.flags & 0x02) != 0) + ((seg.flags & 0x01) != 0);
    if (len == 0) return;
    const uint32_t end = seg.seq + len;
    if (seg.payload_len > 0 || (seg.flags & 0x01) != 0) r.flags |= k_data;
    if ((r.flags & k_valid) == 0) {
        r.una = seg.seq;
        r.nxt = seg.seq;
        r.flags |= k_valid;
    }
    const bool was_idle = in_flight(seg.direction) == 0;
    const bool sent_again = seq_gt(r.nxt, seg.seq);
    if (sent_again && seq_le(seg.seq, r.una) && seq_gt(end, r.una)) r.flags |= k_rexmit;
    if (sent_again && (r.flags & k_timed) != 0 && seq_gt(r.timed_end, seg.seq))
        r.flags &= static_cast<uint16_t>(~k_timed);  // Karn: no sample from resent bytes
    if (seq_gt(end, r.nxt)) {
        if (!sent_again && (r.flags & k_timed) == 0) {
            r.timed_end = end;
            r.timed_ns = seg.ts_ns;
            r.flags |= k_timed;
        }
        r.nxt = end;
    }
    if (was_idle && in_flight(seg.direction) > 0 && (r.flags & k_stalled) == 0)
        r.progress_ns = seg.ts_ns;
}

void SessionStall::acknowledge(const sth_segment& seg, StallEvents& out) {
    const int d = 1 - seg.direction;
    DirStall& r = dir[d];
    const int64_t now = seg.ts_ns;
    if ((r.flags & k_valid) == 0) {
        r.una = r.nxt = seg.ack;
        r.flags |= k_valid;
        r.progress_ns = now;
    } else if (seq_gt(seg.ack, r.una)) {
        r.una = seg.ack;
        if (seq_gt(r.una, r.nxt)) r.nxt = r.una;
        r.progress_ns = now;
        if ((r.flags & k_timed) != 0 && seq_le(r.timed_end, seg.ack)) {
            if (r.timed_end == seg.ack) {
                const auto us = static_cast<uint32_t>((now - r.timed_ns) / 1000);
                if (r.min_rtt_us == 0 || (us > 0 && us < r.min_rtt_us)) r.min_rtt_us = us;
            }
            r.flags &= static_cast<uint16_t>(~k_timed);
        }
        if ((r.flags & k_stalled) != 0 && r.cause == k_no_ack) resume(d, now, out);
        r.flags &= static_cast<uint16_t>(~k_rexmit);
    }
    r.win = seg.window;
    if ((seg.flags & 0x06) != 0) return;  // a SYN's or RST's window says nothing here
    if (seg.raw_window == 0 && seg.window == 0) {
        if ((r.flags & k_zero) == 0) r.zero_since_ns = now;
        r.flags |= k_zero;
    } else {
        r.flags &= static_cast<uint16_t>(~k_zero);
        if ((r.flags & k_stalled) != 0 && r.cause == k_zero_window) resume(d, now, out);
    }
}

void SessionStall::detect(int d, int64_t now, const Thresholds& t, StallEvents& out) {
    DirStall& r = dir[d];
    if ((r.flags & k_stalled) != 0) return;
    const auto by_rtt = static_cast<int64_t>(t.min_rtt_factor * min_rtt_us() * 1000.0);
    const int64_t threshold = std::max(t.threshold_ns, by_rtt);
    if ((r.flags & k_zero) != 0 && now - r.zero_since_ns >= threshold)
        stall(d, k_zero_window, r.zero_since_ns, now, threshold, out);
    else if ((r.flags & k_data) != 0 && in_flight(d) > 0 && now - r.progress_ns >= threshold)
        stall(d, k_no_ack, r.progress_ns, now, threshold, out);
}

void SessionStall::stall(int d, uint8_t cause, int64_t since, int64_t now, int64_t threshold_ns,
                         StallEvents& out) {
    DirStall& r = dir[d];
    r.flags |= k_stalled;
    r.cause = cause;
    r.stall_since_ns = since;
    JsonWriter w;
    w.begin_object();
    w.key("direction").value(direction_name(static_cast<uint8_t>(d)));
    w.key("cause").value(cause_name(cause));
    w.key("since").value(format_ts(since));
    w.key("at").value(format_ts(now));
    w.key("threshold_ms").value(static_cast<double>(threshold_ns) / 1e6);
    w.key("unacked_bytes").value(in_flight(d));
    w.key("window_bytes").value(r.win);
    w.end_object();
    out.publish("flow_stalled", w);
}

void SessionStall::resume(int d, int64_t now, StallEvents& out) {
    DirStall& r = dir[d];
    const uint8_t cause = r.cause == k_no_ack && (r.flags & k_rexmit) != 0 ? uint8_t{k_rto} : r.cause;
    const uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, now - r.stall_since_ns) / 1000);
    ++count;
    ++by_cause[cause];
    total_us += us;
    longest_us = std::max(longest_us, us);
    r.flags = static_cast<uint16_t>(r.flags & ~(k_stalled | k_rexmit));
    r.progress_ns = now;
    JsonWriter w;
    w.begin_object();
    w.key("direction").value(direction_name(static_cast<uint8_t>(d)));
    w.key("cause").value(cause_name(cause));
    w.key("since").value(format_ts(r.stall_since_ns));
    w.key("until").value(format_ts(now));
    w.key("duration_us").value(us);
    analyzers::fixed_decimal(w.key("duration_sec"), static_cast<double>(us) / 1e6);
    w.end_object();
    out.publish("flow_resumed", w);
}

void SessionStall::write_summary(JsonWriter& w) const {
    uint64_t n = count, total = total_us, longest = longest_us;
    uint64_t causes[3] = {by_cause[0], by_cause[1], by_cause[2]};
    for (const DirStall& r : dir) {
        if ((r.flags & k_stalled) == 0) continue;
        const uint64_t us = static_cast<uint64_t>(std::max<int64_t>(0, last_ns - r.stall_since_ns) / 1000);
        ++n, total += us, longest = std::max(longest, us), ++causes[r.cause];
    }
    w.begin_object();
    w.key("count").value(n);
    if (n == 0) {  // the common case, kept short: every session_closed carries it
        w.end_object();
        return;
    }
    analyzers::fixed_decimal(w.key("total_sec"), static_cast<double>(total) / 1e6);
    analyzers::fixed_decimal(w.key("longest_sec"), static_cast<double>(longest) / 1e6);
    w.key("by_cause").begin_object();
    for (uint8_t c = 0; c < 3; ++c) w.key(cause_name(c)).value(causes[c]);
    w.end_object();
    if ((dir[0].flags & k_stalled) != 0 || (dir[1].flags & k_stalled) != 0) {
        w.key("open").begin_array();
        for (int d = 0; d < 2; ++d) {
            const DirStall& r = dir[d];
            if ((r.flags & k_stalled) == 0) continue;
            w.begin_object();
            w.key("direction").value(direction_name(static_cast<uint8_t>(d)));
            w.key("cause").value(cause_name(r.cause));
            w.key("since").value(format_ts(r.stall_since_ns));
            analyzers::fixed_decimal(w.key("duration_sec"),
                                     static_cast<double>(last_ns - r.stall_since_ns) / 1e9);
            w.end_object();
        }
        w.end_array();
    }
    const uint32_t rtt = min_rtt_us();
    w.key("min_rtt_us");
    if (rtt > 0) w.value(rtt);
    else w.null();
    w.end_object();
}

}  // namespace stethoscope::stall
