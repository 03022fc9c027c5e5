// The event bus: every event the core and the plugins publish leaves through here, to
// stdout (NDJSON, when enabled), to the plugins that take events (control plane,
// loggers) and to the debug log.
//
// How it works: publish() appends the finished JSON line to a bounded in-memory queue
// and returns; one event thread takes the whole queue at a time, hands each event to the
// subscribers in publication order and writes the batch to stdout with one write. So a
// worker never waits for a pipe, a disk or a plugin, and 100k events cost a few hundred
// writes instead of 100k. Latency: the first event after a quiet spell wakes the thread
// at once; under load the thread picks up a batch every millisecond.
//
// Bounds: the queue holds at most `queue_limit_bytes` of JSON. When it is full, a live
// capture drops the event and counts it (events_dropped in capture_stats); reading a
// file (set_blocking(true)) makes the publisher wait, so nothing is lost offline.
//
// Before start() and after stop() publish() delivers synchronously on the caller's
// thread (start-up messages, plugins' last words in their stop()).
#pragma once

#include <stethoscope/abi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace stethoscope::core {

class EventBus {
public:
    using Subscriber = std::function<void(const sth_event&)>;

    EventBus() = default;
    ~EventBus() { stop(); }
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    void set_stdout(bool enabled) { to_stdout_ = enabled; }
    void set_queue_limit(size_t bytes) { queue_limit_ = bytes; }
    // Subscribers are added at start-up, before start().
    void subscribe(Subscriber s) { subscribers_.push_back(std::move(s)); }
    // True while reading a file: a full queue makes publish() wait instead of dropping.
    void set_blocking(bool blocking) { blocking_.store(blocking, std::memory_order_relaxed); }

    void start();
    // Thread-safe. Events leave in one total order (the order of the calls).
    void publish(std::string_view type, std::string json, uint64_t uid);
    // Waits until every event published before the call was delivered.
    void flush();
    // Delivers what is queued, then stops the thread.
    void stop();

    // False when nothing would receive an event (no stdout, no subscriber): callers may
    // then skip building it. Fixed once start-up is over.
    bool has_listeners() const { return to_stdout_ || !subscribers_.empty(); }
    uint64_t published() const { return published_.load(std::memory_order_relaxed); }
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    struct Item {
        std::string type;
        std::string json;
        uint64_t uid;
    };
    void deliver(const std::vector<Item>& batch);
    void run();

    bool to_stdout_ = true;
    size_t queue_limit_ = size_t{64} << 20;
    std::vector<Subscriber> subscribers_;
    std::atomic<bool> blocking_{false};
    std::atomic<uint64_t> published_{0}, dropped_{0};

    std::mutex mutex_;
    std::condition_variable wake_;   // the event thread: work, flush or stop
    std::condition_variable room_;   // publishers waiting for room; flush() waiters
    std::vector<Item> queue_;
    size_t queued_bytes_ = 0;
    uint64_t enqueued_ = 0, delivered_ = 0;  // sequence numbers, for flush()
    bool running_ = false, stopping_ = false, idle_ = false, flush_wanted_ = false;
    std::thread thread_;
    std::mutex deliver_mutex_;  // synchronous delivery (no thread)
    std::string out_;           // the batch's stdout bytes
};

}  // namespace stethoscope::core
