#include "session_report.hpp"

#include <stethoscope/plugin.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <climits>
#include <ctime>

namespace stethoscope::core {

std::string format_ts(int64_t ts_ns) {
    int64_t secs = ts_ns / 1000000000;
    int64_t us = (ts_ns % 1000000000) / 1000;
    if (us < 0) {
        us += 1000000;
        secs -= 1;
    }
    // strftime once per second per thread: events come in bursts within one second.
    thread_local int64_t cached_secs = INT64_MIN;
    thread_local char prefix[32];
    thread_local size_t prefix_len = 0;
    if (secs != cached_secs) {
        std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        prefix_len = std::strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S.", &tm);
        cached_secs = secs;
    }
    std::string out(prefix, prefix_len);
    char frac[8];
    for (int i = 5; i >= 0; --i) {
        frac[i] = static_cast<char>('0' + us % 10);
        us /= 10;
    }
    frac[6] = 'Z';
    out.append(frac, 7);
    return out;
}

std::string format_ip(const sth_endpoint& e) {
    if (e.family == 4) {  // the common case, without inet_ntop's locale-free sprintf
        char buf[16];
        char* p = buf;
        for (int i = 0; i < 4; ++i) {
            if (i != 0) *p++ = '.';
            p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned>(e.addr[i])).ptr;
        }
        return std::string(buf, static_cast<size_t>(p - buf));
    }
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr, buf, sizeof buf);
    return buf;
}

std::string format_endpoint(const sth_endpoint& e) {
    if (e.family == 6) return "[" + format_ip(e) + "]:" + std::to_string(e.port);
    return format_ip(e) + ":" + std::to_string(e.port);
}

void begin_event(JsonWriter& w, int64_t ts_ns, std::string_view type,
                 const sth_session_info* s) {
    w.begin_object();
    w.key("ts").value(format_ts(ts_ns));
    w.key("event").value(type);
    if (s != nullptr) {
        w.key("session").value(uint64_t{s->session_id});
        w.key("uid").value(s->uid);
        w.key("client").value(format_endpoint(s->client));
        w.key("server").value(format_endpoint(s->server));
    }
}

const char* Session::state_name() const {
    if (close_reason != nullptr) return "closed";
    if (closing || streams[0].fin_seen() || streams[1].fin_seen()) return "closing";
    return handshake_done ? "established" : "handshake";
}

namespace {

void write_syn_options(JsonWriter& w, const char* key, const SynOptions& o) {
    w.key(key).begin_object();
    if (o.mss != 0) w.key("mss").value(uint32_t{o.mss});
    if (o.window_scale >= 0) w.key("window_scale").value(int{o.window_scale});
    w.key("sack_permitted").value(o.sack_permitted);
    w.key("timestamps").value(o.timestamps);
    if (o.fast_open) w.key("fast_open").value(true);
    w.end_object();
}

// Everything session_closed and a snapshot share, after the common fields.
void write_record_body(JsonWriter& w, Session& s, Consumers& consumers) {
    w.key("duration_sec").value(static_cast<double>(s.last_ts - s.info.start_ts_ns) / 1e9);
    for (uint8_t d = 0; d < 2; ++d) {
        w.key(direction_name(d)).begin_object();
        w.key("bytes").value(s.bytes[d]);
        w.key("packets").value(s.packets[d]);
        w.key("gaps").value(uint64_t{s.streams[d].gap_count()});
        w.key("gap_bytes").value(s.streams[d].gap_bytes());
        w.end_object();
    }
    w.key("analysis").begin_object();
    for (size_t i = 0; i < k_flag_count; ++i) w.key(k_flag_name[i]).value(s.flag_counts[i]);
    w.key("overlap_conflict").value(s.overlap_conflicts);
    w.key("bad_checksum").value(s.bad_checksums);
    w.key("ignored_rst").value(s.ignored_rsts);
    w.key("out_of_window").value(s.out_of_window);
    w.end_object();
    const char* syn_keys[2] = {"syn", "syn_ack"};
    for (uint8_t d = 0; d < 2; ++d)
        if (s.syn_seen[d]) write_syn_options(w, syn_keys[d], s.syn_options[d]);
    w.key("gaps").begin_array();
    for (const GapRecord& g : s.gaps) {
        w.begin_object();
        w.key("direction").value(direction_name(g.direction));
        w.key("offset").value(g.offset);
        w.key("length").value(g.length);
        w.key("reason").value(g.reason);
        w.end_object();
    }
    w.end_array();
    if (s.gaps_total > s.gaps.size()) w.key("gaps_not_listed").value(s.gaps_total - s.gaps.size());
    consumers.session_summary(s.info, s.slots, w);
}

}  // namespace

std::string session_opened_event(Session& s, const SynOptions& opener, bool opener_is_syn_ack,
                                 Consumers& consumers, int64_t ts) {
    JsonWriter w;
    begin_event(w, ts, "session_opened", &s.info);
    w.key("pickup").value(s.info.saw_syn == 0);
    if (s.info.saw_syn != 0) write_syn_options(w, opener_is_syn_ack ? "syn_ack" : "syn", opener);
    if (consumers.adds_opened_fields()) consumers.opened_fields(s.info, s.slots, w);
    w.end_object();
    return w.take();
}

std::string session_closed_event(Session& s, Consumers& consumers) {
    JsonWriter w(consumers.size() > 2 ? 4096 : 1024);  // analyzers' summaries make it large
    begin_event(w, s.close_ts, "session_closed", &s.info);
    w.key("reason").value(s.close_reason != nullptr ? s.close_reason : "unknown");
    write_record_body(w, s, consumers);
    w.end_object();
    return w.take();
}

void write_session_snapshot(JsonWriter& w, Session& s, Consumers& consumers, int64_t now) {
    w.begin_object();
    w.key("session").value(uint64_t{s.info.session_id});
    w.key("uid").value(s.info.uid);
    w.key("client").value(format_endpoint(s.info.client));
    w.key("server").value(format_endpoint(s.info.server));
    w.key("start_ts").value(format_ts(s.info.start_ts_ns));
    w.key("state").value(s.state_name());
    w.key("age_sec").value(static_cast<double>(now - s.info.start_ts_ns) / 1e9);
    w.key("idle_sec").value(static_cast<double>(now - s.last_ts) / 1e9);
    w.key("pickup").value(s.info.saw_syn == 0);
    write_record_body(w, s, consumers);
    w.end_object();
}

std::string gap_event(const Session& s, uint8_t dir, uint64_t offset, uint64_t length,
                      std::string_view reason, int64_t ts) {
    JsonWriter w;
    begin_event(w, ts, "gap", &s.info);
    w.key("direction").value(direction_name(dir));
    w.key("offset").value(offset);
    w.key("length").value(length);
    w.key("reason").value(reason);
    w.end_object();
    return w.take();
}

std::string anomaly_event(const Session& s, const char* type, uint8_t dir, uint32_t seq,
                          uint32_t length, int64_t ts) {
    JsonWriter w;
    begin_event(w, ts, type, &s.info);
    w.key("direction").value(direction_name(dir));
    w.key("seq").value(uint64_t{seq});
    w.key("length").value(uint64_t{length});
    w.end_object();
    return w.take();
}

std::string metrics_event(const Session& s, std::string_view fields, int64_t ts) {
    JsonWriter w;
    begin_event(w, ts, "metrics", &s.info);
    w.raw(fields);
    w.end_object();
    return w.take();
}

std::string capture_stats_json(const CaptureStatsInput& in, bool with_header) {
    JsonWriter w;
    if (with_header) begin_event(w, in.ts_ns, "capture_stats", nullptr);
    else w.begin_object();
    w.key("packets").value(in.packets);
    w.key("bytes").value(in.bytes);
    w.key("final").value(in.final);
    w.key("received").value(in.received);
    w.key("dropped_kernel").value(in.dropped_kernel);
    w.key("dropped_interface").value(in.dropped_interface);
    w.key("sessions_opened").value(in.sessions_opened);
    w.key("sessions_closed").value(in.sessions_closed);
    w.key("sessions_evicted").value(in.sessions_evicted);
    w.key("sessions_drain_forced").value(in.sessions_drain_forced);
    w.key("sessions_open").value(in.sessions_open);
    w.key("stream_bytes").value(in.stream_bytes);
    w.key("gap_bytes").value(in.gap_bytes);
    w.key("no_session").value(in.no_session);
    w.key("icmp_matched").value(in.icmp_matched);
    w.key("workers").value(in.workers);
    w.key("dropped_queue_full").value(in.dropped_queue_full);
    w.key("events_published").value(in.events_published);
    w.key("events_dropped").value(in.events_dropped);
    static const char* const k_frag[6] = {"received", "reassembled", "timed_out",
                                          "evicted",  "overlaps",    "invalid"};
    w.key("fragments").begin_object();
    for (int i = 0; i < 6; ++i) w.key(k_frag[i]).value(in.fragments[i]);
    w.end_object();
    w.key("decode").begin_object();
    for (const auto& [name, value] : in.decode) w.key(name).value(value);
    w.end_object();
    w.key("counters").begin_object();
    for (const auto& [name, value] : in.counters) w.key(name).value(value);
    w.end_object();
    w.end_object();
    return w.take();
}

}  // namespace stethoscope::core
