// What the two socket outputs (listener, connector) share besides their streams: the
// plugin's own Boost.Asio thread, and the per-session callbacks over a session cookie that
// is a StreamPair (a derived output's session type derives from it; session_open returns
// it as a StreamPair*).
#pragma once

#include "socket_stream.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <memory>
#include <optional>
#include <thread>

namespace stethoscope::sockstream {

class SocketOutput : public OutputPlugin {
public:
    SocketOutput(const Host& host, uint64_t total_queue_bytes);
    ~SocketOutput();

    sth_result stream_data(void* cookie, const sth_session_info& s, const sth_stream_chunk& c);
    void stream_end(void* cookie, const sth_session_info& s, const sth_stream_end& e);
    bool session_pending(void* cookie, const sth_session_info& s);
    void session_summary(void* cookie, const sth_session_info& s, JsonSink& sink);

protected:
    void start_io();  // runs the io_context on the output's thread
    void stop_io();   // idempotent; afterwards no handler runs
    asio::io_context& io() { return *io_; }
    Context& ctx() { return *ctx_; }
    // The cookie of a session (NULL when session_open failed).
    static StreamPair* pair(void* cookie) { return static_cast<StreamPair*>(cookie); }

private:
    std::unique_ptr<asio::io_context> io_;
    std::unique_ptr<Context> ctx_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread thread_;
};

}  // namespace stethoscope::sockstream
