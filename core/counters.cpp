#include "counters.hpp"

namespace stethoscope::core {

uint32_t CounterRegistry::register_counter(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (uint32_t i = 0; i < names_.size(); ++i)
        if (names_[i] == name) return i;
    if (names_.size() + 1 >= k_capacity) {
        if (names_.size() + 1 == k_capacity) names_.push_back("counters.overflow");
        return k_capacity - 1;
    }
    names_.push_back(name);
    return static_cast<uint32_t>(names_.size() - 1);
}

std::vector<std::pair<std::string, uint64_t>> CounterRegistry::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, uint64_t>> out;
    for (uint32_t i = 0; i < names_.size(); ++i)
        out.emplace_back(names_[i], values_[i].load(std::memory_order_relaxed));
    return out;
}

}  // namespace stethoscope::core
