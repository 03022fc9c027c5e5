#include "runtime.hpp"

#include "log.hpp"

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

void Runtime::load(PluginHost& host) {
    input_ = make(host, config_.input);
    auto add = [&](const PluginSection& s) {
        if (auto inst = make(host, s)) {
            consumers_.add(inst.get());
            if (inst->table().event != nullptr) {
                PluginInstance* p = inst.get();
                bus_.subscribe([p](const sth_event& e) { p->table().event(p->object(), &e); });
            }
            consumers_owned_.push_back(std::move(inst));
        }
    };
    for (const auto& s : config_.analyzers) add(s);
    for (const auto& s : config_.outputs) add(s);
    if (config_.control) add(*config_.control);
    pipeline_ = std::make_unique<Pipeline>(config_, consumers_, bus_);
}

int Runtime::run() {
    started_ = true;
    start_stats_timer();
    for (auto& c : consumers_owned_) c->start();
    input_->start();
    if (!config_.capture.bpf.empty()) log_info("capture filter: " + config_.capture.bpf);
    char err[1024] = {0};
    int rc = input_->table().run(input_->object(), err, sizeof err);
    int exit_code = k_exit_ok;
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
    for (auto& c : consumers_owned_) c->stop();
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

void Runtime::publish_stats(int64_t ts_ns) {
    if (ts_ns == 0) ts_ns = wall_clock_ns();
    const EngineStats st = pipeline_->stats();
    const DefragStats& df = pipeline_->defrag_stats();
    JsonWriter w;
    begin_event(w, ts_ns, "capture_stats", nullptr);
    w.key("packets").value(st.packets);
    w.key("bytes").value(st.bytes);
    w.key("final").value(shut_down_);
    w.key("received").value(input_received_.load());
    w.key("dropped_kernel").value(input_dropped_kernel_.load());
    w.key("dropped_interface").value(input_dropped_interface_.load());
    w.key("sessions_opened").value(st.sessions_opened);
    w.key("sessions_closed").value(st.sessions_closed);
    w.key("sessions_evicted").value(st.sessions_evicted);
    w.key("sessions_drain_forced").value(st.sessions_drain_forced);
    w.key("stream_bytes").value(st.stream_bytes);
    w.key("gap_bytes").value(st.gap_bytes);
    w.key("no_session").value(st.no_session);
    w.key("workers").value(uint64_t{pipeline_->workers()});
    w.key("dropped_queue_full").value(pipeline_->ring_drops());
    w.key("fragments").begin_object();
    w.key("received").value(df.fragments);
    w.key("reassembled").value(df.datagrams_reassembled);
    w.key("timed_out").value(df.datagrams_timed_out);
    w.key("evicted").value(df.datagrams_evicted);
    w.key("overlaps").value(df.overlaps);
    w.key("invalid").value(df.invalid);
    w.end_object();
    w.key("decode").begin_object();
    for (size_t i = 1; i < k_decode_status_count; ++i)
        if (st.decode[i] != 0) w.key(decode_status_name(static_cast<DecodeStatus>(i))).value(st.decode[i]);
    w.end_object();
    w.key("counters").begin_object();
    for (const auto& [name, value] : counters_.snapshot()) w.key(name).value(value);
    w.end_object();
    w.end_object();
    bus_.publish("capture_stats", w.str(), 0);
}

void Runtime::publish(std::string_view origin, std::string_view type, std::string_view fields_json,
                      const sth_session_info* session) {
    JsonWriter w;
    const int64_t last = last_ts_.load(std::memory_order_relaxed);
    begin_event(w, last != 0 ? last : wall_clock_ns(), type, session);
    w.key("origin").value(origin);
    w.members_of(fields_json);
    w.end_object();
    bus_.publish(type, w.str(), session != nullptr ? session->uid : 0);
}

uint32_t Runtime::counter_register(const std::string& name) {
    return counters_.register_counter(name);
}

void Runtime::counter_add(uint32_t handle, uint64_t delta) { counters_.add(handle, delta); }

sth_result Runtime::submit_packet(const sth_packet& packet, bool blocking) {
    if (stop_requested()) return STH_STOPPED;
    if (blocking && !offline_.load(std::memory_order_relaxed))
        offline_.store(true, std::memory_order_relaxed);
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
