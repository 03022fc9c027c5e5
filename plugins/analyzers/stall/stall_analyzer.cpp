#include "stall_analyzer.hpp"

#include <cstring>

namespace stethoscope::stall {

namespace {

// Publishes a session's stall events through the host, counting the stalls.
class SessionEvents : public StallEvents {
public:
    SessionEvents(const Host& host, const sth_session_info& s, const Counter& stalls)
        : host_(host), s_(s), stalls_(stalls) {}
    void publish(const char* type, const JsonWriter& fields) override {
        if (std::strcmp(type, "flow_stalled") == 0) stalls_.add();
        host_.publish(type, fields.str(), &s_);
    }

private:
    const Host& host_;
    const sth_session_info& s_;
    const Counter& stalls_;
};

sth_segment complete(const sth_segment& seg) {
    sth_segment s{};
    std::memcpy(&s, &seg, seg.struct_size < sizeof s ? seg.struct_size : sizeof s);
    if (!STH_HAS_FIELD(&seg, sth_segment, raw_window)) s.raw_window = 0;
    return s;
}

}  // namespace

StallAnalyzer::StallAnalyzer(const Host& host, Config config)
    : AnalyzerPlugin(host),
      thresholds_{config.threshold_ms * 1'000'000, config.min_rtt_factor},
      stalls_(host.counter("stalls")) {}

void* StallAnalyzer::session_open(const sth_session_info&) { return new SessionStall(); }

void StallAnalyzer::session_packet(void* cookie, const sth_session_info& s, const sth_packet&,
                                   const sth_segment& seg) {
    if (cookie == nullptr) return;
    SessionEvents out(host(), s, stalls_);
    auto* st = static_cast<SessionStall*>(cookie);
    if (seg.struct_size >= sizeof(sth_segment)) st->on_segment(seg, thresholds_, out);  // no copy
    else st->on_segment(complete(seg), thresholds_, out);
}

void StallAnalyzer::session_tick(void* cookie, const sth_session_info& s, int64_t now_ns,
                                 JsonSink&) {
    if (cookie == nullptr) return;
    SessionEvents out(host(), s, stalls_);
    static_cast<SessionStall*>(cookie)->on_tick(now_ns, thresholds_, out);
}

void StallAnalyzer::session_summary(void* cookie, const sth_session_info&, JsonSink& sink) {
    if (cookie == nullptr) return;
    JsonWriter w;  // no thread_local in a plugin: it breaks LeakSanitizer (see plugin.hpp)
    w.clear();
    static_cast<const SessionStall*>(cookie)->write_summary(w);
    sink.put("stall", w.str());
}

void StallAnalyzer::session_done(void* cookie, const sth_session_info&) {
    delete static_cast<SessionStall*>(cookie);
}

}  // namespace stethoscope::stall
