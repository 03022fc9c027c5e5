// SessionRtt — what the rtt-bdp analyzer knows about one TCP session, in under 256 bytes.
//
// Fed every packet of the session in capture order (on_segment) and the passing of
// capture time (advance, from session_tick); it never allocates and keeps no per-segment
// list that grows. Times are kept as 32-bit microsecond clocks (capture time mod 2^32 us,
// compared by unsigned difference), so every interval it measures must be shorter than
// 71 minutes; durations are added up in 32-bit microsecond buckets that are halved
// together when one would overflow (shares survive, `halvings` says by how much).
//
// Where it looks from. The sniffer sits somewhere between client and server. Data sent
// in direction d and ACKed by its receiver measures the RTT of the receiver's side of the
// sniffer (sniffer -> receiver -> sniffer), so the samples are kept per side: "server"
// (requests data, the client's TSvals) and "client" (responses data, the server's TSvals).
// The path RTT (client to server and back) is min_rtt_us(): the handshake's initial RTT,
// or the sum of both sides' minima when that is smaller, or one side's minimum alone when
// nothing else is known (then a lower bound).
//
// 1. ACK RTT, as tshark's tcp.analysis.ack_rtt (epan/dissectors/packet-tcp.c,
//    tcp_analyze_sequence_number): every segment with payload, SYN or FIN is an
//    outstanding segment ending at seq + len (+1 for SYN/FIN). A packet with ACK in the
//    other direction whose ack equals an outstanding end gives a sample (now minus the
//    time of the oldest outstanding segment with that end); outstanding ends below the
//    ack are dropped without a sample. Karn's rule (as tcptrace): when the matched segment
//    was retransmitted — it is a retransmission / keep-alive by the engine's flags or
//    starts below the highest sequence sent, or a later such segment overlapped it — no
//    sample is taken and karn_excluded counts it. A sample of 0 us is kept (tshark does not
//    display zero RTTs). Outstanding ends live in a ring of k_ring slots shared by both
//    directions; when it is full a new segment is not recorded (the oldest stay, so every
//    round trip still gets samples), counted by the plugin's ring_full counter, and an ACK
//    of it gives no sample. Samples feed count/min/avg/max/stdev and RFC 6298's
//    SRTT/RTTVAR (alpha 1/8, beta 1/4, integer microseconds, first sample: SRTT = R,
//    RTTVAR = R/2).
// 2. Timestamp RTT, as pping: the first packet of a direction carrying a new TSval starts
//    a sample when none of that direction is pending; the first packet of the other
//    direction echoing it (TSecr == TSval) ends it. An echo of a later TSval abandons the
//    pending one. This measures the side of the sniffer where the TSval's receiver is, in
//    both directions, also on one-way transfers (pure ACKs carry TSvals too).
// 3. Handshake: server leg = the SYN-ACK's time minus the last SYN's (sniffer -> server ->
//    sniffer), client leg = the first packet with ACK and without SYN minus the last
//    SYN-ACK's (sniffer -> client -> sniffer); initial RTT = that ACK minus the last SYN,
//    as tshark's tcp.analysis.initial_rtt (so it equals the sum of the legs).
// 4. Goodput and BDP per direction: acked_bytes counts each payload byte once, when the
//    receiver's cumulative ACK first covers it (SYN and FIN excluded); goodput =
//    8 * acked_bytes / busy time (the time counted by the limits below, i.e. while the
//    direction was transferring, not while it was idle); BDP = goodput * min_rtt_us().
// 5. Limits — the passive counterpart of Linux's chrono stats (tcp_chrono_start/stop:
//    busy, rwnd_limited, sndbuf_limited). For direction d after each packet and tick, with
//    F = bytes outstanding (highest sequence sent minus highest ACK, as seen here),
//    W = the receiver's last advertised window (scaled), M = a full segment (the
//    receiver's SYN MSS option, less 12 bytes when d sends TCP timestamps, as Linux's
//    mss_cache; else the largest payload seen):
//      network  — in loss recovery: from a retransmission by d or a duplicate ACK from the
//                 receiver while F > 0, until the ACK reaches the highest sequence sent
//                 at that moment (RFC 6582's recovery point); or F > 0, F < W - M and the
//                 last data segment was full-sized (the congestion window, not the
//                 application, holds the sender back);
//      receiver — F > 0 and F >= W - M (the window is, within one segment, full, zero
//                 windows included); or F == 0 while W < M, when d sends data next;
//      sender   — F > 0, F < W - M and the last data segment was shorter than M (the
//                 application had no more to give); or F == 0 with an open window, when
//                 d sends new data next and the other side sent no data in between (a
//                 pause within d's transfer, not waiting for a request).
//      idle     — nothing sent yet, or the FIN sent and nothing but the FIN outstanding.
//    Time with F == 0 is "pending" until d's next new data decides it; if the other side
//    sends data first (a request/response turn) or the session ends, it is not counted.
//    Without the handshake the window scale is unknown: W is not trusted and nothing is
//    classified receiver-limited. The shares are of the counted ("busy") time.
//
// Deliberate differences from tshark (tests/e2e/analyzers/rtt_tshark.py accounts for each):
//   * Karn's rule: tshark times every exact-match ACK, from the oldest transmission of
//     that end; we drop those whose segment was resent (karn_excluded).
//   * The ring: with more than k_ring segments outstanding, later ones are not timed
//     (ring_full); tshark keeps up to 10,000 per direction. While a segment the ring had
//     no room for may still be outstanding, a later copy of older bytes is taken for a
//     retransmission even when the engine calls it out-of-order (Wireshark's 3 ms rule):
//     its first copy's time is unknown here, so timing the second would under-measure
//     (Karn's rule; karn_excluded counts it).
//   * A 0 us sample counts here; tshark does not display a zero ack_rtt.
//   * Microsecond resolution: a nanosecond capture's times are truncated to microseconds.
//   * Goodput divides by the busy time, not by the connection's elapsed time (tcptrace).
//
// Threading: one SessionRtt belongs to one session and is used by its worker only.
#pragma once

#include <stethoscope/abi.h>
#include <stethoscope/json_writer.hpp>

#include <cstdint>

namespace stethoscope::rtt_bdp {

// Receives the ACK RTT decisions, for the samples_log debug mode. Times in ns.
class SampleSink {
public:
    virtual ~SampleSink() = default;
    // A sample (`karn` false) or one Karn's rule excluded (rtt from the oldest match).
    virtual void ack_sample(uint8_t data_dir, int64_t ack_ts_ns, int64_t rtt_ns, bool karn) = 0;
    // A segment not recorded because the ring was full (its end sequence number).
    virtual void ring_full(uint8_t data_dir, int64_t seg_ts_ns, uint32_t end_seq) = 0;
};

// Bits of DirRtt::flags and SessionRtt::hs.
enum DirFlag : uint16_t {
    k_una_valid = 1 << 0,
    k_nxt_valid = 1 << 1,
    k_win_known = 1 << 2,
    k_recovery = 1 << 3,
    k_peer_data = 1 << 4,   // the other side sent data during the pending gap
    k_gap_closed = 1 << 5,  // the window was below one MSS during the pending gap
    k_data_sent = 1 << 6,
    k_fin_sent = 1 << 7,
    k_syn_sent = 1 << 8,
    k_syn_acked = 1 << 9,
    k_mss_option = 1 << 10,
    k_ts_seen = 1 << 11,
    k_ts_pending = 1 << 12,
    k_unrecorded = 1 << 13,  // a segment found the ring full since una last reached nxt
};

enum HsFlag : uint8_t {
    k_syn = 1 << 0,
    k_synack = 1 << 1,
    k_hs_ack = 1 << 2,
    k_clock = 1 << 3,
    k_metrics_due = 1 << 4,
};

enum Limit : uint8_t { k_network = 0, k_receiver = 1, k_sender = 2, k_idle = 3, k_pending = 4 };

// Count/min/avg/max/stdev and RFC 6298 smoothing of one kind of sample, microseconds.
struct RttStats {
    uint32_t n = 0, min = 0, max = 0, srtt = 0, rttvar = 0;
    float mean = 0, m2 = 0;  // Welford
    void add(uint32_t us);
};

// One direction's data: its sequence space as seen here, and the samples of its side.
struct DirRtt {
    uint32_t una = 0, nxt = 0;   // highest ACK from the receiver, highest end sent
    uint32_t win = 0;            // receiver's last window (scaled)
    uint32_t recovery_end = 0;   // network-limited until una reaches it
    uint32_t lim_us[3] = {0, 0, 0};  // by Limit (network, receiver, sender)
    uint32_t gap_us = 0;         // pending F == 0 time
    uint32_t acked_lo = 0, acked_hi = 0;  // unique ACKed payload bytes (64-bit)
    RttStats ack;                // ACK RTT of this direction's data (its receiver's side)
    uint32_t karn = 0;           // samples Karn's rule excluded
    uint32_t ts_last = 0, ts_pend = 0, ts_pend_t = 0;  // TSval tracking (pping)
    uint32_t ts_n = 0, ts_min = 0;
    uint16_t mss = 0;
    uint16_t flags = 0;          // DirFlag bits
    uint8_t lim = k_idle;        // current Limit
    uint8_t last_partial = 0;    // the last data segment was shorter than mss
    uint8_t halvings = 0;        // lim_us/gap_us were halved this many times
    uint8_t reserved = 0;
};

struct SessionRtt {
    static constexpr int k_ring = 4;

    // Handles one packet (capture order). `log` may be null. `interval_ns` is the
    // metrics period (0 = none): crossing one of its boundaries makes metrics_due().
    // Returns true when the segment found the ring full (not recorded).
    bool on_segment(const sth_segment& seg, int64_t interval_ns, SampleSink* log);
    // Capture time passes (a tick); accounts the time up to `now_ns`.
    void advance(int64_t now_ns, int64_t interval_ns);
    // A metrics boundary was crossed since the last take_metrics_due().
    bool take_metrics_due();

    // session_summary: "rtt" and "limits" values.
    void write_rtt(JsonWriter& w) const;
    void write_limits(JsonWriter& w) const;
    // session_tick: current values for the metrics event.
    void write_metrics(JsonWriter& w) const;

    uint32_t min_rtt_us() const;  // path RTT estimate, 0 when unknown
    uint64_t acked_bytes(int d) const;
    double busy_sec(int d) const;
    double goodput_bps(int d) const;
    uint32_t in_flight(int d) const;

    uint32_t ring_end[k_ring] = {};
    uint32_t ring_t[k_ring] = {};
    uint8_t ring_used = 0, ring_dir = 0, ring_taint = 0;  // bit i = slot i
    uint8_t hs = 0;               // HsFlag bits
    uint32_t syn_t = 0, synack_t = 0, hsack_t = 0;
    uint32_t last_t = 0;          // time accounted up to
    DirRtt dir[2];

private:
    void account(int64_t now_ns, int64_t interval_ns);
    void handshake(const sth_segment& seg, uint32_t now);
    void ack_rtt(const sth_segment& seg, uint32_t now, SampleSink* log);
    bool record_segment(const sth_segment& seg, uint32_t now, SampleSink* log);  // true: full
    void timestamps(const sth_segment& seg, uint32_t now);
    void sequence(const sth_segment& seg);
    static void acknowledge(DirRtt& r, const sth_segment& seg);
    void classify(int d);
    static uint32_t in_flight_of(const DirRtt& r);
};

}  // namespace stethoscope::rtt_bdp
