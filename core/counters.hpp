// Exact named counters (core statistics and the ones plugins register through the host).
// Registration takes a lock; adding is one relaxed atomic increment, safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stethoscope::core {

class CounterRegistry {
public:
    static constexpr uint32_t k_capacity = 4096;

    // Returns the handle of `name`, creating it at 0; the same name gives the same handle.
    // Past capacity every new name shares one overflow slot ("counters.overflow").
    uint32_t register_counter(const std::string& name);
    void add(uint32_t handle, uint64_t delta) {
        if (handle < k_capacity) values_[handle].fetch_add(delta, std::memory_order_relaxed);
    }
    std::vector<std::pair<std::string, uint64_t>> snapshot() const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> names_;
    std::array<std::atomic<uint64_t>, k_capacity> values_{};
};

}  // namespace stethoscope::core
