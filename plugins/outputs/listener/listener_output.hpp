// The listener output (io.output.listener; the prototype's io.output.listner is read as
// an alias): consumers connect in and receive each session's streams as raw bytes.
//
// Two shared listen ports (requests_port, responses_port on `bind`): a consumer claims a
// session by connecting from a source port equal to the session id (the client's port,
// announced in session_opened); otherwise it gets the oldest unclaimed session. A consumer
// that connects while no session is unclaimed waits for the next one (the first waiting
// consumer whose port matches its id, else the one waiting longest).
// With `port_range` ("7100-7199") instead, every session gets a pair of listen ports of
// its own (requests on an even offset of the range, responses the next port), announced
// in session_opened under "listener": {"requests_port", "responses_port"} and closed with
// the session; an exhausted range is an output_error ("no_ports"), the session's bytes
// are dropped and counted.
//
//   bind                string, "127.0.0.1"
//   requests_port       integer, 7001        responses_port  integer, 7002
//   port_range          string "first-last"  (instead of the two ports)
//   hold_bytes          integer, 1 MiB   per stream, bytes kept until a consumer comes;
//                                        0 = the prototype's behaviour: drop until then
//   claim_timeout_sec   number, 10       no consumer this long after the session opened:
//                                        the stream is released (output_error "unclaimed"),
//                                        its bytes dropped and counted
//   queue_bytes         integer, 4 MiB   per stream, once a consumer is connected
//   total_queue_bytes   integer, 256 MiB  all streams of the output together (a never-
//                                     reading peer times many sessions stays bounded)
//   stall_timeout_sec   number, 10       linger_sec  number, 2   (as in the connector)
//
// Each stream is half-closed (shutdown of the write side) once its direction ended and
// everything before is out. Events: output_connected (with claimed_by), output_error,
// output_overflow; counts in session_closed under outputs.listener.{requests,responses}.
#pragma once

#include "../../common/socket-stream/socket_output.hpp"

#include <stethoscope/plugin.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stethoscope::listener {

struct Config {
    std::string bind = "127.0.0.1";
    uint16_t port[2] = {7001, 7002};
    uint16_t range_first = 0, range_last = 0;  // port_range; 0 = shared ports
    sockstream::Limits limits;
};

Config parse_config(std::string_view json, std::string_view path);

class ListenerOutput : public sockstream::SocketOutput {
public:
    using Config = listener::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return listener::parse_config(json, path);
    }
    ListenerOutput(const Host& host, Config config);
    ~ListenerOutput();

    void start();
    void stop();
    void* session_open(const sth_session_info& s);
    void session_opened_fields(void* cookie, const sth_session_info& s, JsonSink& sink);
    void session_close(void* cookie, const sth_session_info& s, const sth_event& e);
    // stream_data, stream_end, session_pending, session_summary: SocketOutput's.

private:
    struct Session;
    struct Parked {
        sockstream::tcp::socket socket;
        uint16_t port;
    };
    using StreamPtr = std::shared_ptr<sockstream::SocketStream>;
    void accept_shared(int dir);
    void accept_session(std::shared_ptr<sockstream::tcp::acceptor> acceptor, StreamPtr stream);
    void claim(StreamPtr stream, sockstream::tcp::socket socket, const char* how);
    bool open_pair(Session& session);
    void release_ports(uint16_t first);

    Config config_;
    std::unique_ptr<sockstream::tcp::acceptor> shared_[2];

    std::mutex mutex_;  // the claim registry and the port range
    std::deque<std::weak_ptr<sockstream::SocketStream>> unclaimed_[2];  // in session order
    std::deque<Parked> parked_[2];  // consumers that came before a session
    std::vector<bool> range_used_;  // per pair of the port range
    bool exhausted_reported_ = false;

    Counter sessions_, claims_, parked_rejected_, no_ports_;
};

}  // namespace stethoscope::listener
