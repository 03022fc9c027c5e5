// The `http` control plugin: the control plane of DESIGN.md ("Control plane"): one TCP
// port (control.listen) serving HTTP/1.1 routes (routes.hpp), /events streams and the
// raw control session (server.hpp). Config: config.hpp.
//
// Threads: event() runs on the core's event thread and only hands the event to the
// server (a copy, posted to the Asio thread); everything else runs on the one Asio
// thread the server owns from start() to stop().
#pragma once

#include "config.hpp"
#include "routes.hpp"
#include "server.hpp"

#include <stethoscope/plugin.hpp>

namespace stethoscope::control {

// HostView over the SDK's Host (the host's snapshot calls are callable from any thread).
class HostSnapshots : public HostView {
public:
    explicit HostSnapshots(const Host& host) : host_(host) {}
    std::optional<std::string> sessions(uint64_t uid) const override {
        return host_.sessions_snapshot(uid);
    }
    std::optional<std::string> stats() const override { return host_.stats_snapshot(); }
    std::optional<std::string> config() const override { return host_.config_snapshot(); }
    std::optional<std::string> modules() const override { return host_.modules_snapshot(); }
    std::string set_module_enabled(std::string_view name, bool on) const override {
        return host_.set_module_enabled(name, on);
    }
    sth_health health() const override { return host_.health(); }
    void events_wanted(bool wanted) const override { host_.events_wanted(wanted); }

private:
    Host host_;
};

class HttpControl : public ControlPlugin {
public:
    using Config = control::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return control::parse_config(json, path);
    }

    HttpControl(const Host& host, Config config);

    // Binds control.listen (throws when it cannot) and logs the address actually bound.
    void start();
    void stop();
    void event(const sth_event& e);

private:
    Config config_;
    HostSnapshots snapshots_;
    Server server_;
};

}  // namespace stethoscope::control
