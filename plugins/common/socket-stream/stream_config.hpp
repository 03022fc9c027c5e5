// Config keys shared by the socket outputs (listener, connector), validated with the
// SDK's config_schema so every error names its JSON path.
#pragma once

#include "socket_stream.hpp"

#include <stethoscope/config_schema.hpp>

#include <cstdint>
#include <string>

namespace stethoscope::sockstream {

// queue_bytes, stall_timeout_sec, linger_sec, and hold_bytes / the wait for a socket
// under the keys given (nullptr: not configurable, the default is used).
inline Limits parse_limits(config::Section& s, const char* hold_key, uint64_t hold_default,
                           const char* wait_key, double wait_default) {
    Limits l;
    l.queue_bytes = static_cast<uint64_t>(
        s.integer("queue_bytes", static_cast<int64_t>(l.queue_bytes), 1024, int64_t{1} << 34));
    l.hold_bytes = hold_default;
    if (hold_key != nullptr)
        l.hold_bytes = static_cast<uint64_t>(
            s.integer(hold_key, static_cast<int64_t>(hold_default), 0, int64_t{1} << 34));
    l.wait_timeout_sec = wait_default;
    if (wait_key != nullptr) l.wait_timeout_sec = s.number(wait_key, wait_default, 0.05, 86400);
    l.total_queue_bytes = static_cast<uint64_t>(s.integer(
        "total_queue_bytes", static_cast<int64_t>(l.total_queue_bytes), 65536, int64_t{1} << 40));
    if (l.total_queue_bytes < l.queue_bytes)
        throw ConfigError(s.path("total_queue_bytes") + ": must be at least queue_bytes (" +
                          std::to_string(l.queue_bytes) + ")");
    l.stall_timeout_sec = s.number("stall_timeout_sec", l.stall_timeout_sec, 0.05, 86400);
    l.linger_sec = s.number("linger_sec", l.linger_sec, 0, 3600);
    return l;
}

struct HostPort {
    std::string host;
    uint16_t port = 0;
    std::string text;  // as configured
};

// "host:port", "[v6]:port". Throws ConfigError naming `path`.
inline HostPort parse_host_port(const std::string& text, const std::string& path) {
    auto bad = [&]() -> HostPort {
        throw ConfigError(path + ": expected \"host:port\" (\"[v6]:port\" for IPv6), got \"" +
                          text + "\"");
    };
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return bad();
    HostPort hp;
    hp.text = text;
    hp.host = text.substr(0, colon);
    if (hp.host.front() == '[') {
        if (hp.host.size() < 3 || hp.host.back() != ']') return bad();
        hp.host = hp.host.substr(1, hp.host.size() - 2);
    } else if (hp.host.find(':') != std::string::npos) {
        return bad();  // a bare IPv6 address needs brackets
    }
    std::string port = text.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return bad();
    unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return bad();
    hp.port = static_cast<uint16_t>(p);
    return hp;
}

}  // namespace stethoscope::sockstream
