// One created plugin object and the host services it was given. Holds its library,
// so the code outlives the object. Created and destroyed on the main thread.
#pragma once

#include "config.hpp"
#include "plugin_host.hpp"

#include <atomic>
#include <memory>
#include <string>

namespace stethoscope::core {

// What the runtime provides behind each instance's sth_host_api.
class HostServices {
public:
    virtual ~HostServices() = default;
    virtual void publish(std::string_view origin, std::string_view type,
                         std::string_view fields_json, const sth_session_info* session) = 0;
    virtual uint32_t counter_register(const std::string& name) = 0;
    virtual void counter_add(uint32_t handle, uint64_t delta) = 0;
    virtual sth_result submit_packet(const sth_packet& packet, bool blocking) = 0;
    virtual void report_capture_stats(uint64_t received, uint64_t dropped_kernel,
                                      uint64_t dropped_interface) = 0;
    virtual bool stop_requested() const = 0;
    virtual void idle(int64_t now_ns) = 0;
    // True once the input submits blocking (it reads a file): outputs wait, never drop.
    virtual bool offline() const { return false; }
    // Control plane (ABI 1.3); see sth_host_api. Any thread. The defaults describe a host
    // with nothing to show (tests' fakes).
    virtual bool sessions_snapshot(uint64_t uid, std::string& out) {  // false: no such uid
        if (uid != 0) return false;
        out = "[]";
        return true;
    }
    virtual std::string stats_snapshot() { return "{}"; }
    virtual std::string config_snapshot() { return "{}"; }
    virtual std::string modules_snapshot() { return "[]"; }
    virtual std::string set_module_enabled(std::string_view name, bool /*enabled*/) {  // "" = ok
        return "unknown module '" + std::string(name) + "'";
    }
    virtual sth_health health() const { return STH_HEALTH_CAPTURING; }
    // A plugin's events_wanted flag changed (PluginInstance::events_wanted()).
    virtual void events_interest_changed() {}
};

class PluginInstance {
public:
    // Validates the section with the plugin's validate_config, then creates the object.
    // Throws ConfigError (bad section) or PluginError (create failed).
    PluginInstance(std::shared_ptr<PluginLibrary> library, const PluginSection& section,
                   HostServices& services);
    ~PluginInstance();
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    void start();  // throws PluginError
    void stop();   // idempotent
    const sth_plugin_descriptor& table() const { return library_->table; }
    void* object() const { return object_; }
    const std::string& name() const { return name_; }
    const PluginLibrary& library() const { return *library_; }
    const std::string& config_path() const { return config_path_; }
    // The plugin's extra capture filter (sth_plugin_descriptor::capture_filter), or "".
    std::string capture_filter() const;
    // Whether the plugin wants events now (sth_host_api::events_wanted; true until it says).
    const std::atomic<bool>& events_wanted() const { return events_wanted_; }

private:
    static PluginInstance& self(void* ctx) { return *static_cast<PluginInstance*>(ctx); }
    static void host_log(void* ctx, sth_log_level level, sth_str message);
    static void host_publish(void* ctx, sth_str type, sth_str fields, const sth_session_info* s);
    static uint32_t host_counter_register(void* ctx, sth_str name);
    static void host_counter_add(void* ctx, uint32_t handle, uint64_t delta);
    static sth_result host_submit(void* ctx, const sth_packet* packet, int blocking);
    static void host_capture_stats(void* ctx, uint64_t r, uint64_t k, uint64_t i);
    static int host_stop_requested(void* ctx);
    static void host_idle(void* ctx, int64_t now_ns);
    static int host_offline(void* ctx);
    static int host_sessions_snapshot(void* ctx, uint64_t uid, sth_text_fn fn, void* user);
    static void host_stats_snapshot(void* ctx, sth_text_fn fn, void* user);
    static void host_config_snapshot(void* ctx, sth_text_fn fn, void* user);
    static void host_modules_snapshot(void* ctx, sth_text_fn fn, void* user);
    static int host_module_set_enabled(void* ctx, sth_str name, int enabled, char* err,
                                       size_t err_cap);
    static void host_events_wanted(void* ctx, int wanted);
    static int host_health(void* ctx);

    std::shared_ptr<PluginLibrary> library_;
    HostServices& services_;
    std::string name_, config_json_, config_path_;
    sth_host_api api_{};
    void* object_ = nullptr;
    bool started_ = false;
    std::atomic<bool> events_wanted_{true};
};

}  // namespace stethoscope::core
