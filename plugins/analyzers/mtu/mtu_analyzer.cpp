#include "mtu_analyzer.hpp"

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>

namespace stethoscope::mtu {

struct MtuAnalyzer::SessionState {
    uint32_t largest_ip[2] = {0, 0};
    uint32_t largest_payload[2] = {0, 0};
    uint32_t icmp_mtu_errors = 0;
    uint32_t icmp_other_errors = 0;
    uint32_t min_mtu = 0;  // 0: no error carried an MTU
    uint8_t min_mtu_direction = 0;
    sth_endpoint min_mtu_reporter{};
    int64_t min_mtu_ts_ns = 0;
};

namespace {

constexpr const char* k_no_icmp =
    R"({"count":0,"min_mtu":null,"reporter":null,"direction":null,"at":null,"other_errors":0})";

bool carries_mtu(const sth_icmp_error& e) {
    return (e.ip_version == 4 && e.type == 3 && e.code == 4) ||
           (e.ip_version == 6 && e.type == 2);
}

std::string format_ip(const sth_endpoint& e) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr, buf, sizeof buf);
    return buf;
}

// RFC 3339 UTC with microseconds, as event timestamps: "2023-11-14T22:13:20.000100Z".
std::string format_ts(int64_t ts_ns) {
    const std::time_t secs = static_cast<std::time_t>(ts_ns / 1'000'000'000);
    const long micros = static_cast<long>((ts_ns % 1'000'000'000) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
    return buf;
}

}  // namespace

MtuAnalyzer::MtuAnalyzer(const Host& host, Config config)
    : AnalyzerPlugin(host),
      config_(config),
      icmp_mtu_errors_(host.counter("icmp_mtu_errors")),
      icmp_other_errors_(host.counter("icmp_other_errors")),
      events_sampled_out_(host.counter("icmp_mtu_events_sampled_out")) {}

void* MtuAnalyzer::session_open(const sth_session_info&) {
    static_assert(sizeof(SessionState) < 256, "mtu state must stay under 256 bytes");
    return new SessionState();
}

void MtuAnalyzer::session_packet(void* cookie, const sth_session_info&, const sth_packet&,
                                 const sth_segment& seg) noexcept {
    auto* st = static_cast<SessionState*>(cookie);
    if (st == nullptr) return;  // session_open failed (logged by the SDK)
    const unsigned d = seg.direction & 1u;
    if (seg.ip_total_len > st->largest_ip[d]) st->largest_ip[d] = seg.ip_total_len;
    if (seg.payload_len > st->largest_payload[d]) st->largest_payload[d] = seg.payload_len;
}

void MtuAnalyzer::session_icmp(void* cookie, const sth_session_info& s,
                               const sth_icmp_error& icmp) {
    auto* st = static_cast<SessionState*>(cookie);
    if (st == nullptr) return;
    if (!carries_mtu(icmp)) {
        ++st->icmp_other_errors;
        icmp_other_errors_.add();
        return;
    }
    ++st->icmp_mtu_errors;
    icmp_mtu_errors_.add();
    if (icmp.mtu != 0 && (st->min_mtu == 0 || icmp.mtu < st->min_mtu)) {
        st->min_mtu = icmp.mtu;
        st->min_mtu_direction = icmp.direction & 1u;
        st->min_mtu_reporter = icmp.reporter;
        st->min_mtu_ts_ns = icmp.ts_ns;
    }
    if (st->icmp_mtu_errors <= k_sampled_events)
        publish_icmp_event(s, icmp);
    else
        events_sampled_out_.add();
}

void MtuAnalyzer::publish_icmp_event(const sth_session_info& s, const sth_icmp_error& icmp) const {
    JsonWriter w;
    w.begin_object();
    w.key("direction").value(direction_name(icmp.direction));
    w.key("mtu");
    if (icmp.mtu != 0)
        w.value(icmp.mtu);
    else
        w.null();  // a pre-RFC 1191 router: fragmentation needed, next-hop MTU unknown
    w.key("reporter").value(format_ip(icmp.reporter));
    w.key("ip_version").value(static_cast<uint32_t>(icmp.ip_version));
    w.key("type").value(static_cast<uint32_t>(icmp.type));
    w.key("code").value(static_cast<uint32_t>(icmp.code));
    w.key("quoted_seq").value(icmp.quoted_seq);
    w.end_object();
    host().publish("icmp_mtu", w.str(), &s);
}

void MtuAnalyzer::session_summary(void* cookie, const sth_session_info&, JsonSink& out) {
    const auto* st = static_cast<const SessionState*>(cookie);
    if (st == nullptr) return;
    JsonWriter w;
    w.begin_object();
    for (unsigned d = 0; d < 2; ++d) {
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        w.key("largest_ip_packet").value(st->largest_ip[d]);
        w.key("largest_tcp_payload").value(st->largest_payload[d]);
        w.end_object();
    }
    w.key("icmp");
    if (st->icmp_mtu_errors == 0 && st->icmp_other_errors == 0) {
        w.raw(k_no_icmp);  // the common case, without formatting
    } else {
        write_icmp(w, *st);
    }
    w.end_object();
    out.put("mtu", w.str());
}

void MtuAnalyzer::write_icmp(JsonWriter& w, const SessionState& st) {
    const bool known = st.min_mtu != 0;
    w.begin_object();
    w.key("count").value(st.icmp_mtu_errors);
    w.key("min_mtu");
    known ? w.value(st.min_mtu) : w.null();
    w.key("reporter");
    known ? w.value(format_ip(st.min_mtu_reporter)) : w.null();
    w.key("direction");
    known ? w.value(direction_name(st.min_mtu_direction)) : w.null();
    w.key("at");
    known ? w.value(format_ts(st.min_mtu_ts_ns)) : w.null();
    w.key("other_errors").value(st.icmp_other_errors);
    w.end_object();
}

void MtuAnalyzer::session_done(void* cookie, const sth_session_info&) {
    delete static_cast<SessionState*>(cookie);
}

}  // namespace stethoscope::mtu
