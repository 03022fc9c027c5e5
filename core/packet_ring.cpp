#include "packet_ring.hpp"

#include <thread>

namespace stethoscope::core {

namespace {
size_t round_up_pow2(size_t n) {
    size_t p = 1 << 20;
    while (p < n) p <<= 1;
    return p;
}
}  // namespace

PacketRing::PacketRing(size_t capacity_bytes)
    : size_(round_up_pow2(capacity_bytes)), mask_(size_ - 1) {
    buffer_.reset(new uint8_t[size_]);
}

bool PacketRing::try_push(const sth_packet& p) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    const size_t need = (sizeof(Header) + p.caplen + k_align - 1) & ~(k_align - 1);
    const size_t offset = head & mask_;
    const size_t room_to_end = size_ - offset;
    const size_t wrap = room_to_end < need ? room_to_end : 0;  // skipped bytes at the end
    if (need + wrap > size_ - (head - tail)) return false;
    if (wrap != 0) {
        // The wrap marker is a zero record_size; records are 8-aligned, so at least 8
        // bytes remain before the end.
        uint32_t zero = 0;
        std::memcpy(&buffer_[offset], &zero, sizeof zero);
    }
    uint8_t* dst = &buffer_[(head + wrap) & mask_];
    Header h{static_cast<uint32_t>(need), p.linktype, p.ts_ns, p.caplen, p.len, p.interface_id, 0};
    std::memcpy(dst, &h, sizeof h);
    if (p.caplen != 0) std::memcpy(dst + sizeof h, p.data, p.caplen);
    head_.store(head + wrap + need, std::memory_order_release);
    return true;
}

void PacketRing::wake_consumer() {
    // Pairs with the consumer's announcement in wait(): either it sees our head, or we
    // see it sleeping.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (consumer_sleeping_.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(mutex_);
        cv_.notify_one();
    }
}

void PacketRing::close() {
    closed_.store(true, std::memory_order_release);
    std::lock_guard<std::mutex> lock(mutex_);
    cv_.notify_one();
}

bool PacketRing::peek(sth_packet& out) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    if (tail == head) return false;
    size_t offset = tail & mask_;
    uint64_t skipped = 0;
    uint32_t size = 0;
    std::memcpy(&size, &buffer_[offset], sizeof size);
    if (size == 0) {  // wrap marker: the record starts at offset 0
        skipped = size_ - offset;
        offset = 0;
    }
    Header h;
    std::memcpy(&h, &buffer_[offset], sizeof h);
    out.struct_size = sizeof(sth_packet);
    out.linktype = h.linktype;
    out.ts_ns = h.ts_ns;
    out.caplen = h.caplen;
    out.len = h.len;
    out.interface_id = h.interface_id;
    out.data = &buffer_[offset + sizeof h];
    peeked_size_ = skipped + h.record_size;
    return true;
}

void PacketRing::pop() {
    tail_.store(tail_.load(std::memory_order_relaxed) + peeked_size_, std::memory_order_release);
    peeked_size_ = 0;
}

void PacketRing::wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    consumer_sleeping_.store(true, std::memory_order_seq_cst);
    // Re-check after announcing: a push that raced with us is seen here or notifies us.
    if (head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_relaxed) &&
        !closed_.load(std::memory_order_acquire))
        cv_.wait_for(lock, timeout);
    consumer_sleeping_.store(false, std::memory_order_relaxed);
}

bool PacketRing::closed_and_empty() const {
    return closed_.load(std::memory_order_acquire) &&
           head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_relaxed);
}

void PacketRing::wait_for_room(std::chrono::microseconds pause) {
    wake_consumer();
    std::this_thread::sleep_for(pause);
}

}  // namespace stethoscope::core
