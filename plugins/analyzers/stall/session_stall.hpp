// SessionStall — the stall detector of one TCP session (under 256 bytes, no allocation).
//
// Per direction d (the data d sends, ACKed by the other side):
//   * no_ack: d has un-ACKed data (highest sequence sent beyond the highest ACK, as seen
//     here) and the ACK has not advanced for the threshold. The clock ("since") starts at
//     the last ACK progress, or at the packet that made data outstanding when nothing was
//     (so an idle connection does not stall at its first new segment). Only once d has
//     sent payload or a FIN: an unanswered SYN (a scan, a flood, a dead server) is not a
//     stall.
//   * zero_window: the receiver of d has advertised a zero window (raw field 0, RST
//     excluded) for the threshold, whether or not d has data waiting.
// The threshold is max(threshold_ms, min_rtt_factor x the session's min RTT). The min RTT
// is measured here cheaply: the handshake's initial RTT (last SYN to the first packet with
// ACK and without SYN, as tshark), else the sum of both sides' minimum ACK RTT samples
// (one timed segment per direction, Karn's rule: a retransmission cancels the timing),
// else one side's minimum; unknown = the threshold alone.
//
// Detection runs at every packet and every session_tick (so within one tick, ~250 ms of
// capture time, of the threshold), but the times reported are packet timestamps: "since"
// is where the stall clock started, "until" the packet that ended it.
//   flow_stalled {direction, cause: no_ack | zero_window, since, at, threshold_ms,
//                 unacked_bytes, window_bytes}
//   flow_resumed {direction, cause, since, until, duration_us, duration_sec}
// A zero_window stall ends with the first non-zero window; a no_ack stall with the first
// ACK progress, and its cause becomes retransmission_timeout when d retransmitted the
// oldest un-ACKed byte (a segment starting at or before it) since the stall clock
// started (the last ACK progress). After a
// stall the clock restarts at its end. A stall open when the session closes is not
// resumed: the summary reports it ("open"), counted up to the last packet or tick seen.
//
// Threading: one SessionStall belongs to one session and is used by its worker only.
#pragma once

#include <stethoscope/abi.h>
#include <stethoscope/json_writer.hpp>

#include <cstdint>

namespace stethoscope::stall {

enum Cause : uint8_t { k_zero_window = 0, k_no_ack = 1, k_rto = 2 };
const char* cause_name(uint8_t cause);

// Where the detector's events go (the plugin publishes them for the session).
class StallEvents {
public:
    virtual ~StallEvents() = default;
    virtual void publish(const char* type, const JsonWriter& fields) = 0;
};

struct Thresholds {
    int64_t threshold_ns;
    double min_rtt_factor;
};

struct DirStall {
    uint32_t una = 0, nxt = 0;
    uint32_t win = 0;              // the receiver's last window (scaled as the engine gives it)
    uint32_t min_rtt_us = 0;       // minimum ACK RTT of d's data (its receiver's side)
    uint32_t timed_end = 0;        // the one timed segment's end
    uint16_t flags = 0;
    uint8_t cause = 0;             // while stalled
    uint8_t reserved = 0;
    int64_t progress_ns = 0;       // no_ack clock start
    int64_t zero_since_ns = 0;     // zero_window clock start
    int64_t stall_since_ns = 0;    // the open stall's start
    int64_t timed_ns = 0;
};

struct SessionStall {
    // One packet of the session (capture order).
    void on_segment(const sth_segment& seg, const Thresholds& t, StallEvents& out);
    // Capture time passes.
    void on_tick(int64_t now_ns, const Thresholds& t, StallEvents& out);
    // session_summary's "stall" value (read-only): {"count": 0} when there was none, else
    // count, total_sec, longest_sec, by_cause, open (when a stall is open), min_rtt_us.
    void write_summary(JsonWriter& w) const;

    uint32_t min_rtt_us() const;

    DirStall dir[2];
    int64_t syn_ns = 0;
    int64_t last_ns = 0;           // latest packet or tick time
    uint32_t initial_rtt_us = 0;
    uint8_t hs = 0;
    uint32_t count = 0;            // ended stalls
    uint32_t by_cause[3] = {0, 0, 0};
    uint64_t total_us = 0, longest_us = 0;

private:
    void handshake(const sth_segment& seg);
    void data(const sth_segment& seg);
    void acknowledge(const sth_segment& seg, StallEvents& out);
    void detect(int d, int64_t now, const Thresholds& t, StallEvents& out);
    void stall(int d, uint8_t cause, int64_t since, int64_t now, int64_t threshold_ns,
               StallEvents& out);
    void resume(int d, int64_t now, StallEvents& out);
    uint32_t in_flight(int d) const;
};

}  // namespace stethoscope::stall
