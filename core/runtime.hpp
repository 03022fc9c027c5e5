// The running tool: the configured plugin instances, the event bus, the counters, the
// engine, and the host services behind every plugin's sth_host_api.
//
// Start-up (main thread): load every plugin (analyzers, outputs, control, then the input,
// whose capture filter takes the consumers' extra filters), validate each section,
// create, start. Run: the input's run() feeds packets through submit_packet into the
// engine; events leave through the event bus's thread. Shutdown: close every session,
// publish the final statistics, deliver every queued event, stop the plugins (they
// flush), destroy, and only then unload.
//
// The control plane's view (ABI 1.3): session, stats, config and module snapshots and
// module switches are served here, from any thread.
#pragma once

#include "config.hpp"
#include "consumers.hpp"
#include "counters.hpp"
#include "pipeline.hpp"
#include "event_bus.hpp"
#include "session_report.hpp"
#include "plugin_host.hpp"
#include "plugin_instance.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <memory>
#include <string>
#include <vector>

namespace stethoscope::core {

// Documented exit codes (README "Exit codes").
enum ExitCode : int {
    k_exit_ok = 0,
    k_exit_runtime = 1,   // an unexpected failure while running
    k_exit_usage = 2,     // bad command line or bad config
    k_exit_plugin = 3,    // a plugin could not be found, loaded or created
    k_exit_input = 4,     // the input failed (unreadable, truncated or corrupt capture)
};

class Runtime : public HostServices {
public:
    explicit Runtime(Config config);
    ~Runtime() override;

    // Loads, validates and creates every plugin. Throws ConfigError or PluginError.
    void load(PluginHost& host);
    // Starts the plugins and runs the input to its end; returns an exit code.
    int run();
    // Async-signal-safe: asks the input to stop.
    void request_stop() { stop_.store(true, std::memory_order_relaxed); }

    const Config& config() const { return config_; }
    const std::vector<std::string>& loaded_summary() const { return summary_; }

    // HostServices
    void publish(std::string_view origin, std::string_view type, std::string_view fields_json,
                 const sth_session_info* session) override;
    uint32_t counter_register(const std::string& name) override;
    void counter_add(uint32_t handle, uint64_t delta) override;
    sth_result submit_packet(const sth_packet& packet, bool blocking) override;
    void report_capture_stats(uint64_t received, uint64_t dropped_kernel,
                              uint64_t dropped_interface) override;
    bool stop_requested() const override { return stop_.load(std::memory_order_relaxed); }
    void idle(int64_t now_ns) override;
    bool offline() const override { return offline_.load(std::memory_order_relaxed); }
    bool sessions_snapshot(uint64_t uid, std::string& out) override;
    std::string stats_snapshot() override;
    std::string config_snapshot() override;
    std::string modules_snapshot() override;
    std::string set_module_enabled(std::string_view name, bool enabled) override;
    sth_health health() const override {
        return static_cast<sth_health>(health_.load(std::memory_order_relaxed));
    }
    void events_interest_changed() override { bus_.interest_changed(); }

private:
    // A loaded consumer as the control plane lists it.
    struct Module {
        PluginInstance* plugin;
        sth_plugin_kind kind;
        std::string path;  // its config section
        bool required;     // asked for explicitly (not only on by default)
    };
    std::unique_ptr<PluginInstance> make(PluginHost& host, const PluginSection& section);
    void add_consumer(PluginHost& host, const PluginSection& section);
    void apply_capture_filters();
    CaptureStatsInput gather_stats(int64_t ts_ns);
    void publish_stats(int64_t ts_ns);
    void start_stats_timer();
    void stop_stats_timer();
    void shutdown();

    Config config_;
    EventBus bus_;
    CounterRegistry counters_;
    Consumers consumers_;
    std::unique_ptr<Pipeline> pipeline_;
    std::unique_ptr<PluginInstance> input_;
    std::vector<std::unique_ptr<PluginInstance>> consumers_owned_;
    std::vector<Module> modules_;
    std::atomic<int> health_{STH_HEALTH_STARTING};
    std::vector<std::string> summary_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> offline_{false};  // the input submits blocking (a file)
    std::atomic<uint64_t> input_received_{0}, input_dropped_kernel_{0},
        input_dropped_interface_{0};
    std::atomic<int64_t> last_ts_{0};
    // Periodic capture_stats (capture.stats_interval_sec), on a thread of its own.
    std::thread stats_thread_;
    std::mutex stats_mutex_;
    std::condition_variable stats_cv_;
    bool stats_stop_ = false;
    bool started_ = false;  // run() was called: shutdown has work to do
    bool shut_down_ = false;
};

}  // namespace stethoscope::core
