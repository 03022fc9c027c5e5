// Events: formatting of the common fields, and the bus that fans every event out to
// stdout (NDJSON, when enabled), to the plugins that take events, and to the debug log.
//
// Every event is one JSON object on one line: ts (RFC 3339, microseconds, UTC), event,
// then session, uid, client, server when it is about a session, then its own fields.
#pragma once

#include <stethoscope/abi.h>

#include "json_writer.hpp"

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace stethoscope::core {

std::string format_ts(int64_t ts_ns);             // "2026-11-26T14:36:17.123456Z"
std::string format_ip(const sth_endpoint& e);     // "198.18.0.1", "2001:db8::1"
std::string format_endpoint(const sth_endpoint& e);  // "198.18.0.1:80", "[2001:db8::1]:80"

// Starts an event object with the common fields; the caller adds its own and calls
// end_object().
void begin_event(JsonWriter& w, int64_t ts_ns, std::string_view type,
                 const sth_session_info* session);

class EventBus {
public:
    using Subscriber = std::function<void(const sth_event&)>;

    void set_stdout(bool enabled) { to_stdout_ = enabled; }
    // Subscribers are added at start-up, before any event is published.
    void subscribe(Subscriber s) { subscribers_.push_back(std::move(s)); }

    // Publishes a complete event object. Thread-safe; events leave in one total order.
    void publish(std::string_view type, std::string_view json, uint64_t uid);

    // False when nothing would receive an event (no stdout, no subscriber): callers may
    // then skip building it. Fixed once start-up is over.
    bool has_listeners() const { return to_stdout_ || !subscribers_.empty(); }

private:
    std::mutex mutex_;
    bool to_stdout_ = true;
    std::vector<Subscriber> subscribers_;
};

}  // namespace stethoscope::core
