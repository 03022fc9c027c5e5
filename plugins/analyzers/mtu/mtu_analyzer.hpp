// The mtu analyzer: what packet sizes a session's path really carries.
//
// Per direction it keeps the largest IP packet (sth_segment::ip_total_len, IP header
// included) and the largest TCP payload seen. ICMP errors that quote one of the session's
// packets (the core matches them and calls session_icmp) are split into path-MTU errors —
// IPv4 destination unreachable / fragmentation needed (type 3 code 4) and ICMPv6 packet
// too big (type 2) — and other errors (counted only). For path-MTU errors it keeps the
// count and the smallest non-zero MTU reported, with its reporter (the router or host
// that sent the error), the direction of the quoted packet and the capture time; each of
// the first k_sampled_events of a session is also published as an `icmp_mtu` event.
//
// Results go into session_closed (and live snapshots) as one "mtu" object:
//   {"requests": {"largest_ip_packet": 1500, "largest_tcp_payload": 1460},
//    "responses": {...},
//    "icmp": {"count": 1, "min_mtu": 1400, "reporter": "198.18.0.254",
//             "direction": "requests", "at": "2023-11-14T22:13:20.500000Z",
//             "other_errors": 0}}
// ("min_mtu", "reporter", "direction" and "at" are null when no error carried an MTU).
//
// With config.icmp the plugin asks the host to OR an ICMP clause into the capture filter
// (capture_filter()); without it, ICMP errors count whenever the capture lets them in.
//
// Invariants: per-session state is a fixed-size struct under 256 bytes, allocated in
// session_open and freed in session_done; session_packet allocates nothing.
// Threading: per-session callbacks come from the session's worker, in order; the only
// shared state is the host's counters (thread-safe).
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>

#include <cstdint>
#include <string>

namespace stethoscope::mtu {

class MtuAnalyzer : public AnalyzerPlugin {
public:
    using Config = mtu::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return mtu::parse_config(json, path);
    }
    // icmp_mtu events published per session; later errors are only counted.
    static constexpr uint32_t k_sampled_events = 25;
    // The clause OR'ed into the capture filter with config.icmp.
    static constexpr const char* k_icmp_filter =
        "(icmp[icmptype] == icmp-unreach and icmp[icmpcode] == 4) or (icmp6 and ip6[40] == 2)";

    MtuAnalyzer(const Host& host, Config config);

    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg) noexcept;
    void session_icmp(void* cookie, const sth_session_info& s, const sth_icmp_error& icmp);
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& out);
    void session_done(void* cookie, const sth_session_info& s);
    std::string capture_filter() const { return config_.icmp ? k_icmp_filter : ""; }

private:
    struct SessionState;
    void publish_icmp_event(const sth_session_info& s, const sth_icmp_error& icmp) const;
    static void write_icmp(JsonWriter& w, const SessionState& st);

    Config config_;
    Counter icmp_mtu_errors_, icmp_other_errors_, events_sampled_out_;
};

}  // namespace stethoscope::mtu
