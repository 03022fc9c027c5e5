#include "rates_analyzer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

namespace stethoscope::rates {

struct RatesAnalyzer::SessionState {
    Counts total;
    Counts at_report;  // `total` at the last report
    double peak[2][3] = {{0, 0, 0}, {0, 0, 0}};  // per direction: packets, payload, ip per s
    int64_t first_ts_ns = 0;
    int64_t last_ts_ns = 0;
    int64_t last_report_ns = 0;
    uint32_t intervals = 0;
};

namespace {

// Writes `units` / 10^decimals with at most `decimals` decimals, trailing zeros dropped
// ("1.2", "100000", "0.005"). Integer arithmetic: printf's float formatting was the
// largest cost of a session summary.
void write_scaled(JsonWriter& w, uint64_t units, int decimals) {
    uint64_t scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    char buf[48];
    char* end = std::to_chars(buf, buf + 24, units / scale).ptr;
    uint64_t frac = units % scale;
    if (frac != 0) {
        *end++ = '.';
        for (uint64_t digit = scale / 10; digit != 0 && frac != 0; digit /= 10) {
            *end++ = static_cast<char>('0' + frac / digit);
            frac %= digit;
        }
    }
    w.raw(std::string_view(buf, static_cast<size_t>(end - buf)));
}

// A duration in seconds with nanosecond precision.
void seconds_value(JsonWriter& w, int64_t ns) {
    write_scaled(w, ns > 0 ? static_cast<uint64_t>(ns) : 0, 9);
}

// A rate with three decimals at most.
void rate_value(JsonWriter& w, double v) {
    if (!(v >= 0) || v > 1e15) {  // cannot happen for counts over a positive time
        w.value(v);
        return;
    }
    write_scaled(w, static_cast<uint64_t>(std::llround(v * 1000)), 3);
}

// {"packets": .., "payload_bytes": .., "ip_bytes": ..} of counts.
void write_counts(JsonWriter& w, const uint64_t (&c)[3]) {
    w.begin_object();
    w.key("packets").value(c[0]);
    w.key("payload_bytes").value(c[1]);
    w.key("ip_bytes").value(c[2]);
    w.end_object();
}

// The same keys with rates.
void write_rates(JsonWriter& w, const double (&r)[3]) {
    w.begin_object();
    rate_value(w.key("packets"), r[0]);
    rate_value(w.key("payload_bytes"), r[1]);
    rate_value(w.key("ip_bytes"), r[2]);
    w.end_object();
}

// One direction's counts in (before, now] and their rates over `secs`: the counts'
// members, then "per_sec": {...}.
void write_interval(JsonWriter& w, const RatesAnalyzer::Counts& now,
                    const RatesAnalyzer::Counts& before, unsigned d, double secs) {
    const uint64_t delta[3] = {now.packets[d] - before.packets[d],
                               now.payload_bytes[d] - before.payload_bytes[d],
                               now.ip_bytes[d] - before.ip_bytes[d]};
    w.key("packets").value(delta[0]);
    w.key("payload_bytes").value(delta[1]);
    w.key("ip_bytes").value(delta[2]);
    const double per_sec[3] = {static_cast<double>(delta[0]) / secs,
                               static_cast<double>(delta[1]) / secs,
                               static_cast<double>(delta[2]) / secs};
    write_rates(w.key("per_sec"), per_sec);
}

double seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

RatesAnalyzer::RatesAnalyzer(const Host& host, Config config)
    : AnalyzerPlugin(host),
      interval_ns_(static_cast<int64_t>(std::llround(config.interval_sec * 1e9))) {
    if (interval_ns_ < 1) interval_ns_ = 1;
}

void* RatesAnalyzer::session_open(const sth_session_info& s) {
    static_assert(sizeof(SessionState) < 256, "rates state must stay under 256 bytes");
    auto* st = new SessionState();
    st->last_report_ns = s.start_ts_ns;
    sessions_active_.fetch_add(1, std::memory_order_relaxed);
    start_global_clock(s.start_ts_ns);
    return st;
}

void RatesAnalyzer::session_packet(void* cookie, const sth_session_info&, const sth_packet&,
                                   const sth_segment& seg) noexcept {
    auto* st = static_cast<SessionState*>(cookie);
    if (st == nullptr) return;  // session_open failed (logged by the SDK)
    const unsigned d = seg.direction & 1u;
    ++st->total.packets[d];
    st->total.payload_bytes[d] += seg.payload_len;
    st->total.ip_bytes[d] += seg.ip_total_len;
    if (st->first_ts_ns == 0) st->first_ts_ns = seg.ts_ns;
    st->last_ts_ns = seg.ts_ns;
    totals_.packets[d].fetch_add(1, std::memory_order_relaxed);
    totals_.payload_bytes[d].fetch_add(seg.payload_len, std::memory_order_relaxed);
    totals_.ip_bytes[d].fetch_add(seg.ip_total_len, std::memory_order_relaxed);
}

void RatesAnalyzer::session_tick(void* cookie, const sth_session_info&, int64_t now_ns,
                                 JsonSink& metrics) {
    maybe_publish_global(now_ns);
    auto* st = static_cast<SessionState*>(cookie);
    if (st == nullptr || now_ns - st->last_report_ns < interval_ns_) return;
    const double secs = seconds(now_ns - st->last_report_ns);
    JsonWriter w;
    w.begin_object();
    seconds_value(w.key("interval_sec"), now_ns - st->last_report_ns);
    for (unsigned d = 0; d < 2; ++d) {
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        write_interval(w, st->total, st->at_report, d, secs);
        w.end_object();
        const uint64_t delta[3] = {st->total.packets[d] - st->at_report.packets[d],
                                   st->total.payload_bytes[d] - st->at_report.payload_bytes[d],
                                   st->total.ip_bytes[d] - st->at_report.ip_bytes[d]};
        for (int i = 0; i < 3; ++i)
            st->peak[d][i] = std::max(st->peak[d][i], static_cast<double>(delta[i]) / secs);
    }
    w.end_object();
    metrics.put("rates", w.str());
    st->at_report = st->total;
    st->last_report_ns = now_ns;
    ++st->intervals;
}

void RatesAnalyzer::session_summary(void* cookie, const sth_session_info&, JsonSink& out) {
    const auto* st = static_cast<const SessionState*>(cookie);
    if (st == nullptr) return;
    const double duration = seconds(st->last_ts_ns - st->first_ts_ns);
    JsonWriter w;
    w.begin_object();
    seconds_value(w.key("duration_sec"), st->last_ts_ns - st->first_ts_ns);
    for (unsigned d = 0; d < 2; ++d) {
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        const uint64_t totals[3] = {st->total.packets[d], st->total.payload_bytes[d],
                                    st->total.ip_bytes[d]};
        w.key("packets").value(totals[0]);
        w.key("payload_bytes").value(totals[1]);
        w.key("ip_bytes").value(totals[2]);
        w.key("avg_per_sec");
        if (duration > 0) {
            const double avg[3] = {static_cast<double>(totals[0]) / duration,
                                   static_cast<double>(totals[1]) / duration,
                                   static_cast<double>(totals[2]) / duration};
            write_rates(w, avg);
        } else {
            w.null();
        }
        w.key("peak_per_sec");
        st->intervals > 0 ? write_rates(w, st->peak[d]) : void(w.null());
        w.end_object();
    }
    w.end_object();
    out.put("rates", w.str());
}

void RatesAnalyzer::session_done(void* cookie, const sth_session_info&) {
    if (cookie == nullptr) return;
    delete static_cast<SessionState*>(cookie);
    sessions_active_.fetch_sub(1, std::memory_order_relaxed);
}

void RatesAnalyzer::start_global_clock(int64_t start_ns) {
    if (next_global_ns_.load(std::memory_order_acquire) != 0) return;
    std::lock_guard<std::mutex> lock(global_mutex_);
    if (next_global_ns_.load(std::memory_order_relaxed) != 0) return;
    global_last_ns_ = start_ns;
    next_global_ns_.store(start_ns + interval_ns_, std::memory_order_release);
}

RatesAnalyzer::Counts RatesAnalyzer::global_totals() const {
    Counts c;
    for (unsigned d = 0; d < 2; ++d) {
        c.packets[d] = totals_.packets[d].load(std::memory_order_relaxed);
        c.payload_bytes[d] = totals_.payload_bytes[d].load(std::memory_order_relaxed);
        c.ip_bytes[d] = totals_.ip_bytes[d].load(std::memory_order_relaxed);
    }
    return c;
}

void RatesAnalyzer::maybe_publish_global(int64_t now_ns) {
    int64_t due = next_global_ns_.load(std::memory_order_acquire);
    if (due == 0 || now_ns < due) return;
    // Exactly one thread moves the deadline on, and that thread publishes.
    if (!next_global_ns_.compare_exchange_strong(due, now_ns + interval_ns_,
                                                 std::memory_order_acq_rel,
                                                 std::memory_order_relaxed))
        return;
    JsonWriter w;
    {
        std::lock_guard<std::mutex> lock(global_mutex_);
        // A later interval's winner got here first: this one's counts are in its report.
        if (now_ns <= global_last_ns_) return;
        const Counts now = global_totals();
        const double secs = seconds(now_ns - global_last_ns_);
        w.begin_object();
        w.key("rates").begin_object();
        w.key("scope").value("all");
        seconds_value(w.key("interval_sec"), now_ns - global_last_ns_);
        w.key("sessions_active").value(sessions_active_.load(std::memory_order_relaxed));
        for (unsigned d = 0; d < 2; ++d) {
            w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
            write_interval(w, now, global_last_, d, secs);
            const uint64_t totals[3] = {now.packets[d], now.payload_bytes[d], now.ip_bytes[d]};
            write_counts(w.key("total"), totals);
            w.end_object();
        }
        w.end_object();
        w.end_object();
        global_last_ = now;
        global_last_ns_ = now_ns;
    }
    host().publish("metrics", w.str(), nullptr);
}

}  // namespace stethoscope::rates
