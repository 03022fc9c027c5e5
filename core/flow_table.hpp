// FlowTable: the session lookup of one engine — open addressing with linear probing
// over a power-of-two array of (hash, pointer) slots, so a lookup is one hash, one
// mask and usually one cache line; the key is compared only on a full hash match.
// Deletion shifts the following entries back (no tombstones), so lookups stay short
// under churn (SYN floods, short sessions). Grows at 50% load. Does not own the values.
//
// T must have a member `key` comparable with ==.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace stethoscope::core {

template <class T, class Key>
class FlowTable {
public:
    FlowTable() : slots_(1024), mask_(1023) {}

    T* find(const Key& key, uint64_t hash) const {
        for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.value == nullptr) return nullptr;
            if (s.hash == hash && s.value->key == key) return s.value;
        }
    }

    // `value->key` must not be in the table yet.
    void insert(uint64_t hash, T* value) {
        if ((size_ + 1) * 2 > slots_.size()) grow();
        place(hash, value);
        ++size_;
    }

    void erase(uint64_t hash, const T* value) {
        size_t i = hash & mask_;
        while (slots_[i].value != value) i = (i + 1) & mask_;
        // Backward-shift: move later entries of the probe run into the hole when their
        // home slot does not lie strictly between the hole and their position.
        size_t j = i;
        for (;;) {
            j = (j + 1) & mask_;
            if (slots_[j].value == nullptr) break;
            const size_t home = slots_[j].hash & mask_;
            const bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!between) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        --size_;
    }

    size_t size() const { return size_; }
    size_t capacity() const { return slots_.size(); }

private:
    struct Slot {
        uint64_t hash = 0;
        T* value = nullptr;
    };

    void place(uint64_t hash, T* value) {
        size_t i = hash & mask_;
        while (slots_[i].value != nullptr) i = (i + 1) & mask_;
        slots_[i] = Slot{hash, value};
    }

    void grow() {
        std::vector<Slot> old(slots_.size() * 2);
        old.swap(slots_);
        mask_ = slots_.size() - 1;
        for (const Slot& s : old)
            if (s.value != nullptr) place(s.hash, s.value);
    }

    std::vector<Slot> slots_;
    size_t mask_;
    size_t size_ = 0;
};

}  // namespace stethoscope::core
