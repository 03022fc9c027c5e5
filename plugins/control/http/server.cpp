#include "server_impl.hpp"

#include <stdexcept>

namespace stethoscope::control {

void Server::Impl::accept() {
    acceptor.async_accept([this](error_code ec, tcp::socket sock) {
        if (!acceptor.is_open()) return;
        if (ec) {  // out of descriptors, say: try again shortly instead of spinning
            retry_timer.expires_after(std::chrono::milliseconds(100));
            retry_timer.async_wait([this](error_code e) {
                if (!e) accept();
            });
            return;
        }
        std::make_shared<Connection>(*this, std::move(sock))->start();
        accept();
    });
}

void Server::Impl::fan_out(const std::shared_ptr<const Event>& e) {
    fanning = true;
    for (size_t i = 0; i < streams.size(); ++i)
        if (streams[i] != nullptr) streams[i]->deliver(*e, e);
    fanning = false;
    std::erase(streams, nullptr);
}

void Server::Impl::set_subscribers(size_t n) {
    const size_t before = subscribers.exchange(n, std::memory_order_relaxed);
    // The host builds events only while someone wants them: tell it when that changes.
    if ((before == 0) != (n == 0)) host.events_wanted(n != 0);
}

void Server::Impl::add_stream(Connection* c) {
    streams.push_back(c);
    set_subscribers(streams.size());
}

void Server::Impl::forget(Connection* c) {
    all.erase(c);
    if (raw == c) raw = nullptr;
    for (auto& s : streams)
        if (s == c) s = nullptr;
    if (!fanning) std::erase(streams, nullptr);
    size_t live = 0;
    for (auto* s : streams) live += s != nullptr ? 1 : 0;
    set_subscribers(live);
    if (stopping && all.empty()) stop_timer.cancel();
}

void Server::Impl::begin_stop() {
    stopping = true;
    running = false;
    error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
    std::vector<std::weak_ptr<Connection>> conns;
    for (auto* c : all) conns.push_back(c->weak_from_this());
    for (auto& w : conns)
        if (auto c = w.lock()) c->finish();
    if (all.empty()) return;
    stop_timer.expires_after(k_stop_grace);
    stop_timer.async_wait([this](error_code ec) {
        if (ec) return;
        std::vector<std::weak_ptr<Connection>> left;
        for (auto* c : all) left.push_back(c->weak_from_this());
        for (auto& w : left)
            if (auto c = w.lock()) c->close();
    });
}

Server::Server(Config config, const HostView& host, ServerCounters counters)
    : impl_(std::make_unique<Impl>(std::move(config), host, counters)) {}

Server::~Server() { stop(); }

uint16_t Server::start() {
    Impl& s = *impl_;
    const Endpoint& ep = s.config.listen;
    error_code ec;
    auto fail = [&](const char* what) {
        throw std::runtime_error("cannot " + std::string(what) + " " +
                                 endpoint_text(ep, ep.port) + ": " + ec.message());
    };
    tcp::endpoint endpoint(asio::ip::make_address(ep.address, ec), ep.port);
    if (ec) fail("parse");
    s.acceptor.open(endpoint.protocol(), ec);
    if (ec) fail("open a socket for");
    s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    s.acceptor.bind(endpoint, ec);
    if (ec) fail("listen on");
    s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("listen on");
    uint16_t port = s.acceptor.local_endpoint(ec).port();
    s.host.events_wanted(false);  // until a client follows /events
    s.accept();
    s.work.emplace(s.io.get_executor());
    s.running = true;
    s.thread = std::thread([&s] {
        for (;;) {
            try {
                s.io.run();
                return;
            } catch (...) {  // a handler threw (out of memory): keep serving
            }
        }
    });
    return port;
}

void Server::stop() {
    Impl& s = *impl_;
    if (!s.thread.joinable()) return;
    asio::post(s.io, [&s] { s.begin_stop(); });
    s.work.reset();
    s.thread.join();
}

void Server::publish(std::string_view type, std::string_view json) {
    Impl& s = *impl_;
    if (!s.running.load(std::memory_order_relaxed) ||
        s.subscribers.load(std::memory_order_relaxed) == 0)
        return;
    const uint64_t size = type.size() + json.size() + sizeof(Event);
    if (s.backlog.load(std::memory_order_relaxed) + size > k_backlog_cap) {
        s.counters.backlog_dropped.add();
        return;
    }
    s.backlog.fetch_add(size, std::memory_order_relaxed);
    auto e = std::make_shared<const Event>(Event{std::string(type), std::string(json)});
    asio::post(s.io, [&s, e, size] {
        s.backlog.fetch_sub(size, std::memory_order_relaxed);
        if (!s.stopping) s.fan_out(e);
    });
}

}  // namespace stethoscope::control
