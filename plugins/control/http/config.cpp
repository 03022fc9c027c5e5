#include "config.hpp"

#include <stethoscope/config_schema.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stethoscope::control {

namespace {

[[noreturn]] void bad_endpoint(const std::string& path, std::string_view text) {
    throw ConfigError(path + ": expected \"IPv4:port\" or \"[IPv6]:port\" (port 0..65535), got \"" +
                      std::string(text) + "\"");
}

bool is_loopback(const std::string& address, bool v6) {
    if (v6) {
        in6_addr a{};
        inet_pton(AF_INET6, address.c_str(), &a);
        static const in6_addr loop = IN6ADDR_LOOPBACK_INIT;
        return std::memcmp(&a, &loop, sizeof a) == 0;
    }
    in_addr a{};
    inet_pton(AF_INET, address.c_str(), &a);
    return (ntohl(a.s_addr) >> 24) == 127;
}

std::string read_token_file(const std::string& file, const std::string& path) {
    std::ifstream in(file);
    if (!in) throw ConfigError(path + ": cannot read \"" + file + "\"");
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty()) throw ConfigError(path + ": \"" + file + "\" holds no token");
    return token;
}

}  // namespace

Endpoint parse_endpoint(std::string_view text, const std::string& path) {
    Endpoint e;
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 >= text.size()) bad_endpoint(path, text);
    std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        e.v6 = true;
        host = host.substr(1, host.size() - 2);
    }
    e.address = std::string(host);
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(e.v6 ? AF_INET6 : AF_INET, e.address.c_str(), buf) != 1) bad_endpoint(path, text);
    unsigned value = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), value);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535)
        bad_endpoint(path, text);
    e.port = static_cast<uint16_t>(value);
    e.loopback = is_loopback(e.address, e.v6);
    return e;
}

std::string endpoint_text(const Endpoint& e, uint16_t port) {
    return (e.v6 ? "[" + e.address + "]" : e.address) + ":" + std::to_string(port);
}

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    std::string listen = s.string("listen", "127.0.0.1:9797", false);
    c.listen = parse_endpoint(listen, s.path("listen"));
    c.token = s.string("token", "");
    if (s.has("token") && c.token.empty())
        throw ConfigError(s.path("token") + ": expected non-empty string, got \"\"");
    std::string file = s.string("token_file", "");
    if (!file.empty()) {
        if (!c.token.empty())
            throw ConfigError(s.path("token_file") + ": give either token or token_file, not both");
        c.token = read_token_file(file, s.path("token_file"));
    }
    c.max_pending_bytes = static_cast<uint64_t>(
        s.integer("max_pending_bytes", int64_t(c.max_pending_bytes), 1024, int64_t(1) << 32));
    c.max_connections = static_cast<uint32_t>(s.integer("max_connections", c.max_connections, 1, 65536));
    c.max_request_line =
        static_cast<uint32_t>(s.integer("max_request_line", c.max_request_line, 64, 1 << 20));
    c.max_header_bytes =
        static_cast<uint32_t>(s.integer("max_header_bytes", c.max_header_bytes, 256, 1 << 24));
    c.max_body_bytes = static_cast<uint64_t>(
        s.integer("max_body_bytes", int64_t(c.max_body_bytes), 0, int64_t(1) << 30));
    c.request_timeout_sec = s.number("request_timeout_sec", c.request_timeout_sec, 0.05, 3600);
    s.finish();
    if (!c.listen.loopback && c.token.empty())
        throw ConfigError(std::string(path.empty() ? "" : std::string(path) + ".") +
                          "token: required when " + s.path("listen") + " (" + listen +
                          ") is not a loopback address (or give token_file)");
    return c;
}

}  // namespace stethoscope::control
