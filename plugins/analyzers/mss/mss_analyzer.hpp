// The mss analyzer: the maximum segment size each side offered and what was really sent.
//
// The MSS option of each side's SYN (client: SYN, server: SYN-ACK; the first one seen per
// side) is kept. A data segment whose TCP payload exceeds the MSS its receiver offered is
// counted per direction: on the wire that cannot happen, so in a capture it means
// segmentation offload on the sending host (TSO/GSO: the sniffer sees the stack's
// super-segments before the NIC cuts them) or receive offload where the capture was taken
// (GRO/LRO merged segments). Segments are only judged against an MSS that was seen: when a
// side's SYN was not captured, or carried no MSS option, its MSS is null and nothing sent
// towards it is counted. The largest payload per direction is kept too.
//
// Results go into session_closed (and live snapshots) as one "mss" object:
//   {"client": 1460, "server": 1400,
//    "requests": {"largest_payload": 2800, "oversized_segments": 2},
//    "responses": {"largest_payload": 1460, "oversized_segments": 0},
//    "note": "..."}        ("note" only when some segment was oversized)
// Requests are judged against the server's MSS, responses against the client's.
//
// Invariants: per-session state is a fixed-size struct under 256 bytes, allocated in
// session_open and freed in session_done; session_packet allocates nothing.
// Threading: per-session callbacks come from the session's worker, in order; the only
// shared state is the host's counter (thread-safe).
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>

#include <cstdint>

namespace stethoscope::mss {

class MssAnalyzer : public AnalyzerPlugin {
public:
    using Config = mss::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return mss::parse_config(json, path);
    }
    static constexpr const char* k_offload_note =
        "payload above the receiver's MSS: segmentation offload (TSO/GSO) on the sender or "
        "receive offload (GRO/LRO) where the capture was taken";

    MssAnalyzer(const Host& host, Config config);

    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg) noexcept;
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& out);
    void session_done(void* cookie, const sth_session_info& s);

private:
    struct SessionState;

    Counter oversized_;
};

}  // namespace stethoscope::mss
