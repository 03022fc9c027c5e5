// Config of the control plane (section `control`; the core strips "enabled" and "plugin"):
//   listen               string  "127.0.0.1:9797"  "IPv4:port" or "[IPv6]:port"; port 0 = any
//   token                string  none              bearer token every request must carry
//   token_file           string  none              file holding the token (one line)
//   max_pending_bytes    integer 4194304           bytes queued per /events client (or the
//                                                  raw session) before it is cut off; also
//                                                  the answers a pipelining client may leave
//                                                  unread before it is closed
//   max_connections      integer 64                open connections; beyond it: 503, closed
//   max_request_line     integer 8192              bytes of the request line (414 beyond)
//                                                  and of one raw-session command line
//   max_header_bytes     integer 16384             bytes of the header block (431 beyond)
//   max_body_bytes       integer 65536             bytes of a request body (413 beyond)
//   request_timeout_sec  number  10                time to receive a whole request, and an
//                                                  idle keep-alive connection's lifetime
// A listen address off loopback needs a token (ConfigError naming control.token).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stethoscope::control {

// Where the plane listens: an IP literal (no brackets) and a port (0: the kernel picks).
struct Endpoint {
    std::string address = "127.0.0.1";
    uint16_t port = 9797;
    bool v6 = false;
    bool loopback = true;
};

struct Config {
    Endpoint listen;
    std::string token;  // empty: no authentication
    uint64_t max_pending_bytes = 4 * 1024 * 1024;
    uint32_t max_connections = 64;
    uint32_t max_request_line = 8192;
    uint32_t max_header_bytes = 16384;
    uint64_t max_body_bytes = 65536;
    double request_timeout_sec = 10;
};

// Parses "a.b.c.d:port" or "[v6]:port"; throws ConfigError naming `path`.
Endpoint parse_endpoint(std::string_view text, const std::string& path);

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

// "127.0.0.1:9797" / "[::1]:9797".
std::string endpoint_text(const Endpoint& e, uint16_t port);

}  // namespace stethoscope::control
