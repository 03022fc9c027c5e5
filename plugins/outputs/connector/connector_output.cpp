#include "connector_output.hpp"

#include "../../common/socket-stream/stream_config.hpp"

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>

#include <cerrno>
#include <stdexcept>

namespace stethoscope::connector {

namespace asio = sockstream::asio;
using sockstream::tcp;

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    for (uint8_t d = 0; d < 2; ++d) {
        const char* key = direction_name(d);
        if (!s.has(key)) continue;
        std::string text = s.string(key, "", false);
        auto hp = sockstream::parse_host_port(text, s.path(key));
        c.target[d] = Target{hp.text, hp.host, hp.port};
    }
    if (!c.target[0] && !c.target[1])
        throw ConfigError(std::string(path) +
                          ": expected \"requests\" and/or \"responses\" (\"host:port\" targets)");
    c.bind_client_port = s.boolean("bind_client_port", false);
    c.connect_timeout_sec = s.number("connect_timeout_sec", c.connect_timeout_sec, 0.05, 3600);
    // While connecting, bytes wait in the stream's queue: the hold budget is the queue.
    c.limits = sockstream::parse_limits(s, nullptr, 0, nullptr, 0);
    c.limits.hold_bytes = c.limits.queue_bytes;
    c.limits.half_close = s.boolean("half_close", false);
    c.limits.wait_timeout_sec = c.connect_timeout_sec + 5;  // the connect timer decides first
    c.limits.wait_error = "connect_timeout";
    s.finish();
    return c;
}

struct ConnectorOutput::Session : sockstream::StreamPair {};


namespace {
// The address the kernel would send from towards `target` (a connected UDP socket sends
// nothing). Binding it rather than the wildcard lets the client's port be reused even
// while the captured client holds it on another address of this host.
asio::ip::address source_address(const tcp::endpoint& target) {
    asio::io_context io;
    asio::ip::udp::socket probe(io);
    boost::system::error_code ec;
    probe.open(target.protocol() == tcp::v6() ? asio::ip::udp::v6() : asio::ip::udp::v4(), ec);
    if (!ec) probe.connect(asio::ip::udp::endpoint(target.address(), target.port()), ec);
    if (!ec) {
        auto local = probe.local_endpoint(ec);
        if (!ec) return local.address();
    }
    return target.protocol() == tcp::v6() ? asio::ip::address(asio::ip::address_v6::any())
                                          : asio::ip::address(asio::ip::address_v4::any());
}
}  // namespace

ConnectorOutput::ConnectorOutput(const Host& host, Config config)
    : SocketOutput(host, config.limits.total_queue_bytes),
      config_(std::move(config)),
      sessions_(host.counter("sessions")),
      connects_(host.counter("connects")),
      connect_failures_(host.counter("connect_failures")),
      bind_fallbacks_(host.counter("bind_fallbacks")) {}

ConnectorOutput::~ConnectorOutput() { stop(); }

void ConnectorOutput::start() {
    tcp::resolver resolver(io());
    for (uint8_t d = 0; d < 2; ++d) {
        if (!config_.target[d]) continue;
        boost::system::error_code ec;
        auto results = resolver.resolve(config_.target[d]->host,
                                        std::to_string(config_.target[d]->port), ec);
        if (ec || results.empty())
            throw std::runtime_error(std::string(host_.config_path()) + "." + direction_name(d) +
                                     ": cannot resolve " + config_.target[d]->host + ": " +
                                     (ec ? ec.message() : "no address"));
        endpoint_[d] = results.begin()->endpoint();
        source_[d] = source_address(*endpoint_[d]);
    }
    start_io();
}

void ConnectorOutput::stop() { stop_io(); }

void* ConnectorOutput::session_open(const sth_session_info& s) {
    auto* session = new Session;
    sessions_.add();
    for (int d = 0; d < 2; ++d) {
        if (!endpoint_[d]) continue;
        session->stream[d] =
            std::make_shared<sockstream::SocketStream>(ctx(), s, static_cast<uint8_t>(d), config_.limits);
        auto stream = session->stream[d];
        asio::post(io(), [this, stream, d] { connect(stream, d, config_.bind_client_port); });
    }
    return static_cast<sockstream::StreamPair*>(session);
}

void ConnectorOutput::connect(std::shared_ptr<sockstream::SocketStream> stream, int dir,
                              bool bind_port) {
    const tcp::endpoint& target = *endpoint_[dir];
    auto socket = std::make_shared<tcp::socket>(io());
    boost::system::error_code ec;
    socket->open(target.protocol(), ec);
    if (ec) {
        connect_failures_.add();
        stream->fail("connect_failed", "socket: " + ec.message());
        return;
    }
    bool bound = false;
    std::string bind_error;
    if (bind_port) {
        socket->set_option(asio::socket_base::reuse_address(true), ec);
        socket->bind(tcp::endpoint(source_[dir], stream->info().session_id), ec);
        if (ec) {
            bind_error = ec.message();
            bind_fallbacks_.add();
        } else {
            bound = true;
        }
    }
    auto timer = std::make_shared<asio::steady_timer>(io());
    timer->expires_after(std::chrono::nanoseconds(static_cast<int64_t>(config_.connect_timeout_sec * 1e9)));
    auto timed_out = std::make_shared<bool>(false);
    timer->async_wait([socket, timed_out](const boost::system::error_code& e) {
        if (e) return;
        *timed_out = true;
        boost::system::error_code ignored;
        socket->close(ignored);
    });
    socket->async_connect(target, [this, stream, dir, socket, timer, timed_out, bound, bind_port,
                                   bind_error](const boost::system::error_code& e) {
        timer->cancel();
        const Target& t = *config_.target[dir];
        if (e) {
            // The captured client's port cannot be used towards this target (the same
            // 4-tuple is taken): once more from any port.
            if (bound && (e == asio::error::address_in_use || e.value() == EADDRNOTAVAIL)) {
                bind_fallbacks_.add();
                connect(stream, dir, false);
                return;
            }
            connect_failures_.add();
            stream->fail(*timed_out ? "connect_timeout" : "connect_failed",
                         t.text + ": " + (*timed_out ? std::string("no answer within ") +
                                                           std::to_string(config_.connect_timeout_sec) + " s"
                                                     : e.message()));
            return;
        }
        connects_.add();
        boost::system::error_code ignored;
        std::string local = sockstream::to_string(socket->local_endpoint(ignored));
        JsonWriter w;
        w.begin_object();
        w.key("output").value(ctx().output);
        w.key("direction").value(direction_name(static_cast<uint8_t>(dir)));
        w.key("target").value(t.text);
        w.key("local").value(local);
        if (config_.bind_client_port) {
            w.key("client_port_bound").value(bound);
            if (!bind_port || !bind_error.empty())
                w.key("bind_error").value(bind_error.empty() ? "port in use towards the target"
                                                             : std::string_view(bind_error));
        }
        w.end_object();
        host_.publish("output_connected", w.str(), &stream->info());
        stream->attach(std::move(*socket), t.text);
    });
}

void ConnectorOutput::session_close(void* cookie, const sth_session_info&, const sth_event&) {
    delete static_cast<Session*>(pair(cookie));
}

}  // namespace stethoscope::connector
