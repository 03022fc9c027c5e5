// The control plane's HTTP routes and the raw-session command language, as pure functions
// over a HostView: no sockets, no threads, so tests and the fuzz target call them directly.
//
// route(request, host, token) answers every request except the body of GET /events, which
// it only accepts (Response::stream set, with the filter and framing); the server then
// keeps the connection as an event stream. Routes: GET /events[?types=a,b], /sessions,
// /sessions/{uid}, /stats, /config, /modules, /healthz, /metrics; POST
// /modules/{name}/enable|disable. With a token, every request needs
// "Authorization: Bearer <token>" (401 otherwise). Every error body is {"error":"..."};
// request text echoed in one is escaped to printable ASCII.
//
// Thread: these functions run on the plugin's Asio thread; HostView's methods must be
// callable from it (the host's snapshot calls are callable from any thread).
#pragma once

#include <stethoscope/abi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace stethoscope::control {

// What the routes need from the host (stethoscope::Host in the plugin, a fake in tests).
class HostView {
public:
    virtual ~HostView() = default;
    virtual std::optional<std::string> sessions(uint64_t uid) const = 0;  // 0: all (array)
    virtual std::optional<std::string> stats() const = 0;
    virtual std::optional<std::string> config() const = 0;
    virtual std::optional<std::string> modules() const = 0;
    virtual std::string set_module_enabled(std::string_view name, bool on) const = 0;  // "" = ok
    virtual sth_health health() const = 0;
    // Whether the plugin wants the host's events now (some client follows /events).
    virtual void events_wanted(bool /*wanted*/) const {}
};

struct Request {
    std::string method;  // as sent: "GET", "POST", ...
    std::string target;  // "/events?types=a,b"
    std::string authorization;
    std::string accept;
    std::string body;
    bool http10 = false;  // an HTTP/1.0 request: no chunked encoding in the answer
};

// How an /events stream is framed.
enum class Framing { ndjson, sse };

// Which event types a subscriber wants; empty = every type.
struct TypeFilter {
    std::vector<std::string> types;
    bool accepts(std::string_view type) const;
};

struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // Allow, WWW-Authenticate
    bool stream = false;  // GET /events accepted: keep the connection as an event stream
    Framing framing = Framing::ndjson;
    TypeFilter filter;
};

Response route(const Request& request, const HostView& host, std::string_view token);

// A response with body {"error":message}.
Response error_response(unsigned status, std::string_view message);

// Compares a presented token with the configured one in time independent of where they
// differ. An empty `expected` accepts everything.
bool token_matches(std::string_view presented, std::string_view expected);

// "capturing", "starting", "ended", "failed".
const char* health_name(sth_health h);

// The first bytes of a connection: an HTTP request line ("METHOD SP target SP HTTP/"),
// something else (a raw control session), or too few bytes to tell yet.
enum class Opening { need_more, http, raw };
Opening classify_opening(std::string_view bytes, size_t max_request_line);

// Percent-decoding of a query component ('+' is a space); invalid escapes stay as they are.
std::string url_decode(std::string_view s);
// Splits "a,b,,c" into {"a","b","c"}.
std::vector<std::string> split_list(std::string_view s);

// --- the raw control session: one JSON command per line --------------------------------
struct Command {
    enum class Kind { stats, sessions, session, config, modules, enable, disable, health,
                      subscribe, auth };
    Kind kind = Kind::stats;
    uint64_t uid = 0;            // session
    std::string module;          // enable, disable
    std::vector<std::string> types;  // subscribe ([] = every type)
    std::string token;           // auth
};

// A command, or the error line's message ("bad JSON: ...", "unknown cmd \"x\"", ...).
std::variant<Command, std::string> parse_command(std::string_view line);

// The one answer line (no newline) to a command other than subscribe and auth, which the
// session handles itself (they change its state): {"ok":true,"cmd":...} or {"ok":false,...}.
std::string answer_command(const Command& command, const HostView& host);

// {"ok":false,"error":message} (with "cmd" when known).
std::string command_error(std::string_view message, std::string_view cmd = {});
// {"ok":true,"cmd":cmd} plus `members` (serialized members, may be empty).
std::string command_ok(std::string_view cmd, std::string_view members = {});
const char* command_name(Command::Kind k);

}  // namespace stethoscope::control
