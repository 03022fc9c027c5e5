#include "config.hpp"

#include <stethoscope/config_schema.hpp>

#include "log.hpp"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

namespace stethoscope::core {
namespace json = boost::json;
using config::Section;

namespace {

// Keys of the capture section that belong to the core; the rest go to the input plugin.
const char* const k_capture_core_keys[] = {"input", "mode", "local_ip", "remote_ip",
                                           "remote_port", "local_port", "filter",
                                           "server_ports", "workers", "ring_bytes",
                                           "stats_interval_sec", "decapsulate"};

// The layers capture.decapsulate may name (DESIGN "Wrapped traffic").
const char* const k_layers[] = {"vlan", "mpls", "gre", "erspan", "vxlan", "geneve", "ipip", "pppoe"};

void line_col(const std::string& text, size_t offset, size_t& line, size_t& col) {
    line = 1;
    col = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
}

std::string checked_ip(Section& s, const char* key, bool required) {
    if (required && !s.has(key))
        throw ConfigError(s.path(key) + ": required in this capture mode");
    std::string ip = s.string(key, "");
    if (ip.empty()) return ip;
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1)
        Section::fail_at(s.path(key), "expected an IPv4 or IPv6 address", json::value(ip));
    return ip;
}

uint16_t checked_port(Section& s, const char* key, bool required) {
    if (required && !s.has(key))
        throw ConfigError(s.path(key) + ": required in this capture mode");
    return static_cast<uint16_t>(s.integer(key, 0, 1, 65535));
}

CaptureConfig parse_capture(Section& s) {
    CaptureConfig c;
    std::string mode = s.one_of("mode", "filter", {"client", "server", "filter"});
    c.mode = mode == "client" ? CaptureMode::client
             : mode == "server" ? CaptureMode::server
                                : CaptureMode::filter;
    c.local_ip = checked_ip(s, "local_ip", c.mode != CaptureMode::filter);
    c.remote_ip = checked_ip(s, "remote_ip", c.mode == CaptureMode::client);
    c.remote_port = checked_port(s, "remote_port", c.mode == CaptureMode::client);
    c.local_port = checked_port(s, "local_port", c.mode == CaptureMode::server);
    c.filter = s.string("filter", "");
    for (int64_t p : s.integers("server_ports", 1, 65535))
        c.server_ports.push_back(static_cast<uint16_t>(p));
    c.workers = static_cast<unsigned>(s.integer("workers", 0, 0, 256));
    c.stats_interval_sec = s.number("stats_interval_sec", c.stats_interval_sec, 0, 86400);
    c.ring_bytes = static_cast<uint64_t>(
        s.integer("ring_bytes", static_cast<int64_t>(c.ring_bytes), 1 << 20, int64_t{1} << 34));
    if (const json::value* v = s.raw("decapsulate")) {
        if (!v->is_array()) Section::fail_at(s.path("decapsulate"), "expected array of strings", *v);
        size_t i = 0;
        for (const auto& e : v->get_array()) {
            std::string p = s.path("decapsulate") + "[" + std::to_string(i++) + "]";
            std::string expected = "expected one of";
            for (const char* l : k_layers) expected += std::string(" \"") + l + "\"";
            bool known = false;
            for (const char* l : k_layers) known = known || (e.is_string() && e.get_string() == l);
            if (!known) Section::fail_at(p, expected, e);
            c.decapsulate.emplace_back(e.get_string());
        }
    }
    c.bpf = build_bpf(c);
    return c;
}

ReassemblyConfig parse_reassembly(Section s) {
    ReassemblyConfig r;
    r.flow_memcap_bytes = static_cast<uint64_t>(
        s.integer("flow_memcap_bytes", static_cast<int64_t>(r.flow_memcap_bytes), 4096, int64_t{1} << 40));
    r.global_memcap_bytes = static_cast<uint64_t>(s.integer(
        "global_memcap_bytes", static_cast<int64_t>(r.global_memcap_bytes), 65536, int64_t{1} << 44));
    r.max_sessions = static_cast<uint64_t>(
        s.integer("max_sessions", static_cast<int64_t>(r.max_sessions), 1, 100000000));
    r.idle_timeout_sec = s.number("idle_timeout_sec", r.idle_timeout_sec, 1, 86400 * 30);
    r.fin_grace_sec = s.number("fin_grace_sec", r.fin_grace_sec, 0, 3600);
    r.handshake_timeout_sec = s.number("handshake_timeout_sec", r.handshake_timeout_sec, 0.1, 3600);
    r.fragment_memcap_bytes = static_cast<uint64_t>(s.integer(
        "fragment_memcap_bytes", static_cast<int64_t>(r.fragment_memcap_bytes), 65536, int64_t{1} << 34));
    s.finish();
    if (r.flow_memcap_bytes > r.global_memcap_bytes)
        throw ConfigError(s.path("flow_memcap_bytes") +
                          ": must not exceed reassembly.global_memcap_bytes");
    return r;
}

// The section of one plugin: `enabled` handled here, the rest serialized for the plugin.
// Returns nullopt when disabled.
std::optional<PluginSection> plugin_section(const json::value& v, const std::string& path,
                                            std::string name, sth_plugin_kind kind,
                                            bool on_by_default) {
    if (!v.is_object()) Section::fail_at(path, "expected object", v);
    json::object obj = v.get_object();
    bool enabled = on_by_default;
    if (const json::value* e = obj.if_contains("enabled")) {
        if (!e->is_bool()) Section::fail_at(path + ".enabled", "expected true or false", *e);
        enabled = e->get_bool();
        obj.erase("enabled");
    }
    // A disabled analyzer is still loaded (they are cheap), switched off, so that it can
    // be switched on at run time; a disabled output or control plane is not loaded.
    if (!enabled && kind != STH_KIND_ANALYZER) return std::nullopt;
    bool explicit_on = enabled && v.get_object().contains("enabled");
    return PluginSection{std::move(name), kind, path, json::serialize(obj),
                         explicit_on || !on_by_default, enabled};
}

void collect_outputs(Section& io, Config& cfg) {
    const json::value* out_v = io.raw("output");
    if (out_v == nullptr) return;
    if (!out_v->is_object()) Section::fail_at("io.output", "expected object", *out_v);
    for (const auto& kv : out_v->get_object()) {
        std::string name(kv.key());
        if (name == "listner") {
            cfg.warnings.push_back(
                "io.output.listner: the prototype's spelling, read as io.output.listener");
            if (out_v->get_object().contains("listener"))
                throw ConfigError("io.output.listner: both listner and listener are given");
            name = "listener";
        }
        // The section keeps the prototype's name; the plugin that serves it is the
        // connector (plugins/outputs/connector, stethoscope-connector.so).
        if (name == "remote-host") name = "connector";
        if (auto p = plugin_section(kv.value(), "io.output." + std::string(kv.key()), name,
                                    STH_KIND_OUTPUT, false))
            cfg.outputs.push_back(std::move(*p));
    }
}

void collect_analyzers(const json::value* v, Config& cfg) {
    // Built-in analyzers are on unless disabled; they are skipped with a note when their
    // plugin is not installed and the config did not ask for them explicitly.
    static const char* const k_default_analyzers[] = {"mtu", "mss", "rtt-bdp", "rates", "stall"};
    json::object empty;
    const json::object* obj = &empty;
    if (v != nullptr) {
        obj = v->if_object();
        if (obj == nullptr) Section::fail_at("analyzers", "expected object", *v);
    }
    for (const char* name : k_default_analyzers) {
        if (obj->contains(name)) continue;
        cfg.analyzers.push_back(PluginSection{name, STH_KIND_ANALYZER,
                                              std::string("analyzers.") + name, "{}", false});
    }
    for (const auto& kv : *obj) {
        if (auto p = plugin_section(kv.value(), "analyzers." + std::string(kv.key()),
                                    std::string(kv.key()), STH_KIND_ANALYZER, true))
            cfg.analyzers.push_back(std::move(*p));
    }
}

void collect_control(const json::value* v, Config& cfg) {
    if (v == nullptr) {
        cfg.control = PluginSection{"http", STH_KIND_CONTROL, "control", "{}", false};
        return;
    }
    std::string name = "http";
    json::value copy = *v;
    if (json::object* o = copy.if_object()) {
        if (const json::value* p = o->if_contains("plugin")) {
            if (!p->is_string() || p->get_string().empty())
                Section::fail_at("control.plugin", "expected non-empty string", *p);
            name = std::string(p->get_string());
            o->erase("plugin");
        }
    }
    cfg.control = plugin_section(copy, "control", name, STH_KIND_CONTROL, true);
}

void apply_overrides(json::value& doc, const ConfigOverrides& o) {
    if (!o.read_file && !o.interface) return;
    json::object& root = doc.as_object();
    json::value& cap = root["capture"];
    if (cap.is_null()) cap = json::object();
    if (!cap.is_object()) Section::fail_at("capture", "expected object", cap);
    json::object& c = cap.as_object();
    if (o.read_file) {
        c["input"] = "pcap-file";
        c["file"] = *o.read_file;
        c.erase("interface");
    } else {
        c["input"] = "pcap-live";
        c["interface"] = *o.interface;
        c.erase("file");
    }
}

}  // namespace

std::string build_bpf(const CaptureConfig& c) {
    switch (c.mode) {
        case CaptureMode::client:
            return "tcp and ((src host " + c.local_ip + " and dst host " + c.remote_ip +
                   " and dst port " + std::to_string(c.remote_port) + ") or (src host " +
                   c.remote_ip + " and src port " + std::to_string(c.remote_port) +
                   " and dst host " + c.local_ip + "))";
        case CaptureMode::server: {
            std::string port = std::to_string(c.local_port);
            if (c.remote_ip.empty())
                return "tcp and ((dst host " + c.local_ip + " and dst port " + port +
                       ") or (src host " + c.local_ip + " and src port " + port + "))";
            return "tcp and ((src host " + c.remote_ip + " and dst host " + c.local_ip +
                   " and dst port " + port + ") or (src host " + c.local_ip + " and src port " +
                   port + " and dst host " + c.remote_ip + "))";
        }
        case CaptureMode::filter: return c.filter;
    }
    return {};
}

json::value parse_config_text(const std::string& text, const std::string& origin) {
    json::parse_options opt;
    opt.allow_comments = true;
    opt.allow_trailing_commas = true;
    json::stream_parser p({}, opt);
    boost::system::error_code ec;
    size_t used = p.write_some(text.data(), text.size(), ec);
    if (!ec && used < text.size()) ec = json::error::extra_data;
    if (!ec) p.finish(ec);
    if (ec) {
        size_t line = 0, col = 0;
        line_col(text, used, line, col);
        throw ConfigError("config " + origin + ":" + std::to_string(line) + ":" +
                          std::to_string(col) + ": invalid JSON: " + ec.message());
    }
    json::value v = p.release();
    if (!v.is_object()) Section::fail_at("config " + origin, "expected a JSON object", v);
    return v;
}

json::value load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("config " + path + ": cannot read: " + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw ConfigError("config " + path + ": read error");
    return parse_config_text(ss.str(), path);
}

Config build_config(json::value document, const ConfigOverrides& overrides) {
    Config cfg;
    if (!document.is_object()) Section::fail_at("config", "expected a JSON object", document);
    apply_overrides(document, overrides);
    Section root(document, "");

    Section plugins = root.object("plugins");
    cfg.plugin_dirs = plugins.strings("dirs");
    plugins.finish();

    Section capture = root.object("capture");
    cfg.input.name = capture.string("input", "pcap-live", false);
    cfg.input.kind = STH_KIND_INPUT;
    cfg.input.path = "capture";
    cfg.capture = parse_capture(capture);
    json::object input_section;
    if (const json::value* cv = root.has("capture") ? document.as_object().if_contains("capture")
                                                     : nullptr) {
        for (const auto& kv : cv->get_object()) {
            bool core_key = false;
            for (const char* k : k_capture_core_keys) core_key = core_key || kv.key() == k;
            if (!core_key) {
                input_section[kv.key()] = kv.value();
                capture.skip(kv.key());
            }
        }
    }
    input_section["bpf"] = cfg.capture.bpf;
    cfg.input.section_json = json::serialize(input_section);
    capture.finish();
    for (const auto& layer : cfg.capture.decapsulate)
        if (layer != "vlan")
            cfg.warnings.push_back("capture.decapsulate: \"" + layer +
                                   "\" is not decoded in this release (only vlan is); such "
                                   "packets are counted as not_ip or not_tcp");

    cfg.reassembly = parse_reassembly(root.object("reassembly"));

    collect_analyzers(root.raw("analyzers"), cfg);
    Section io = root.object("io");
    collect_outputs(io, cfg);
    io.finish();
    collect_control(root.raw("control"), cfg);

    Section log = root.object("log");
    std::string level = log.one_of("level", "info", {"trace", "debug", "info", "warning", "error"});
    cfg.log_level = *parse_log_level(level);
    cfg.events_to_stdout = log.boolean("events_stdout", true);
    log.finish();
    if (overrides.log_level) {
        auto l = parse_log_level(*overrides.log_level);
        if (!l)
            throw ConfigError("--log-level: expected one of trace, debug, info, warning, error, got \"" +
                              *overrides.log_level + "\"");
        cfg.log_level = *l;
    }
    root.finish();
    cfg.document = std::move(document);
    return cfg;
}

}  // namespace stethoscope::core
