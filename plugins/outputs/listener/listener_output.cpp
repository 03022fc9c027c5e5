#include "listener_output.hpp"

#include "../../common/socket-stream/stream_config.hpp"

#include <boost/asio/post.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

namespace stethoscope::listener {

namespace asio = sockstream::asio;
using sockstream::tcp;

namespace {
constexpr size_t k_parked_max = 64;  // consumers waiting for a session, per port

// True when the peer of an idle socket has closed it or reset it (a look without
// consuming anything; the socket has no operation pending).
bool peer_gone(tcp::socket& socket) {
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}
}  // namespace

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.bind = s.string("bind", c.bind, false);
    boost::system::error_code ec;
    asio::ip::make_address(c.bind, ec);
    if (ec) throw ConfigError(s.path("bind") + ": expected an IP address, got \"" + c.bind + "\"");
    bool ports = s.has("requests_port") || s.has("responses_port");
    c.port[0] = static_cast<uint16_t>(s.integer("requests_port", c.port[0], 1, 65535));
    c.port[1] = static_cast<uint16_t>(s.integer("responses_port", c.port[1], 1, 65535));
    if (s.has("port_range")) {
        std::string r = s.string("port_range", "", false);
        if (ports)
            throw ConfigError(s.path("port_range") +
                              ": give either port_range or requests_port/responses_port");
        size_t dash = r.find('-');
        auto bad = [&] {
            throw ConfigError(s.path("port_range") +
                              ": expected \"first-last\" with 1 <= first < last <= 65535 "
                              "(at least one pair of ports), got \"" + r + "\"");
        };
        if (dash == std::string::npos || dash == 0 || dash + 1 == r.size() ||
            r.find_first_not_of("0123456789-") != std::string::npos || r.size() > 11)
            bad();
        unsigned long first = std::stoul(r.substr(0, dash));
        unsigned long last = std::stoul(r.substr(dash + 1));
        if (first < 1 || last > 65535 || last <= first) bad();
        c.range_first = static_cast<uint16_t>(first);
        c.range_last = static_cast<uint16_t>(last);
    } else if (c.port[0] == c.port[1]) {
        throw ConfigError(s.path("responses_port") + ": must differ from requests_port");
    }
    c.limits = sockstream::parse_limits(s, "hold_bytes", 1u << 20, "claim_timeout_sec", 10);
    c.limits.wait_error = "unclaimed";
    s.finish();
    return c;
}

struct ListenerOutput::Session : sockstream::StreamPair {
    std::shared_ptr<tcp::acceptor> acceptor[2];  // port_range: this session's own ports
    uint16_t first_port = 0;
    bool no_ports = false;
};

ListenerOutput::ListenerOutput(const Host& host, Config config)
    : SocketOutput(host, config.limits.total_queue_bytes),
      config_(std::move(config)),
      sessions_(host.counter("sessions")),
      claims_(host.counter("claims")),
      parked_rejected_(host.counter("parked_rejected")),
      no_ports_(host.counter("no_ports")) {
    if (config_.range_first != 0)
        range_used_.assign((config_.range_last - config_.range_first + 1) / 2, false);
}

ListenerOutput::~ListenerOutput() {
    stop();
    for (auto& q : parked_) q.clear();
    for (auto& a : shared_) a.reset();
}

void ListenerOutput::start() {
    if (config_.range_first == 0) {
        auto addr = asio::ip::make_address(config_.bind);
        for (int d = 0; d < 2; ++d) {
            tcp::endpoint ep(addr, config_.port[d]);
            auto a = std::make_unique<tcp::acceptor>(io());
            boost::system::error_code ec;
            a->open(ep.protocol(), ec);
            if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) a->bind(ep, ec);
            if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
            if (ec)
                throw std::runtime_error(std::string(host_.config_path()) + "." +
                                         direction_name(static_cast<uint8_t>(d)) +
                                         "_port: cannot listen on " + sockstream::to_string(ep) +
                                         ": " + ec.message());
            shared_[d] = std::move(a);
        }
        host_.info("listening for consumers: requests on " + config_.bind + ":" +
                   std::to_string(config_.port[0]) + ", responses on " + config_.bind + ":" +
                   std::to_string(config_.port[1]));
        for (int d = 0; d < 2; ++d) accept_shared(d);
    }
    start_io();
}

void ListenerOutput::stop() {
    stop_io();
    boost::system::error_code ignored;
    for (auto& a : shared_)
        if (a) a->close(ignored);
}

void ListenerOutput::accept_shared(int dir) {
    shared_[dir]->async_accept([this, dir](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        // A consumer that connected and left before we accepted it takes no session.
        if (!ec && peer_gone(socket)) {
            accept_shared(dir);
            return;
        }
        if (!ec) {
            boost::system::error_code e2;
            uint16_t port = socket.remote_endpoint(e2).port();
            StreamPtr chosen;
            const char* how = nullptr;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                auto& q = unclaimed_[dir];
                for (auto it = q.begin(); it != q.end();) {  // claim by the session id first
                    StreamPtr st = it->lock();
                    if (!st || !st->waiting()) {
                        it = q.erase(it);
                        continue;
                    }
                    if (st->info().session_id == port) {
                        chosen = st;
                        how = "source_port";
                        q.erase(it);
                        break;
                    }
                    ++it;
                }
                if (!chosen && !q.empty()) {
                    chosen = q.front().lock();
                    how = "oldest";
                    q.pop_front();
                }
                if (!chosen) {
                    if (parked_[dir].size() < k_parked_max) {
                        parked_[dir].push_back(Parked{std::move(socket), port});
                    } else {
                        parked_rejected_.add();
                        host_.warn(std::string("listener: too many consumers waiting on the ") +
                                   direction_name(static_cast<uint8_t>(dir)) + " port; one closed");
                    }
                }
            }
            if (chosen) claim(chosen, std::move(socket), how);
        }
        accept_shared(dir);
    });
}

void ListenerOutput::claim(StreamPtr stream, tcp::socket socket, const char* how) {
    boost::system::error_code ec;
    std::string peer = sockstream::to_string(socket.remote_endpoint(ec));
    claims_.add();
    JsonWriter w;
    w.begin_object();
    w.key("output").value(ctx().output);
    w.key("direction").value(direction_name(stream->direction()));
    w.key("peer").value(peer);
    w.key("claimed_by").value(how);
    w.end_object();
    host_.publish("output_connected", w.str(), &stream->info());
    stream->attach(std::move(socket), peer);
}

bool ListenerOutput::open_pair(Session& session) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto addr = asio::ip::make_address(config_.bind);
    for (size_t i = 0; i < range_used_.size(); ++i) {
        if (range_used_[i]) continue;
        auto first = static_cast<uint16_t>(config_.range_first + 2 * i);
        std::shared_ptr<tcp::acceptor> a[2];
        boost::system::error_code ec;
        for (int d = 0; d < 2 && !ec; ++d) {
            a[d] = std::make_shared<tcp::acceptor>(io());
            tcp::endpoint ep(addr, static_cast<uint16_t>(first + d));
            a[d]->open(ep.protocol(), ec);
            if (!ec) a[d]->set_option(asio::socket_base::reuse_address(true), ec);
            if (!ec) a[d]->bind(ep, ec);
            if (!ec) a[d]->listen(8, ec);
        }
        if (ec) continue;  // taken by another program: the next pair
        range_used_[i] = true;
        exhausted_reported_ = false;
        session.first_port = first;
        session.acceptor[0] = a[0];
        session.acceptor[1] = a[1];
        return true;
    }
    if (!exhausted_reported_) {
        exhausted_reported_ = true;
        host_.warn("listener: port_range " + std::to_string(config_.range_first) + "-" +
                   std::to_string(config_.range_last) +
                   " exhausted: new sessions get no ports until one closes");
    }
    return false;
}

void ListenerOutput::release_ports(uint16_t first) {
    std::lock_guard<std::mutex> lock(mutex_);
    range_used_[(first - config_.range_first) / 2] = false;
}

void* ListenerOutput::session_open(const sth_session_info& s) {
    auto* session = new Session;
    sessions_.add();
    for (int d = 0; d < 2; ++d)
        session->stream[d] =
            std::make_shared<sockstream::SocketStream>(ctx(), s, static_cast<uint8_t>(d), config_.limits);
    if (config_.range_first != 0) {
        if (!open_pair(*session)) {
            session->no_ports = true;
            no_ports_.add();
            for (auto& st : session->stream) st->fail("no_ports", "port_range exhausted");
            return static_cast<sockstream::StreamPair*>(session);
        }
        for (int d = 0; d < 2; ++d)
            asio::post(io(), [this, a = session->acceptor[d], st = session->stream[d]] {
                accept_session(a, st);
            });
        return static_cast<sockstream::StreamPair*>(session);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (int d = 0; d < 2; ++d) {
        auto& q = unclaimed_[d];
        while (!q.empty() && (q.front().expired() || !q.front().lock()->waiting())) q.pop_front();
        auto& parked = parked_[d];
        // A waiting consumer that has gone away meanwhile must not take the session.
        for (auto p = parked.begin(); p != parked.end();)
            p = peer_gone(p->socket) ? parked.erase(p) : p + 1;
        if (parked.empty()) {
            q.push_back(session->stream[d]);
            continue;
        }
        auto it = parked.begin();
        for (auto p = parked.begin(); p != parked.end(); ++p)
            if (p->port == s.session_id) {
                it = p;
                break;
            }
        // The parked socket has no operation pending: it can move to the io thread.
        auto socket = std::make_shared<tcp::socket>(std::move(it->socket));
        const char* how = it->port == s.session_id ? "source_port" : "waiting";
        parked.erase(it);
        asio::post(io(), [this, socket, st = session->stream[d], how] {
            claim(st, std::move(*socket), how);
        });
    }
    return static_cast<sockstream::StreamPair*>(session);
}

void ListenerOutput::accept_session(std::shared_ptr<tcp::acceptor> acceptor, StreamPtr stream) {
    acceptor->async_accept([this, acceptor, stream](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec) return;  // closed with the session
        claim(stream, std::move(socket), "session_port");
        boost::system::error_code ignored;
        acceptor->close(ignored);  // one consumer per stream; the ports stay reserved
    });
}

void ListenerOutput::session_opened_fields(void* cookie, const sth_session_info& s, JsonSink& sink) {
    auto* session = static_cast<Session*>(pair(cookie));
    if (session == nullptr) return;
    JsonWriter w(96);
    w.begin_object();
    if (config_.range_first == 0) {
        w.key("requests_port").value(uint32_t{config_.port[0]});
        w.key("responses_port").value(uint32_t{config_.port[1]});
        w.key("claim_source_port").value(uint32_t{s.session_id});
    } else if (session->no_ports) {
        w.key("error").value("no_ports");
    } else {
        w.key("requests_port").value(uint32_t{session->first_port});
        w.key("responses_port").value(uint32_t{session->first_port} + 1);
    }
    w.end_object();
    sink.put(ctx().output, w.str());
}

void ListenerOutput::session_close(void* cookie, const sth_session_info&, const sth_event&) {
    auto* session = static_cast<Session*>(pair(cookie));
    if (session == nullptr) return;
    if (session->first_port != 0) {
        // Close this session's listen ports on the io thread, then free the pair.
        asio::post(io(), [this, a0 = session->acceptor[0], a1 = session->acceptor[1],
                          first = session->first_port] {
            boost::system::error_code ignored;
            a0->close(ignored);
            a1->close(ignored);
            release_ports(first);
        });
    }
    delete session;
}

}  // namespace stethoscope::listener
