// A counter with one writer thread and any number of reader threads: increments are a
// relaxed load and store (no locked instruction on the hot path), reads never tear.
#pragma once

#include <atomic>
#include <cstdint>

namespace stethoscope::core {

class RelaxedCounter {
public:
    RelaxedCounter() = default;
    RelaxedCounter(const RelaxedCounter& o) : v_(o.get()) {}
    RelaxedCounter& operator=(const RelaxedCounter& o) {
        v_.store(o.get(), std::memory_order_relaxed);
        return *this;
    }
    RelaxedCounter& operator++() { return *this += 1; }
    RelaxedCounter& operator+=(uint64_t d) {
        v_.store(v_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
        return *this;
    }
    RelaxedCounter& operator-=(uint64_t d) {  // gauges (live sessions)
        v_.store(v_.load(std::memory_order_relaxed) - d, std::memory_order_relaxed);
        return *this;
    }
    uint64_t get() const { return v_.load(std::memory_order_relaxed); }
    operator uint64_t() const { return get(); }

private:
    std::atomic<uint64_t> v_{0};
};

}  // namespace stethoscope::core
