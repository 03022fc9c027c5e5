// The control plane's network side: one listening socket, one Asio thread, every
// connection on it. A connection's first bytes decide what it is (routes.hpp
// classify_opening): HTTP requests (answered by route(), keep-alive), an /events stream,
// or the raw control session (one at a time).
//
// Events: publish() may be called from any thread and never blocks. It copies the event
// into one shared immutable buffer and posts it to the Asio thread, which queues it for
// every subscriber whose filter takes it. Each subscriber's queue is bounded by
// max_pending_bytes: a subscriber past it is cut off (its queued events counted as
// dropped), so a client that does not read never slows anything. Nothing is posted while
// nobody subscribes (the host is then told it need not build events at all:
// Host::events_wanted), and the posted backlog itself is bounded (drops counted).
//
// Lifetime: start() binds (throws with the address and the reason) and starts the
// thread; stop() lets /events streams end with their last chunk and raw sessions flush,
// closes the rest, waits at most ~2 s for slow peers, and joins the thread. After stop()
// no callback runs and publish() is a no-op.
#pragma once

#include "config.hpp"
#include "routes.hpp"

#include <stethoscope/plugin.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace stethoscope::control {

// Host counters the server feeds (named per instance by the host).
struct ServerCounters {
    Counter clients_dropped;      // /events clients and raw sessions cut off
    Counter events_dropped;       // events those subscribers never got
    Counter dropped_bytes;        // bytes of those events
    Counter backlog_dropped;      // events not posted: the Asio thread lags too far
    Counter connections_refused;  // beyond max_connections
    Counter requests_rejected;    // malformed, oversized or timed-out requests (4xx)
};

class Server {
public:
    Server(Config config, const HostView& host, ServerCounters counters);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts the thread; returns the bound port. Throws std::runtime_error.
    uint16_t start();
    void stop();
    // Any thread, never blocks.
    void publish(std::string_view type, std::string_view json);

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace stethoscope::control
