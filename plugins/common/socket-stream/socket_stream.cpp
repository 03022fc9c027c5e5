#include "socket_stream.hpp"

#include <boost/asio/post.hpp>

#include <cstring>

namespace stethoscope::sockstream {

namespace {
// A queued buffer grows by appending small chunks up to this size: one write call (and
// one allocation) per many segments.
constexpr size_t k_coalesce = 64 * 1024;
// One write takes at most this much (a gather of queued buffers).
constexpr size_t k_write_max = 1 << 20;

std::chrono::nanoseconds seconds(double s) {
    return std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9));
}
}  // namespace

std::string to_string(const tcp::endpoint& e) {
    auto a = e.address();
    std::string host = a.to_string();
    if (a.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(e.port());
}

SocketStream::SocketStream(Context& ctx, const sth_session_info& info, uint8_t direction,
                           Limits limits)
    : ctx_(ctx),
      info_(info),
      dir_(direction),
      limits_(limits),
      opened_(Clock::now()),
      last_progress_(opened_),
      linger_(ctx.io) {}

SocketStream::~SocketStream() {
    // Whatever is still queued now will never be sent (a session record published before
    // its stream was done, with no socket to finish on; a stop without draining): it
    // leaves the output's total and is counted as dropped.
    if (queued_bytes_ == 0) return;
    uint64_t segs = 0;
    for (const Buffer& b : queue_) segs += b.segments;
    ctx_.total_queued.fetch_sub(queued_bytes_, std::memory_order_relaxed);
    ctx_.counters[dir_].dropped.add(queued_bytes_);
    ctx_.counters[dir_].dropped_segments.add(segs);
}

JsonWriter SocketStream::event_fields() const {
    JsonWriter w;
    w.begin_object();
    w.key("output").value(ctx_.output);
    w.key("direction").value(direction_name(dir_));
    return w;
}

void SocketStream::publish(const std::vector<std::string>& events) {
    // Built under the lock as "type\nfields"; published outside it.
    for (const std::string& e : events) {
        size_t nl = e.find('\n');
        ctx_.host.publish(std::string_view(e).substr(0, nl), std::string_view(e).substr(nl + 1),
                          &info_);
    }
}

void SocketStream::drop_locked(uint64_t bytes, uint64_t segments, std::string_view reason,
                               std::vector<std::string>& events) {
    if (bytes == 0 && segments == 0) return;
    dropped_ += bytes;
    dropped_segments_ += segments;
    ctx_.counters[dir_].dropped.add(bytes);
    ctx_.counters[dir_].dropped_segments.add(segments);
    if (in_episode_) return;
    in_episode_ = true;
    ++episodes_;
    ctx_.counters[dir_].overflows.add();
    uint64_t limit = state_ == State::open ? limits_.queue_bytes : limits_.hold_bytes;
    JsonWriter w = event_fields();
    w.key("reason").value(reason);
    w.key("queued_bytes").value(queued_bytes_);
    w.key("limit_bytes").value(limit);
    w.key("dropped_bytes").value(dropped_);
    w.key("dropped_segments").value(dropped_segments_);
    w.end_object();
    events.push_back("output_overflow\n" + w.str());
}

void SocketStream::fail_locked(std::string_view reason, std::string_view detail,
                               std::vector<std::string>& events) {
    if (state_ == State::failed) return;
    const bool had_socket = state_ == State::open;  // only attach() opens, with a socket
    state_ = State::failed;
    error_ = reason;
    error_detail_ = detail;
    ctx_.counters[dir_].failures.add();
    JsonWriter w = event_fields();
    w.key("error").value(reason);
    if (!detail.empty()) w.key("detail").value(detail);
    if (!peer_.empty()) w.key("peer").value(peer_);
    w.key("queued_bytes").value(queued_bytes_);
    w.end_object();
    events.push_back("output_error\n" + w.str());
    in_episode_ = false;  // a failure starts its own episode
    drop_queue_locked(writing_, reason, events);
    room_.notify_all();
    if (had_socket) {
        auto self = shared_from_this();
        asio::post(ctx_.io, [self] { self->close_socket(); });
    }
}

void SocketStream::drop_queue_locked(size_t keep, std::string_view reason,
                                     std::vector<std::string>& events) {
    uint64_t bytes = 0, segs = 0;
    for (size_t i = keep; i < queue_.size(); ++i) {
        bytes += queue_[i].bytes.size() - (i == 0 ? front_off_ : 0);
        segs += queue_[i].segments;
    }
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(keep), queue_.end());
    if (keep == 0) front_off_ = 0;
    queued_bytes_ -= bytes;
    ctx_.total_queued.fetch_sub(bytes, std::memory_order_relaxed);
    drop_locked(bytes, segs, reason, events);
}

void SocketStream::fail(std::string_view reason, std::string_view detail) {
    std::vector<std::string> events;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        fail_locked(reason, detail, events);
    }
    publish(events);
}

bool SocketStream::waiting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_ == State::waiting;
}

void SocketStream::check_timeouts_locked(std::vector<std::string>& events) {
    auto now = Clock::now();
    if (state_ != State::failed && ctx_.host.stop_requested()) {
        // Shutting down (SIGINT/SIGTERM): no waiting for a socket; queued bytes get a
        // short grace to go out, then what is left is dropped and counted.
        if (stop_seen_ == Clock::time_point{}) stop_seen_ = now;
        if (state_ == State::waiting) {
            fail_locked("shutdown", "stopped before a socket was there", events);
            return;
        }
        if (queued_bytes_ > 0 && now - stop_seen_ > seconds(k_shutdown_grace_sec)) {
            fail_locked("shutdown", "stopped with bytes still queued", events);
            return;
        }
    }
    if (state_ == State::waiting && now - opened_ > seconds(limits_.wait_timeout_sec))
        fail_locked(limits_.wait_error,
                    "no consumer within " + std::to_string(limits_.wait_timeout_sec) + " s",
                    events);
    else if (state_ == State::open && queued_bytes_ > 0 &&
             now - last_progress_ > seconds(limits_.stall_timeout_sec))
        fail_locked("stalled",
                    "the peer read nothing for " + std::to_string(limits_.stall_timeout_sec) + " s",
                    events);
}

sth_result SocketStream::push(const uint8_t* data, size_t size) {
    std::vector<std::string> events;
    sth_result result = STH_OK;
    {
        std::unique_lock<std::mutex> lock(mutex_);
        reassembled_ += size;
        ctx_.counters[dir_].reassembled.add(size);
        check_timeouts_locked(events);
        auto limit = [&] {
            return state_ == State::open ? limits_.queue_bytes : limits_.hold_bytes;
        };
        auto fits_total = [&] {
            return ctx_.total_queued.load(std::memory_order_relaxed) + size <= ctx_.total_queue_limit;
        };
        auto fits = [&] {
            // An empty queue takes any chunk: a chunk larger than the limit is not a stall.
            return (queued_bytes_ == 0 || queued_bytes_ + size <= limit()) && fits_total();
        };
        const bool offline = ctx_.host.offline();
        if (state_ != State::failed && !fits() && offline) {
            // Reading a file: wait for room; the timeouts still apply.
            while (state_ != State::failed && !fits() && !ctx_.host.stop_requested()) {
                room_.wait_for(lock, std::chrono::milliseconds(100));
                check_timeouts_locked(events);
            }
        }
        if (state_ == State::failed) {
            drop_locked(size, 1, error_, events);
            result = STH_DROPPED;
        } else if (!fits() || (state_ == State::waiting && limits_.hold_bytes == 0 &&
                               !offline)) {
            drop_locked(size, 1,
                        !fits_total()             ? "total_queue_full"
                        : state_ == State::open ? "queue_full"
                                                : "no_consumer",
                        events);
            result = STH_DROPPED;
        } else {
            in_episode_ = false;
            if (queue_.size() > writing_ && queue_.back().bytes.size() + size <= k_coalesce) {
                queue_.back().bytes.insert(queue_.back().bytes.end(), data, data + size);
                ++queue_.back().segments;
            } else {
                Buffer b;
                b.bytes.reserve(std::max(size, size_t{16384}));
                b.bytes.assign(data, data + size);
                b.segments = 1;
                queue_.push_back(std::move(b));
            }
            queued_bytes_ += size;
            ctx_.total_queued.fetch_add(size, std::memory_order_relaxed);
            kick_locked();
        }
    }
    publish(events);
    return result;
}

void SocketStream::end() {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    kick_locked();  // an idle writer half-closes (or starts lingering) now
}

bool SocketStream::pending() {
    std::vector<std::string> events;
    bool result;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        check_timeouts_locked(events);
        if (state_ == State::failed) result = writing_ > 0;  // its handler settles it
        // Until a socket comes or the wait times out; an ended stream that never had a
        // byte has nothing to wait for (a SYN flood must not pile up waiting records).
        else if (state_ == State::waiting) result = !(ended_ && reassembled_ == 0);
        else result = queued_bytes_ > 0;
    }
    publish(events);
    return result;
}

std::string SocketStream::summary_json() {
    std::lock_guard<std::mutex> lock(mutex_);
    JsonWriter w;
    w.begin_object();
    w.key("reassembled").value(reassembled_);
    w.key("delivered").value(delivered_);
    w.key("dropped").value(dropped_);
    w.key("dropped_segments").value(dropped_segments_);
    w.key("overflow_episodes").value(episodes_);
    if (queued_bytes_ > 0)  // only when the host did not wait for the stream
        w.key("queued").value(queued_bytes_);
    if (!peer_.empty()) w.key("peer").value(peer_);
    w.key("peer_bytes").value(peer_bytes_);
    if (state_ == State::failed) w.key("error").value(error_);
    w.end_object();
    return w.take();
}

void SocketStream::kick_locked() {
    if (state_ != State::open || write_posted_ || writing_ > 0) return;
    write_posted_ = true;
    auto self = shared_from_this();
    asio::post(ctx_.io, [self] { self->start_write(); });
}

void SocketStream::attach(tcp::socket socket, std::string peer) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (state_ != State::waiting) {  // failed meanwhile (timeout, shutdown)
            boost::system::error_code ignored;
            socket.close(ignored);
            return;
        }
        socket_.emplace(std::move(socket));
        boost::system::error_code ignored;
        socket_->set_option(tcp::no_delay(true), ignored);
        state_ = State::open;
        peer_ = std::move(peer);
        last_progress_ = Clock::now();
        in_episode_ = false;
        room_.notify_all();
        write_posted_ = true;
    }
    start_read();
    start_write();
}

void SocketStream::start_write() {
    std::vector<asio::const_buffer> bufs;
    bool close_half = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        write_posted_ = false;
        if (state_ != State::open || writing_ > 0 || !socket_) return;
        if (queue_.empty()) {
            if (!ended_ || half_closed_) return;
            half_closed_ = close_half = true;
        } else {
            size_t total = 0;
            for (size_t i = 0; i < queue_.size() && total < k_write_max; ++i) {
                size_t off = i == 0 ? front_off_ : 0;
                bufs.emplace_back(queue_[i].bytes.data() + off, queue_[i].bytes.size() - off);
                total += queue_[i].bytes.size() - off;
            }
            writing_ = bufs.size();
        }
    }
    if (close_half) {
        half_close();
        return;
    }
    // write_some, not async_write: every partial write is progress (a slow reader is not
    // a stalled one) and is counted as delivered at once.
    auto self = shared_from_this();
    socket_->async_write_some(bufs, [self](const boost::system::error_code& ec, size_t n) {
        self->on_written(ec, n);
    });
}

void SocketStream::on_written(const boost::system::error_code& ec, size_t n) {
    std::vector<std::string> events;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        writing_ = 0;
        delivered_ += n;
        ctx_.counters[dir_].delivered.add(n);
        if (n > 0) last_progress_ = Clock::now();
        queued_bytes_ -= n;
        ctx_.total_queued.fetch_sub(n, std::memory_order_relaxed);
        while (n > 0) {
            size_t left = queue_.front().bytes.size() - front_off_;
            if (n < left) {
                front_off_ += n;
                break;
            }
            n -= left;
            queue_.pop_front();
            front_off_ = 0;
        }
        if (ec || state_ == State::failed) {
            if (state_ != State::failed)
                fail_locked(ec == asio::error::operation_aborted ? "closed" : "disconnected",
                            ec.message(), events);
            // A partly sent segment counts as a dropped segment; the bytes split exactly.
            drop_queue_locked(0, error_, events);
        }
        room_.notify_all();
        if (state_ == State::open) write_posted_ = true;
    }
    publish(events);
    if (!ec) start_write();
}

void SocketStream::start_read() {
    if (!socket_) return;
    auto self = shared_from_this();
    socket_->async_read_some(asio::buffer(read_buf_),
                             [self](const boost::system::error_code& ec, size_t n) {
                                 bool quiet_wait;
                                 {
                                     std::lock_guard<std::mutex> lock(self->mutex_);
                                     self->peer_bytes_ += n;
                                     quiet_wait = self->half_closed_ && !self->limits_.half_close;
                                 }
                                 if (!ec) {
                                     if (quiet_wait) self->arm_linger();  // the peer is not quiet
                                     self->start_read();
                                     return;
                                 }
                                 // The peer finished (or went away). Once we have
                                 // half-closed too, the connection is done.
                                 bool done;
                                 {
                                     std::lock_guard<std::mutex> lock(self->mutex_);
                                     done = self->half_closed_ || self->state_ == State::failed;
                                 }
                                 if (done) self->close_socket();
                             });
}

void SocketStream::half_close() {
    if (!socket_) return;
    boost::system::error_code ignored;
    if (limits_.half_close) socket_->shutdown(tcp::socket::shutdown_send, ignored);
    arm_linger();
}

void SocketStream::arm_linger() {
    // The peer gets `linger_sec` to finish its side (a replayed request's response).
    auto self = shared_from_this();
    linger_.expires_after(seconds(limits_.linger_sec));
    linger_.async_wait([self](const boost::system::error_code& ec) {
        if (!ec) self->close_socket();
    });
}

void SocketStream::close_socket() {
    linger_.cancel();
    if (!socket_) return;
    boost::system::error_code ignored;
    socket_->close(ignored);
}

}  // namespace stethoscope::sockstream
