#include "routes.hpp"

#include "metrics.hpp"

#include <stethoscope/json_writer.hpp>

#include <cctype>
#include <charconv>

namespace stethoscope::control {

namespace {

constexpr std::string_view k_modules = "/modules/";
constexpr std::string_view k_sessions = "/sessions/";

// Request text echoed in an error: printable ASCII kept, other bytes as %XX, so the JSON
// body stays valid UTF-8 whatever the client sent.
std::string printable(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

bool module_name_ok(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
            return false;
    return true;
}

Response json_ok(std::string body) {
    Response r;
    r.body = std::move(body);
    return r;
}

Response method_not_allowed(std::string_view allow) {
    Response r = error_response(405, "method not allowed; use " + std::string(allow));
    r.headers.emplace_back("Allow", std::string(allow));
    return r;
}

Response unavailable(std::string_view what) {
    return error_response(503, "the host does not provide " + std::string(what) +
                                   " (plugin ABI older than 1.3)");
}

std::optional<uint64_t> parse_uid(std::string_view s) {
    uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v == 0)
        return std::nullopt;
    return v;
}

// The value of `key` in a query string ("a=1&types=x,y"), decoded; nullopt when absent.
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        size_t eq = part.find('=');
        if (url_decode(part.substr(0, eq)) == key)
            return eq == std::string_view::npos ? std::string() : url_decode(part.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

Response events(const Request& req, std::string_view query) {
    Response r;
    r.stream = true;
    if (auto types = query_value(query, "types")) r.filter.types = split_list(*types);
    if (req.accept.find("text/event-stream") != std::string::npos) {
        r.framing = Framing::sse;
        r.content_type = "text/event-stream";
    } else {
        r.content_type = "application/x-ndjson";
    }
    return r;
}

Response session(std::string_view id, const HostView& host) {
    auto uid = parse_uid(id);
    if (!uid) return error_response(400, "session uid must be a positive integer, got \"" +
                                             printable(id) + "\"");
    if (auto s = host.sessions(*uid)) return json_ok(std::move(*s));
    if (!host.stats()) return unavailable("session snapshots");
    return error_response(404, "no live session with uid " + std::to_string(*uid));
}

Response healthz(const HostView& host) {
    sth_health h = host.health();
    JsonWriter w;
    w.begin_object().key("status").value(health_name(h)).end_object();
    Response r = json_ok(w.take());
    if (h == STH_HEALTH_FAILED || h == STH_HEALTH_ENDED) r.status = 503;
    return r;
}

Response config(const HostView& host) {
    auto cfg = host.config();
    auto mods = host.modules();
    if (!cfg || !mods) return unavailable("config snapshots");
    JsonWriter w;
    w.begin_object().key("config").raw(*cfg).key("modules").raw(*mods).end_object();
    return json_ok(w.take());
}

Response metrics(const HostView& host) {
    auto stats = host.stats();
    if (!stats) return unavailable("statistics");
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = prometheus_text(*stats, host.health());
    return r;
}

Response module_switch(const Request& req, std::string_view rest, const HostView& host) {
    size_t slash = rest.rfind('/');
    const std::string path = printable(req.target.substr(0, req.target.find('?')));
    if (slash == std::string_view::npos || slash == 0)
        return error_response(404, "no such endpoint: " + path);
    std::string name = url_decode(rest.substr(0, slash));
    std::string_view action = rest.substr(slash + 1);
    if (action != "enable" && action != "disable")
        return error_response(404, "no such endpoint: " + path);
    if (!module_name_ok(name))
        return error_response(404, "no module named \"" + printable(name) + "\"");
    if (req.method != "POST") return method_not_allowed("POST");
    bool on = action == "enable";
    std::string err = host.set_module_enabled(name, on);
    if (!err.empty()) {
        bool unknown = err.find("unknown") != std::string::npos ||
                       err.find("no module") != std::string::npos;
        return error_response(unknown ? 404 : 409, err);
    }
    JsonWriter w;
    w.begin_object().key("ok").value(true).key("module").value(name).key("enabled").value(on);
    w.end_object();
    return json_ok(w.take());
}

// A GET-only endpoint: `make` builds the answer.
template <class F>
Response get_only(const Request& req, F&& make) {
    if (req.method != "GET") return method_not_allowed("GET");
    return make();
}

}  // namespace

bool TypeFilter::accepts(std::string_view type) const {
    if (types.empty()) return true;
    for (const auto& t : types)
        if (t == type) return true;
    return false;
}

Response error_response(unsigned status, std::string_view message) {
    Response r;
    r.status = status;
    JsonWriter w;
    w.begin_object().key("error").value(message).end_object();
    r.body = w.take();
    return r;
}

bool token_matches(std::string_view presented, std::string_view expected) {
    if (expected.empty()) return true;
    unsigned diff = presented.size() == expected.size() ? 0U : 1U;
    for (size_t i = 0; i < expected.size(); ++i) {
        char p = i < presented.size() ? presented[i] : '\0';
        diff |= static_cast<unsigned char>(p ^ expected[i]);
    }
    return diff == 0;
}

const char* health_name(sth_health h) {
    switch (h) {
        case STH_HEALTH_STARTING: return "starting";
        case STH_HEALTH_CAPTURING: return "capturing";
        case STH_HEALTH_ENDED: return "ended";
        case STH_HEALTH_FAILED: return "failed";
    }
    return "unknown";
}

Response route(const Request& req, const HostView& host, std::string_view token) {
    if (!token.empty()) {
        constexpr std::string_view bearer = "Bearer ";
        std::string_view auth = req.authorization;
        bool ok = auth.size() > bearer.size() && auth.substr(0, bearer.size()) == bearer &&
                  token_matches(auth.substr(bearer.size()), token);
        if (!ok) {
            Response r = error_response(401, "missing or wrong bearer token");
            r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"stethoscope\"");
            return r;
        }
    }
    std::string_view target = req.target;
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

    if (path == "/events") return get_only(req, [&] { return events(req, query); });
    if (path == "/sessions")
        return get_only(req, [&] {
            auto s = host.sessions(0);
            return s ? json_ok(std::move(*s)) : unavailable("session snapshots");
        });
    if (path.substr(0, k_sessions.size()) == k_sessions)
        return get_only(req, [&] { return session(path.substr(k_sessions.size()), host); });
    if (path == "/stats")
        return get_only(req, [&] {
            auto s = host.stats();
            return s ? json_ok(std::move(*s)) : unavailable("statistics");
        });
    if (path == "/config") return get_only(req, [&] { return config(host); });
    if (path == "/healthz") return get_only(req, [&] { return healthz(host); });
    if (path == "/metrics") return get_only(req, [&] { return metrics(host); });
    if (path == "/modules")
        return get_only(req, [&] {
            auto m = host.modules();
            return m ? json_ok(std::move(*m)) : unavailable("module lists");
        });
    if (path.substr(0, k_modules.size()) == k_modules)
        return module_switch(req, path.substr(k_modules.size()), host);
    return error_response(404, "no such endpoint: " + printable(path));
}

Opening classify_opening(std::string_view b, size_t max_request_line) {
    constexpr std::string_view http = " HTTP/";
    size_t i = 0;
    while (i < b.size() && b[i] >= 'A' && b[i] <= 'Z') ++i;  // the method token
    if (i == b.size()) return b.size() >= max_request_line ? Opening::raw : Opening::need_more;
    if (i == 0 || b[i] != ' ') return Opening::raw;
    size_t t = ++i;
    while (i < b.size() && b[i] != ' ' && b[i] != '\r' && b[i] != '\n') ++i;
    if (i == b.size()) return b.size() >= max_request_line ? Opening::http : Opening::need_more;
    if (i == t || b[i] != ' ') return Opening::raw;
    std::string_view rest = b.substr(i);
    size_t n = std::min(rest.size(), http.size());
    if (rest.substr(0, n) != http.substr(0, n)) return Opening::raw;
    return n == http.size() ? Opening::http : Opening::need_more;
}

std::string url_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        size_t c = s.find(',');
        std::string_view part = s.substr(0, c);
        if (!part.empty()) out.emplace_back(part);
        if (c == std::string_view::npos) break;
        s.remove_prefix(c + 1);
    }
    return out;
}

}  // namespace stethoscope::control
