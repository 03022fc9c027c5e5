// One direction of one session delivered to one TCP socket, asynchronously (Boost.Asio):
// the piece the listener and the connector outputs share. Not a plugin; a static library
// linked into both.
//
// Accounting, exact at every moment and per stream:
//     reassembled == delivered + dropped + queued
// `delivered` counts bytes the kernel accepted on the socket; `dropped` bytes that will
// never be sent (queue full on a live capture, no consumer within the hold budget, the
// socket failed, the consumer never came); `queued` bytes still on their way. The host
// holds the session's record back while `pending()` (see sth_plugin_descriptor::
// session_pending), so by session_closed `queued` is 0 and delivered + dropped ==
// reassembled.
//
// Backpressure: a live capture never waits: a chunk that does not fit the queue is dropped
// and counted, and the first drop of an episode publishes `output_overflow` (the episode
// ends when a chunk fits again). Reading a file (Host::offline) the worker waits for room
// instead, until the stream fails (stall, consumer gone, never claimed) or the host stops.
//
// Shutdown (the host's stop request, SIGINT/SIGTERM): a stream still waiting for its
// socket fails at once, queued bytes get 2 s to go out; both end as output_error
// "shutdown" with every byte counted.
//
// Threads: push/end/pending/summary run on the session's worker thread; attach/fail and
// every socket operation on the io_context's thread(s). One mutex per stream.
#pragma once

#include <stethoscope/json_writer.hpp>
#include <stethoscope/plugin.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stethoscope::sockstream {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Limits {
    uint64_t queue_bytes = 4u << 20;  // per stream, once the socket is there
    uint64_t hold_bytes = 4u << 20;   // per stream, before it is (connecting / unclaimed)
    uint64_t total_queue_bytes = 256u << 20;  // all streams of the output together
    double stall_timeout_sec = 10;    // no write progress with bytes queued: give up
    double wait_timeout_sec = 10;     // no socket this long after the session opened: give up
    const char* wait_error = "unclaimed";  // the output_error of that case
    double linger_sec = 2;            // after the stream's end, how long the peer may go on
    // At the stream's end (everything written): shut down our sending side at once (the
    // peer reads EOF), then give the peer linger_sec to finish. Without it the connection
    // stays open until the peer has been quiet for linger_sec (each byte it sends restarts
    // the wait), then closes: a replayed request is not taken for a client abort.
    bool half_close = true;
};

// Per output and direction, exact and cumulative (the statistics).
struct DirectionCounters {
    Counter reassembled, delivered, dropped, dropped_segments, overflows, failures;
};

// What a stream shares with its output plugin.
struct Context {
    Context(const Host& h, asio::io_context& i, std::string name, uint64_t total_limit)
        : host(h), io(i), output(std::move(name)), total_queue_limit(total_limit) {
        for (uint8_t d = 0; d < 2; ++d) {
            std::string p = direction_name(d);
            counters[d] = DirectionCounters{host.counter(p + ".reassembled_bytes"),
                                            host.counter(p + ".delivered_bytes"),
                                            host.counter(p + ".dropped_bytes"),
                                            host.counter(p + ".dropped_segments"),
                                            host.counter(p + ".overflow_episodes"),
                                            host.counter(p + ".failures")};
        }
    }
    Host host;
    asio::io_context& io;
    std::string output;  // instance name, in events
    std::array<DirectionCounters, 2> counters;
    // Bytes queued in all streams of the output: a consumer that never reads, times many
    // sessions, stays within this bound (live: drop, reason total_queue_full; offline: wait).
    const uint64_t total_queue_limit;
    std::atomic<uint64_t> total_queued{0};
};

// "ip:port" ("[v6]:port") of an endpoint.
std::string to_string(const tcp::endpoint& e);

class SocketStream : public std::enable_shared_from_this<SocketStream> {
public:
    SocketStream(Context& ctx, const sth_session_info& info, uint8_t direction, Limits limits);
    ~SocketStream();
    SocketStream(const SocketStream&) = delete;
    SocketStream& operator=(const SocketStream&) = delete;

    // Worker thread.
    sth_result push(const uint8_t* data, size_t size);
    void end();          // the direction ended: half-close once everything queued is out
    bool pending();      // bytes still on their way (also runs the wait/stall timeouts)
    std::string summary_json();  // {"reassembled":..,"delivered":..,...}

    // io thread: the socket is connected (connector) or accepted (listener); `peer`
    // describes it for events and the summary.
    void attach(tcp::socket socket, std::string peer);
    // Any thread: the stream will not get a socket or lost it; queued bytes are dropped.
    void fail(std::string_view reason, std::string_view detail);
    // Any thread: true while waiting for a socket (and not failed).
    bool waiting() const;
    uint8_t direction() const { return dir_; }
    const sth_session_info& info() const { return info_; }
    Clock::time_point opened_at() const { return opened_; }

private:
    struct Buffer {
        std::vector<uint8_t> bytes;
        uint32_t segments = 0;
    };
    enum class State { waiting, open, failed };

    void kick_locked();        // posts a write when one is due
    void start_write();        // io thread
    void on_written(const boost::system::error_code& ec, size_t n);
    void start_read();         // io thread: the peer's bytes are read and discarded
    void half_close();         // io thread: everything is out (shutdown when half_close)
    void arm_linger();         // io thread: close after linger_sec
    void close_socket();       // io thread
    void drop_locked(uint64_t bytes, uint64_t segments, std::string_view reason,
                     std::vector<std::string>& events);
    // Drops every queued buffer from index `keep` on.
    void drop_queue_locked(size_t keep, std::string_view reason, std::vector<std::string>& events);
    void fail_locked(std::string_view reason, std::string_view detail,
                     std::vector<std::string>& events);
    void check_timeouts_locked(std::vector<std::string>& events);
    void publish(const std::vector<std::string>& events);  // outside the lock
    // An event's fields begun: {"output":..,"direction":.. (the caller adds its own, closes).
    JsonWriter event_fields() const;

    Context& ctx_;
    sth_session_info info_;
    uint8_t dir_;
    Limits limits_;
    Clock::time_point opened_;

    mutable std::mutex mutex_;
    std::condition_variable room_;  // offline pushes wait here
    State state_ = State::waiting;
    // Bytes not yet sent. The first `writing_` buffers belong to the write in flight (the
    // front one from `front_off_`): nobody but its handler may touch them.
    std::deque<Buffer> queue_;
    uint64_t queued_bytes_ = 0;
    size_t writing_ = 0;
    size_t front_off_ = 0;
    bool write_posted_ = false;
    bool ended_ = false;
    bool half_closed_ = false;
    bool in_episode_ = false;       // dropping since the last accepted chunk
    Clock::time_point last_progress_;
    Clock::time_point stop_seen_{};  // when the host's stop request was first noticed
    static constexpr double k_shutdown_grace_sec = 2;
    uint64_t reassembled_ = 0, delivered_ = 0, dropped_ = 0, dropped_segments_ = 0;
    uint64_t episodes_ = 0, peer_bytes_ = 0;
    std::string peer_, error_, error_detail_;

    // io thread only.
    std::optional<tcp::socket> socket_;
    asio::steady_timer linger_;
    std::array<uint8_t, 16384> read_buf_{};
};

// The two streams of one session (either may be absent: a connector direction without a
// target), with the session callbacks both socket outputs share.
struct StreamPair {
    std::shared_ptr<SocketStream> stream[2];

    sth_result push(const sth_stream_chunk& c) {  // a direction without a stream: not ours
        return stream[c.direction] ? stream[c.direction]->push(c.data, c.size) : STH_OK;
    }
    void end(uint8_t direction) {
        if (stream[direction]) stream[direction]->end();
    }
    bool pending() {  // asks both: each runs its own timeouts
        bool any = false;
        for (auto& st : stream)
            if (st && st->pending()) any = true;
        return any;
    }
    void summary(JsonSink& sink) {
        for (uint8_t d = 0; d < 2; ++d)
            if (stream[d]) sink.put(direction_name(d), stream[d]->summary_json());
    }
};

}  // namespace stethoscope::sockstream
