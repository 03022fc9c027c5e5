#include "rtt_bdp_analyzer.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace stethoscope::rtt_bdp {

namespace {

// Hands one session's sample decisions to the plugin's log.
class SessionLog : public SampleSink {
public:
    SessionLog(RttBdpAnalyzer& a, uint64_t uid) : a_(a), uid_(uid) {}
    void ack_sample(uint8_t dir, int64_t ack_ts_ns, int64_t rtt_ns, bool karn) override {
        a_.log_line(karn ? "karn" : "sample", uid_, dir, ack_ts_ns, rtt_ns);
    }
    void ring_full(uint8_t dir, int64_t seg_ts_ns, uint32_t end_seq) override {
        a_.log_line("full", uid_, dir, seg_ts_ns, end_seq);
    }

private:
    RttBdpAnalyzer& a_;
    uint64_t uid_;
};

// The segment with every 1.3 field present (zero, or "unknown", when the host is older).
sth_segment complete(const sth_segment& seg) {
    sth_segment s{};
    std::memcpy(&s, &seg, seg.struct_size < sizeof s ? seg.struct_size : sizeof s);
    if (!STH_HAS_FIELD(&seg, sth_segment, window_shift)) s.window_shift = -1;
    if (!STH_HAS_FIELD(&seg, sth_segment, ts_ecr)) s.has_timestamps = 0;
    return s;
}

}  // namespace

RttBdpAnalyzer::RttBdpAnalyzer(const Host& host, Config config)
    : AnalyzerPlugin(host),
      config_(std::move(config)),
      interval_ns_(static_cast<int64_t>(std::llround(config_.interval_sec * 1e9))),
      ring_full_(host.counter("ring_full")) {
    if (!config_.samples_log.empty()) {
        log_ = std::fopen(config_.samples_log.c_str(), "a");
        if (log_ == nullptr)
            throw ConfigError(std::string(host.config_path()) + ".samples_log: cannot open \"" +
                              config_.samples_log + "\": " + std::strerror(errno));
    }
}

RttBdpAnalyzer::~RttBdpAnalyzer() {
    if (log_ != nullptr) std::fclose(log_);
}

void RttBdpAnalyzer::log_line(const char* kind, uint64_t uid, uint8_t dir, int64_t ts_ns,
                              int64_t value) {
    if (log_ == nullptr) return;
    std::lock_guard<std::mutex> lock(log_mutex_);
    std::fprintf(log_, "%s %llu %s %lld %lld\n", kind, static_cast<unsigned long long>(uid),
                 direction_name(dir), static_cast<long long>(ts_ns), static_cast<long long>(value));
    std::fflush(log_);
}

void* RttBdpAnalyzer::session_open(const sth_session_info&) { return new SessionRtt(); }

void RttBdpAnalyzer::session_packet(void* cookie, const sth_session_info& s, const sth_packet&,
                                    const sth_segment& seg) {
    if (cookie == nullptr) return;
    auto* rtt = static_cast<SessionRtt*>(cookie);
    bool full;
    if (log_ != nullptr) {
        SessionLog log(*this, s.uid);
        full = rtt->on_segment(complete(seg), interval_ns_, &log);
    } else if (seg.struct_size >= sizeof(sth_segment)) {
        full = rtt->on_segment(seg, interval_ns_, nullptr);  // the common case: no copy
    } else {
        full = rtt->on_segment(complete(seg), interval_ns_, nullptr);
    }
    if (full) ring_full_.add();
}

void RttBdpAnalyzer::session_tick(void* cookie, const sth_session_info&, int64_t now_ns,
                                  JsonSink& metrics) {
    if (cookie == nullptr) return;
    auto* rtt = static_cast<SessionRtt*>(cookie);
    rtt->advance(now_ns, interval_ns_);
    if (!rtt->take_metrics_due()) return;
    JsonWriter w;  // no thread_local in a plugin: it breaks LeakSanitizer (see plugin.hpp)
    w.clear();
    rtt->write_metrics(w);
    metrics.put("rtt", w.str());
}

void RttBdpAnalyzer::session_summary(void* cookie, const sth_session_info&, JsonSink& sink) {
    if (cookie == nullptr) return;
    const auto* rtt = static_cast<const SessionRtt*>(cookie);
    JsonWriter w;
    w.clear();
    rtt->write_rtt(w);
    sink.put("rtt", w.str());
    w.clear();
    rtt->write_limits(w);
    sink.put("limits", w.str());
}

void RttBdpAnalyzer::session_done(void* cookie, const sth_session_info&) {
    delete static_cast<SessionRtt*>(cookie);
}

}  // namespace stethoscope::rtt_bdp
