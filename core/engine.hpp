// The TCP engine of one worker: decodes packets, finds or creates their session in the
// flow table, feeds the per-direction reassemblers, and drives the consumer plugins
// and the session events. Time is the capture time of the packets (so reading a file
// behaves exactly like the live capture it was made from).
//
// Session lifecycle:
//   open   — on a SYN, or on the first packet with payload or FIN of an unknown flow
//            (mid-stream pickup). Pure ACKs and RSTs of unknown flows open nothing.
//   close  — both FINs reached in order, then `fin_grace_sec` of capture time for the
//            last ACKs; a RST (immediately); no packet for `idle_timeout_sec`; eviction
//            of the least recently active session when `max_sessions` is reached; a new
//            SYN on a closing 4-tuple (port reuse); a handshake that does not finish
//            within `handshake_timeout_sec` (a quarter of it when the table is half
//            full); end of input or shutdown. An RST is honoured only when its checksum
//            is right and its sequence number lies within the receiver's window.
// Threading: an Engine is used by one thread at a time.
#pragma once

#include <stethoscope/abi.h>

#include "config.hpp"
#include "consumers.hpp"
#include "decoder.hpp"
#include "event_bus.hpp"
#include "flow_key.hpp"
#include "flow_table.hpp"
#include "intrusive_list.hpp"
#include "reassembler.hpp"
#include "relaxed_counter.hpp"
#include "session.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <list>
#include <memory>
#include <unordered_map>
#include <chrono>
#include <vector>

namespace stethoscope::core {

struct EngineConfig {
    ReassemblyConfig reassembly;
    CaptureMode mode = CaptureMode::filter;
    sth_endpoint local{};           // client/server mode: local_ip (and local_port)
    std::vector<uint16_t> server_ports;
};
EngineConfig make_engine_config(const Config& c);

// Exact statistics of one engine: written by its worker, readable from any thread.
struct EngineStats {
    RelaxedCounter packets;
    RelaxedCounter bytes;
    std::array<RelaxedCounter, k_decode_status_count> decode{};  // per DecodeStatus
    RelaxedCounter no_session;         // pure ACK/RST of a flow we do not track
    RelaxedCounter sessions_opened;
    RelaxedCounter sessions_closed;
    RelaxedCounter sessions_evicted;
    RelaxedCounter sessions_drain_forced;  // records published before their outputs were done
    RelaxedCounter stream_bytes;       // delivered in order, both directions
    RelaxedCounter gap_bytes;
    RelaxedCounter icmp_matched;       // ICMP errors that quoted a live session's packet
    RelaxedCounter icmp_unmatched;     // ... that quoted a flow we do not track
    RelaxedCounter open;               // live sessions now (a gauge)
};

// A request for the JSON of live sessions, answered by the engine's own thread (the
// only one that may read its sessions) at its next packet or tick.
struct SnapshotRequest {
    uint64_t uid = 0;       // 0: every live session
    int64_t wall_now = 0;   // for age_sec on a live capture
    std::string elements;   // out: session objects separated by commas
    bool found = false;     // out: some session matched
    bool done = false;
};

// The capture-time clock of the engine that runs on the calling thread (0 on a thread
// that drives no engine): an event a plugin publishes from a session callback or tick is
// stamped with its own worker's time, not another worker's.
int64_t engine_clock_of_this_thread();

class Engine {
public:
    Engine(EngineConfig config, Consumers& consumers, EventBus& bus);
    ~Engine();

    // Decodes and processes one packet.
    void process(const sth_packet& packet);
    // Processes a packet the caller already decoded (status as decode_packet returned).
    void process_decoded(const sth_packet& packet, const DecodedPacket& decoded,
                         DecodeStatus status);
    // Moves the engine's clock forward (no packet), running due timeouts.
    void advance_clock(int64_t now_ns);
    // Closes every open session (end of input, shutdown).
    void close_all(const char* reason);
    const EngineStats& stats() const { return stats_; }

    // Any thread: a snapshot of the live sessions. The engine's own thread answers it at
    // its next packet or tick; when the engine is idle (its thread waits for packets and
    // does not hold owner()), the caller takes owner() and builds it itself. False when
    // neither happened within `timeout`. After close_all: answered at once, with nothing.
    bool snapshot(SnapshotRequest& request, std::chrono::milliseconds timeout);
    // Held by whichever thread drives the engine (process, advance_clock, close_all), so
    // that a snapshot can be built on another thread while the engine is idle.
    std::mutex& owner() { return owner_; }
    size_t open_sessions() const { return table_.size(); }

private:
    friend class DirectionSink;
    Session* open_session(const FlowKey& key, uint64_t hash, bool from_a, const DecodedPacket& p,
                          int64_t ts);
    void handle(Session& s, const sth_packet& raw, const DecodedPacket& p, uint8_t dir);
    void note_header(Session& s, const DecodedPacket& p, uint8_t dir);
    void classify(Session& s, const DecodedPacket& p, uint8_t dir, int64_t ts, sth_segment& seg);
    void fill_segment(sth_segment& seg, const Session& s, const DecodedPacket& p, uint8_t dir,
                      int64_t ts) const;
    bool rst_in_window(const Session& s, const DecodedPacket& p, uint8_t dir) const;
    // The receiver's window in bytes, scaled when both SYNs agreed on scaling.
    uint64_t receive_window(const Session& s, uint8_t receiver) const;
    void publish_anomaly(const Session& s, const char* type, uint8_t dir, const DecodedPacket& p,
                         int64_t ts);
    void end_direction(Session& s, uint8_t dir, const char* reason, int64_t ts);
    void close_session(Session& s, const char* reason, int64_t ts);
    void finish_session(Session& s);  // publishes session_closed, frees the session
    void poll_draining();
    void expire(int64_t now);
    void publish_opened(Session& s, const DecodedPacket& p, int64_t ts);
    void publish_closed(Session& s);
    void handle_icmp(const DecodedPacket& p, int64_t ts);
    void tick_sessions(int64_t now);
    void serve_snapshot();
    bool first_packet_is_client(const DecodedPacket& p, bool from_a) const;

    EngineConfig config_;
    Consumers& consumers_;
    EventBus& bus_;
    ReassemblyBudget budget_;
    FlowTable<Session, FlowKey> table_;
    Session* find_session(const FlowKey& key, uint64_t hash) const;
    // Every live session by last activity: front = least recent.
    IntrusiveList<Session, &Session::lru_link> lru_;
    // Sessions with wants_tick, not closing, in the order they opened.
    IntrusiveList<Session, &Session::tick_link> ticking_;
    // Bare SYNs whose handshake has not finished, in the order of their SYN (start_ts_ns).
    IntrusiveList<Session, &Session::handshake_link> handshakes_;
    // Sessions in their FIN grace period, by grace_deadline.
    IntrusiveList<Session, &Session::closing_link> closing_;
    // Closed sessions whose bytes an output is still delivering (Consumers::pending).
    std::deque<Session*> draining_;
    EngineStats stats_;
    DecodedPacket decoded_;
    JsonWriter event_writer_{4096};  // session_opened / session_closed, reused
    Session* last_session_ = nullptr;  // the previous packet's session (skips a lookup)
    int64_t now_ = 0;
    int64_t next_expiry_check_ = 0;
    int64_t next_tick_ = 0;
    void expire_closing(int64_t now);
    std::mutex owner_;
    // Snapshot mailbox (SnapshotRequest): the flag is read on the hot path.
    std::atomic<bool> snapshot_wanted_{false};
    std::mutex snapshot_mutex_;
    std::condition_variable snapshot_done_;
    SnapshotRequest* snapshot_request_ = nullptr;
    bool snapshots_closed_ = false;
};

}  // namespace stethoscope::core
