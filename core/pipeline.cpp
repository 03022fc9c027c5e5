#include "pipeline.hpp"

#include "flow_key.hpp"

#include <chrono>
#include <thread>

namespace stethoscope::core {

namespace {
constexpr int64_t k_fragment_timeout_ns = 30LL * 1000000000;
constexpr int64_t k_tick_ns = 100000000;
constexpr int32_t k_tick_linktype = -1;  // a ring record that only carries the time

unsigned resolve_workers(unsigned configured) {
    if (configured != 0) return configured;
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}
}  // namespace

Pipeline::Pipeline(const Config& config, Consumers& consumers, EventBus& bus)
    : defrag_(config.reassembly.fragment_memcap_bytes, k_fragment_timeout_ns) {
    const unsigned n = resolve_workers(config.capture.workers);
    EngineConfig ec = make_engine_config(config);
    // Caps are per process in the config; each shard gets its share.
    ec.reassembly.global_memcap_bytes /= n;
    ec.reassembly.max_sessions = std::max<uint64_t>(1, ec.reassembly.max_sessions / n);
    for (unsigned i = 0; i < n; ++i) engines_.push_back(std::make_unique<Engine>(ec, consumers, bus));
    if (n == 1) return;
    for (unsigned i = 0; i < n; ++i)
        rings_.push_back(std::make_unique<PacketRing>(config.capture.ring_bytes));
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

Pipeline::~Pipeline() { finish(close_reason_); }

sth_result Pipeline::submit(const sth_packet& packet, bool blocking) {
    // With workers the decode here only picks the shard (the worker decodes again, with
    // the checksum); inline it is the engine's decode.
    const bool verify = rings_.empty();
    DecodeStatus st = decode_packet(packet, decoded_, verify);
    if (st == DecodeStatus::ip_fragment) {
        sth_packet whole{};
        if (!defrag_.add(decoded_, packet.ts_ns, whole)) return STH_OK;
        st = decode_packet(whole, decoded_, verify);
        route(whole, decoded_, st, blocking);
        return STH_OK;
    }
    if (defrag_.bytes_held() != 0) defrag_.expire(packet.ts_ns);
    size_t before = ring_drops_.load(std::memory_order_relaxed);
    route(packet, decoded_, st, blocking);
    return ring_drops_.load(std::memory_order_relaxed) != before ? STH_DROPPED : STH_OK;
}

void Pipeline::route(const sth_packet& packet, const DecodedPacket& decoded, DecodeStatus status,
                     bool blocking) {
    if (rings_.empty()) {
        if (packet.ts_ns > latest_ts_) latest_ts_ = packet.ts_ns;
        std::lock_guard<std::mutex> own(engines_[0]->owner());
        engines_[0]->process_decoded(packet, decoded, status);
        return;
    }
    size_t shard = 0;
    if (status == DecodeStatus::ok || status == DecodeStatus::icmp_error) {
        bool from_a = false;
        shard = FlowKeyHash{}(make_flow_key(decoded, from_a)) % rings_.size();
    }
    PacketRing& ring = *rings_[shard];
    bool pushed = true;
    while (!ring.try_push(packet)) {
        if (!blocking) {
            ring_drops_.fetch_add(1, std::memory_order_relaxed);
            pushed = false;
            break;
        }
        ring.wait_for_room(std::chrono::microseconds(50));
    }
    if (pushed) ring.wake_consumer();
    if (packet.ts_ns > latest_ts_) latest_ts_ = packet.ts_ns;
    if (latest_ts_ >= next_tick_) tick_all(latest_ts_, blocking);
}

void Pipeline::advance_clock(int64_t now_ns) {
    if (now_ns <= latest_ts_) return;
    latest_ts_ = now_ns;
    if (rings_.empty()) {
        std::lock_guard<std::mutex> own(engines_[0]->owner());
        engines_[0]->advance_clock(now_ns);
        return;
    }
    tick_all(now_ns, false);
}

void Pipeline::tick_all(int64_t ts_ns, bool blocking) {
    next_tick_ = ts_ns + k_tick_ns;
    sth_packet tick{sizeof(sth_packet), k_tick_linktype, ts_ns, 0, 0, nullptr, 0};
    for (auto& ring : rings_) {
        // A tick that finds no room is simply skipped on a live capture: the next one
        // carries the time as well.
        while (!ring->try_push(tick) && blocking) ring->wait_for_room(std::chrono::microseconds(50));
        ring->wake_consumer();
    }
}

void Pipeline::worker_loop(unsigned index) {
    PacketRing& ring = *rings_[index];
    Engine& engine = *engines_[index];
    sth_packet p{};
    for (;;) {
        if (ring.peek(p)) {
            // Held per packet, released while waiting: an idle engine can be read by a
            // snapshot on another thread (Engine::snapshot).
            std::lock_guard<std::mutex> own(engine.owner());
            if (p.linktype == k_tick_linktype)
                engine.advance_clock(p.ts_ns);
            else
                engine.process(p);
            ring.pop();
            continue;
        }
        if (ring.closed_and_empty()) break;
        // Spin a little before sleeping: at moderate rates the next packet is usually
        // microseconds away, and a sleep costs the producer a futex wake per packet.
        bool arrived = false;
        for (int i = 0; i < 256 && !arrived; ++i) {
            std::this_thread::yield();
            arrived = ring.peek(p);
        }
        if (!arrived) ring.wait(std::chrono::milliseconds(100));
    }
    // Sessions are closed on the thread that owns them.
    std::lock_guard<std::mutex> own(engine.owner());
    engine.close_all(close_reason_);
}

void Pipeline::finish(const char* reason) {
    if (finished_) return;
    finished_ = true;
    close_reason_ = reason;
    if (rings_.empty()) {
        std::lock_guard<std::mutex> own(engines_[0]->owner());
        engines_[0]->close_all(reason);
        return;
    }
    if (latest_ts_ != 0) tick_all(latest_ts_, true);  // every shard ends at the same time
    for (auto& r : rings_) r->close();
    for (auto& t : threads_) t.join();
}

bool Pipeline::sessions_snapshot(uint64_t uid, int64_t wall_now, std::string& elements) {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    bool found = false;
    for (auto& engine : engines_) {
        SnapshotRequest r;
        r.uid = uid;
        r.wall_now = wall_now;
        if (!engine->snapshot(r, std::chrono::seconds(1)) || !r.found) continue;
        if (!elements.empty()) elements += ',';
        elements += r.elements;
        found = true;
        if (uid != 0) break;
    }
    return found;
}

EngineStats Pipeline::stats() const {
    EngineStats sum;
    for (const auto& e : engines_) {
        const EngineStats& s = e->stats();
        sum.packets += s.packets;
        sum.bytes += s.bytes;
        for (size_t i = 0; i < k_decode_status_count; ++i) sum.decode[i] += s.decode[i];
        sum.no_session += s.no_session;
        sum.sessions_opened += s.sessions_opened;
        sum.sessions_closed += s.sessions_closed;
        sum.sessions_evicted += s.sessions_evicted;
        sum.sessions_drain_forced += s.sessions_drain_forced;
        sum.stream_bytes += s.stream_bytes;
        sum.gap_bytes += s.gap_bytes;
        sum.icmp_matched += s.icmp_matched;
        sum.icmp_unmatched += s.icmp_unmatched;
        sum.open += s.open;
    }
    return sum;
}

}  // namespace stethoscope::core
