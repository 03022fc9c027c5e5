// The control plane's pure parts (plugins/control/http): config validation, the opening
// classifier, the HTTP request reader and its limits, every route against a fake host,
// the raw-session command parser and answers, the Prometheus text and the event framing.
// The network side is tested end to end with the real binary (tests/e2e/control).
#define BOOST_TEST_MODULE control_http
#include <boost/test/unit_test.hpp>

#include "config.hpp"
#include "http_wire.hpp"
#include "metrics.hpp"
#include "routes.hpp"

#include <stethoscope/plugin.hpp>

#include <fstream>
#include <map>

namespace ctl = stethoscope::control;

namespace {

struct FakeHost : ctl::HostView {
    std::map<uint64_t, std::string> live{{7, R"({"uid":7,"state":"established"})"}};
    std::map<std::string, bool> mods{{"mss", true}, {"files", false}};
    sth_health state = STH_HEALTH_CAPTURING;
    bool old = false;  // a host older than ABI 1.3

    std::optional<std::string> sessions(uint64_t uid) const override {
        if (old) return std::nullopt;
        if (uid == 0) return std::string("[") + live.begin()->second + "]";
        auto it = live.find(uid);
        if (it == live.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> stats() const override {
        if (old) return std::nullopt;
        return std::string(R"({"packets":10,"bytes":1500,"dropped_kernel":2,"dropped_queue_full":0,)"
                           R"("decode":{"truncated":1},"counters":{"http.events_dropped":3}})");
    }
    std::optional<std::string> config() const override {
        if (old) return std::nullopt;
        return std::string(R"({"control":{"token":"***"}})");
    }
    std::optional<std::string> modules() const override {
        if (old) return std::nullopt;
        return std::string(R"([{"name":"mss","enabled":true}])");
    }
    std::string set_module_enabled(std::string_view name, bool on) const override {
        auto it = const_cast<FakeHost*>(this)->mods.find(std::string(name));
        if (it == mods.end()) return "unknown module '" + std::string(name) + "'";
        if (name == "files" && !on) return "files cannot be switched";
        it->second = on;
        return {};
    }
    sth_health health() const override { return state; }
};

ctl::Request get(std::string target, std::string method = "GET") {
    ctl::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    return r;
}

std::string header(const ctl::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return {};
}

ctl::RequestReader::Result feed_all(ctl::RequestReader& rd, std::string& in) {
    auto r = rd.feed(in);
    in.erase(0, r.consumed);
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(config_defaults_and_errors) {
    auto c = ctl::parse_config("", "control");
    BOOST_TEST(c.listen.address == "127.0.0.1");
    BOOST_TEST(c.listen.port == 9797);
    BOOST_TEST(c.max_pending_bytes == 4u * 1024 * 1024);
    BOOST_TEST(c.max_connections == 64u);
    BOOST_TEST(c.request_timeout_sec == 10.0);
    auto v6 = ctl::parse_config(R"({"listen":"[::1]:0"})", "control");
    BOOST_TEST(v6.listen.v6);
    BOOST_TEST(v6.listen.loopback);
    BOOST_TEST(v6.listen.port == 0);
    BOOST_TEST(ctl::endpoint_text(v6.listen, 4242) == "[::1]:4242");

    auto message = [](std::string_view json) {
        try {
            ctl::parse_config(json, "control");
        } catch (const stethoscope::ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    BOOST_TEST(message(R"({"listen":"0.0.0.0:9797"})") ==
               "control.token: required when control.listen (0.0.0.0:9797) is not a loopback "
               "address (or give token_file)");
    BOOST_TEST(message(R"({"listen":"localhost:80"})") ==
               "control.listen: expected \"IPv4:port\" or \"[IPv6]:port\" (port 0..65535), got "
               "\"localhost:80\"");
    BOOST_TEST(message(R"({"listen":"127.0.0.1:70000"})").starts_with("control.listen: "));
    BOOST_TEST(message(R"({"token":""})") == "control.token: expected non-empty string, got \"\"");
    BOOST_TEST(message(R"({"max_connections":0})") ==
               "control.max_connections: expected integer 1..65536, got 0");
    BOOST_TEST(message(R"({"bogus":1})") == "control.bogus: unknown key");
    BOOST_TEST(message(R"({"token_file":"/nonexistent/x"})") ==
               "control.token_file: cannot read \"/nonexistent/x\"");
    BOOST_TEST(message(R"({"listen":"0.0.0.0:1","token":"s3cret"})") == "no error");

    const std::string file = "control_http_test.token";
    std::ofstream(file) << "from-file\n";
    auto t = ctl::parse_config(R"({"listen":"10.1.2.3:1","token_file":")" + file + "\"}", "control");
    BOOST_TEST(t.token == "from-file");
    BOOST_TEST(!t.listen.loopback);
    BOOST_TEST(message(R"({"token":"a","token_file":")" + file + "\"}") ==
               "control.token_file: give either token or token_file, not both");
}

BOOST_AUTO_TEST_CASE(opening_classifier) {
    using O = ctl::Opening;
    BOOST_TEST((ctl::classify_opening("", 8192) == O::need_more));
    BOOST_TEST((ctl::classify_opening("GE", 8192) == O::need_more));
    BOOST_TEST((ctl::classify_opening("GET /x HT", 8192) == O::need_more));
    BOOST_TEST((ctl::classify_opening("GET /x HTTP/1.1\r\n", 8192) == O::http));
    BOOST_TEST((ctl::classify_opening("BREW /pot HTTP/1.1", 8192) == O::http));
    BOOST_TEST((ctl::classify_opening("{\"cmd\":\"stats\"}\n", 8192) == O::raw));
    BOOST_TEST((ctl::classify_opening("\n", 8192) == O::raw));
    BOOST_TEST((ctl::classify_opening("get / HTTP/1.1", 8192) == O::raw));
    BOOST_TEST((ctl::classify_opening("GET /x\n", 8192) == O::raw));
    BOOST_TEST((ctl::classify_opening("GET  /x HTTP/1.1", 8192) == O::raw));
    BOOST_TEST((ctl::classify_opening("GET /x FTP/1", 8192) == O::raw));
    // A request line longer than the limit is HTTP (answered with 414), not a raw session.
    BOOST_TEST((ctl::classify_opening("GET /" + std::string(100, 'a'), 64) == O::http));
}

BOOST_AUTO_TEST_CASE(request_reader_pipelined_and_incremental) {
    ctl::RequestReader rd({});
    std::string in = "GET /stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n"
                     "POST /modules/mss/disable HTTP/1.1\r\nContent-Length: 2\r\n"
                     "Connection: close\r\n\r\n{}";
    auto r = feed_all(rd, in);
    BOOST_TEST((r.state == ctl::RequestReader::State::done));
    auto a = rd.take();
    BOOST_TEST(a.method == "GET");
    BOOST_TEST(a.target == "/stats");
    BOOST_TEST(a.authorization == "Bearer t");
    BOOST_TEST(rd.keep_alive());
    r = feed_all(rd, in);
    BOOST_TEST((r.state == ctl::RequestReader::State::done));
    auto b = rd.take();
    BOOST_TEST(b.method == "POST");
    BOOST_TEST(b.body == "{}");
    BOOST_TEST(!rd.keep_alive());
    BOOST_TEST(in.empty());

    // One byte at a time, as a slow client sends it.
    const std::string whole = "GET /events?types=gap HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n";
    std::string buf;
    ctl::RequestReader slow({});
    for (size_t i = 0; i < whole.size(); ++i) {
        buf += whole[i];
        auto s = feed_all(slow, buf);
        BOOST_TEST((s.state == (i + 1 == whole.size() ? ctl::RequestReader::State::done
                                                      : ctl::RequestReader::State::need_more)));
    }
    BOOST_TEST(slow.take().accept == "text/event-stream");
}

BOOST_AUTO_TEST_CASE(request_reader_limits) {
    auto status = [](std::string in, ctl::RequestLimits lim = {}) {
        ctl::RequestReader rd(lim);
        auto r = rd.feed(in);
        return r.state == ctl::RequestReader::State::error ? r.status : 0u;
    };
    BOOST_TEST(status("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n") == 414u);
    BOOST_TEST(status("GET /" + std::string(9000, 'a')) == 414u);  // no line end yet
    BOOST_TEST(status("GET / HTTP/1.1\r\nX: " + std::string(20000, 'b') + "\r\n\r\n") == 431u);
    BOOST_TEST(status("GET / HTTP/1.1\r\nX: " + std::string(20000, 'b')) == 431u);
    BOOST_TEST(status("POST / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n") == 413u);
    BOOST_TEST(status("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n") == 400u);
    BOOST_TEST(status("GET / HTTP/9.9.9\r\n\r\n") == 400u);
    BOOST_TEST(status("GET / HTTP/1.1\r\nBad Header\r\n\r\n") == 400u);
    BOOST_TEST(status("GET / HTTP/1.1\r\n\r\n") == 0u);

    // A big header arriving in reads of 4 KiB is 431, not a long request line.
    const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n";
    ctl::RequestReader rd({});
    std::string in;
    unsigned got = 0;
    for (size_t off = 0; off < big.size() && got == 0; off += 4096) {
        in += big.substr(off, 4096);
        auto r = feed_all(rd, in);
        if (r.state == ctl::RequestReader::State::error) got = r.status;
    }
    BOOST_TEST(got == 431u);
}

BOOST_AUTO_TEST_CASE(routes_answer_every_endpoint) {
    FakeHost h;
    auto r = ctl::route(get("/stats"), h, "");
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == *h.stats());
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(ctl::route(get("/sessions"), h, "").body == R"([{"uid":7,"state":"established"}])");
    BOOST_TEST(ctl::route(get("/sessions/7"), h, "").body == R"({"uid":7,"state":"established"})");
    r = ctl::route(get("/sessions/8"), h, "");
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(r.body == R"({"error":"no live session with uid 8"})");
    r = ctl::route(get("/sessions/abc"), h, "");
    BOOST_TEST(r.status == 400u);
    BOOST_TEST(r.body == R"({"error":"session uid must be a positive integer, got \"abc\""})");
    BOOST_TEST(ctl::route(get("/config"), h, "").body ==
               R"({"config":{"control":{"token":"***"}},"modules":[{"name":"mss","enabled":true}]})");
    BOOST_TEST(ctl::route(get("/healthz"), h, "").body == R"({"status":"capturing"})");
    h.state = STH_HEALTH_FAILED;
    r = ctl::route(get("/healthz"), h, "");
    BOOST_TEST(r.status == 503u);
    BOOST_TEST(r.body == R"({"status":"failed"})");
    h.state = STH_HEALTH_CAPTURING;
    r = ctl::route(get("/metrics"), h, "");
    BOOST_TEST(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    BOOST_TEST(r.body.find("stethoscope_packets_total 10\n") != std::string::npos);

    r = ctl::route(get("/nope"), h, "");
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(r.body == R"({"error":"no such endpoint: /nope"})");
    r = ctl::route(get("/a\x92\n"), h, "");  // echoed request bytes stay valid JSON text
    BOOST_TEST(r.body == R"({"error":"no such endpoint: /a%92%0A"})");
    r = ctl::route(get("/modules/a%20b/enable", "POST"), h, "");
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(r.body == R"({"error":"no module named \"a b\""})");
    r = ctl::route(get("/stats", "DELETE"), h, "");
    BOOST_TEST(r.status == 405u);
    BOOST_TEST(header(r, "Allow") == "GET");
}

BOOST_AUTO_TEST_CASE(routes_events_and_modules_and_auth) {
    FakeHost h;
    auto r = ctl::route(get("/events?types=session_opened,session_closed"), h, "");
    BOOST_TEST(r.stream);
    BOOST_TEST((r.framing == ctl::Framing::ndjson));
    BOOST_TEST(r.content_type == "application/x-ndjson");
    BOOST_TEST(r.filter.types == (std::vector<std::string>{"session_opened", "session_closed"}));
    BOOST_TEST(r.filter.accepts("session_closed"));
    BOOST_TEST(!r.filter.accepts("gap"));
    auto sse = get("/events?types=gap%2Cmetrics");
    sse.accept = "text/event-stream";
    r = ctl::route(sse, h, "");
    BOOST_TEST((r.framing == ctl::Framing::sse));
    BOOST_TEST(r.filter.types == (std::vector<std::string>{"gap", "metrics"}));

    r = ctl::route(get("/modules/mss/disable", "POST"), h, "");
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.body == R"({"ok":true,"module":"mss","enabled":false})");
    BOOST_TEST(!h.mods["mss"]);
    r = ctl::route(get("/modules/mss/enable"), h, "");
    BOOST_TEST(r.status == 405u);
    BOOST_TEST(header(r, "Allow") == "POST");
    r = ctl::route(get("/modules/zzz/enable", "POST"), h, "");
    BOOST_TEST(r.status == 404u);
    BOOST_TEST(r.body == R"({"error":"unknown module 'zzz'"})");
    BOOST_TEST(ctl::route(get("/modules/files/disable", "POST"), h, "").status == 409u);
    BOOST_TEST(ctl::route(get("/modules/mss/restart", "POST"), h, "").status == 404u);

    r = ctl::route(get("/stats"), h, "s3cret");
    BOOST_TEST(r.status == 401u);
    BOOST_TEST(header(r, "WWW-Authenticate") == "Bearer realm=\"stethoscope\"");
    auto authed = get("/stats");
    authed.authorization = "Bearer s3cret";
    BOOST_TEST(ctl::route(authed, h, "s3cret").status == 200u);
    authed.authorization = "Bearer s3cre";
    BOOST_TEST(ctl::route(authed, h, "s3cret").status == 401u);

    h.old = true;
    BOOST_TEST(ctl::route(get("/stats"), h, "").status == 503u);
    BOOST_TEST(ctl::route(get("/sessions/7"), h, "").status == 503u);
}

BOOST_AUTO_TEST_CASE(commands_parse_and_answer) {
    FakeHost h;
    auto answer = [&](std::string_view line) {
        auto p = ctl::parse_command(line);
        if (auto* e = std::get_if<std::string>(&p)) return ctl::command_error(*e);
        return ctl::answer_command(std::get<ctl::Command>(p), h);
    };
    BOOST_TEST(answer(R"({"cmd":"health"})") == R"({"ok":true,"cmd":"health","status":"capturing"})");
    BOOST_TEST(answer(R"({"cmd":"session","uid":7})") ==
               R"({"ok":true,"cmd":"session","session":{"uid":7,"state":"established"}})");
    BOOST_TEST(answer(R"({"cmd":"session","uid":9})") ==
               R"({"ok":false,"cmd":"session","error":"no live session with uid 9"})");
    BOOST_TEST(answer(R"({"cmd":"session","uid":"7"})") ==
               R"({"ok":false,"error":"session: \"uid\": expected a positive integer"})");
    BOOST_TEST(answer(R"({"cmd":"sessions"})") ==
               R"({"ok":true,"cmd":"sessions","sessions":[{"uid":7,"state":"established"}]})");
    BOOST_TEST(answer(R"({"cmd":"modules"})") ==
               R"({"ok":true,"cmd":"modules","modules":[{"name":"mss","enabled":true}]})");
    BOOST_TEST(answer(R"({"cmd":"disable","module":"mss"})") ==
               R"({"ok":true,"cmd":"disable","module":"mss","enabled":false})");
    BOOST_TEST(answer(R"({"cmd":"enable","module":"nope"})") ==
               R"({"ok":false,"cmd":"enable","error":"unknown module 'nope'"})");
    BOOST_TEST(answer(R"({"cmd":"enable"})") ==
               R"({"ok":false,"error":"enable: \"module\": expected a module name"})");
    BOOST_TEST(answer(R"({"cmd":"dance"})") ==
               R"({"ok":false,"error":"unknown cmd \"dance\"; known: stats, sessions, session, )"
               R"(config, modules, enable, disable, health, subscribe, auth"})");
    BOOST_TEST(answer("[1]") == R"({"ok":false,"error":"expected a JSON object such as {\"cmd\":\"stats\"}"})");
    BOOST_TEST(answer(R"({"cmd":5})") == R"({"ok":false,"error":"\"cmd\": expected a string"})");
    BOOST_TEST(answer("{nope").starts_with(R"({"ok":false,"error":"bad JSON: )"));
    auto sub = std::get<ctl::Command>(ctl::parse_command(R"({"cmd":"subscribe","types":["gap"]})"));
    BOOST_TEST(sub.types == std::vector<std::string>{"gap"});
    BOOST_TEST(std::holds_alternative<std::string>(
        ctl::parse_command(R"({"cmd":"subscribe","types":"gap"})")));
    auto auth = std::get<ctl::Command>(ctl::parse_command(R"({"cmd":"auth","token":"t"})" "\r"));
    BOOST_TEST(auth.token == "t");
}

BOOST_AUTO_TEST_CASE(prometheus_text_exact) {
    const std::string stats =
        R"({"event":"capture_stats","packets":10,"sessions_opened":3,"dropped_kernel":2,)"
        R"("dropped_queue_full":0,"decode":{"truncated":1},"fragments":{"received":4,"reassembled":1},)"
        R"("counters":{"http.events_dropped":3,"a\"b":1},"workers":2})";
    BOOST_TEST(ctl::prometheus_text(stats, STH_HEALTH_CAPTURING) ==
               "# HELP stethoscope_packets_total Packets read from the input.\n"
               "# TYPE stethoscope_packets_total counter\n"
               "stethoscope_packets_total 10\n"
               "# HELP stethoscope_sessions_opened_total TCP sessions opened.\n"
               "# TYPE stethoscope_sessions_opened_total counter\n"
               "stethoscope_sessions_opened_total 3\n"
               "# HELP stethoscope_workers Worker threads of the engine.\n"
               "# TYPE stethoscope_workers gauge\n"
               "stethoscope_workers 2\n"
               "# HELP stethoscope_dropped_total Packets dropped before reassembly, by where they were dropped.\n"
               "# TYPE stethoscope_dropped_total counter\n"
               "stethoscope_dropped_total{reason=\"kernel\"} 2\n"
               "stethoscope_dropped_total{reason=\"queue_full\"} 0\n"
               "# HELP stethoscope_decode_errors_total Packets the decoder could not use, by reason.\n"
               "# TYPE stethoscope_decode_errors_total counter\n"
               "stethoscope_decode_errors_total{reason=\"truncated\"} 1\n"
               "# HELP stethoscope_ip_fragments_total IP fragments received.\n"
               "# TYPE stethoscope_ip_fragments_total counter\n"
               "stethoscope_ip_fragments_total 4\n"
               "# HELP stethoscope_ip_fragment_datagrams_total Fragmented IP datagrams by outcome.\n"
               "# TYPE stethoscope_ip_fragment_datagrams_total counter\n"
               "stethoscope_ip_fragment_datagrams_total{outcome=\"reassembled\"} 1\n"
               "# HELP stethoscope_plugin_total Counters of the core and the plugins, by name.\n"
               "# TYPE stethoscope_plugin_total counter\n"
               "stethoscope_plugin_total{name=\"http.events_dropped\"} 3\n"
               "stethoscope_plugin_total{name=\"a\\\"b\"} 1\n"
               "# HELP stethoscope_capturing 1 while the input captures, else 0.\n"
               "# TYPE stethoscope_capturing gauge\n"
               "stethoscope_capturing 1\n");
    BOOST_TEST(ctl::prometheus_text("not json", STH_HEALTH_ENDED).ends_with("stethoscope_capturing 0\n"));
}

BOOST_AUTO_TEST_CASE(event_framing_and_responses) {
    const std::string json = R"({"event":"gap"})";  // 15 bytes
    auto nd = ctl::frame_event(ctl::Framing::ndjson, true, "gap", json.size());
    BOOST_TEST(nd.head + json + nd.tail == "10\r\n{\"event\":\"gap\"}\n\r\n");
    auto sse = ctl::frame_event(ctl::Framing::sse, true, "gap", json.size());
    BOOST_TEST(sse.head + json + sse.tail == "22\r\nevent: gap\ndata: {\"event\":\"gap\"}\n\n\r\n");
    auto raw = ctl::frame_event(ctl::Framing::ndjson, false, "gap", json.size());
    BOOST_TEST(raw.head + json + raw.tail == json + "\n");
    ctl::Response events;
    events.content_type = "application/x-ndjson";
    BOOST_TEST(ctl::stream_head(events, true) ==
               "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-cache\r\n"
               "Transfer-Encoding: chunked\r\n\r\n");
    BOOST_TEST(ctl::stream_head(events, false) ==
               "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nCache-Control: no-cache\r\n"
               "Connection: close\r\n\r\n");
    ctl::RequestReader rd({});
    BOOST_TEST((rd.feed("GET /events HTTP/1.0\r\n\r\n").state == ctl::RequestReader::State::done));
    BOOST_TEST(rd.take().http10);
    auto resp = ctl::error_response(404, "x");
    BOOST_TEST(ctl::serialize_response(resp, false) ==
               "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 13\r\n"
               "Connection: close\r\n\r\n{\"error\":\"x\"}");
}
