#include "socket_output.hpp"

namespace stethoscope::sockstream {

SocketOutput::SocketOutput(const Host& host, uint64_t total_queue_bytes)
    : OutputPlugin(host),
      io_(std::make_unique<asio::io_context>(1)),
      ctx_(std::make_unique<Context>(host, *io_, std::string(host.instance_name()), total_queue_bytes)) {}

SocketOutput::~SocketOutput() {
    stop_io();
    io_.reset();  // pending handlers (and the streams they hold) go before the Context they use
}

void SocketOutput::start_io() {
    work_.emplace(io_->get_executor());
    thread_ = std::thread([this] { io_->run(); });
}

void SocketOutput::stop_io() {
    if (!thread_.joinable()) return;
    work_.reset();
    io_->stop();
    thread_.join();
}

sth_result SocketOutput::stream_data(void* cookie, const sth_session_info&, const sth_stream_chunk& c) {
    if (cookie == nullptr) return STH_DROPPED;  // session_open failed: counted as dropped
    return pair(cookie)->push(c);
}

void SocketOutput::stream_end(void* cookie, const sth_session_info&, const sth_stream_end& e) {
    if (cookie != nullptr) pair(cookie)->end(e.direction);
}

bool SocketOutput::session_pending(void* cookie, const sth_session_info&) {
    return cookie != nullptr && pair(cookie)->pending();
}

void SocketOutput::session_summary(void* cookie, const sth_session_info&, JsonSink& sink) {
    if (cookie != nullptr) pair(cookie)->summary(sink);
}

}  // namespace stethoscope::sockstream
