// The stall analyzer: flow_stalled / flow_resumed events per session and direction, and
// "stall" in session_closed. The rules are in session_stall.hpp.
//
// Threading: per-session state is the cookie (one worker); nothing else is shared.
#pragma once

#include "config.hpp"
#include "session_stall.hpp"

#include <stethoscope/plugin.hpp>

namespace stethoscope::stall {

class StallAnalyzer : public AnalyzerPlugin {
public:
    using Config = stall::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return stall::parse_config(json, path);
    }
    StallAnalyzer(const Host& host, Config config);

    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg);
    void session_tick(void* cookie, const sth_session_info& s, int64_t now_ns, JsonSink& metrics);
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& sink);
    void session_done(void* cookie, const sth_session_info& s);

private:
    Thresholds thresholds_;
    Counter stalls_;
};

}  // namespace stethoscope::stall
