// PacketRing: a bounded single-producer single-consumer ring of packet copies, the
// hand-off from the capture thread to one worker. No locks on the hot path: the producer
// owns `head_`, the consumer owns `tail_`, each publishes with release and reads the
// other's with acquire. A record is a fixed header plus the captured bytes, padded to 8;
// a record that does not fit before the end of the buffer is preceded by a wrap marker
// and written at offset 0.
//
// Waiting: the consumer sleeps on a condition variable only after finding the ring empty
// and announcing it (`consumer_sleeping_`); the producer takes the lock only when that
// flag is set. A full ring is the producer's problem: it either drops (live capture,
// counted by the caller) or waits (offline input), see Pipeline.
#pragma once

#include <stethoscope/abi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <memory>

namespace stethoscope::core {

class PacketRing {
public:
    // `capacity_bytes` is rounded up to a power of two (at least 1 MiB).
    explicit PacketRing(size_t capacity_bytes);

    // Producer: copies the packet in; false when there is no room.
    bool try_push(const sth_packet& p);
    // Producer: wakes the consumer if it sleeps (after a batch of pushes, or at the end).
    void wake_consumer();
    // Producer: the last packet has been pushed.
    void close();

    // Consumer: the next packet, valid until pop(); false when empty.
    bool peek(sth_packet& out);
    void pop();
    // Consumer: sleeps until something arrives, the ring is closed, or `timeout` passes.
    void wait(std::chrono::milliseconds timeout);
    bool closed_and_empty() const;

    // Producer: waits until the consumer freed room (offline back-pressure).
    void wait_for_room(std::chrono::microseconds pause);

private:
    struct Header {
        uint32_t record_size;  // including this header and padding; 0 = wrap marker
        int32_t linktype;
        int64_t ts_ns;
        uint32_t caplen;
        uint32_t len;
        uint32_t interface_id;
        uint32_t pad;
    };
    static constexpr size_t k_align = 8;

    std::unique_ptr<uint8_t[]> buffer_;  // not zero-filled: pages are touched on use
    size_t size_;
    size_t mask_;
    alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
    alignas(64) std::atomic<bool> consumer_sleeping_{false};
    std::atomic<bool> closed_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
    uint64_t peeked_size_ = 0;  // consumer: bytes to release at pop(), incl. a wrap gap
};

}  // namespace stethoscope::core
