#include "http_control.hpp"

namespace stethoscope::control {

HttpControl::HttpControl(const Host& host, Config config)
    : ControlPlugin(host),
      config_(config),
      snapshots_(host),
      server_(std::move(config), snapshots_,
              ServerCounters{host.counter("events_clients_dropped"), host.counter("events_dropped"),
                             host.counter("events_dropped_bytes"),
                             host.counter("events_backlog_dropped"),
                             host.counter("connections_refused"),
                             host.counter("requests_rejected")}) {}

void HttpControl::start() {
    uint16_t port = 0;
    try {
        port = server_.start();
    } catch (const std::exception& e) {
        throw std::runtime_error("control plane: " + std::string(e.what()));
    }
    host().info("control plane listening on " + endpoint_text(config_.listen, port) +
                (config_.token.empty() ? "" : " (bearer token required)"));
}

void HttpControl::stop() { server_.stop(); }

void HttpControl::event(const sth_event& e) { server_.publish(to_sv(e.type), to_sv(e.json)); }

}  // namespace stethoscope::control
