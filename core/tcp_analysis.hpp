// Per-packet TCP classification with the semantics of Wireshark's `tcp.analysis` flags
// (tshark 4.0, default preferences: "analyze TCP sequence numbers" on, no default
// window scaling, fast retransmission takes precedence over out-of-order).
//
// How it works (the logic of Wireshark's tcp_analyze_sequence_number, re-stated):
//
// Each direction of the session keeps a small record (`Flow`): the highest sequence
// number sent so far (`next_seq`, with the time it last grew), the highest contiguous one
// (`max_seq_to_be_acked`), and the ACK, raw window and analysis flags of the last packet
// it sent. A packet from direction `fwd` is judged against its own record and against the
// record of the peer `rev`, in this order:
//
//   1. Zero-window probe: exactly one byte at `fwd.next_seq` while the peer's last
//      window was 0. It skips steps 2-8 and never advances `next_seq`.
//   2. Zero window: the window field is 0 (not on SYN/FIN/RST).
//   3. Lost segment ("previous segment not captured"): seq beyond `fwd.next_seq`
//      (not on RST).
//   4. Keep-alive: 0 or 1 byte at `fwd.next_seq - 1` (not on SYN/FIN/RST).
//   5. Window update: a pure ACK repeating seq/ack with a new non-zero window.
//   6. Window full: the segment ends exactly at the peer's last ACK + its window. Only
//      when the peer's window scale is known (see below).
//   7. Keep-alive ACK / zero-window-probe ACK: a pure ACK repeating seq/ack/window right
//      after the peer's keep-alive / probe. Either one skips step 8.
//   8. Duplicate ACK: a pure ACK repeating seq, ack and the non-zero window.
//   9. ACKed unseen segment: the ACK goes past `rev.max_seq_to_be_acked`. If the peer
//      has sent beyond its contiguous data, the mark moves up to `rev.next_seq` and the
//      ACK is reported; otherwise it is reported once per stall: the peer's duplicate-ACK
//      count is parked at -1 until the peer's own ACK changes.
//  10. For packets that carry data, SYN or FIN (and are not keep-alives), the first of:
//      spurious retransmission (all of its bytes were already ACKed by the peer); fast
//      retransmission (seq below `fwd.next_seq`, equal to the peer's ACK, after >= 2
//      duplicate ACKs — or a count parked by step 9, which tshark 4.0 keeps unsigned —
//      within 20 ms of the peer's last packet); out-of-order (seq below `fwd.next_seq`,
//      within the connection's first RTT — 3 ms when unknown — of the packet that
//      advanced `next_seq`, and not ending exactly there); retransmission (seq below
//      `fwd.next_seq`). A segment of 2+ bytes starting at `next_seq - 1` counts as
//      advancing (it follows a zero-window probe).
//
// Window scaling: the shift announced in a SYN is applied to a direction's window only
// when both SYNs were seen and both carried the option; a SYN without it turns scaling
// off for both; without any SYN the scale is unknown and "window full" is never set.
// The first window after a direction's SYN is its SYN's own (unscaled) one.
//
// Which bits go together: tshark prints `tcp.analysis.retransmission` for fast and for
// spurious retransmissions too, so those packets carry STH_SEG_RETRANSMISSION as well
// as their own bit. Counting packets per bit therefore gives tshark's per-field counts.
//
// Sequence numbers, `next_seq`, the last ACK and `max_seq_to_be_acked` use 0 to mean
// "not known yet", exactly as Wireshark does; a value that wraps to exactly 0 is treated
// as unknown by both.
//
// The reference is tshark 4.0.17 (Debian 12), checked frame by frame on crafted and on
// randomly driven captures (tests/e2e/tshark_crosscheck.py, tests/support/
// analysis_driver.cpp); where later Wireshark source differs (step 9's bookkeeping), the
// rules here are tshark 4.0's. Known difference: Wireshark stops growing its list of
// unACKed segments at 10000 per direction and then no longer adds a SYN's or FIN's
// sequence number to `next_seq`; we keep no such list and always add it (it matters only
// for a SYN or FIN after 10000 segments nobody ACKed).
//
// Thread: one object per session, used by the session's worker only. No allocation.
#pragma once

#include "decoder.hpp"

#include <stethoscope/abi.h>

#include <cstdint>

namespace stethoscope::core {

// Wireshark analysis results that have no STH_SEG_* bit (see TcpAnalysisResult::extra).
namespace tcp_analysis_extra {
constexpr uint32_t zero_window_probe = 1u << 0;      // tcp.analysis.zero_window_probe
constexpr uint32_t zero_window_probe_ack = 1u << 1;  // tcp.analysis.zero_window_probe_ack
constexpr uint32_t keep_alive_ack = 1u << 2;         // tcp.analysis.keep_alive_ack
constexpr uint32_t window_update = 1u << 3;          // tcp.analysis.window_update
constexpr uint32_t ack_lost_segment = 1u << 4;       // tcp.analysis.ack_lost_segment
}  // namespace tcp_analysis_extra

// Everything TcpAnalysis found about one packet.
struct TcpAnalysisResult {
    uint32_t bits = 0;   // STH_SEG_* (abi.h); never STH_SEG_BAD_CHECKSUM
    uint32_t extra = 0;  // tcp_analysis_extra::*
};

// Per-session state of Wireshark-style sequence analysis (one object per TCP session).
class TcpAnalysis {
public:
    // Classifies one packet of the session; dir 0 = client->server, 1 = server->client.
    // Called for every packet of the session in capture order, before reassembly.
    // Returns STH_SEG_* bits (abi.h).
    uint32_t classify(const DecodedPacket& p, uint8_t dir, int64_t ts_ns) {
        return analyze(p, dir, ts_ns).bits;
    }

    // classify() with the flags that have no STH_SEG_* bit. Same state, same rules: call
    // one or the other for each packet, never both.
    TcpAnalysisResult analyze(const DecodedPacket& p, uint8_t dir, int64_t ts_ns);

    // The window shift in use for `dir`'s windows: >= 0 when known, -1 while unknown (no
    // SYN seen), -2 when the handshake turned scaling off.
    int window_scale(uint8_t dir) const { return flows_[dir & 1].win_scale; }

private:
    // Wireshark's own flag bits, before they are mapped to STH_SEG_* / extra.
    static constexpr uint32_t a_retransmission = 1u << 0;
    static constexpr uint32_t a_lost_segment = 1u << 1;
    static constexpr uint32_t a_ack_lost_segment = 1u << 2;
    static constexpr uint32_t a_keep_alive = 1u << 3;
    static constexpr uint32_t a_duplicate_ack = 1u << 4;
    static constexpr uint32_t a_zero_window = 1u << 5;
    static constexpr uint32_t a_zero_window_probe = 1u << 6;
    static constexpr uint32_t a_zero_window_probe_ack = 1u << 7;
    static constexpr uint32_t a_keep_alive_ack = 1u << 8;
    static constexpr uint32_t a_out_of_order = 1u << 9;
    static constexpr uint32_t a_fast_retransmission = 1u << 10;
    static constexpr uint32_t a_window_update = 1u << 11;
    static constexpr uint32_t a_window_full = 1u << 12;
    static constexpr uint32_t a_spurious_retransmission = 1u << 13;

    // One direction's record (see the file comment).
    struct Flow {
        bool base_seq_set = false;
        uint32_t base_seq = 0;             // ISN (or first seq - 1): tells a new SYN apart
        uint32_t next_seq = 0;             // highest seq + len (+1 for SYN/FIN); 0 = unknown
        int64_t next_seq_ts = 0;           // when next_seq last grew
        uint32_t max_seq_to_be_acked = 0;  // end of the contiguous data; 0 = unknown
        uint32_t last_ack = 0;             // ACK field of the last packet (even without ACK)
        int64_t last_ack_ts = 0;           // time of the last packet
        uint32_t window = UINT32_MAX;      // raw window of the last packet; none yet = max
        int win_scale = -1;                // -1 unknown, -2 off, else the shift
        bool is_first_ack = false;         // the last window came with this side's SYN
        int dup_ack_count = 0;             // duplicate ACKs in a row; -1 after "ACKed unseen"
        uint32_t last_flags = 0;           // a_* of the last packet
    };

    // A packet as the analysis sees it.
    struct Segment {
        uint32_t seq, ack, len, window;
        uint8_t flags;
        int64_t ts;
    };

    void restart_on_new_syn(const Segment& s, uint8_t dir);
    uint32_t sequence_analysis(const Segment& s, Flow& fwd, Flow& rev);
    static uint32_t header_checks(const Segment& s, Flow& fwd, const Flow& rev);
    uint32_t retransmission_check(const Segment& s, const Flow& fwd, const Flow& rev) const;
    static uint32_t ack_lost_check(const Segment& s, Flow& rev);
    static void update_flow(const Segment& s, Flow& fwd, uint32_t found);
    void after_packet(const Segment& s, const DecodedPacket& p, Flow& fwd, Flow& rev);
    static TcpAnalysisResult to_result(uint32_t found);

    Flow flows_[2];
    int64_t last_syn_ts_ = 0;   // most recent SYN without ACK; 0 = none yet
    int64_t first_rtt_ns_ = 0;  // SYN to the first ACK; 0 = not measured yet
};

}  // namespace stethoscope::core
