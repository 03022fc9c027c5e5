// Pipeline: from the input's thread to the engines. IP fragments are reassembled here
// (before sharding, so a datagram's pieces meet whichever shard owns its flow); every
// packet then goes to the engine that owns its flow — the flow table is sharded by the
// symmetric flow hash, one engine per worker thread, so all packets of a flow are
// processed in order by one thread and no lock is taken on the hot path.
//
// With one worker the engine runs inline on the input's thread (no copy, no queue).
// With more, each worker has a bounded PacketRing; when a ring is full a live input's
// packet is dropped and counted (capture never blocks), an offline input waits. Every
// 100 ms of capture time each ring also gets a tick (a record without bytes) carrying
// the latest capture time, so idle and handshake timeouts fire on every shard.
#pragma once

#include "config.hpp"
#include "consumers.hpp"
#include "defragmenter.hpp"
#include "engine.hpp"
#include "event_bus.hpp"
#include "packet_ring.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stethoscope::core {

class Pipeline {
public:
    Pipeline(const Config& config, Consumers& consumers, EventBus& bus);
    ~Pipeline();

    // Input thread. Returns STH_OK, or STH_DROPPED (live, ring full: counted).
    sth_result submit(const sth_packet& packet, bool blocking);
    // Input thread: no packet until `now_ns` (a quiet live capture); moves every
    // engine's clock forward so FIN grace, idle and handshake timeouts still fire.
    void advance_clock(int64_t now_ns);
    // Input thread, at the end: drains the rings, closes every session on its own
    // worker with `reason`, joins the workers.
    void finish(const char* reason);

    unsigned workers() const { return static_cast<unsigned>(engines_.size()); }
    // Sum over the engines; exact after finish().
    EngineStats stats() const;
    uint64_t ring_drops() const { return ring_drops_.load(std::memory_order_relaxed); }
    const DefragStats& defrag_stats() const { return defrag_.stats(); }
    // Any thread: the live sessions (uid 0) or one, as comma-separated JSON objects
    // from every engine that answered within a second. True when some session matched.
    bool sessions_snapshot(uint64_t uid, int64_t wall_now, std::string& elements);

private:
    void route(const sth_packet& packet, const DecodedPacket& decoded, DecodeStatus status,
               bool blocking);
    void worker_loop(unsigned index);
    // Moves every worker's clock to `ts_ns` (timeouts run on capture time, and a shard
    // that gets no packets must still see time pass).
    void tick_all(int64_t ts_ns, bool blocking);

    std::vector<std::unique_ptr<Engine>> engines_;
    std::vector<std::unique_ptr<PacketRing>> rings_;
    std::vector<std::thread> threads_;
    Defragmenter defrag_;
    DecodedPacket decoded_;
    std::atomic<uint64_t> ring_drops_{0};
    std::mutex snapshot_mutex_;  // one snapshot at a time
    const char* close_reason_ = "end_of_input";
    int64_t latest_ts_ = 0;
    int64_t next_tick_ = 0;
    bool finished_ = false;
};

}  // namespace stethoscope::core
