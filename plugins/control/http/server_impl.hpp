// Internals of server.cpp and connection.cpp (not part of the plugin's interface): the
// server's state, shared with its connections, and one connection's protocol machine.
//
// Threads: everything here runs on the server's one Asio thread, except the atomics of
// Server::Impl, which Server::publish reads and updates from the core's event thread.
// Lifetime: a Connection is owned by its pending handlers (shared_ptr); it registers in
// Impl::all while open and leaves it in close() (and, as a guard, in its destructor).
#pragma once

#include "http_wire.hpp"
#include "server.hpp"

#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace stethoscope::control {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// One published event, shared by every subscriber's queue.
struct Event {
    std::string type;
    std::string json;
};

inline constexpr uint64_t k_backlog_cap = 64ULL << 20;  // bytes posted, not yet fanned out
inline constexpr size_t k_max_gather = 64;               // queued pieces per socket write
inline constexpr auto k_linger = std::chrono::seconds(1);
inline constexpr auto k_stop_grace = std::chrono::seconds(2);

inline std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

class Connection;

// The server's state: the acceptor, the thread, every open connection and the event
// subscribers among them (at most one raw session).
struct Server::Impl {
    Impl(Config c, const HostView& h, ServerCounters k)
        : config(std::move(c)), host(h), counters(k) {}

    void accept();
    void fan_out(const std::shared_ptr<const Event>& e);
    void add_stream(Connection* c);
    void set_subscribers(size_t n);  // and tells the host when it becomes or stops being 0
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

// One accepted socket, whatever its first bytes make it (Mode): HTTP requests answered in
// order (keep-alive, pipelining), an /events stream, or the raw session. Writes go through
// one bounded queue (Out pieces gathered into one async_write at a time); reads continue
// in every mode to notice a peer that leaves. Owned by its pending handlers.
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
    void become_events(Response r, bool chunked);
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
    void cut_flood();

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

}  // namespace stethoscope::control
