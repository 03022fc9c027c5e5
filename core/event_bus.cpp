#include "event_bus.hpp"

#include "log.hpp"

#include <chrono>
#include <cstdio>

namespace stethoscope::core {

namespace {
// What a record counts against the queue limit (its JSON is about this large).
constexpr size_t k_opened_size = 320, k_closed_size = 1024;
constexpr size_t k_wake_bytes = size_t{64} << 10;
}  // namespace

void EventBus::Batch::add(std::string_view type, std::string_view json, uint64_t uid) {
    entries.push_back(Entry{text_event, text.size(), json.size(),
                            static_cast<uint32_t>(types.size()), static_cast<uint32_t>(type.size()),
                            uid});
    text.append(json);
    text += '\n';
    types.append(type);
    bytes += json.size() + 1;
}

void EventBus::Batch::add(OpenedRecord&& r) {
    entries.push_back(Entry{opened_record, opened.size(), 0, 0, 0, r.info.uid});
    bytes += k_opened_size + r.consumer_fields.size();
    opened.push_back(std::move(r));
}

void EventBus::Batch::add(ClosedRecord&& r) {
    entries.push_back(Entry{closed_record, closed.size(), 0, 0, 0, r.info.uid});
    bytes += k_closed_size + r.consumer_fields.size();
    closed.push_back(std::move(r));
}

void EventBus::Batch::clear() {
    // Keep the capacity (no allocation next time), unless a burst made it large.
    if (text.capacity() > (size_t{8} << 20)) std::string().swap(text);
    else text.clear();
    types.clear();
    opened.clear();
    closed.clear();
    entries.clear();
    bytes = 0;
}

void EventBus::interest_changed() {
    std::lock_guard<std::mutex> lock(interest_mutex_);
    bool any = to_stdout_ || log_enabled(STH_LOG_DEBUG);
    for (const Sub& s : subscribers_) any = any || s.wants();
    listening_.store(any, std::memory_order_relaxed);
}

void EventBus::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

template <class Add>
void EventBus::enqueue(size_t size, Add&& add) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!running_) {
        lock.unlock();
        std::lock_guard<std::mutex> d(deliver_mutex_);
        published_.fetch_add(1, std::memory_order_relaxed);
        add(sync_);
        deliver(sync_);
        return;
    }
    if (queue_.bytes + size > queue_limit_ && !queue_.empty()) {
        if (!blocking_.load(std::memory_order_relaxed)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        wake_.notify_one();
        room_.wait(lock, [&] { return queue_.bytes + size <= queue_limit_ || queue_.empty(); });
    }
    add(queue_);
    ++enqueued_;
    published_.fetch_add(1, std::memory_order_relaxed);
    // Wake the thread only when it sleeps (the first event after a quiet spell) or the
    // batch fills up; otherwise it comes for the batch within a millisecond.
    if (idle_ || queue_.bytes > k_wake_bytes) wake_.notify_one();
}

void EventBus::publish(std::string_view type, std::string_view json, uint64_t uid) {
    enqueue(json.size() + 1, [&](Batch& b) { b.add(type, json, uid); });
}

void EventBus::publish(OpenedRecord&& r) {
    enqueue(k_opened_size, [&](Batch& b) { b.add(std::move(r)); });
}

void EventBus::publish(ClosedRecord&& r) {
    enqueue(k_closed_size, [&](Batch& b) { b.add(std::move(r)); });
}

void EventBus::run() {
    Batch batch;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (queue_.empty() && !stopping_) {
            // Linger a moment: under load the next events come within a millisecond,
            // and a wake-up per event would cost a system call each.
            wake_.wait_for(lock, std::chrono::milliseconds(1),
                           [&] { return !queue_.empty() || stopping_ || flush_wanted_; });
            if (queue_.empty() && !stopping_) {
                idle_ = true;
                wake_.wait(lock, [&] { return !queue_.empty() || stopping_ || flush_wanted_; });
                idle_ = false;
            }
        }
        if (queue_.empty() && stopping_) break;
        flush_wanted_ = false;
        std::swap(batch, queue_);
        const uint64_t upto = enqueued_;
        room_.notify_all();
        lock.unlock();
        deliver(batch);
        lock.lock();
        delivered_ = upto;
        room_.notify_all();
    }
}

void EventBus::deliver(Batch& batch) {
    // The batch's NDJSON in order, in one writer: text events as they are, records
    // written now.
    render_.clear();
    spans_.clear();
    for (const Batch::Entry& e : batch.entries) {
        const size_t at = render_.size();
        if (e.kind == Batch::text_event) render_.raw(std::string_view(batch.text).substr(e.at, e.size));
        else if (e.kind == Batch::opened_record) write_opened(render_, batch.opened[e.at]);
        else write_closed(render_, batch.closed[e.at]);
        spans_.emplace_back(at, render_.size() - at);
        render_.end_line();
    }
    const std::string& out = render_.str();
    const bool debug = log_enabled(STH_LOG_DEBUG);
    if (!subscribers_.empty() || debug) {
        for (size_t i = 0; i < batch.entries.size(); ++i) {
            const Batch::Entry& e = batch.entries[i];
            std::string_view type = e.kind == Batch::opened_record   ? "session_opened"
                                    : e.kind == Batch::closed_record ? "session_closed"
                                    : std::string_view(batch.types.data() + e.type_at, e.type_size);
            sth_event ev{sizeof(sth_event),
                         {type.data(), type.size()},
                         {out.data() + spans_[i].first, spans_[i].second},
                         e.uid};
            if (debug)
                log_message(STH_LOG_DEBUG, "event", std::string_view(ev.json.data, ev.json.size));
            for (const Sub& s : subscribers_)
                if (s.wants()) s.fn(ev);
        }
    }
    if (to_stdout_ && !out.empty()) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);  // a reader tailing the events sees the batch at once
    }
    if (out.capacity() > (size_t{8} << 20)) render_ = JsonWriter(4096);  // after a burst
    batch.clear();
}

void EventBus::flush() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!running_) return;
    const uint64_t target = enqueued_;
    flush_wanted_ = true;
    wake_.notify_one();
    room_.wait(lock, [&] { return delivered_ >= target || !running_; });
}

void EventBus::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!running_) return;
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    Batch late;  // published between the thread's last batch and now
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_ = false;
        std::swap(late, queue_);
        delivered_ = enqueued_;
        room_.notify_all();
    }
    std::lock_guard<std::mutex> d(deliver_mutex_);
    deliver(late);
}

}  // namespace stethoscope::core
