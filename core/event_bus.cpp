#include "event_bus.hpp"

#include "log.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>

namespace stethoscope::core {

std::string format_ts(int64_t ts_ns) {
    int64_t secs = ts_ns / 1000000000;
    int64_t us = (ts_ns % 1000000000) / 1000;
    if (us < 0) {
        us += 1000000;
        secs -= 1;
    }
    // strftime once per second per thread: events come in bursts within one second.
    thread_local int64_t cached_secs = INT64_MIN;
    thread_local char prefix[32];
    thread_local size_t prefix_len = 0;
    if (secs != cached_secs) {
        std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        prefix_len = std::strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S.", &tm);
        cached_secs = secs;
    }
    std::string out(prefix, prefix_len);
    char frac[8];
    for (int i = 5; i >= 0; --i) {
        frac[i] = static_cast<char>('0' + us % 10);
        us /= 10;
    }
    frac[6] = 'Z';
    out.append(frac, 7);
    return out;
}

std::string format_ip(const sth_endpoint& e) {
    if (e.family == 4) {  // the common case, without inet_ntop's locale-free sprintf
        char buf[16];
        char* p = buf;
        for (int i = 0; i < 4; ++i) {
            if (i != 0) *p++ = '.';
            p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned>(e.addr[i])).ptr;
        }
        return std::string(buf, static_cast<size_t>(p - buf));
    }
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr, buf, sizeof buf);
    return buf;
}

std::string format_endpoint(const sth_endpoint& e) {
    if (e.family == 6) return "[" + format_ip(e) + "]:" + std::to_string(e.port);
    return format_ip(e) + ":" + std::to_string(e.port);
}

void begin_event(JsonWriter& w, int64_t ts_ns, std::string_view type,
                 const sth_session_info* s) {
    w.begin_object();
    w.key("ts").value(format_ts(ts_ns));
    w.key("event").value(type);
    if (s != nullptr) {
        w.key("session").value(uint64_t{s->session_id});
        w.key("uid").value(s->uid);
        w.key("client").value(format_endpoint(s->client));
        w.key("server").value(format_endpoint(s->server));
    }
}

void EventBus::publish(std::string_view type, std::string_view json, uint64_t uid) {
    sth_event ev{sizeof(sth_event), {type.data(), type.size()}, {json.data(), json.size()}, uid};
    std::lock_guard<std::mutex> lock(mutex_);
    if (to_stdout_) {
        std::fwrite(json.data(), 1, json.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);  // a reader tailing the events sees each one at once
    }
    if (log_enabled(STH_LOG_DEBUG)) log_message(STH_LOG_DEBUG, "event", json);
    for (const auto& s : subscribers_) s(ev);
}

}  // namespace stethoscope::core
