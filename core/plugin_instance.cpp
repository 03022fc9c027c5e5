#include "plugin_instance.hpp"

#include <stethoscope/plugin.hpp>

#include "log.hpp"

namespace stethoscope::core {

PluginInstance::PluginInstance(std::shared_ptr<PluginLibrary> library, const PluginSection& section,
                               HostServices& services)
    : library_(std::move(library)),
      services_(services),
      name_(section.name),
      config_json_(section.section_json),
      config_path_(section.path) {
    char err[1024] = {0};
    const sth_plugin_descriptor& t = library_->table;
    if (t.validate_config(to_sth(config_json_), to_sth(config_path_), err, sizeof err) != 0)
        throw ConfigError(err[0] ? err : config_path_ + ": rejected by plugin " + name_);
    api_.struct_size = sizeof(sth_host_api);
    api_.abi_major = STH_ABI_MAJOR;
    api_.abi_minor = STH_ABI_MINOR;
    api_.ctx = this;
    api_.instance_name = to_sth(name_);
    api_.config_json = to_sth(config_json_);
    api_.config_path = to_sth(config_path_);
    api_.log = &host_log;
    api_.publish_event = &host_publish;
    api_.counter_register = &host_counter_register;
    api_.counter_add = &host_counter_add;
    api_.submit_packet = &host_submit;
    api_.report_capture_stats = &host_capture_stats;
    api_.stop_requested = &host_stop_requested;
    api_.idle = &host_idle;
    api_.offline = &host_offline;
    api_.sessions_snapshot = &host_sessions_snapshot;
    api_.stats_snapshot = &host_stats_snapshot;
    api_.config_snapshot = &host_config_snapshot;
    api_.modules_snapshot = &host_modules_snapshot;
    api_.module_set_enabled = &host_module_set_enabled;
    api_.health = &host_health;
    api_.events_wanted = &host_events_wanted;
    object_ = t.create(&api_, err, sizeof err);
    if (object_ == nullptr)
        throw PluginError("plugin " + name_ + " (" + library_->file.string() +
                          "): create failed: " + (err[0] ? err : "no reason given"));
}

PluginInstance::~PluginInstance() {
    stop();
    if (object_ != nullptr) library_->table.destroy(object_);
}

void PluginInstance::start() {
    char err[1024] = {0};
    if (table().start != nullptr && table().start(object_, err, sizeof err) != 0)
        throw PluginError("plugin " + name_ + ": start failed: " + (err[0] ? err : "no reason"));
    started_ = true;
}

void PluginInstance::stop() {
    if (!started_) return;
    started_ = false;
    if (table().stop != nullptr) table().stop(object_);
}

void PluginInstance::host_log(void* ctx, sth_log_level level, sth_str message) {
    log_message(level, self(ctx).name_, to_sv(message));
}
void PluginInstance::host_publish(void* ctx, sth_str type, sth_str fields,
                                  const sth_session_info* s) {
    self(ctx).services_.publish(self(ctx).name_, to_sv(type), to_sv(fields), s);
}
uint32_t PluginInstance::host_counter_register(void* ctx, sth_str name) {
    return self(ctx).services_.counter_register(self(ctx).name_ + "." + std::string(to_sv(name)));
}
void PluginInstance::host_counter_add(void* ctx, uint32_t handle, uint64_t delta) {
    self(ctx).services_.counter_add(handle, delta);
}
sth_result PluginInstance::host_submit(void* ctx, const sth_packet* packet, int blocking) {
    return self(ctx).services_.submit_packet(*packet, blocking != 0);
}
void PluginInstance::host_capture_stats(void* ctx, uint64_t r, uint64_t k, uint64_t i) {
    self(ctx).services_.report_capture_stats(r, k, i);
}
void PluginInstance::host_idle(void* ctx, int64_t now_ns) { self(ctx).services_.idle(now_ns); }
int PluginInstance::host_offline(void* ctx) { return self(ctx).services_.offline() ? 1 : 0; }

int PluginInstance::host_sessions_snapshot(void* ctx, uint64_t uid, sth_text_fn fn, void* user) {
    std::string out;
    if (!self(ctx).services_.sessions_snapshot(uid, out)) return 1;
    fn(user, to_sth(out));
    return 0;
}
void PluginInstance::host_stats_snapshot(void* ctx, sth_text_fn fn, void* user) {
    std::string out = self(ctx).services_.stats_snapshot();
    fn(user, to_sth(out));
}
void PluginInstance::host_config_snapshot(void* ctx, sth_text_fn fn, void* user) {
    std::string out = self(ctx).services_.config_snapshot();
    fn(user, to_sth(out));
}
void PluginInstance::host_modules_snapshot(void* ctx, sth_text_fn fn, void* user) {
    std::string out = self(ctx).services_.modules_snapshot();
    fn(user, to_sth(out));
}
int PluginInstance::host_module_set_enabled(void* ctx, sth_str name, int enabled, char* err,
                                            size_t err_cap) {
    std::string why = self(ctx).services_.set_module_enabled(to_sv(name), enabled != 0);
    if (why.empty()) return 0;
    detail::write_error(err, err_cap, why);
    return 1;
}
int PluginInstance::host_health(void* ctx) { return self(ctx).services_.health(); }
void PluginInstance::host_events_wanted(void* ctx, int wanted) {
    self(ctx).events_wanted_.store(wanted != 0, std::memory_order_relaxed);
    self(ctx).services_.events_interest_changed();
}

std::string PluginInstance::capture_filter() const {
    if (table().capture_filter == nullptr) return {};
    const char* f = table().capture_filter(object_);
    return f != nullptr ? std::string(f) : std::string();
}

int PluginInstance::host_stop_requested(void* ctx) {
    return self(ctx).services_.stop_requested() ? 1 : 0;
}

}  // namespace stethoscope::core
