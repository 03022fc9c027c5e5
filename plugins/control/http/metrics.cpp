#include "metrics.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <vector>

namespace stethoscope::control {

namespace json = boost::json;

namespace {

struct Family {
    std::string_view name, type, help;
};

// Top-level members that map one to one onto a metric.
struct Plain {
    std::string_view key;
    Family family;
};
constexpr Plain k_plain[] = {
    {"packets", {"stethoscope_packets_total", "counter", "Packets read from the input."}},
    {"bytes", {"stethoscope_bytes_total", "counter", "Bytes of the packets read from the input."}},
    {"received", {"stethoscope_input_received_packets_total", "counter",
                  "Packets the capture reports as received (libpcap statistics)."}},
    {"sessions_opened", {"stethoscope_sessions_opened_total", "counter", "TCP sessions opened."}},
    {"sessions_closed", {"stethoscope_sessions_closed_total", "counter", "TCP sessions closed."}},
    {"sessions_evicted", {"stethoscope_sessions_evicted_total", "counter",
                          "Sessions evicted from a full session table."}},
    {"sessions_drain_forced", {"stethoscope_sessions_drain_forced_total", "counter",
                               "Session records published before their outputs finished."}},
    {"stream_bytes", {"stethoscope_stream_bytes_total", "counter",
                      "Reassembled stream bytes, both directions."}},
    {"gap_bytes", {"stethoscope_gap_bytes_total", "counter", "Stream bytes never captured (gaps)."}},
    {"no_session", {"stethoscope_packets_without_session_total", "counter",
                    "TCP packets that belonged to no session."}},
    {"events_dropped", {"stethoscope_events_dropped_total", "counter",
                        "Events a slow event sink did not get."}},
    {"events_published", {"stethoscope_events_published_total", "counter",
                          "Events published by the core and the plugins."}},
    {"icmp_matched", {"stethoscope_icmp_errors_matched_total", "counter",
                      "ICMP errors that quoted a packet of a live session."}},
    {"workers", {"stethoscope_workers", "gauge", "Worker threads of the engine."}},
    {"sessions_open", {"stethoscope_sessions_open", "gauge", "TCP sessions open now."}},
};

class Writer {
public:
    void family(const Family& f) {
        out_ += "# HELP " + std::string(f.name) + " " + std::string(f.help) + "\n";
        out_ += "# TYPE " + std::string(f.name) + " " + std::string(f.type) + "\n";
    }
    void sample(std::string_view name, std::string_view label, std::string_view label_value,
                const json::value& v) {
        out_ += name;
        if (!label.empty()) {
            out_ += '{';
            out_ += label;
            out_ += "=\"";
            escape(label_value);
            out_ += "\"}";
        }
        out_ += ' ';
        number(v);
        out_ += '\n';
    }
    // A family whose samples are the numeric members of `obj`, each labelled by its key.
    void labelled(const Family& f, std::string_view label, const json::object& obj) {
        bool any = false;
        for (const auto& kv : obj) {
            if (!kv.value().is_number()) continue;
            if (!any) family(f), any = true;
            sample(f.name, label, kv.key(), kv.value());
        }
    }
    std::string take() { return std::move(out_); }

private:
    void escape(std::string_view s) {
        for (char c : s) {
            if (c == '\\') out_ += "\\\\";
            else if (c == '"') out_ += "\\\"";
            else if (c == '\n') out_ += "\\n";
            else out_ += c;
        }
    }
    void number(const json::value& v) {
        char buf[40];
        if (v.is_uint64()) std::snprintf(buf, sizeof buf, "%llu", (unsigned long long)v.get_uint64());
        else if (v.is_int64()) std::snprintf(buf, sizeof buf, "%lld", (long long)v.get_int64());
        else std::snprintf(buf, sizeof buf, "%.17g", v.is_double() ? v.get_double() : 0.0);
        out_ += buf;
    }
    std::string out_;
};

void fragments(Writer& w, const json::object& f) {
    if (const json::value* v = f.if_contains("received"); v != nullptr && v->is_number()) {
        w.family({"stethoscope_ip_fragments_total", "counter", "IP fragments received."});
        w.sample("stethoscope_ip_fragments_total", {}, {}, *v);
    }
    json::object outcomes;
    for (std::string_view k : {"reassembled", "timed_out", "evicted", "overlaps", "invalid"})
        if (const json::value* v = f.if_contains(k); v != nullptr) outcomes[k] = *v;
    w.labelled({"stethoscope_ip_fragment_datagrams_total", "counter",
                "Fragmented IP datagrams by outcome."},
               "outcome", outcomes);
}

}  // namespace

std::string prometheus_text(std::string_view stats_json, sth_health health) {
    Writer w;
    boost::system::error_code ec;
    json::value doc = json::parse(stats_json, ec);
    const json::object* o = ec ? nullptr : doc.if_object();
    if (o != nullptr) {
        for (const auto& p : k_plain) {
            const json::value* v = o->if_contains(p.key);
            if (v == nullptr || !v->is_number()) continue;
            w.family(p.family);
            w.sample(p.family.name, {}, {}, *v);
        }
        json::object dropped;
        for (const auto& kv : *o)
            if (kv.key().starts_with("dropped_") && kv.value().is_number())
                dropped[kv.key().substr(8)] = kv.value();
        w.labelled({"stethoscope_dropped_total", "counter",
                    "Packets dropped before reassembly, by where they were dropped."},
                   "reason", dropped);
        if (const json::value* d = o->if_contains("decode"); d != nullptr && d->is_object())
            w.labelled({"stethoscope_decode_errors_total", "counter",
                        "Packets the decoder could not use, by reason."},
                       "reason", d->get_object());
        if (const json::value* f = o->if_contains("fragments"); f != nullptr && f->is_object())
            fragments(w, f->get_object());
        if (const json::value* c = o->if_contains("counters"); c != nullptr && c->is_object())
            w.labelled({"stethoscope_plugin_total", "counter",
                        "Counters of the core and the plugins, by name."},
                       "name", c->get_object());
    }
    w.family({"stethoscope_capturing", "gauge", "1 while the input captures, else 0."});
    w.sample("stethoscope_capturing", {}, {},
             json::value(health == STH_HEALTH_CAPTURING ? 1 : 0));
    return w.take();
}

}  // namespace stethoscope::control
