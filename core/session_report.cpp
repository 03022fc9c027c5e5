#include "session_report.hpp"

#include <stethoscope/plugin.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <climits>
#include <ctime>

namespace stethoscope::core {

size_t format_ts(int64_t ts_ns, char* out) {
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
    std::memcpy(out, prefix, prefix_len);
    char* frac = out + prefix_len;
    for (int i = 5; i >= 0; --i) {
        frac[i] = static_cast<char>('0' + us % 10);
        us /= 10;
    }
    frac[6] = 'Z';
    return prefix_len + 7;
}

std::string format_ts(int64_t ts_ns) {
    char buf[40];
    return std::string(buf, format_ts(ts_ns, buf));
}

namespace {
// Writes the address into buf (room for INET6_ADDRSTRLEN); returns its length.
size_t format_ip_into(const sth_endpoint& e, char* buf) {
    if (e.family == 4) {  // the common case, without inet_ntop's locale-free sprintf
        char* p = buf;
        for (int i = 0; i < 4; ++i) {
            if (i != 0) *p++ = '.';
            p = std::to_chars(p, buf + 16, static_cast<unsigned>(e.addr[i])).ptr;
        }
        return static_cast<size_t>(p - buf);
    }
    buf[0] = '\0';
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr, buf, INET6_ADDRSTRLEN);
    return std::strlen(buf);
}

// "198.18.0.1:80" or "[2001:db8::1]:80" into buf (room for 64); returns its length.
size_t format_endpoint_into(const sth_endpoint& e, char* buf) {
    char* p = buf;
    if (e.family == 6) *p++ = '[';
    p += format_ip_into(e, p);
    if (e.family == 6) *p++ = ']';
    *p++ = ':';
    p = std::to_chars(p, buf + 64, unsigned{e.port}).ptr;
    return static_cast<size_t>(p - buf);
}
}  // namespace

std::string format_ip(const sth_endpoint& e) {
    char buf[INET6_ADDRSTRLEN + 1];
    return std::string(buf, format_ip_into(e, buf));
}

std::string format_endpoint(const sth_endpoint& e) {
    char buf[64];
    return std::string(buf, format_endpoint_into(e, buf));
}

void begin_event(JsonWriter& w, int64_t ts_ns, std::string_view type,
                 const sth_session_info* s) {
    char buf[64];
    w.begin_object();
    w.key("ts").value(std::string_view(buf, format_ts(ts_ns, buf)));
    w.key("event").value(type);
    if (s != nullptr) {
        w.key("session").value(uint64_t{s->session_id});
        w.key("uid").value(s->uid);
        w.key("client").value(std::string_view(buf, format_endpoint_into(s->client, buf)));
        w.key("server").value(std::string_view(buf, format_endpoint_into(s->server, buf)));
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
void write_record_body(JsonWriter& w, const ClosedRecord& r) {
    w.key("duration_sec").value(static_cast<double>(r.last_ts - r.info.start_ts_ns) / 1e9);
    for (uint8_t d = 0; d < 2; ++d) {
        w.key(direction_name(d)).begin_object();
        w.key("bytes").value(r.bytes[d]);
        w.key("packets").value(r.packets[d]);
        w.key("gaps").value(uint64_t{r.gap_count[d]});
        w.key("gap_bytes").value(r.gap_bytes[d]);
        w.end_object();
    }
    w.key("analysis").begin_object();
    for (size_t i = 0; i < k_flag_count; ++i) w.key(k_flag_name[i]).value(r.flag_counts[i]);
    w.key("overlap_conflict").value(r.overlap_conflicts);
    w.key("bad_checksum").value(r.bad_checksums);
    w.key("ignored_rst").value(r.ignored_rsts);
    w.key("out_of_window").value(r.out_of_window);
    w.end_object();
    const char* syn_keys[2] = {"syn", "syn_ack"};
    for (uint8_t d = 0; d < 2; ++d)
        if (r.syn_seen[d]) write_syn_options(w, syn_keys[d], r.syn_options[d]);
    w.key("gaps").begin_array();
    for (const GapRecord& g : r.gaps) {
        w.begin_object();
        w.key("direction").value(direction_name(g.direction));
        w.key("offset").value(g.offset);
        w.key("length").value(g.length);
        w.key("reason").value(g.reason);
        w.end_object();
    }
    w.end_array();
    if (r.gaps_total > r.gaps.size()) w.key("gaps_not_listed").value(r.gaps_total - r.gaps.size());
    if (!r.consumer_fields.empty()) w.raw(r.consumer_fields);
}

}  // namespace

void capture_opened(OpenedRecord& r, Session& s, const SynOptions& opener, bool opener_is_syn_ack,
                    Consumers& consumers, int64_t ts) {
    r.info = s.info;
    r.ts = ts;
    r.opener = opener;
    r.opener_is_syn_ack = opener_is_syn_ack;
    r.consumer_fields.clear();
    if (!consumers.adds_opened_fields()) return;
    JsonWriter w(256);
    consumers.opened_fields(s.info, s.slots, w);
    r.consumer_fields = w.take();
}

void write_opened(JsonWriter& w, const OpenedRecord& r) {
    begin_event(w, r.ts, "session_opened", &r.info);
    w.key("pickup").value(r.info.saw_syn == 0);
    if (r.info.saw_syn != 0) write_syn_options(w, r.opener_is_syn_ack ? "syn_ack" : "syn", r.opener);
    if (!r.consumer_fields.empty()) w.raw(r.consumer_fields);
    w.end_object();
}

void capture_closed(ClosedRecord& r, Session& s, Consumers& consumers) {
    r.info = s.info;
    r.reason = s.close_reason != nullptr ? s.close_reason : "unknown";
    r.close_ts = s.close_ts;
    r.last_ts = s.last_ts;
    for (uint8_t d = 0; d < 2; ++d) {
        r.bytes[d] = s.bytes[d];
        r.packets[d] = s.packets[d];
        r.gap_count[d] = s.streams[d].gap_count();
        r.gap_bytes[d] = s.streams[d].gap_bytes();
        r.syn_seen[d] = s.syn_seen[d];
        r.syn_options[d] = s.syn_options[d];
    }
    std::copy(s.flag_counts, s.flag_counts + k_flag_count, r.flag_counts);
    r.overlap_conflicts = s.overlap_conflicts;
    r.bad_checksums = s.bad_checksums;
    r.ignored_rsts = s.ignored_rsts;
    r.out_of_window = s.out_of_window;
    r.gaps = s.gaps;
    r.gaps_total = s.gaps_total;
    // The consumers' part is theirs to write, on this thread (it reads their state).
    JsonWriter w(0);
    consumers.session_summary(s.info, s.slots, w);
    r.consumer_fields = w.take();
}

void write_closed(JsonWriter& w, const ClosedRecord& r) {
    begin_event(w, r.close_ts, "session_closed", &r.info);
    w.key("reason").value(r.reason);
    write_record_body(w, r);
    w.end_object();
}

void session_closed_event(JsonWriter& w, Session& s, Consumers& consumers) {
    ClosedRecord r;
    capture_closed(r, s, consumers);
    w.clear();
    write_closed(w, r);
}

void write_session_snapshot(JsonWriter& w, Session& s, Consumers& consumers, int64_t now) {
    w.begin_object();
    w.key("session").value(uint64_t{s.info.session_id});
    w.key("uid").value(s.info.uid);
    w.key("client").value(format_endpoint(s.info.client));
    w.key("server").value(format_endpoint(s.info.server));
    char buf[40];
    w.key("start_ts").value(std::string_view(buf, format_ts(s.info.start_ts_ns, buf)));
    w.key("state").value(s.state_name());
    w.key("age_sec").value(static_cast<double>(now - s.info.start_ts_ns) / 1e9);
    w.key("idle_sec").value(static_cast<double>(now - s.last_ts) / 1e9);
    w.key("pickup").value(s.info.saw_syn == 0);
    ClosedRecord r;
    capture_closed(r, s, consumers);
    write_record_body(w, r);
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
