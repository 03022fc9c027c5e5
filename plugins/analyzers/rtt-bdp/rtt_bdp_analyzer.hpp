// The rtt-bdp analyzer: per session, RTT from ACKs and TCP timestamps, the handshake's
// legs, goodput, BDP and the share of time each direction was limited by the receiver's
// window, the sender or the network. The rules are in session_rtt.hpp.
//
// Results: session_summary puts "rtt" and "limits" into session_closed (and live
// snapshots); session_tick puts "rtt" (current values) into the session's metrics event
// once per interval_sec of capture time. Counter: rtt-bdp.ring_full (segments not
// recorded for ACK RTT because the session's ring of outstanding ends was full).
//
// samples_log (debug): one line per ACK RTT decision and per segment the ring had no room
// for, appended under a lock (sessions run on several workers):
//     sample <uid> <data direction> <ACK packet ts ns> <rtt ns>
//     karn   <uid> <data direction> <ACK packet ts ns> <rtt ns from the oldest match>
//     full   <uid> <data direction> <segment ts ns> <end sequence number>
// tests/e2e/analyzers/rtt_tshark.py matches them with tshark's tcp.analysis.ack_rtt.
//
// Threading: per-session state is the cookie (one worker); the log is locked.
#pragma once

#include "config.hpp"
#include "session_rtt.hpp"

#include <stethoscope/plugin.hpp>

#include <cstdio>
#include <mutex>

namespace stethoscope::rtt_bdp {

class RttBdpAnalyzer : public AnalyzerPlugin {
public:
    using Config = rtt_bdp::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return rtt_bdp::parse_config(json, path);
    }
    RttBdpAnalyzer(const Host& host, Config config);
    ~RttBdpAnalyzer();

    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg);
    void session_tick(void* cookie, const sth_session_info& s, int64_t now_ns, JsonSink& metrics);
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& sink);
    void session_done(void* cookie, const sth_session_info& s);

    // Appends one samples_log line (no-op without the log).
    void log_line(const char* kind, uint64_t uid, uint8_t dir, int64_t ts_ns, int64_t value);

private:
    Config config_;
    int64_t interval_ns_;
    Counter ring_full_;
    std::mutex log_mutex_;
    std::FILE* log_ = nullptr;
};

}  // namespace stethoscope::rtt_bdp
