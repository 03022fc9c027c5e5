#include "server.hpp"

#include "http_wire.hpp"

#include <stethoscope/json_writer.hpp>

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace stethoscope::control {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

struct Event {
    std::string type;
    std::string json;
};

constexpr uint64_t k_backlog_cap = 64ULL << 20;  // bytes posted, not yet fanned out
constexpr size_t k_max_gather = 64;               // queued pieces per socket write
constexpr auto k_linger = std::chrono::seconds(1);
constexpr auto k_stop_grace = std::chrono::seconds(2);

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

}  // namespace

class Connection;

struct Server::Impl {
    Impl(Config c, const HostView& h, ServerCounters k)
        : config(std::move(c)), host(h), counters(k) {}

    void accept();
    void fan_out(const std::shared_ptr<const Event>& e);
    void add_stream(Connection* c);
    void forget(Connection* c);
    void begin_stop();

    Config config;
    const HostView& host;
    ServerCounters counters;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    asio::steady_timer retry_timer{io};
    asio::steady_timer stop_timer{io};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::atomic<bool> running{false};
    std::atomic<size_t> subscribers{0};
    std::atomic<uint64_t> backlog{0};
    // Asio thread only.
    std::set<Connection*> all;
    std::vector<Connection*> streams;  // event subscribers; null while fanning out = gone
    bool fanning = false;
    Connection* raw = nullptr;
    bool stopping = false;
};

// One accepted socket, whatever it turns out to be. Owned by its pending handlers.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Server::Impl& srv, tcp::socket sock)
        : srv_(srv), sock_(std::move(sock)), timer_(srv.io),
          reader_(RequestLimits{srv.config.max_request_line, srv.config.max_header_bytes,
                                srv.config.max_body_bytes}) {}
    ~Connection() { srv_.forget(this); }

    void start();
    void deliver(const Event& e, const std::shared_ptr<const Event>& keep);
    void finish();
    void close();

private:
    enum class Mode { opening, http, events, raw, draining, closed };
    struct Out {
        std::shared_ptr<const Event> event;  // null: head is the whole text
        std::string head, tail;
        size_t size() const { return head.size() + tail.size() + (event ? event->json.size() : 0); }
    };

    void read();
    void on_read(error_code ec, size_t n);
    void process();
    void process_http();
    void process_raw();
    void command(std::string_view line);
    void become_events(Response r);
    void become_raw();
    void reject(unsigned status, const std::string& message);
    void arm_timer(std::chrono::steady_clock::duration d);
    void on_timeout();
    void send(std::string text) { enqueue(Out{nullptr, std::move(text), {}}); }
    void send_line(std::string line) { line += '\n'; send(std::move(line)); }
    void enqueue(Out o);
    void write();
    void on_write(error_code ec);
    void linger();
    void cut(size_t incoming);

    Server::Impl& srv_;
    tcp::socket sock_;
    asio::steady_timer timer_;
    Mode mode_ = Mode::opening;
    std::array<char, 4096> buf_{};
    std::string in_;
    RequestReader reader_;
    std::deque<Out> queue_;
    std::vector<asio::const_buffer> bufs_;
    size_t in_flight_ = 0;
    uint64_t pending_ = 0;
    bool close_after_write_ = false;
    bool eof_ = false;
    TypeFilter filter_;
    Framing framing_ = Framing::ndjson;
    bool chunked_ = false;
    bool authed_ = false;
};

// --- connection ---------------------------------------------------------------------

void Connection::start() {
    srv_.all.insert(this);
    if (srv_.all.size() > srv_.config.max_connections) {
        srv_.counters.connections_refused.add();
        mode_ = Mode::draining;
        close_after_write_ = true;
        send(serialize_response(error_response(503, "too many connections (max_connections " +
                                                        std::to_string(srv_.config.max_connections) +
                                                        ")"),
                                false));
        arm_timer(k_linger);
        write();
    } else {
        arm_timer(seconds(srv_.config.request_timeout_sec));
    }
    read();
}

void Connection::read() {
    if (mode_ == Mode::closed || eof_) return;
    sock_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](error_code ec, size_t n) {
        self->on_read(ec, n);
    });
}

void Connection::on_read(error_code ec, size_t n) {
    if (mode_ == Mode::closed) return;
    if (ec) {
        eof_ = true;
        // A raw or HTTP client may half-close after its last line: answer, then close.
        if (ec == asio::error::eof && (mode_ == Mode::raw || mode_ == Mode::http) &&
            !queue_.empty())
            close_after_write_ = true;
        else
            close();
        return;
    }
    if (mode_ != Mode::draining && mode_ != Mode::events && !close_after_write_) {
        in_.append(buf_.data(), n);
        process();
    }
    read();
}

void Connection::process() {
    if (mode_ == Mode::opening) {
        switch (classify_opening(in_, srv_.config.max_request_line)) {
            case Opening::need_more: return;
            case Opening::http: mode_ = Mode::http; break;
            case Opening::raw: become_raw(); return;
        }
    }
    if (mode_ == Mode::http) process_http();
    else if (mode_ == Mode::raw) process_raw();
}

void Connection::process_http() {
    while (mode_ == Mode::http && !close_after_write_ && !in_.empty()) {
        auto r = reader_.feed(in_);
        in_.erase(0, r.consumed);
        if (r.state == RequestReader::State::need_more) return;
        if (r.state == RequestReader::State::error) return reject(r.status, r.message);
        Request req = reader_.take();
        bool keep_alive = reader_.keep_alive() && !srv_.stopping;
        Response resp = route(req, srv_.host, srv_.config.token);
        if (resp.stream) return become_events(std::move(resp));
        send(serialize_response(resp, keep_alive));
        write();
        if (!keep_alive) {
            close_after_write_ = true;
            return;
        }
        arm_timer(seconds(srv_.config.request_timeout_sec));
    }
}

void Connection::become_events(Response r) {
    timer_.cancel();
    mode_ = Mode::events;
    in_.clear();
    framing_ = r.framing;
    chunked_ = true;
    filter_ = std::move(r.filter);
    send(stream_head(r));
    write();
    srv_.add_stream(this);
}

void Connection::become_raw() {
    timer_.cancel();
    if (srv_.raw != nullptr) {
        mode_ = Mode::draining;
        close_after_write_ = true;
        send_line(command_error("another raw control session is active; only one at a time"));
        arm_timer(k_linger);
        write();
        return;
    }
    srv_.raw = this;
    mode_ = Mode::raw;
    authed_ = srv_.config.token.empty();
    if (authed_) srv_.add_stream(this);
    process_raw();
}

void Connection::process_raw() {
    while (mode_ == Mode::raw && !close_after_write_) {
        size_t nl = in_.find('\n');
        if (nl == std::string::npos) {
            if (in_.size() > srv_.config.max_request_line) {
                send_line(command_error("command line longer than " +
                                        std::to_string(srv_.config.max_request_line) + " bytes"));
                close_after_write_ = true;
            }
            break;
        }
        std::string line = in_.substr(0, nl);
        in_.erase(0, nl + 1);
        if (line.find_first_not_of(" \t\r") != std::string::npos) command(line);
    }
    write();
}

void Connection::command(std::string_view line) {
    auto parsed = parse_command(line);
    if (const auto* err = std::get_if<std::string>(&parsed)) return send_line(command_error(*err));
    const Command& c = std::get<Command>(parsed);
    const char* name = command_name(c.kind);
    if (c.kind == Command::Kind::auth) {
        if (!token_matches(c.token, srv_.config.token)) {
            send_line(command_error("wrong token", name));
            close_after_write_ = true;
            return;
        }
        if (!authed_) srv_.add_stream(this);
        authed_ = true;
        return send_line(command_ok(name));
    }
    if (!authed_)
        return send_line(command_error(
            "authentication required: send {\"cmd\":\"auth\",\"token\":\"...\"} first", name));
    if (c.kind == Command::Kind::subscribe) {
        filter_.types = c.types;
        JsonWriter w;
        w.key("types").begin_array();
        for (const auto& t : c.types) w.value(t);
        w.end_array();
        return send_line(command_ok(name, w.str()));
    }
    send_line(answer_command(c, srv_.host));
}

void Connection::reject(unsigned status, const std::string& message) {
    srv_.counters.requests_rejected.add();
    mode_ = Mode::draining;
    close_after_write_ = true;
    send(serialize_response(error_response(status, message), false));
    arm_timer(k_linger);
    write();
}

void Connection::arm_timer(std::chrono::steady_clock::duration d) {
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->on_timeout();
    });
}

void Connection::on_timeout() {
    if (mode_ == Mode::opening || mode_ == Mode::http) {
        if (in_.empty() && !reader_.in_progress()) return close();  // idle: nothing to answer
        in_.clear();
        return reject(408, "request not complete within " +
                               std::to_string(srv_.config.request_timeout_sec).substr(0, 6) +
                               " s (request_timeout_sec)");
    }
    if (mode_ == Mode::draining) close();
}

void Connection::deliver(const Event& e, const std::shared_ptr<const Event>& keep) {
    if (mode_ != Mode::events && mode_ != Mode::raw) return;
    if (!filter_.accepts(e.type)) return;
    Framed f = frame_event(framing_, chunked_, e.type, e.json.size());
    Out o{keep, std::move(f.head), std::move(f.tail)};
    if (pending_ + o.size() > srv_.config.max_pending_bytes) return cut(o.size());
    enqueue(std::move(o));
    write();
}

void Connection::cut(size_t incoming) {
    uint64_t events = 1, bytes = incoming;
    for (const auto& o : queue_)
        if (o.event) ++events, bytes += o.size();
    srv_.counters.clients_dropped.add();
    srv_.counters.events_dropped.add(events);
    srv_.counters.dropped_bytes.add(bytes);
    close();
}

void Connection::enqueue(Out o) {
    pending_ += o.size();
    queue_.push_back(std::move(o));
}

void Connection::write() {
    if (in_flight_ > 0 || queue_.empty() || mode_ == Mode::closed) return;
    bufs_.clear();
    for (const auto& o : queue_) {
        if (in_flight_ == k_max_gather) break;
        bufs_.push_back(asio::buffer(o.head));
        if (o.event) bufs_.push_back(asio::buffer(o.event->json));
        bufs_.push_back(asio::buffer(o.tail));
        ++in_flight_;
    }
    asio::async_write(sock_, bufs_, [self = shared_from_this()](error_code ec, size_t) {
        self->on_write(ec);
    });
}

void Connection::on_write(error_code ec) {
    if (mode_ == Mode::closed) return;
    if (ec) return close();
    for (; in_flight_ > 0; --in_flight_) {
        pending_ -= queue_.front().size();
        queue_.pop_front();
    }
    if (!queue_.empty()) return write();
    if (!close_after_write_) return;
    if (srv_.stopping || eof_) return close();
    linger();
}

// Half-closes and reads what the peer still sends until it closes, so the last answer
// is not lost to a reset; bounded by k_linger.
void Connection::linger() {
    error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_send, ignored);
    if (mode_ != Mode::draining) {
        mode_ = Mode::draining;
        arm_timer(k_linger);
    }
}

void Connection::finish() {
    if (mode_ == Mode::events) {
        send(std::string(k_last_chunk));
    } else if (mode_ != Mode::raw) {
        return close();
    }
    close_after_write_ = true;
    if (queue_.empty()) return close();
    write();
}

void Connection::close() {
    if (mode_ == Mode::closed) return;
    mode_ = Mode::closed;
    error_code ignored;
    sock_.shutdown(tcp::socket::shutdown_both, ignored);
    sock_.close(ignored);
    timer_.cancel();
    srv_.forget(this);
}

// --- server -------------------------------------------------------------------------

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

void Server::Impl::add_stream(Connection* c) {
    streams.push_back(c);
    subscribers.store(streams.size(), std::memory_order_relaxed);
}

void Server::Impl::forget(Connection* c) {
    all.erase(c);
    if (raw == c) raw = nullptr;
    for (auto& s : streams)
        if (s == c) s = nullptr;
    if (!fanning) std::erase(streams, nullptr);
    size_t live = 0;
    for (auto* s : streams) live += s != nullptr ? 1 : 0;
    subscribers.store(live, std::memory_order_relaxed);
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
