// One control-plane connection: HTTP requests, an /events stream or the raw session.
#include "server_impl.hpp"

#include <stethoscope/json_writer.hpp>

namespace stethoscope::control {

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
        if (pending_ > srv_.config.max_pending_bytes) return cut_flood();
        auto r = reader_.feed(in_);
        in_.erase(0, r.consumed);
        if (r.state == RequestReader::State::need_more) return;
        if (r.state == RequestReader::State::error) return reject(r.status, r.message);
        Request req = reader_.take();
        bool keep_alive = reader_.keep_alive() && !srv_.stopping;
        Response resp = route(req, srv_.host, srv_.config.token);
        if (resp.stream) return become_events(std::move(resp), !req.http10);
        send(serialize_response(resp, keep_alive));
        write();
        if (!keep_alive) {
            close_after_write_ = true;
            return;
        }
        arm_timer(seconds(srv_.config.request_timeout_sec));
    }
}

void Connection::become_events(Response r, bool chunked) {
    timer_.cancel();
    mode_ = Mode::events;
    in_.clear();
    framing_ = r.framing;
    chunked_ = chunked;
    filter_ = std::move(r.filter);
    // Subscribed before the head leaves: a client that reads the head and then makes
    // traffic sees every event of it (the host builds events from here on).
    srv_.add_stream(this);
    send(stream_head(r, chunked));
    write();
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
        if (pending_ > srv_.config.max_pending_bytes) return cut_flood();
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

// A client that sends requests (or commands) without reading the answers: closed once
// max_pending_bytes of answers wait for it, so it cannot grow the queue without bound.
void Connection::cut_flood() {
    srv_.counters.requests_rejected.add();
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
        if (chunked_) send(std::string(k_last_chunk));
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

}  // namespace stethoscope::control
