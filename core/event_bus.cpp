#include "event_bus.hpp"

#include "log.hpp"

#include <chrono>
#include <cstdio>

namespace stethoscope::core {

void EventBus::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void EventBus::publish(std::string_view type, std::string json, uint64_t uid) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!running_) {
        lock.unlock();
        std::lock_guard<std::mutex> d(deliver_mutex_);
        std::vector<Item> one;
        one.push_back(Item{std::string(type), std::move(json), uid});
        published_.fetch_add(1, std::memory_order_relaxed);
        deliver(one);
        return;
    }
    const size_t size = json.size() + 1;
    if (queued_bytes_ + size > queue_limit_ && !queue_.empty()) {
        if (!blocking_.load(std::memory_order_relaxed)) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        wake_.notify_one();
        room_.wait(lock, [&] { return queued_bytes_ + size <= queue_limit_ || queue_.empty(); });
    }
    queue_.push_back(Item{std::string(type), std::move(json), uid});
    queued_bytes_ += size;
    ++enqueued_;
    published_.fetch_add(1, std::memory_order_relaxed);
    // Wake the thread only when it sleeps (the first event after a quiet spell) or the
    // queue fills up; otherwise it comes for the batch within a millisecond.
    if (idle_ || queued_bytes_ * 2 > queue_limit_) wake_.notify_one();
}

void EventBus::run() {
    std::vector<Item> batch;
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
        batch.swap(queue_);
        queued_bytes_ = 0;
        const uint64_t upto = enqueued_;
        room_.notify_all();
        lock.unlock();
        deliver(batch);
        batch.clear();
        lock.lock();
        delivered_ = upto;
        room_.notify_all();
    }
}

void EventBus::deliver(const std::vector<Item>& batch) {
    const bool debug = log_enabled(STH_LOG_DEBUG);
    for (const Item& it : batch) {
        sth_event ev{sizeof(sth_event), {it.type.data(), it.type.size()},
                     {it.json.data(), it.json.size()}, it.uid};
        if (to_stdout_) {
            out_.append(it.json);
            out_ += '\n';
        }
        if (debug) log_message(STH_LOG_DEBUG, "event", it.json);
        for (const auto& s : subscribers_) s(ev);
    }
    if (!out_.empty()) {
        std::fwrite(out_.data(), 1, out_.size(), stdout);
        std::fflush(stdout);  // a reader tailing the events sees the batch at once
        if (out_.capacity() > (size_t{4} << 20)) std::string().swap(out_);
        else out_.clear();
    }
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
    std::vector<Item> late;  // published between the thread's last batch and now
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_ = false;
        late.swap(queue_);
        queued_bytes_ = 0;
        delivered_ = enqueued_;
        room_.notify_all();
    }
    std::lock_guard<std::mutex> d(deliver_mutex_);
    deliver(late);
}

}  // namespace stethoscope::core
