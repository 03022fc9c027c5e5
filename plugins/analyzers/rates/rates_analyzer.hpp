// The rates analyzer: packets/s and bytes/s per direction, per session and over all
// sessions, over intervals of capture time.
//
// Bytes are counted two ways, named in every key: `payload_bytes` (TCP payload, what the
// application sent, retransmissions included) and `ip_bytes` (ip_total_len: IP and TCP
// headers included, link layer excluded).
//
// Per session, on the host's session_tick (about every 250 ms of capture time): once at
// least interval_sec has passed since the session's last report (the first one counts
// from the session's start), the counts since that report are divided by the exact
// elapsed capture time and put into the session's `metrics` event:
//   "rates": {"interval_sec": 1.2,
//             "requests":  {"packets": 120, "payload_bytes": 0, "ip_bytes": 4800,
//                           "per_sec": {"packets": 100, "payload_bytes": 0, "ip_bytes": 4000}},
//             "responses": {...}}
// session_closed (and live snapshots) get the totals, the averages over the session's
// duration (first to last packet; null when it is 0) and the peaks of the reported
// intervals (null before the first report):
//   "rates": {"duration_sec": 3.0113,
//             "requests": {"packets": 304, "payload_bytes": 0, "ip_bytes": 12164,
//                          "avg_per_sec": {"packets": .., "payload_bytes": .., "ip_bytes": ..},
//                          "peak_per_sec": {...} or null},
//             "responses": {...}}
// Over all sessions: every interval_sec, one `metrics` event without a session,
//   {"rates": {"scope": "all", "interval_sec": 1.2, "sessions_active": 2,
//              "requests": {"packets": .., "payload_bytes": .., "ip_bytes": ..,
//                           "per_sec": {...}, "total": {"packets": .., ...}}, ...}}
// with the counts and rates of every session's packets in the interval and the totals
// since the start of the capture. It is driven by the session ticks, so it is published
// while at least one session is live.
// Rates are written with three decimals at most (trailing zeros dropped). The summary is
// kept compact on purpose: it is written for every session.
//
// Threading and invariants: per-session state is a fixed-size struct under 256 bytes
// (allocated in session_open, freed in session_done; session_packet allocates nothing),
// touched only by the session's worker. The all-sessions totals are relaxed atomics every
// worker adds to; the next global deadline is an atomic that the first worker whose tick
// passes it advances with compare-and-swap, so exactly one thread publishes each
// interval; the previous interval's snapshot is kept under a mutex that only that thread
// takes (once per interval).
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace stethoscope::rates {

class RatesAnalyzer : public AnalyzerPlugin {
public:
    using Config = rates::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return rates::parse_config(json, path);
    }

    RatesAnalyzer(const Host& host, Config config);

    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg) noexcept;
    void session_tick(void* cookie, const sth_session_info& s, int64_t now_ns, JsonSink& metrics);
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& out);
    void session_done(void* cookie, const sth_session_info& s);

    // Packets and bytes per direction (index: sth_direction).
    struct Counts {
        uint64_t packets[2] = {0, 0};
        uint64_t payload_bytes[2] = {0, 0};
        uint64_t ip_bytes[2] = {0, 0};
    };

private:
    struct SessionState;

    void start_global_clock(int64_t start_ns);
    void maybe_publish_global(int64_t now_ns);
    Counts global_totals() const;

    int64_t interval_ns_;  // config interval_sec, at least 1 ns

    // All sessions: added to by every worker (relaxed), read by the publishing one.
    struct alignas(64) AtomicCounts {
        std::atomic<uint64_t> packets[2] = {0, 0};
        std::atomic<uint64_t> payload_bytes[2] = {0, 0};
        std::atomic<uint64_t> ip_bytes[2] = {0, 0};
    };
    AtomicCounts totals_;
    alignas(64) std::atomic<int64_t> sessions_active_{0};
    std::atomic<int64_t> next_global_ns_{0};  // 0: no session seen yet
    std::mutex global_mutex_;                 // guards the two below
    int64_t global_last_ns_ = 0;
    Counts global_last_;
};

}  // namespace stethoscope::rates
