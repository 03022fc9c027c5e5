// gen_analysis_captures — writes small crafted captures, one per TCP analysis situation
// (Wireshark's tcp.analysis flags), for tests/e2e/tshark_crosscheck.py and for debugging
// with analysis_driver.
//
//   gen_analysis_captures OUTDIR
//
// Writes OUTDIR/NAME.pcap for each situation and prints the file names. The comment above
// each generator says which packets should carry which flag; tshark is the judge (the
// cross-check compares stethoscope's counts with tshark's, not with these comments).
// Addresses are from the benchmarking range 198.18.0.0/15 and 2001:db8::/32.
#include <algorithm>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "capture_builder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sth_test;

constexpr std::uint64_t k_epoch_us = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::size_t k_seg = 100;                           // bytes per crafted segment
constexpr std::uint64_t k_ms = 1000;                         // in clock units (us)

// A TcpConversation plus hand-written segments. Payload bytes come from one fixed
// pseudo-random stream per direction, so a retransmission carries the very same bytes as
// the original, and what a side "has sent" on the normal path is kept in step with
// mark_sent() by sent_upto().
class Crafted {
public:
    Crafted(CaptureWriter& w, const ConversationConfig& cfg, std::uint64_t seed)
        : conv_(w, cfg),
          client_bytes_(pseudo_random_bytes(64 * 1024, seed)),
          server_bytes_(pseudo_random_bytes(64 * 1024, seed + 1)),
          isn_client_(cfg.client_isn),
          isn_server_(cfg.server_isn) {}

    TcpConversation& conv() { return conv_; }

    // Writes a data segment [offset, offset + size) of one side's stream. The ACK field
    // acknowledges `peer_ack` bytes of the peer's stream (default: all it has sent).
    void data(bool from_client, std::uint64_t offset, std::size_t size,
              std::optional<std::uint64_t> peer_ack = {},
              std::optional<std::uint16_t> window = {}) {
        SegmentExtras e;
        e.ack = peer_ack ? ack_value(!from_client, *peer_ack) : std::optional<std::uint32_t>{};
        e.window = window;
        const Bytes& stream = from_client ? client_bytes_ : server_bytes_;
        const ByteView payload(stream.data() + offset, size);
        conv_.write(conv_.segment(from_client, static_cast<std::int64_t>(offset), payload,
                                  tcp_flags::ack | tcp_flags::psh, e));
    }

    // A pure ACK from one side at its current sequence number, acknowledging `peer_ack`
    // bytes of the peer's stream. `seq_offset` overrides the sequence number (keep-alive).
    void ack(bool from_client, std::uint64_t peer_ack, std::optional<std::uint16_t> window = {},
             std::optional<std::int64_t> seq_offset = {}) {
        SegmentExtras e;
        e.ack = ack_value(!from_client, peer_ack);
        e.window = window;
        const std::int64_t seq = seq_offset.value_or(
            static_cast<std::int64_t>(from_client ? conv_.client_offset() : conv_.server_offset()));
        conv_.write(conv_.segment(from_client, seq, {}, tcp_flags::ack, e));
    }

    // A keep-alive with one byte: the byte at `offset` - 1 of a side's stream, again.
    void keep_alive_byte(bool from_client, std::uint64_t offset) {
        const Bytes& stream = from_client ? client_bytes_ : server_bytes_;
        conv_.write(conv_.segment(from_client, static_cast<std::int64_t>(offset) - 1,
                                  ByteView(stream.data() + offset - 1, 1), tcp_flags::ack));
    }

    // Records that a side's stream now reaches `end` (hand-written segments done).
    void sent_upto(bool from_client, std::uint64_t end) {
        const std::uint64_t now = from_client ? conv_.client_offset() : conv_.server_offset();
        const Bytes& stream = from_client ? client_bytes_ : server_bytes_;
        conv_.mark_sent(from_client, ByteView(stream.data() + now, end - now));
    }

    // Normal-path data of `size` bytes from the stream, segmented by `mss`.
    void send(bool from_client, std::size_t size, std::size_t mss = 1460) {
        const std::uint64_t now = from_client ? conv_.client_offset() : conv_.server_offset();
        const Bytes& stream = from_client ? client_bytes_ : server_bytes_;
        const ByteView payload(stream.data() + now, size);
        if (from_client) {
            conv_.client_send(payload, mss);
        } else {
            conv_.server_send(payload, mss);
        }
    }

    void idle(std::uint64_t us) { conv_.clock().advance(us); }

    void close() {
        conv_.client_fin();
        conv_.server_fin();
    }

private:
    // The sequence number after `offset` bytes of `side`'s stream.
    std::uint32_t ack_value(bool side_is_client, std::uint64_t offset) const {
        const std::uint32_t isn = side_is_client ? isn_client_ : isn_server_;
        return isn + 1 + static_cast<std::uint32_t>(offset);
    }

    TcpConversation conv_;
    Bytes client_bytes_;
    Bytes server_bytes_;
    std::uint32_t isn_client_;
    std::uint32_t isn_server_;
};

ConversationConfig config_for(const std::string& client_ip, std::uint16_t client_port,
                              const std::string& server_ip, std::uint16_t server_port,
                              std::shared_ptr<PacketClock> clock) {
    ConversationConfig c;
    c.client = {client_ip, client_port};
    c.server = {server_ip, server_port};
    c.clock = std::move(clock);
    return c;
}

std::shared_ptr<PacketClock> clock_with_step(std::uint64_t step_us) {
    return std::make_shared<PacketClock>(k_epoch_us, step_us);
}

void save(const fs::path& outdir, const std::string& name, const CaptureWriter& w) {
    w.save(outdir / (name + ".pcap"));
    std::cout << name << ".pcap\n";
}

constexpr bool k_client = true;
constexpr bool k_server = false;

// ---------------------------------------------------------------- one per situation

// Segments at 100 and 200 go unacknowledged; 200 ms later 100 is sent again: a
// retransmission (an RTO, long after the highest segment, no duplicate ACKs).
void gen_retransmission(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40001, "198.18.0.2", 80, clock_with_step(100)), 1);
    c.conv().handshake();
    c.send(k_client, k_seg);
    c.data(k_client, 100, k_seg);
    c.data(k_client, 200, k_seg);
    c.idle(200 * k_ms);
    c.data(k_client, 100, k_seg);  // retransmission
    c.sent_upto(k_client, 300);
    c.conv().server_ack();
    c.send(k_server, 2000);
    c.close();
    save(outdir, "retransmission", w);
}

// Segment 100 is lost; 200, 300 and 400 each draw a duplicate ACK of 100 (3 dup ACKs),
// and 100 comes again 100 us after the third: a fast retransmission. 200 is also a lost
// segment ("previous segment not captured").
void gen_fast_retransmission(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40002, "198.18.0.2", 80, clock_with_step(100)), 2);
    c.conv().handshake();
    c.data(k_client, 0, k_seg);
    c.ack(k_server, 100);
    for (std::uint64_t off = 200; off <= 400; off += 100) {
        c.data(k_client, off, k_seg);  // 200: lost segment
        c.ack(k_server, 100);          // duplicate ACKs 1..3
    }
    c.data(k_client, 100, k_seg);  // fast retransmission
    c.ack(k_server, 500);
    c.sent_upto(k_client, 500);
    c.send(k_server, 1000);
    c.close();
    save(outdir, "fast_retransmission", w);
}

// Segment 0 is ACKed, then sent again 300 ms later: a spurious retransmission (all its
// bytes were already ACKed). The server answers with a duplicate ACK, as stacks do.
void gen_spurious_retransmission(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40003, "198.18.0.2", 80, clock_with_step(100)), 3);
    c.conv().handshake();
    c.send(k_client, k_seg);
    c.idle(300 * k_ms);
    c.data(k_client, 0, k_seg);  // spurious retransmission
    c.ack(k_server, 100);        // duplicate ACK
    c.send(k_server, 500);
    c.close();
    save(outdir, "spurious_retransmission", w);
}

// 1 ms clock steps, so the handshake's RTT is 2 ms. Segment 200 overtakes 100, which
// arrives 1 ms after it: out-of-order (within the first RTT). 200 is a lost segment.
void gen_out_of_order(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40004, "198.18.0.2", 80, clock_with_step(1000)), 4);
    c.conv().handshake();
    c.data(k_client, 0, k_seg);
    c.data(k_client, 200, k_seg);  // lost segment
    c.data(k_client, 100, k_seg);  // out-of-order
    c.ack(k_server, 300);
    c.sent_upto(k_client, 300);
    c.send(k_server, 800);
    c.close();
    save(outdir, "out_of_order", w);
}

// Two sessions:
//  - 40005: bytes 100..200 are never captured; the server ACKs past them (ACKed unseen
//    segment).
//  - 40014: the client's segment 200 is never captured, so the server's ACK of 300 (and
//    its duplicate) acknowledge unseen bytes; then 300 arrives (lost segment) and is
//    ACKed too.
void gen_lost_segment(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = clock_with_step(100);
    Crafted c(w, config_for("198.18.0.1", 40005, "198.18.0.2", 80, clock), 5);
    c.conv().handshake();
    c.data(k_client, 0, k_seg);
    c.data(k_client, 200, k_seg);  // lost segment
    c.ack(k_server, 300);          // ACKs bytes never seen
    c.sent_upto(k_client, 300);
    c.send(k_server, 600);
    c.close();

    Crafted tail(w, config_for("198.18.0.1", 40014, "198.18.0.2", 80, clock), 14);
    tail.conv().handshake();
    tail.data(k_client, 0, k_seg);
    tail.data(k_client, 100, k_seg);
    tail.ack(k_server, 300);          // ACKs 200..300, never seen
    tail.ack(k_server, 300);          // duplicate ACK
    tail.data(k_client, 300, k_seg);  // lost segment
    tail.ack(k_server, 400);
    tail.sent_upto(k_client, 400);
    tail.send(k_server, 300);
    tail.close();
    save(outdir, "lost_segment", w);
}

// Segment 100 is lost; 200 and 300 draw two duplicate ACKs; 100 comes again only after
// 300 ms (too late for a fast retransmission): a retransmission.
void gen_duplicate_ack(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40006, "198.18.0.2", 80, clock_with_step(100)), 6);
    c.conv().handshake();
    c.data(k_client, 0, k_seg);
    c.ack(k_server, 100);
    c.data(k_client, 200, k_seg);  // lost segment
    c.ack(k_server, 100);          // duplicate ACK 1
    c.data(k_client, 300, k_seg);
    c.ack(k_server, 100);  // duplicate ACK 2
    c.idle(300 * k_ms);
    c.data(k_client, 100, k_seg);  // retransmission
    c.ack(k_server, 400);
    c.sent_upto(k_client, 400);
    c.send(k_server, 300);
    c.close();
    save(outdir, "duplicate_ack", w);
}

// The client's window closes (zero window); the server probes twice with one byte
// (zero-window probes), each answered with a zero window (zero window + probe ACK); a
// window update reopens it and the server sends on from where it was.
void gen_zero_window(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40007, "198.18.0.2", 80, clock_with_step(100)), 7);
    c.conv().handshake();
    c.send(k_client, 80);
    c.send(k_server, 1000);
    c.ack(k_client, 1000, 0);  // zero window
    for (int probe = 0; probe < 2; ++probe) {
        c.idle((200u << probe) * k_ms);
        c.data(k_server, 1000, 1);  // zero-window probe
        c.ack(k_client, 1000, 0);   // zero window, probe ACK
    }
    c.ack(k_client, 1000);  // window update
    c.data(k_server, 1000, 500);
    c.sent_upto(k_server, 1500);
    c.conv().client_ack();
    c.close();
    save(outdir, "zero_window", w);
}

// Three sessions with a 4096-byte receive window:
//  - 40008: both SYNs scale by 7 (header field 32); the 4th of four 1024-byte segments
//    ends exactly at ACK + 32 << 7: window full.
//  - 40009: the SYN-ACK has no window scale option, so scaling is off; the 4th segment
//    ends at ACK + 4096: window full.
//  - 40010: picked up mid-stream (no SYN): the scale is unknown and Wireshark never
//    reports window full, though a segment ends at ACK + the raw window.
void gen_window_full(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = clock_with_step(100);
    auto fill = [](Crafted& c) {
        c.send(k_client, 1000);
        for (std::uint64_t off = 1000; off < 5096; off += 1024) {
            c.data(k_client, off, 1024);  // the last one: window full
        }
        c.sent_upto(k_client, 5096);
        c.conv().server_ack();
        c.close();
    };

    ConversationConfig scaled_cfg = config_for("198.18.0.1", 40008, "198.18.0.2", 80, clock);
    scaled_cfg.receive_window = 4096;
    Crafted scaled(w, scaled_cfg, 8);
    scaled.conv().handshake();
    fill(scaled);

    ConversationConfig off_cfg = config_for("198.18.0.1", 40009, "198.18.0.2", 80, clock);
    off_cfg.receive_window = 4096;
    Crafted off(w, off_cfg, 9);
    HandshakeOptions no_ws_reply;
    no_ws_reply.server_syn_ack.window_scale.reset();
    off.conv().handshake(no_ws_reply);
    fill(off);

    ConversationConfig mid_cfg = config_for("198.18.0.1", 40010, "198.18.0.2", 80, clock);
    mid_cfg.receive_window = 32;
    Crafted mid(w, mid_cfg, 10);
    mid.ack(k_server, 0);
    mid.data(k_client, 0, 32);  // ends at ACK + raw window, scale unknown: no flag
    mid.sent_upto(k_client, 32);
    mid.conv().server_ack();
    mid.close();
    save(outdir, "window_full", w);
}

// After a minute idle the client sends a keep-alive (no data, seq one below the next),
// answered by a keep-alive ACK; a minute later one that carries a byte, likewise.
void gen_keep_alive(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    Crafted c(w, config_for("198.18.0.1", 40011, "198.18.0.2", 80, clock_with_step(100)), 11);
    c.conv().handshake();
    c.send(k_client, k_seg);
    c.send(k_server, 200);
    c.idle(60'000 * k_ms);
    c.ack(k_client, 200, {}, 99);  // keep-alive
    c.conv().server_ack();         // keep-alive ACK
    c.idle(60'000 * k_ms);
    c.keep_alive_byte(k_client, 100);  // keep-alive with one byte
    c.conv().server_ack();             // keep-alive ACK
    c.send(k_client, 50);
    c.close();
    save(outdir, "keep_alive", w);
}

// Two sessions sharing a clock.
//  - IPv4 with a handshake: the SYN is retransmitted after 1 s; the request's third
//    segment overtakes the second (out-of-order); the response loses a segment and is
//    repaired by a fast retransmission after three duplicate ACKs; the client's window
//    closes and reopens; the client's FIN is retransmitted.
//  - IPv6 picked up mid-stream (Wireshark's out-of-order threshold is then 3 ms): an
//    out-of-order segment 1 ms late, a keep-alive, a spurious retransmission.
void gen_mixed(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = clock_with_step(100);
    ConversationConfig v4_cfg = config_for("198.18.0.1", 40012, "198.18.0.2", 8080, clock);
    v4_cfg.client_isn = 0xFFFFFF80;  // the client's sequence numbers wrap mid-request
    Crafted v4(w, v4_cfg, 12);
    ConversationConfig v6_cfg = config_for("2001:db8::1", 40013, "2001:db8::2", 443, clock);
    Crafted v6(w, v6_cfg, 13);

    // v4: SYN, then the handshake (whose SYN is the retransmission).
    SegmentExtras syn;
    syn.options = default_syn_options();
    v4.conv().write(v4.conv().segment(true, -1, {}, tcp_flags::syn, syn));
    v6.ack(k_client, 0);  // v6 mid-stream: the first packet seen
    v4.idle(1000 * k_ms);
    v4.conv().handshake();

    // v4 request: 0, then 200 before 100 (out-of-order 100 us later: first RTT is 200 us).
    v4.data(k_client, 0, k_seg);
    v4.data(k_client, 200, k_seg);  // lost segment
    v4.data(k_client, 100, k_seg);  // out-of-order
    v4.ack(k_server, 300);
    v4.sent_upto(k_client, 300);

    // v6: two segments, the first 1 ms late (out-of-order under the 3 ms default).
    v6.data(k_client, 100, k_seg);  // lost segment
    v6.idle(1 * k_ms);
    v6.data(k_client, 0, k_seg);  // out-of-order
    v6.ack(k_server, 200);
    v6.sent_upto(k_client, 200);

    // v4 response: 1000-byte segments; 1000 is lost, three duplicate ACKs, fast retransmit.
    v4.data(k_server, 0, 1000);
    v4.ack(k_client, 1000);
    for (std::uint64_t off = 2000; off <= 4000; off += 1000) {
        v4.data(k_server, off, 1000);  // 2000: lost segment
        v4.ack(k_client, 1000);        // duplicate ACKs
    }
    v4.data(k_server, 1000, 1000);  // fast retransmission
    v4.ack(k_client, 5000, 0);      // zero window
    v4.sent_upto(k_server, 5000);
    v4.idle(50 * k_ms);
    v4.ack(k_client, 5000);  // window update

    // v6: keep-alive after 45 s, then a spurious retransmission of ACKed data.
    v6.idle(45'000 * k_ms);
    v6.ack(k_client, 0, {}, 199);   // keep-alive
    v6.ack(k_server, 200);          // keep-alive ACK
    v6.data(k_client, 100, k_seg);  // spurious retransmission
    v6.send(k_server, 700);

    // v4 close: the client's FIN is retransmitted 200 ms later.
    v4.conv().write(v4.conv().segment(true, 300, {}, tcp_flags::fin | tcp_flags::ack));
    v4.idle(200 * k_ms);
    v4.conv().client_fin();  // retransmission, ACKed
    v4.conv().server_fin();
    v6.close();
    save(outdir, "mixed", w);
}

// ---------------------------------------------------------------- random mix

// splitmix64: the same sequence on every platform.
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform enough in [0, n) for a test generator.
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }

private:
    std::uint64_t state_;
};

// One side of a randomly driven session: what it sent, what it received of the peer.
struct RandomSide {
    std::uint64_t next = 0;      // next new byte to send
    std::uint64_t received = 0;  // contiguous bytes received from the peer
    std::vector<std::pair<std::uint64_t, std::uint64_t>> got;  // received ranges
    std::uint16_t window = 1000;                               // raw window field it announces
};

// Sessions driven by a fixed pseudo-random sequence of actions: new data (sometimes lost
// before the capture point, sometimes missed by the capture only, sometimes cut to end
// exactly at the peer's window), ACKs with changing windows (zero included), resends
// from the ACK point or anywhere before, keep-alives, one-byte probes, bursts of
// duplicate ACKs, swapped segments and window updates, at clock steps from 5 us to 300 ms;
// with or without a handshake, with different window scale options, ISNs near the wrap.
// It exists for the flags: every corner of the rules meets every other. (Its streams end
// with holes nobody fills, where tshark's follow and stethoscope's gaps part ways.)
void gen_random_mix(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = clock_with_step(100);
    Random rnd(20240601);
    const std::uint64_t steps[] = {5, 50, 100, 500, 1000, 2500, 15000, 25000, 300000};
    for (std::uint16_t si = 0; si < 16; ++si) {
        ConversationConfig cfg = config_for("198.18.1.1", static_cast<std::uint16_t>(41000 + si),
                                            "198.18.1.2", 80, clock);
        cfg.client_isn = rnd.below(4) == 0 ? 0xFFFFFFFFu - rnd.below(3000)
                                           : static_cast<std::uint32_t>(rnd.next());
        cfg.server_isn = rnd.below(4) == 0 ? 0xFFFFFFFFu - rnd.below(3000)
                                           : static_cast<std::uint32_t>(rnd.next());
        TcpConversation c(w, cfg);
        const Bytes stream[2] = {pseudo_random_bytes(200000, 3000 + si),
                                 pseudo_random_bytes(200000, 4000 + si)};
        const std::uint32_t isn[2] = {cfg.client_isn, cfg.server_isn};
        RandomSide side[2];
        int scale[2] = {0, 0};
        if (rnd.below(5) != 0) {
            HandshakeOptions h;
            switch (rnd.below(4)) {
                case 1:
                    h.client_syn.window_scale.reset();
                    break;
                case 2:
                    h.server_syn_ack.window_scale.reset();
                    break;
                case 3:
                    h.client_syn.window_scale = static_cast<std::uint8_t>(rnd.below(15));
                    h.server_syn_ack.window_scale = static_cast<std::uint8_t>(rnd.below(15));
                    break;
                default:
                    break;
            }
            if (rnd.below(2))
                h.client_syn.timestamps.reset();
            c.handshake(h);
            if (h.client_syn.window_scale && h.server_syn_ack.window_scale) {
                scale[0] = *h.client_syn.window_scale;
                scale[1] = *h.server_syn_ack.window_scale;
            }
        }
        // Writes one segment from `from` (captured unless `capture` is false) and, unless
        // `deliver` is false, lets the peer receive it.
        auto emit = [&](int from, std::int64_t off, std::size_t n, std::uint8_t flags,
                        bool deliver = true, bool capture = true) {
            const int to = 1 - from;
            SegmentExtras e;
            e.ack = isn[to] + 1 + static_cast<std::uint32_t>(side[from].received);
            e.window = side[from].window;
            if (capture) {
                clock->set_step(steps[rnd.below(std::size(steps))]);
                c.write(c.segment(from == 0, off,
                                  ByteView(stream[from].data() + (off < 0 ? 0 : off), n), flags,
                                  e));
            }
            if (!deliver || n == 0)
                return;
            RandomSide& r = side[to];
            r.got.emplace_back(static_cast<std::uint64_t>(off),
                               static_cast<std::uint64_t>(off) + n);
            for (bool grew = true; grew;) {
                grew = false;
                for (const auto& [lo, hi] : r.got) {
                    if (lo <= r.received && hi > r.received) {
                        r.received = hi;
                        grew = true;
                    }
                }
            }
        };
        const std::uint8_t data_flags = tcp_flags::ack | tcp_flags::psh;
        const std::uint32_t actions = 20 + rnd.below(60);
        for (std::uint32_t a = 0; a < actions; ++a) {
            const int s = rnd.below(3) == 0 ? 1 : 0;
            const int o = 1 - s;
            const std::uint32_t act = rnd.below(100);
            if (act < 40) {  // new data
                std::size_t n = 1 + rnd.below(rnd.below(4) == 0 ? 3 : 1400);
                const std::uint64_t edge =
                    side[o].received + (std::uint64_t{side[o].window} << scale[o]);
                if (rnd.below(6) == 0 && edge > side[s].next && edge - side[s].next <= 1400) {
                    n = edge - side[s].next;
                }
                const std::uint32_t fate = rnd.below(20);  // 0: lost, 1: not captured
                emit(s, static_cast<std::int64_t>(side[s].next), n, data_flags, fate != 0,
                     fate > 1);
                side[s].next += n;
            } else if (act < 65) {  // an ACK, sometimes with a new window
                const std::uint32_t r = rnd.below(10);
                if (r == 0) {
                    side[o].window = 0;
                } else if (r == 1) {
                    side[o].window = static_cast<std::uint16_t>(1 + rnd.below(2000));
                } else if (r == 2 && side[o].window == 0) {
                    side[o].window = 1000;
                }
                emit(o, static_cast<std::int64_t>(side[o].next), 0, tcp_flags::ack);
            } else if (act < 75) {  // a resend
                const std::uint64_t from =
                    rnd.below(2)
                        ? side[o].received
                        : (side[s].next ? rnd.below(static_cast<std::uint32_t>(side[s].next)) : 0);
                if (from < side[s].next) {
                    const std::size_t n =
                        std::min<std::uint64_t>(1 + rnd.below(1400), side[s].next - from);
                    emit(s, static_cast<std::int64_t>(from), n, data_flags);
                }
            } else if (act < 80) {  // keep-alive, with or without its byte
                if (side[s].next > 0) {
                    emit(s, static_cast<std::int64_t>(side[s].next) - 1, rnd.below(2),
                         tcp_flags::ack, false);
                }
            } else if (act < 85) {  // a one-byte probe
                emit(s, static_cast<std::int64_t>(side[s].next), 1, tcp_flags::ack, false);
            } else if (act < 90) {  // a burst of duplicate ACKs
                for (std::uint32_t k = 1 + rnd.below(4); k > 0; --k) {
                    emit(o, static_cast<std::int64_t>(side[o].next), 0, tcp_flags::ack);
                }
            } else if (act < 95) {  // two new segments, swapped
                const std::size_t n1 = 1 + rnd.below(1400), n2 = 1 + rnd.below(1400);
                emit(s, static_cast<std::int64_t>(side[s].next + n1), n2, data_flags);
                emit(s, static_cast<std::int64_t>(side[s].next), n1, data_flags);
                side[s].next += n1 + n2;
            } else {  // a window update
                side[o].window = static_cast<std::uint16_t>(500 + rnd.below(3000));
                emit(o, static_cast<std::int64_t>(side[o].next), 0, tcp_flags::ack);
            }
        }
        for (int s = 0; s < 2; ++s) {
            emit(s, static_cast<std::int64_t>(side[s].next), 0, tcp_flags::ack | tcp_flags::fin);
            if (rnd.below(3) == 0) {  // the FIN again
                emit(s, static_cast<std::int64_t>(side[s].next), 0,
                     tcp_flags::ack | tcp_flags::fin);
            }
        }
        clock->advance(1'000'000);
    }
    save(outdir, "random_mix", w);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: gen_analysis_captures OUTDIR\n";
        return 2;
    }
    try {
        const fs::path outdir = argv[1];
        fs::create_directories(outdir);
        gen_retransmission(outdir);
        gen_fast_retransmission(outdir);
        gen_spurious_retransmission(outdir);
        gen_out_of_order(outdir);
        gen_lost_segment(outdir);
        gen_duplicate_ack(outdir);
        gen_zero_window(outdir);
        gen_window_full(outdir);
        gen_keep_alive(outdir);
        gen_mixed(outdir);
        gen_random_mix(outdir);
    } catch (const std::exception& e) {
        std::cerr << "gen_analysis_captures: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
