#include "engine.hpp"

#include "log.hpp"
#include "session_report.hpp"
#include "tcp_analysis.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

namespace stethoscope::core {

namespace {
constexpr int64_t k_ns = 1000000000;
constexpr int64_t k_tick_ns = k_ns / 4;  // session_tick period (capture time)

std::atomic<uint64_t> g_next_uid{1};
thread_local int64_t t_engine_clock = 0;  // see engine_clock_of_this_thread

sth_endpoint endpoint_of(const FlowKey& k, bool side_a) {
    sth_endpoint e{};
    e.family = k.family;
    std::memcpy(e.addr, side_a ? k.addr_a.data() : k.addr_b.data(), k.family == 6 ? 16 : 4);
    e.port = side_a ? k.port_a : k.port_b;
    return e;
}

bool same_ip(const sth_endpoint& e, const std::array<uint8_t, 16>& addr, uint8_t family) {
    return e.family == family && std::memcmp(e.addr, addr.data(), family == 6 ? 16 : 4) == 0;
}
}  // namespace

int64_t engine_clock_of_this_thread() { return t_engine_clock; }

uint64_t flow_hash_seed() {
    static const uint64_t seed = [] {
        std::random_device rd;
        return (uint64_t{rd()} << 32) ^ rd();
    }();
    return seed;
}

// Adapts one direction of a session to the reassembler's output interface.
class DirectionSink : public StreamSink {
public:
    DirectionSink(Engine& e, Session& s, uint8_t dir) : e_(e), s_(s), dir_(dir) {}
    void stream_data(uint64_t offset, const uint8_t* data, size_t size, int64_t ts) override {
        sth_stream_chunk c{sizeof(sth_stream_chunk), dir_, offset, data, size, ts};
        s_.bytes[dir_] += size;
        e_.stats_.stream_bytes += size;
        e_.consumers_.stream_data(s_.info, s_.slots, c);
    }
    void stream_gap(uint64_t offset, uint64_t length, const char* reason, int64_t ts) override {
        std::string_view r(reason);
        sth_stream_gap g{sizeof(sth_stream_gap), dir_, offset, length, {r.data(), r.size()}, ts};
        e_.stats_.gap_bytes += length;
        e_.consumers_.stream_gap(s_.info, s_.slots, g);
        ++s_.gaps_total;
        if (s_.gaps.size() < k_gap_list_max) s_.gaps.push_back({dir_, offset, length, reason});
        if (sample_event(s_.gap_events) && e_.bus_.has_listeners())
            e_.bus_.publish("gap", gap_event(s_, dir_, offset, length, r, ts), s_.info.uid);
    }

private:
    Engine& e_;
    Session& s_;
    uint8_t dir_;
};

EngineConfig make_engine_config(const Config& c) {
    EngineConfig e;
    e.reassembly = c.reassembly;
    e.mode = c.capture.mode;
    e.server_ports = c.capture.server_ports;
    if (!c.capture.local_ip.empty()) {
        if (inet_pton(AF_INET, c.capture.local_ip.c_str(), e.local.addr) == 1) e.local.family = 4;
        else if (inet_pton(AF_INET6, c.capture.local_ip.c_str(), e.local.addr) == 1) e.local.family = 6;
    }
    e.local.port = c.capture.local_port;
    return e;
}

Engine::Engine(EngineConfig config, Consumers& consumers, EventBus& bus)
    : config_(std::move(config)), consumers_(consumers), bus_(bus) {
    budget_.global_cap = config_.reassembly.global_memcap_bytes;
}

Engine::~Engine() {
    while (Session* s = lru_.front()) {  // sessions left open (close_all was not called)
        lru_.remove(*s);
        delete s;
    }
    for (Session* s : draining_) delete s;
}

bool Engine::first_packet_is_client(const DecodedPacket& p, bool from_a) const {
    using namespace tcp_flag;
    if ((p.flags & (syn | ack)) == syn) return true;           // the SYN's sender opened
    if ((p.flags & (syn | ack)) == (syn | ack)) return false;  // the SYN-ACK's sender serves
    // Mid-stream pickup: decide from the configured mode, else the lower port serves.
    std::array<uint8_t, 16> src = p.src;
    switch (config_.mode) {
        case CaptureMode::client:
            if (config_.local.family != 0) return same_ip(config_.local, src, p.ip_version);
            break;
        case CaptureMode::server:
            if (config_.local.family != 0)
                return !(same_ip(config_.local, src, p.ip_version) && p.src_port == config_.local.port);
            break;
        case CaptureMode::filter: {
            auto is_server = [&](uint16_t port) {
                return std::find(config_.server_ports.begin(), config_.server_ports.end(), port) !=
                       config_.server_ports.end();
            };
            if (is_server(p.dst_port) != is_server(p.src_port)) return is_server(p.dst_port);
            break;
        }
    }
    return p.src_port > p.dst_port || (p.src_port == p.dst_port && from_a);
}

Session* Engine::find_session(const FlowKey& key, uint64_t hash) const {
    return table_.find(key, hash);
}

Session* Engine::open_session(const FlowKey& key, uint64_t hash, bool from_a,
                              const DecodedPacket& p, int64_t ts) {
    if (table_.size() >= config_.reassembly.max_sessions && !lru_.empty()) {
        Session* victim = lru_.front();
        ++stats_.sessions_evicted;
        close_session(*victim, "evicted", ts);
    }
    Session& s = *new Session(config_.reassembly.flow_memcap_bytes, &budget_);
    s.key = key;
    s.hash = hash;
    bool sender_is_client = first_packet_is_client(p, from_a);
    s.client_is_a = sender_is_client == from_a;
    s.info.struct_size = sizeof(sth_session_info);
    s.info.uid = g_next_uid.fetch_add(1, std::memory_order_relaxed);
    s.info.client = endpoint_of(key, s.client_is_a);
    s.info.server = endpoint_of(key, !s.client_is_a);
    s.info.session_id = s.info.client.port;
    s.info.start_ts_ns = ts;
    s.info.saw_syn = (p.flags & tcp_flag::syn) != 0 ? 1 : 0;
    s.last_ts = ts;
    if ((p.flags & (tcp_flag::syn | tcp_flag::ack)) == tcp_flag::syn)
        handshakes_.push_back(s);
    else
        s.handshake_done = true;
    lru_.push_back(s);
    table_.insert(hash, &s);
    ++stats_.sessions_opened;
    ++stats_.open;
    const Consumers::Wants wants = consumers_.session_open(s.info, s.slots);
    s.wants_tick = wants.tick;
    s.wants_closed = wants.closed_event;
    s.wants_packets = wants.packets;
    s.wants_done = wants.done;
    if (s.wants_tick) ticking_.push_back(s);
    publish_opened(s, p, ts);
    return &s;
}

void Engine::publish_opened(Session& s, const DecodedPacket& p, int64_t ts) {
    if (!bus_.has_listeners()) return;
    // A record: the event thread writes its JSON.
    OpenedRecord r;
    capture_opened(r, s, SynOptions(p.options), (p.flags & tcp_flag::ack) != 0, consumers_, ts);
    bus_.publish(std::move(r));
}

void Engine::process(const sth_packet& packet) {
    DecodeStatus st = decode_packet(packet, decoded_);
    process_decoded(packet, decoded_, st);
}

void Engine::process_decoded(const sth_packet& packet, const DecodedPacket& p, DecodeStatus st) {
    ++stats_.packets;
    stats_.bytes += packet.len;
    int64_t ts = packet.ts_ns;
    if (ts > now_) now_ = ts;
    t_engine_clock = now_;
    ++stats_.decode[static_cast<size_t>(st)];
    if (snapshot_wanted_.load(std::memory_order_relaxed)) serve_snapshot();
    if (st == DecodeStatus::icmp_error) handle_icmp(p, ts);
    if (st == DecodeStatus::ok) {
        bool from_a = false;
        FlowKey key = make_flow_key(p, from_a);
        Session* s = nullptr;
        uint64_t hash = 0;
        if (last_session_ != nullptr && last_session_->key == key) {
            s = last_session_;  // bulk transfers: the same flow packet after packet
            hash = s->hash;
        } else {
            hash = FlowKeyHash{}(key);
            s = find_session(key, hash);
        }
        bool bare_syn = (p.flags & (tcp_flag::syn | tcp_flag::ack)) == tcp_flag::syn;
        if (s != nullptr && bare_syn && (s->closing || s->streams[0].fin_seen() ||
                                         s->streams[1].fin_seen())) {
            // Port reuse: a new connection on a 4-tuple whose previous one is ending.
            close_session(*s, s->closing ? "fin" : "reused", ts);
            s = nullptr;
        }
        if (s == nullptr) {
            bool starts = (p.flags & (tcp_flag::syn | tcp_flag::fin)) != 0 || p.payload_len > 0;
            if ((p.flags & tcp_flag::rst) != 0) starts = false;
            if (!starts) {
                ++stats_.no_session;
            } else {
                s = open_session(key, hash, from_a, p, ts);
            }
        }
        if (s != nullptr) {
            uint8_t dir = (from_a == s->client_is_a) ? STH_DIR_REQUESTS : STH_DIR_RESPONSES;
            last_session_ = s;
            handle(*s, packet, p, dir);
        }
    }
    if (now_ >= next_expiry_check_) expire(now_);
    else if (!closing_.empty() && closing_.front()->grace_deadline <= now_) expire_closing(now_);
}

uint64_t Engine::receive_window(const Session& s, uint8_t receiver) const {
    if (!s.window_known[receiver]) return uint64_t{65535} << 14;  // unknown: the largest possible
    const bool scaled = s.syn_seen[0] && s.syn_seen[1] && s.syn_options[0].window_scale >= 0 &&
                        s.syn_options[1].window_scale >= 0;
    // Without both SYNs the scale is unknown: assume the largest, never the smallest.
    const int shift = scaled ? s.syn_options[receiver].window_scale : (s.info.saw_syn ? 0 : 14);
    return std::max<uint64_t>(uint64_t{s.window[receiver]} << shift, 1);
}

bool Engine::rst_in_window(const Session& s, const DecodedPacket& p, uint8_t dir) const {
    const StreamReassembler& sender = s.streams[dir];
    if (!sender.anchored()) return true;  // nothing to check against (e.g. a refused SYN)
    const auto window = static_cast<int64_t>(receive_window(s, static_cast<uint8_t>(1 - dir)));
    const int64_t rel = sender.relative(p.seq);
    return rel >= -window && rel <= window;
}

void Engine::note_header(Session& s, const DecodedPacket& p, uint8_t dir) {
    if ((p.flags & tcp_flag::syn) != 0) {
        if (!s.syn_seen[dir]) s.syn_options[dir] = SynOptions(p.options);
        s.syn_seen[dir] = true;
    } else {
        s.window[dir] = p.window;
        s.window_known[dir] = true;
        // The handshake is finished by the first non-SYN segment with an ACK (the
        // client's third packet), or by any data.
        if ((p.flags & tcp_flag::ack) != 0) s.handshake_done = true;
    }
    if (p.payload_len > 0) s.handshake_done = true;
}

void Engine::handle(Session& s, const sth_packet& raw, const DecodedPacket& p, uint8_t dir) {
    int64_t ts = raw.ts_ns;
    s.last_ts = std::max(s.last_ts, ts);
    lru_.move_to_back(s);
    ++s.packets[dir];

    sth_segment seg;  // filled only for consumers that take packets
    seg.analysis = 0;
    if (s.wants_packets) fill_segment(seg, s, p, dir, ts);
    // Checksums: until a direction has shown one valid checksum, its bad ones are taken
    // for offload (the capturing host's own packets) and trusted; after that a bad one is
    // corruption, and its bytes wait for a valid copy or the peer's ACK.
    if (p.checksum_ok) s.valid_checksum_seen[dir] = true;
    if (!p.checksum_ok) {
        seg.analysis |= STH_SEG_BAD_CHECKSUM;
        ++s.bad_checksums;
    }
    const bool trusted = p.checksum_ok || !s.valid_checksum_seen[dir];
    classify(s, p, dir, ts, seg);
    StreamReassembler& mine = s.streams[dir];
    StreamReassembler& theirs = s.streams[1 - dir];
    if ((p.flags & tcp_flag::rst) != 0) {
        if (s.wants_packets) consumers_.session_packet(s.info, s.slots, raw, seg);
        // An RST the receiver would ignore (out of window, or corrupted) changes nothing.
        if (!trusted || !rst_in_window(s, p, dir)) {
            ++s.ignored_rsts;
            return;
        }
        close_session(s, "rst", ts);
        return;
    }
    note_header(s, p, dir);
    if (s.handshake_done) handshakes_.remove(s);
    uint32_t data_seq = p.seq;
    if ((p.flags & tcp_flag::syn) != 0) {
        if (trusted) mine.set_isn(p.seq);
        data_seq = p.seq + 1;
    }
    DirectionSink sink(*this, s, dir);
    bool fin = (p.flags & tcp_flag::fin) != 0;
    // Data far beyond what the receiver would accept (a huge sequence jump, garbage) is
    // ignored as the receiver ignores it. Twice the window (and at least 64 KiB) leaves
    // room for an ACK or window update the capture missed.
    const uint64_t max_ahead =
        std::max<uint64_t>(2 * receive_window(s, static_cast<uint8_t>(1 - dir)), 65536);
    SegmentOutcome o = mine.add_segment(data_seq, p.payload, p.payload_captured, p.payload_len, fin,
                                        ts, sink, trusted, max_ahead);
    if (o.out_of_window) ++s.out_of_window;
    if (o.overlap_conflict) {
        ++s.overlap_conflicts;
        if (sample_event(s.overlap_events)) publish_anomaly(s, "overlap_conflict", dir, p, ts);
    }
    // Even a corrupted packet's ACK is used: confirming bytes we hold takes a second
    // fault (a corrupted ACK over a corrupted segment) to go wrong.
    if ((p.flags & tcp_flag::ack) != 0) {
        DirectionSink peer(*this, s, static_cast<uint8_t>(1 - dir));
        theirs.peer_ack(p.ack, ts, peer);
    }
    if (s.wants_packets) consumers_.session_packet(s.info, s.slots, raw, seg);
    for (uint8_t d = 0; d < 2; ++d)
        if (!s.ended[d] && s.streams[d].finished()) end_direction(s, d, "fin", ts);
    if (s.ended[0] && s.ended[1] && !s.closing) {
        s.closing = true;
        ticking_.remove(s);  // both FINs done: only the grace period is left
        s.grace_deadline = ts + static_cast<int64_t>(config_.reassembly.fin_grace_sec * k_ns);
        closing_.push_back(s);
    }
}

void Engine::fill_segment(sth_segment& seg, const Session& s, const DecodedPacket& p, uint8_t dir,
                          int64_t ts) const {
    seg.struct_size = sizeof(sth_segment);
    seg.direction = dir;
    seg.flags = p.flags;
    seg.seq = p.seq;
    seg.ack = p.ack;
    // A SYN's window is never scaled (RFC 7323 2.2); the rest by the direction's shift.
    const int shift = (p.flags & tcp_flag::syn) != 0 ? 0 : s.window_shift(dir);
    seg.window = shift > 0 ? uint32_t{p.window} << shift : p.window;
    seg.window_shift = static_cast<int8_t>(shift);
    seg.raw_window = p.window;
    seg.payload_len = p.payload_len;
    seg.ip_total_len = p.ip_total_len;
    seg.ts_ns = ts;
    seg.has_timestamps = p.options.has_timestamps ? 1 : 0;
    seg.ts_val = p.options.ts_val;
    seg.ts_ecr = p.options.ts_ecr;
    seg.mss = p.options.mss;
    seg.window_scale = p.options.window_scale;
    seg.sack_permitted = p.options.sack_permitted ? 1 : 0;
    seg.sack_blocks = p.options.sack_block_count;
    seg.ip_version = p.ip_version;
    seg.ip_header_len = static_cast<uint16_t>(p.ip_total_len - p.segment_len);
}

void Engine::classify(Session& s, const DecodedPacket& p, uint8_t dir, int64_t ts,
                      sth_segment& seg) {
    const uint32_t bits = s.analysis.classify(p, dir, ts);
    seg.analysis |= bits;
    if (bits == 0) return;
    const bool debug = log_enabled(STH_LOG_DEBUG);
    for (size_t i = 0; i < k_flag_count; ++i) {
        if ((bits & (1u << i)) == 0) continue;
        ++s.flag_counts[i];
        const bool is_anomaly = (1u << i) == STH_SEG_ZERO_WINDOW;
        if ((is_anomaly || debug) && sample_event(s.flag_events[i]))
            publish_anomaly(s, k_flag_name[i], dir, p, ts);
    }
}

void Engine::publish_anomaly(const Session& s, const char* type, uint8_t dir,
                             const DecodedPacket& p, int64_t ts) {
    if (!bus_.has_listeners()) return;
    bus_.publish(type, anomaly_event(s, type, dir, p.seq, p.payload_len, ts), s.info.uid);
}

void Engine::end_direction(Session& s, uint8_t dir, const char* reason, int64_t ts) {
    if (s.ended[dir]) return;
    s.ended[dir] = true;
    std::string_view r(reason);
    sth_stream_end e{sizeof(sth_stream_end), dir,
                     s.streams[dir].next_offset(), {r.data(), r.size()}, ts};
    consumers_.stream_end(s.info, s.slots, e);
}

void Engine::close_session(Session& s, const char* reason, int64_t ts) {
    for (uint8_t d = 0; d < 2; ++d) {
        DirectionSink sink(*this, s, d);
        s.streams[d].flush(ts, sink);
        end_direction(s, d, s.streams[d].finished() ? "fin" : reason, ts);
    }
    // A session that ended by itself is stamped with its last packet, so the event does
    // not depend on when another flow's packet moved this worker's clock.
    std::string_view r(reason);
    bool ended_itself = r == "fin" || r == "rst" || r == "end_of_input" || r == "reused";
    lru_.remove(s);
    ticking_.remove(s);
    handshakes_.remove(s);
    closing_.remove(s);
    if (last_session_ == &s) last_session_ = nullptr;
    table_.erase(s.hash, &s);
    stats_.open -= 1;
    s.close_reason = reason;
    s.close_ts = ended_itself ? s.last_ts : ts;
    // The flow is gone from the table (a new SYN on the 4-tuple opens a new session), but
    // an output may still be delivering its bytes: its record waits until they are out.
    if (consumers_.pending(s.info, s.slots)) {
        // Bounded like the table: past max_sessions waiting records, the oldest is
        // published now, its outputs' counts not final yet (they show what is "queued").
        if (draining_.size() >= config_.reassembly.max_sessions) {
            Session* oldest = draining_.front();
            draining_.pop_front();
            ++stats_.sessions_drain_forced;
            finish_session(*oldest);
        }
        draining_.push_back(&s);
        return;
    }
    finish_session(s);
}

void Engine::finish_session(Session& s) {
    publish_closed(s);
    if (s.wants_done) consumers_.session_done(s.info, s.slots);
    ++stats_.sessions_closed;
    delete &s;
}

void Engine::poll_draining() {
    size_t kept = 0;
    for (size_t i = 0; i < draining_.size(); ++i) {
        Session* s = draining_[i];
        if (consumers_.pending(s->info, s->slots)) draining_[kept++] = s;
        else finish_session(*s);
    }
    draining_.resize(kept);
}

void Engine::publish_closed(Session& s) {
    // Nobody to tell: skip building the event (control-only runs without a listener;
    // analyzers' summaries only matter to a reader of the event).
    if (!bus_.has_listeners() && !s.wants_closed) return;
    if (!s.wants_closed) {  // only the bus takes it: the event thread writes its JSON
        ClosedRecord r;
        capture_closed(r, s, consumers_);
        bus_.publish(std::move(r));
        return;
    }
    session_closed_event(event_writer_, s, consumers_);
    const std::string& json = event_writer_.str();
    sth_event ev{sizeof(sth_event), {"session_closed", 14}, {json.data(), json.size()}, s.info.uid};
    consumers_.session_close(s.info, s.slots, ev);
    bus_.publish("session_closed", json, s.info.uid);
}

void Engine::handle_icmp(const DecodedPacket& p, int64_t ts) {
    bool from_a = false;
    FlowKey key = make_flow_key(p, from_a);
    Session* s = find_session(key, FlowKeyHash{}(key));
    if (s == nullptr) {
        ++stats_.icmp_unmatched;
        return;
    }
    ++stats_.icmp_matched;
    sth_icmp_error e{};
    e.struct_size = sizeof(sth_icmp_error);
    e.direction = from_a == s->client_is_a ? STH_DIR_REQUESTS : STH_DIR_RESPONSES;
    e.ip_version = p.icmp.version;
    e.type = p.icmp.type;
    e.code = p.icmp.code;
    e.mtu = p.icmp.mtu;
    e.quoted_seq = p.seq;
    e.reporter.family = p.icmp.version;
    std::memcpy(e.reporter.addr, p.icmp.reporter.data(), 16);
    e.ts_ns = ts;
    consumers_.session_icmp(s->info, s->slots, e);
}

void Engine::tick_sessions(int64_t now) {
    next_tick_ = now + k_tick_ns;
    if (ticking_.empty()) return;
    JsonWriter fields;
    for (Session* s = ticking_.front(); s != nullptr; s = ticking_.next(*s)) {
        fields.clear();
        consumers_.session_tick(s->info, s->slots, now, fields);
        if (!fields.empty() && bus_.has_listeners())
            bus_.publish("metrics", metrics_event(*s, fields.str(), now), s->info.uid);
    }
}

bool Engine::snapshot(SnapshotRequest& request, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(snapshot_mutex_);
    if (snapshots_closed_) {
        request.done = true;
        return true;
    }
    snapshot_request_ = &request;
    snapshot_wanted_.store(true, std::memory_order_release);
    for (;;) {
        if (snapshot_done_.wait_for(lock, std::chrono::milliseconds(5), [&] { return request.done; }))
            return true;
        lock.unlock();
        // The engine's thread did not come by: if it is idle, build the snapshot here.
        if (owner_.try_lock()) {
            serve_snapshot();
            owner_.unlock();
        }
        lock.lock();
        if (request.done) return true;
        if (std::chrono::steady_clock::now() >= deadline) {
            snapshot_request_ = nullptr;  // withdrawn: nobody may write to it later
            snapshot_wanted_.store(false, std::memory_order_relaxed);
            return false;
        }
    }
}

void Engine::serve_snapshot() {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshot_wanted_.store(false, std::memory_order_relaxed);
    SnapshotRequest* r = snapshot_request_;
    if (r == nullptr) return;
    snapshot_request_ = nullptr;
    // Reading a file, the capture's own clock is "now"; live, the wall clock is later.
    const int64_t now = std::max(now_, r->wall_now);
    JsonWriter w;
    for (Session* s = lru_.front(); s != nullptr; s = lru_.next(*s)) {
        if (r->uid != 0 && s->info.uid != r->uid) continue;
        write_session_snapshot(w, *s, consumers_, now);
        r->found = true;
        if (r->uid != 0) break;
    }
    r->elements = w.take();
    r->done = true;
    snapshot_done_.notify_all();
}

void Engine::expire(int64_t now) {
    next_expiry_check_ = now + k_ns / 10;
    if (now >= next_tick_) tick_sessions(now);
    if (!draining_.empty()) poll_draining();
    expire_closing(now);
    // Handshakes that never finish time out quickly; under memory pressure (the table
    // half full) four times quicker.
    auto handshake = static_cast<int64_t>(config_.reassembly.handshake_timeout_sec * k_ns);
    if (table_.size() * 2 >= config_.reassembly.max_sessions) handshake /= 4;
    while (!handshakes_.empty() && handshakes_.front()->info.start_ts_ns + handshake <= now)
        close_session(*handshakes_.front(), "handshake_timeout", now);
    auto idle = static_cast<int64_t>(config_.reassembly.idle_timeout_sec * k_ns);
    while (!lru_.empty() && lru_.front()->last_ts + idle <= now)
        close_session(*lru_.front(), "idle", now);
}

// Sessions whose FIN grace is over. Also checked on every packet (a compare when none is
// due), so that sessions are freed as steadily as they are opened: freed in bursts they
// overflow the allocator's per-thread cache and every later allocation takes its slow path.
void Engine::expire_closing(int64_t now) {
    while (!closing_.empty() && closing_.front()->grace_deadline <= now)
        close_session(*closing_.front(), "fin", now);
}

void Engine::advance_clock(int64_t now_ns) {
    if (snapshot_wanted_.load(std::memory_order_relaxed)) serve_snapshot();
    if (now_ns > now_) now_ = now_ns;
    t_engine_clock = now_;
    if (now_ >= next_expiry_check_) expire(now_);
}

void Engine::close_all(const char* reason) {
    while (!lru_.empty()) {
        Session& s = *lru_.front();
        close_session(s, s.closing ? "fin" : reason, std::max(now_, s.last_ts));
    }
    // Every output bounds its own wait (consumer, connect and stall timeouts).
    while (!draining_.empty()) {
        poll_draining();
        if (!draining_.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshots_closed_ = true;
    if (snapshot_request_ != nullptr) {  // answer a waiting request: nothing is live now
        snapshot_request_->done = true;
        snapshot_request_ = nullptr;
        snapshot_done_.notify_all();
    }
}

}  // namespace stethoscope::core
