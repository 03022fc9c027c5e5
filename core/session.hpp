// The session record: what the core keeps about one TCP connection while it is live and
// until its session_closed event is out. The engine owns and mutates it (one worker
// thread); core/session_report.cpp turns it into events and snapshots.
//
// Lifetime: created by Engine::open_session, in the flow table while the connection is
// live, then (after close) in the engine's draining list while an output still delivers
// its bytes, deleted after its session_closed event was published.
#pragma once

#include <stethoscope/abi.h>

#include "consumers.hpp"
#include "decoder.hpp"
#include "flow_key.hpp"
#include "intrusive_list.hpp"
#include "reassembler.hpp"
#include "tcp_analysis.hpp"

#include <cstdint>
#include <vector>

namespace stethoscope::core {

// The classification flags counted per session, in STH_SEG_* bit order, with the name of
// each in session_closed (and of its event).
constexpr size_t k_flag_count = 9;
constexpr const char* k_flag_name[k_flag_count] = {
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment",   "duplicate_ack",       "zero_window",             "window_full",
    "keep_alive"};
static_assert(STH_SEG_KEEP_ALIVE == 1u << (k_flag_count - 1));

// Anomaly events are sampled per session and type: the first 25, then 1 in 1000.
// Counters are always exact; only the events are sampled.
inline bool sample_event(uint32_t& count) {
    constexpr uint32_t k_full = 25;
    ++count;
    return count <= k_full || count % 1000 == 0;
}

// The handshake options worth keeping for the session's life (TcpOptions is larger).
struct SynOptions {
    uint16_t mss = 0;
    int8_t window_scale = -1;
    bool sack_permitted = false, timestamps = false, fast_open = false;
    SynOptions() = default;
    explicit SynOptions(const TcpOptions& o)
        : mss(o.mss), window_scale(o.window_scale), sack_permitted(o.sack_permitted),
          timestamps(o.has_timestamps), fast_open(o.fast_open) {}
};

struct GapRecord {
    uint8_t direction;
    uint64_t offset, length;
    const char* reason;  // a string literal
};

// At most this many gaps are listed in session_closed; the rest are counted.
constexpr size_t k_gap_list_max = 64;

struct Session {
    Session(uint64_t flow_cap, ReassemblyBudget* budget)
        : streams{StreamReassembler(flow_cap, budget), StreamReassembler(flow_cap, budget)} {}
    sth_session_info info{};
    FlowKey key;
    bool client_is_a = true;
    StreamReassembler streams[2];
    std::vector<ConsumerSlot> slots;
    uint64_t packets[2] = {0, 0};
    uint64_t bytes[2] = {0, 0};  // stream bytes delivered in order
    TcpAnalysis analysis;        // Wireshark's tcp.analysis flags, per packet
    uint64_t flag_counts[k_flag_count] = {};
    uint32_t flag_events[k_flag_count] = {};
    uint64_t overlap_conflicts = 0, bad_checksums = 0, ignored_rsts = 0, out_of_window = 0;
    bool ended[2] = {false, false};
    bool closing = false;
    bool wants_tick = false;      // some active consumer takes session_tick
    bool wants_closed = false;    // ... or the session_closed event
    bool wants_packets = false;   // ... or session_packet
    bool handshake_done = false;  // a SYN-ACK or data was seen
    SynOptions syn_options[2];    // of each side's SYN, when seen
    bool syn_seen[2] = {false, false};
    uint16_t window[2] = {0, 0};  // last raw window advertised by each side
    bool window_known[2] = {false, false};
    bool valid_checksum_seen[2] = {false, false};
    uint32_t overlap_events = 0;
    int64_t last_ts = 0;
    uint32_t gap_events = 0;
    std::vector<GapRecord> gaps;
    uint64_t gaps_total = 0;
    uint64_t hash = 0;            // FlowKeyHash of key
    // The engine's lists (intrusive_list.hpp): by last activity (every live session); the
    // ones that take session_tick and are not closing yet (a tick visits only those, not
    // the thousands in FIN grace); bare SYNs waiting for their handshake; sessions in
    // their FIN grace period (until `grace_deadline`).
    ListLink<Session> lru_link, tick_link, handshake_link, closing_link;
    int64_t grace_deadline = 0;
    bool wants_done = false;      // some active consumer takes session_done
    const char* close_reason = nullptr;  // set once closed (while the outputs drain)
    int64_t close_ts = 0;

    // The shift applied to direction `dir`'s window: its SYN's scale when both SYNs were
    // seen and both carried the option (RFC 7323 2.2), 0 when a SYN said no, -1 unknown.
    int window_shift(uint8_t dir) const {
        if (!syn_seen[0] || !syn_seen[1]) return info.saw_syn ? 0 : -1;
        if (syn_options[0].window_scale < 0 || syn_options[1].window_scale < 0) return 0;
        return syn_options[dir].window_scale;
    }
    // "handshake", "established", "closing" (a FIN seen or both ended), "closed".
    const char* state_name() const;
};

}  // namespace stethoscope::core
