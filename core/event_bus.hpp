// The event bus: every event the core and the plugins publish leaves through here, to
// stdout (NDJSON, when enabled), to the plugins that take events (control plane,
// loggers) and to the debug log.
//
// How it works: publish() appends the finished JSON line to a bounded in-memory batch
// (one text buffer holding the NDJSON lines back to back, plus a small record per event)
// and returns; one event thread swaps the whole batch out at a time, hands each event to
// the subscribers in publication order and writes the batch's text to stdout with one
// write. Both sides keep their buffers' capacity, so an event costs no allocation that
// crosses threads. A worker never waits for a pipe, a disk or a plugin, and 100k events
// cost a few hundred writes instead of 100k. Latency: the first event after a quiet spell wakes the thread
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
#include <stethoscope/json_writer.hpp>

#include "session_report.hpp"

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

    void set_stdout(bool enabled) {
        to_stdout_ = enabled;
        interest_changed();
    }
    // Subscribers are added at start-up, before start(). `wanted` (null: always) says
    // whether the subscriber wants events now; it may change at any time, followed by a
    // call of interest_changed().
    void subscribe(Subscriber s, const std::atomic<bool>* wanted = nullptr) {
        subscribers_.push_back(Sub{std::move(s), wanted});
        interest_changed();
    }
    // Any thread: recomputes has_listeners() after a subscriber's `wanted` or the log
    // level changed.
    void interest_changed();
    // True while reading a file: a full queue makes publish() wait instead of dropping.
    void set_blocking(bool blocking) { blocking_.store(blocking, std::memory_order_relaxed); }

    void start();
    // Thread-safe. Events leave in one total order (the order of the calls).
    void publish(std::string_view type, std::string_view json, uint64_t uid);
    // The session events as records: their JSON is written on the event thread.
    void publish(OpenedRecord&& record);
    void publish(ClosedRecord&& record);
    // Waits until every event published before the call was delivered.
    void flush();
    // Delivers what is queued, then stops the thread.
    void stop();

    // False when nothing would receive an event (no stdout, no subscriber that wants
    // events now, no debug log): callers then skip building it. Events published while it
    // is false are still delivered to whoever wants them.
    bool has_listeners() const { return listening_.load(std::memory_order_relaxed); }
    uint64_t published() const { return published_.load(std::memory_order_relaxed); }
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    // The events of one batch: the JSON of text events back to back, types likewise, and
    // the session records whose JSON is still to be written.
    struct Batch {
        enum Kind : uint8_t { text_event, opened_record, closed_record };
        struct Entry {
            Kind kind;
            size_t at, size;  // text: where its JSON is; records: index in opened/closed
            uint32_t type_at, type_size;
            uint64_t uid;
        };
        std::string text;   // every text event's JSON, each followed by '\n'
        std::string types;
        std::vector<OpenedRecord> opened;
        std::vector<ClosedRecord> closed;
        std::vector<Entry> entries;
        size_t bytes = 0;   // what the batch holds, for the queue limit
        void add(std::string_view type, std::string_view json, uint64_t uid);
        void add(OpenedRecord&& r);
        void add(ClosedRecord&& r);
        void clear();
        bool empty() const { return entries.empty(); }
    };
    template <class Add>
    void enqueue(size_t size, Add&& add);
    void deliver(Batch& batch);
    void run();

    struct Sub {
        Subscriber fn;
        const std::atomic<bool>* wanted;  // null: always
        bool wants() const { return wanted == nullptr || wanted->load(std::memory_order_relaxed); }
    };
    bool to_stdout_ = true;
    size_t queue_limit_ = size_t{16} << 20;
    std::vector<Sub> subscribers_;
    std::atomic<bool> listening_{true};
    std::mutex interest_mutex_;
    std::atomic<bool> blocking_{false};
    std::atomic<uint64_t> published_{0}, dropped_{0};

    std::mutex mutex_;
    std::condition_variable wake_;   // the event thread: work, flush or stop
    std::condition_variable room_;   // publishers waiting for room; flush() waiters
    Batch queue_;
    uint64_t enqueued_ = 0, delivered_ = 0;  // sequence numbers, for flush()
    bool running_ = false, stopping_ = false, idle_ = false, flush_wanted_ = false;
    std::thread thread_;
    std::mutex deliver_mutex_;  // synchronous delivery (no thread)
    Batch sync_;                // its one-event batch
    JsonWriter render_{4096};   // a batch's NDJSON as written (event thread)
    std::vector<std::pair<size_t, size_t>> spans_;  // each event's JSON in render_
};

}  // namespace stethoscope::core
