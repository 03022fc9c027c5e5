// The connector output (config section io.output.remote-host): for every new session two
// outgoing TCP connections, one to the requests target and one to the responses target,
// each carrying that stream's raw bytes as soon as they are in order — so requests
// replayed to a real server get real responses (traffic shadowing, like GoReplay).
//
//   requests            "host:port"   target of the requests stream (optional)
//   responses           "host:port"   target of the responses stream (optional; one of
//                                     the two is required)
//   bind_client_port    bool, false   bind the captured client's source port (the session
//                                     id); when the port is taken, any port (reported in
//                                     output_connected as "client_port_bound": false)
//   connect_timeout_sec number, 3
//   queue_bytes         integer, 4 MiB  per stream; bytes captured while connecting are
//                                     queued too
//   total_queue_bytes   integer, 256 MiB  all streams of the output together (a never-
//                                     reading peer times many sessions stays bounded)
//   stall_timeout_sec   number, 10    bytes queued and the target reads nothing this long:
//                                     the stream fails ("stalled"), the rest is dropped
//   half_close          bool, false   at the stream's end shut down our sending side at
//                                     once; by default the connection stays open until the
//                                     target has been quiet for linger_sec, then closes (a
//                                     server that sees EOF early may abort the request: nginx
//                                     logs 499 for a proxied one)
//   linger_sec          number, 2     how long the target may still send after the stream
//                                     ended (what it sends is read and counted, not kept)
//
// Events: output_connected, output_error (connect_failed, connect_timeout, disconnected,
// stalled), output_overflow; per-stream counts in session_closed under
// outputs.connector.{requests,responses}; totals as counters connector.<dir>.*.
// Sockets run on one Boost.Asio thread of the plugin's own; the capture never waits on a
// live interface (a full queue drops and counts), reading a file it does.
#pragma once

#include "../../common/socket-stream/socket_output.hpp"

#include <stethoscope/plugin.hpp>

#include <memory>
#include <optional>
#include <string>

namespace stethoscope::connector {

struct Target {
    std::string text;  // as configured
    std::string host;
    uint16_t port = 0;
};

struct Config {
    std::optional<Target> target[2];  // requests, responses
    bool bind_client_port = false;
    double connect_timeout_sec = 3;
    sockstream::Limits limits;
};

Config parse_config(std::string_view json, std::string_view path);

class ConnectorOutput : public sockstream::SocketOutput {
public:
    using Config = connector::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return connector::parse_config(json, path);
    }
    ConnectorOutput(const Host& host, Config config);
    ~ConnectorOutput();

    void start();
    void stop();
    void* session_open(const sth_session_info& s);
    void session_close(void* cookie, const sth_session_info& s, const sth_event& e);
    // stream_data, stream_end, session_pending, session_summary: SocketOutput's.

private:
    struct Session;
    void connect(std::shared_ptr<sockstream::SocketStream> stream, int dir, bool bind_port);

    Config config_;
    std::optional<sockstream::tcp::endpoint> endpoint_[2];
    sockstream::asio::ip::address source_[2];  // bind_client_port: our address towards it
    Counter sessions_, connects_, connect_failures_, bind_fallbacks_;
};

}  // namespace stethoscope::connector
