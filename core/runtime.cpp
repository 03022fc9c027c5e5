#include "runtime.hpp"

#include "log.hpp"

#include <stethoscope/config_schema.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>

namespace stethoscope::core {

Runtime::Runtime(Config config) : config_(std::move(config)) {
    bus_.set_stdout(config_.events_to_stdout);
}

Runtime::~Runtime() {
    shutdown();
    // Destroy plugin objects before their libraries go (each instance holds its library).
    consumers_owned_.clear();
    input_.reset();
}

std::unique_ptr<PluginInstance> Runtime::make(PluginHost& host, const PluginSection& section) {
    auto lib = host.load(section.name, section.kind, !section.required);
    if (!lib) {
        log_debug(std::string(kind_name(section.kind)) + " plugin '" + section.name +
                  "' is not installed; " + section.path + " skipped");
        return nullptr;
    }
    auto inst = std::make_unique<PluginInstance>(lib, section, *this);
    summary_.push_back(std::string(kind_name(section.kind)) + " " + section.name + " " +
                       lib->table.version + " (" + lib->file.string() + ")");
    return inst;
}

void Runtime::add_consumer(PluginHost& host, const PluginSection& section) {
    auto inst = make(host, section);
    if (!inst) return;
    consumers_.add(inst.get(), section.enabled);
    if (inst->table().event != nullptr) {
        PluginInstance* p = inst.get();
        bus_.subscribe([p](const sth_event& e) { p->table().event(p->object(), &e); },
                       &p->events_wanted());
    }
    modules_.push_back(Module{inst.get(), section.kind, section.path, section.required});
    consumers_owned_.push_back(std::move(inst));
}

void Runtime::load(PluginHost& host) {
    for (const auto& s : config_.analyzers) add_consumer(host, s);
    for (const auto& s : config_.outputs) add_consumer(host, s);
    if (config_.control) add_consumer(host, *config_.control);
    apply_capture_filters();
    input_ = make(host, config_.input);
    pipeline_ = std::make_unique<Pipeline>(config_, consumers_, bus_);
}

// Consumers that need packets besides the capture's own (an analyzer's ICMP errors) get
// them ORed into a non-empty filter; an empty filter reads everything anyway.
void Runtime::apply_capture_filters() {
    std::string extra;
    for (const Module& m : modules_) {
        if (consumers_.enabled(m.plugin->name()) != 1) continue;
        std::string f = m.plugin->capture_filter();
        if (f.empty()) continue;
        extra += (extra.empty() ? "(" : " or (") + f + ")";
    }
    if (extra.empty() || config_.capture.bpf.empty()) return;
    config_.capture.bpf = "(" + config_.capture.bpf + ") or " + extra;
    boost::json::value section = boost::json::parse(config_.input.section_json);
    section.as_object()["bpf"] = config_.capture.bpf;
    config_.input.section_json = boost::json::serialize(section);
}

int Runtime::run() {
    started_ = true;
    bus_.start();
    start_stats_timer();
    for (const Module& m : modules_) {
        try {
            m.plugin->start();
        } catch (const PluginError& e) {
            // A plugin nobody asked for (on by default: the control plane, whose port may
            // be taken) that cannot start costs one warning, not the capture.
            if (m.required) throw;
            log_warn(std::string(e.what()) + "; running without it");
        }
    }
    input_->start();
    if (!config_.capture.bpf.empty()) log_info("capture filter: " + config_.capture.bpf);
    health_ = STH_HEALTH_CAPTURING;
    char err[1024] = {0};
    int rc = input_->table().run(input_->object(), err, sizeof err);
    int exit_code = k_exit_ok;
    health_ = rc != 0 ? STH_HEALTH_FAILED : STH_HEALTH_ENDED;
    if (rc != 0) {
        std::fprintf(stderr, "stethoscope: %s\n", err[0] ? err : "input failed");
        exit_code = k_exit_input;
    }
    shutdown();
    return exit_code;
}

void Runtime::shutdown() {
    if (shut_down_ || !started_) return;
    shut_down_ = true;
    if (input_) input_->stop();
    stop_stats_timer();
    pipeline_->finish(stop_requested() ? "shutdown" : "end_of_input");
    publish_stats(last_ts_);
    bus_.flush();  // every plugin that takes events has them all before it stops
    for (auto& c : consumers_owned_) c->stop();
    bus_.stop();
    std::fflush(stdout);
    const EngineStats st = pipeline_->stats();
    uint64_t malformed = 0;
    for (size_t i = 0; i < k_decode_status_count; ++i)
        if (decode_status_is_malformed(static_cast<DecodeStatus>(i))) malformed += st.decode[i];
    log_info("done: " + std::to_string(st.packets) + " packets, " +
             std::to_string(st.sessions_opened) + " sessions, " + std::to_string(st.stream_bytes) +
             " stream bytes, " + std::to_string(st.gap_bytes) + " gap bytes, " +
             std::to_string(malformed) + " malformed packets; received " +
             std::to_string(input_received_.load()) + ", dropped: kernel " +
             std::to_string(input_dropped_kernel_.load()) + ", interface " +
             std::to_string(input_dropped_interface_.load()) + ", queue full " +
             std::to_string(pipeline_->ring_drops()));
}

namespace {
int64_t wall_clock_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

void Runtime::start_stats_timer() {
    if (config_.capture.stats_interval_sec <= 0) return;
    auto interval = std::chrono::duration<double>(config_.capture.stats_interval_sec);
    stats_thread_ = std::thread([this, interval] {
        std::unique_lock<std::mutex> lock(stats_mutex_);
        while (!stats_cv_.wait_for(lock, interval, [this] { return stats_stop_; })) {
            lock.unlock();
            publish_stats(wall_clock_ns());
            lock.lock();
        }
    });
}

void Runtime::stop_stats_timer() {
    if (!stats_thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_stop_ = true;
    }
    stats_cv_.notify_one();
    stats_thread_.join();
}

CaptureStatsInput Runtime::gather_stats(int64_t ts_ns) {
    if (ts_ns == 0) ts_ns = wall_clock_ns();
    const EngineStats st = pipeline_->stats();
    const DefragStats& df = pipeline_->defrag_stats();
    CaptureStatsInput in;
    in.ts_ns = ts_ns;
    in.final = shut_down_;
    in.packets = st.packets;
    in.bytes = st.bytes;
    in.received = input_received_.load();
    in.dropped_kernel = input_dropped_kernel_.load();
    in.dropped_interface = input_dropped_interface_.load();
    in.dropped_queue_full = pipeline_->ring_drops();
    in.sessions_opened = st.sessions_opened;
    in.sessions_closed = st.sessions_closed;
    in.sessions_evicted = st.sessions_evicted;
    in.sessions_drain_forced = st.sessions_drain_forced;
    in.sessions_open = st.open;
    in.stream_bytes = st.stream_bytes;
    in.gap_bytes = st.gap_bytes;
    in.no_session = st.no_session;
    in.icmp_matched = st.icmp_matched;
    in.workers = pipeline_->workers();
    in.events_published = bus_.published();
    in.events_dropped = bus_.dropped();
    const uint64_t frag[6] = {df.fragments,  df.datagrams_reassembled, df.datagrams_timed_out,
                              df.datagrams_evicted, df.overlaps, df.invalid};
    std::copy(frag, frag + 6, in.fragments);
    for (size_t i = 1; i < k_decode_status_count; ++i)
        if (st.decode[i] != 0) in.decode.emplace_back(decode_status_name(static_cast<DecodeStatus>(i)), st.decode[i]);
    in.counters = counters_.snapshot();
    return in;
}

void Runtime::publish_stats(int64_t ts_ns) {
    if (!bus_.has_listeners()) return;
    bus_.publish("capture_stats", capture_stats_json(gather_stats(ts_ns), true), 0);
}

bool Runtime::sessions_snapshot(uint64_t uid, std::string& out) {
    if (!pipeline_) return false;
    std::string elements;
    // Reading a file, ages are in capture time (the engine's clock); live, the wall clock.
    bool found = pipeline_->sessions_snapshot(uid, offline() ? 0 : wall_clock_ns(), elements);
    if (uid != 0) {
        if (!found) return false;
        out = std::move(elements);
        return true;
    }
    out = "[" + elements + "]";
    return true;
}

std::string Runtime::stats_snapshot() {
    if (!pipeline_) return "{}";
    const int64_t last = last_ts_.load(std::memory_order_relaxed);
    return capture_stats_json(gather_stats(offline() && last != 0 ? last : wall_clock_ns()), true);
}

namespace {
// Keys whose values are secrets: shown as "***" in /config.
bool secret_key(std::string_view k) {
    for (std::string_view s : {"token", "password", "secret", "creds", "key", "credentials"})
        if (k == s || (k.size() > s.size() && k.substr(k.size() - s.size()) == s &&
                       k[k.size() - s.size() - 1] == '_'))
            return true;
    return false;
}
void mask_secrets(boost::json::value& v) {
    if (auto* o = v.if_object()) {
        for (auto& kv : *o) {
            if (secret_key(kv.key()) && kv.value().is_string() && !kv.value().get_string().empty())
                kv.value() = "***";
            else
                mask_secrets(kv.value());
        }
    } else if (auto* a = v.if_array()) {
        for (auto& e : *a) mask_secrets(e);
    }
}
boost::json::object& object_at(boost::json::object& parent, std::string_view key) {
    boost::json::value& v = parent[key];
    if (!v.is_object()) v = boost::json::object();
    return v.as_object();
}
}  // namespace

std::string Runtime::config_snapshot() {
    namespace json = boost::json;
    json::value doc = config_.document;
    json::object& root = doc.as_object();
    // The core's sections with every default filled in.
    json::object& cap = object_at(root, "capture");
    const CaptureConfig& c = config_.capture;
    cap["input"] = config_.input.name;
    cap["mode"] = c.mode == CaptureMode::client ? "client" : c.mode == CaptureMode::server ? "server" : "filter";
    cap["workers"] = pipeline_ ? pipeline_->workers() : c.workers;
    cap["ring_bytes"] = c.ring_bytes;
    cap["stats_interval_sec"] = c.stats_interval_sec;
    cap["bpf"] = c.bpf;
    json::object& r = object_at(root, "reassembly");
    const ReassemblyConfig& ra = config_.reassembly;
    r["flow_memcap_bytes"] = ra.flow_memcap_bytes;
    r["global_memcap_bytes"] = ra.global_memcap_bytes;
    r["max_sessions"] = ra.max_sessions;
    r["idle_timeout_sec"] = ra.idle_timeout_sec;
    r["fin_grace_sec"] = ra.fin_grace_sec;
    r["handshake_timeout_sec"] = ra.handshake_timeout_sec;
    r["fragment_memcap_bytes"] = ra.fragment_memcap_bytes;
    object_at(root, "log")["level"] = log_level_name(config_.log_level);
    // Every loaded module's section, with its state now.
    for (const Module& m : modules_) {
        json::object* section = &root;
        std::string_view path = m.path;
        while (!path.empty()) {
            size_t dot = path.find('.');
            section = &object_at(*section, path.substr(0, dot));
            path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
        }
        (*section)["enabled"] = consumers_.enabled(m.plugin->name()) == 1;
    }
    mask_secrets(doc);
    return json::serialize(doc);
}

std::string Runtime::modules_snapshot() {
    JsonWriter w;
    w.begin_array();
    for (const Module& m : modules_) {
        w.begin_object();
        w.key("name").value(m.plugin->name());
        w.key("kind").value(kind_name(m.kind));
        w.key("enabled").value(consumers_.enabled(m.plugin->name()) == 1);
        w.key("switchable").value(m.kind == STH_KIND_ANALYZER || m.kind == STH_KIND_OUTPUT);
        w.key("path").value(m.path);
        w.key("version").value(m.plugin->table().version);
        w.end_object();
    }
    w.end_array();
    return w.take();
}

std::string Runtime::set_module_enabled(std::string_view name, bool enabled) {
    // The config's names are accepted too ("remote-host" is served by the connector).
    std::string wanted = name == "remote-host" ? "connector" : name == "listner" ? "listener"
                                                                                 : std::string(name);
    std::string loaded;
    for (const Module& m : modules_) {
        if (m.plugin->name() != wanted) {
            loaded += (loaded.empty() ? "" : ", ") + m.plugin->name();
            continue;
        }
        if (m.kind != STH_KIND_ANALYZER && m.kind != STH_KIND_OUTPUT)
            return "module '" + wanted + "' is the " + kind_name(m.kind) +
                   " plugin and cannot be switched";
        consumers_.set_enabled(wanted, enabled);
        log_info("module " + wanted + (enabled ? " enabled" : " disabled") +
                 " for sessions that open from now on");
        return {};
    }
    return "unknown module '" + std::string(name) + "' (loaded: " + loaded +
           "; an output must be enabled in the config at start-up to be switchable)";
}

void Runtime::publish(std::string_view origin, std::string_view type, std::string_view fields_json,
                      const sth_session_info* session) {
    if (!bus_.has_listeners()) return;  // nobody reads events now: build none
    JsonWriter w;
    // From a worker (a session callback or tick): that worker's clock; else the input's.
    int64_t ts = engine_clock_of_this_thread();
    if (ts == 0) ts = last_ts_.load(std::memory_order_relaxed);
    begin_event(w, ts != 0 ? ts : wall_clock_ns(), type, session);
    w.key("origin").value(origin);
    w.members_of(fields_json);
    w.end_object();
    bus_.publish(type, w.take(), session != nullptr ? session->uid : 0);
}

uint32_t Runtime::counter_register(const std::string& name) {
    return counters_.register_counter(name);
}

void Runtime::counter_add(uint32_t handle, uint64_t delta) { counters_.add(handle, delta); }

sth_result Runtime::submit_packet(const sth_packet& packet, bool blocking) {
    if (stop_requested()) return STH_STOPPED;
    if (blocking && !offline_.load(std::memory_order_relaxed)) {
        offline_.store(true, std::memory_order_relaxed);
        bus_.set_blocking(true);  // reading a file: events wait for room, none is dropped
    }
    if (packet.ts_ns > last_ts_.load(std::memory_order_relaxed))
        last_ts_.store(packet.ts_ns, std::memory_order_relaxed);
    return pipeline_->submit(packet, blocking);
}

void Runtime::idle(int64_t now_ns) {
    if (started_ && !shut_down_) pipeline_->advance_clock(now_ns);
}

void Runtime::report_capture_stats(uint64_t received, uint64_t dropped_kernel,
                                   uint64_t dropped_interface) {
    input_received_ = received;
    input_dropped_kernel_ = dropped_kernel;
    input_dropped_interface_ = dropped_interface;
}

}  // namespace stethoscope::core
