// libFuzzer target: the control plane's request path without sockets. The input is the
// first bytes of a connection: classified (HTTP or raw session); HTTP bytes go through
// the request reader with small limits, in two pieces split where the first byte says, and
// every request read is routed against a fake host; raw bytes are split into lines, each
// parsed as a command and answered. The input also goes through the Prometheus renderer
// as a stats object. Invariants checked: the reader consumes no more than it is given,
// errors carry a 4xx status, every JSON body parses (as UTF-8), and every error body and
// command answer is a JSON object.
#include "http_wire.hpp"
#include "metrics.hpp"
#include "routes.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ctl = stethoscope::control;

namespace {

struct FakeHost : ctl::HostView {
    std::optional<std::string> sessions(uint64_t uid) const override {
        if (uid == 0) return std::string(R"([{"uid":1}])");
        if (uid == 1) return std::string(R"({"uid":1})");
        return std::nullopt;
    }
    std::optional<std::string> stats() const override {
        return std::string(R"({"packets":1,"decode":{"x":1},"counters":{"a":2}})");
    }
    std::optional<std::string> config() const override { return std::string("{}"); }
    std::optional<std::string> modules() const override { return std::string("[]"); }
    std::string set_module_enabled(std::string_view name, bool) const override {
        return name == "mss" ? std::string() : "unknown module";
    }
    sth_health health() const override { return STH_HEALTH_CAPTURING; }
};

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

void check_json(std::string_view body, bool object) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    check(!ec, "a JSON body parses");
    check(!object || v.is_object(), "an error body is a JSON object");
}
void check_object(std::string_view body) { check_json(body, true); }

void http(std::string_view bytes, size_t split) {
    const FakeHost host;
    ctl::RequestReader reader({256, 1024, 512});
    std::string in;
    for (std::string_view piece : {bytes.substr(0, split), bytes.substr(split)}) {
        in.append(piece);
        for (int guard = 0; guard < 64; ++guard) {
            auto r = reader.feed(in);
            check(r.consumed <= in.size(), "consumed within the input");
            in.erase(0, r.consumed);
            if (r.state == ctl::RequestReader::State::error) {
                check(r.status >= 400 && r.status < 500, "an error is a 4xx");
                return;
            }
            if (r.state == ctl::RequestReader::State::need_more) break;
            auto resp = ctl::route(reader.take(), host, (guard & 1) ? "tok" : "");
            if (!resp.stream && resp.content_type == "application/json")
                check_json(resp.body, resp.status >= 400);
            (void)ctl::serialize_response(resp, reader.keep_alive());
        }
    }
}

void raw(std::string_view bytes) {
    const FakeHost host;
    while (!bytes.empty()) {
        size_t nl = bytes.find('\n');
        std::string_view line = bytes.substr(0, nl);
        auto parsed = ctl::parse_command(line);
        if (auto* c = std::get_if<ctl::Command>(&parsed)) check_object(ctl::answer_command(*c, host));
        else check_object(ctl::command_error(std::get<std::string>(parsed)));
        if (nl == std::string_view::npos) break;
        bytes.remove_prefix(nl + 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const size_t split = size > 0 ? data[0] % (size + 1) : 0;
    switch (ctl::classify_opening(bytes, 256)) {
        case ctl::Opening::http: http(bytes, split); break;
        case ctl::Opening::raw: raw(bytes); break;
        case ctl::Opening::need_more: http(bytes, split); break;
    }
    (void)ctl::prometheus_text(bytes, STH_HEALTH_CAPTURING);
    (void)ctl::url_decode(bytes);
    (void)ctl::split_list(bytes);
    return 0;
}
