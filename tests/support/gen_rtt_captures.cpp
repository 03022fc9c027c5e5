// gen_rtt_captures — crafted captures of known timing for the rtt-bdp and stall analyzers.
//
//   gen_rtt_captures OUTDIR
//
// Writes OUTDIR/<name>.pcap (classic pcap, Ethernet, microsecond timestamps) and prints the
// names. Every packet is placed at an exact time: t below is microseconds after
// T0 = 1,700,000,000 s (2023-11-14T22:13:20Z). Client 198.18.0.1:40000, server
// 198.18.0.2:80; ISNs 1,000,000 (client) and 3,000,000,000 (server). Offsets are stream
// offsets (0 = the byte after the SYN). The expected values, derived from these timings,
// are in tests/e2e/analyzers/rtt_e2e.py; the comment above each capture gives the timings.
#include <cstdint>
#include <algorithm>
#include <exception>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "capture_builder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sth_test;

constexpr std::uint64_t k_t0 = 1'700'000'000'000'000;
constexpr std::uint8_t k_syn = tcp_flags::syn, k_ack = tcp_flags::ack, k_fin = tcp_flags::fin;
constexpr std::uint8_t k_psh = tcp_flags::psh;

// One connection whose every packet is written by hand at an exact time.
class Flow {
public:
    explicit Flow(CaptureWriter& w, std::uint16_t client_port = 40000)
        : conv_(w, config(client_port)),
          client_bytes_(pseudo_random_bytes(1 << 20, 7)),
          server_bytes_(pseudo_random_bytes(1 << 20, 8)) {}

    // A packet from one side at time t (us after T0): `len` payload bytes at stream offset
    // `off` (-1 = the ISN, for a SYN), acknowledging `ack` bytes of the peer's stream (-1 =
    // none: no ACK flag) with raw window `win`, TCP timestamps if given.
    void pkt(bool from_client, std::uint64_t t, std::int64_t off, std::size_t len,
             std::uint8_t flags, std::int64_t ack, std::uint16_t win,
             std::optional<TcpTimestamps> ts = {}, std::optional<TcpOptions> syn_opts = {}) {
        PacketClock& clock = conv_.clock();
        if (k_t0 + t < clock.now()) throw std::logic_error("packets must be in time order");
        clock.advance(k_t0 + t - clock.now());
        SegmentExtras e;
        if (ack >= 0) {
            flags |= k_ack;
            const std::uint32_t isn = from_client ? k_server_isn : k_client_isn;
            e.ack = isn + 1 + static_cast<std::uint32_t>(ack);
        }
        e.window = win;
        TcpOptions o = syn_opts.value_or(TcpOptions{});
        if (ts) o.timestamps = ts;
        e.options = o;
        const Bytes& stream = from_client ? client_bytes_ : server_bytes_;
        const std::size_t at = off < 0 ? 0 : static_cast<std::size_t>(off);
        conv_.write(conv_.segment(from_client, off, ByteView(stream.data() + at, len), flags, e));
    }
    void client(std::uint64_t t, std::int64_t off, std::size_t len, std::uint8_t flags,
                std::int64_t ack, std::uint16_t win, std::optional<TcpTimestamps> ts = {}) {
        pkt(true, t, off, len, flags, ack, win, ts);
    }
    void server(std::uint64_t t, std::int64_t off, std::size_t len, std::uint8_t flags,
                std::int64_t ack, std::uint16_t win, std::optional<TcpTimestamps> ts = {}) {
        pkt(false, t, off, len, flags, ack, win, ts);
    }
    // SYN at t_syn, SYN-ACK at t_synack, ACK at t_ack; MSS as given, window scale 0 both
    // ways (so windows are exact bytes), no timestamps.
    void handshake(std::uint64_t t_syn, std::uint64_t t_synack, std::uint64_t t_ack,
                   std::uint16_t client_mss = 1460, std::uint16_t server_mss = 1460) {
        TcpOptions c, s;
        c.mss = client_mss;
        c.window_scale = 0;
        s.mss = server_mss;
        s.window_scale = 0;
        pkt(true, t_syn, -1, 0, k_syn, -1, 65535, {}, c);
        pkt(false, t_synack, -1, 0, k_syn, 0, 65535, {}, s);
        client(t_ack, 0, 0, 0, 0, 65535);
    }

private:
    static constexpr std::uint32_t k_client_isn = 1'000'000, k_server_isn = 3'000'000'000u;
    static ConversationConfig config(std::uint16_t client_port) {
        ConversationConfig c;
        c.client = {"198.18.0.1", client_port};
        c.server = {"198.18.0.2", 80};
        c.client_isn = k_client_isn;
        c.server_isn = k_server_isn;
        c.start_ts_us = k_t0;
        c.ts_step_us = 0;
        return c;
    }
    TcpConversation conv_;
    Bytes client_bytes_, server_bytes_;
};

// handshake: SYN 0, SYN-ACK 12,345 (server leg), ACK 13,023 (client leg 678); request
// 100 B at 13,100, server ACK 25,100; response 1,000 B at 25,200, client ACK 25,900;
// client FIN 30,000, server FIN-ACK 42,000, client ACK 42,700.
void handshake(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 12'345, 13'023);
    f.client(13'100, 0, 100, k_psh, 0, 65535);
    f.server(25'100, 0, 0, 0, 100, 65535);
    f.server(25'200, 0, 1000, k_psh, 100, 65535);
    f.client(25'900, 100, 0, 0, 1000, 65535);
    f.client(30'000, 100, 0, k_fin, 1000, 65535);
    f.server(42'000, 1000, 0, k_fin, 101, 65535);
    f.client(42'700, 101, 0, 0, 1001, 65535);
}

// transfer: SYN 0, SYN-ACK 20,000, ACK 21,000 (client MSS 1000). Request 100 B at
// 30,000; response 100 segments of 1,000 B, segment i at 50,000 + 1,000 i, each ACKed
// 1,000 us later (the ACK of i and segment i+1 share a time, ACK first); FINs later.
void transfer(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 20'000, 21'000, 1000);
    f.client(30'000, 0, 100, k_psh, 0, 65535);
    for (int i = 0; i < 100; ++i) {
        const std::uint64_t t = 50'000 + 1'000 * static_cast<std::uint64_t>(i);
        f.server(t, 1000 * i, 1000, k_psh, 100, 65535);
        f.client(t + 1'000, 100, 0, 0, 1000 * (i + 1), 65535);
    }
    f.client(200'000, 100, 0, k_fin, 100'000, 65535);
    f.server(220'000, 100'000, 0, k_fin, 101, 65535);
    f.client(221'000, 101, 0, 0, 100'001, 65535);
}

// rwnd: the client's window is 4,000 B, the RTT 20 ms (BDP far above 4,000 B). Ten
// rounds from r = 30,000 + 20,000 k: four 1,000 B segments at r, r+10, r+20, r+30, one
// client ACK of all four at r + 20,000 (window 4,000), before the next round's first.
void rwnd(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 19'000, 20'000, 1000);
    f.client(25'000, 0, 100, k_psh, 0, 4000);
    std::int64_t off = 0;
    for (int k = 0; k < 10; ++k) {
        const std::uint64_t r = 30'000 + 20'000 * static_cast<std::uint64_t>(k);
        for (int s = 0; s < 4; ++s, off += 1000) f.server(r + 10 * s, off, 1000, 0, 100, 65535);
        f.client(r + 20'000, 100, 0, 0, off, 4000);
    }
    f.client(300'000, 100, 0, k_fin, off, 4000);
    f.server(320'000, off, 0, k_fin, 101, 65535);
    f.client(321'000, 101, 0, 0, off + 1, 4000);
}

// app_pause: RTT 10 ms; five cycles from c = 30,000 + 200,000 k: two 1,000 B segments
// at c and c+10, one ACK of both at c + 10,000, then the server's application is silent
// until the next cycle (190,000 us, the client sends nothing).
void app_pause(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 9'000, 10'000, 1000);
    f.client(20'000, 0, 100, k_psh, 0, 65535);
    std::int64_t off = 0;
    for (int k = 0; k < 5; ++k) {
        const std::uint64_t c = 30'000 + 200'000 * static_cast<std::uint64_t>(k);
        f.server(c, off, 1000, 0, 100, 65535);
        f.server(c + 10, off + 1000, 1000, k_psh, 100, 65535);
        off += 2000;
        f.client(c + 10'000, 100, 0, 0, off, 65535);
    }
    f.client(1'100'000, 100, 0, k_fin, off, 65535);
    f.server(1'110'000, off, 0, k_fin, 101, 65535);
    f.client(1'120'000, 101, 0, 0, off + 1, 65535);
}

// lossy: RTT 10 ms, window 64,000. Four rounds of segments A, B, C (1,000 B) and D (500
// B, the application's last) at r, r+10, r+20, r+30. Round 0 (r = 30,000): one ACK of all
// at r + 10,000. Rounds 1..3 (r = 40,000 + 210,000 (k-1)): B is lost beyond the sniffer;
// the client ACKs A at r+10,000, duplicates at r+10,010 and r+10,020, the server
// retransmits B at r+200,000 (timeout) and the client ACKs all at r+210,000.
void lossy(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 9'000, 10'000, 1000);
    f.client(20'000, 0, 100, k_psh, 0, 64000);
    std::int64_t off = 0;
    for (int k = 0; k < 4; ++k) {
        const std::uint64_t r = k == 0 ? 30'000 : 40'000 + 210'000 * static_cast<std::uint64_t>(k - 1);
        f.server(r, off, 1000, 0, 100, 65535);
        f.server(r + 10, off + 1000, 1000, 0, 100, 65535);
        f.server(r + 20, off + 2000, 1000, 0, 100, 65535);
        f.server(r + 30, off + 3000, 500, k_psh, 100, 65535);
        if (k == 0) {
            f.client(r + 10'000, 100, 0, 0, off + 3500, 64000);
        } else {
            f.client(r + 10'000, 100, 0, 0, off + 1000, 64000);
            f.client(r + 10'010, 100, 0, 0, off + 1000, 64000);
            f.client(r + 10'020, 100, 0, 0, off + 1000, 64000);
            f.server(r + 200'000, off + 1000, 1000, 0, 100, 65535);
            f.client(r + 210'000, 100, 0, 0, off + 3500, 64000);
        }
        off += 3500;
    }
    f.client(700'000, 100, 0, k_fin, off, 64000);
    f.server(710'000, off, 0, k_fin, 101, 65535);
    f.client(720'000, 101, 0, 0, off + 1, 64000);
}

// karn: RTT 10 ms. Response S1 (1,000 B) at 30,000, S2 (1,000 B) at 30,010, S3 (500 B)
// at 30,020. The client ACKs S1 at 40,000; S2 is lost beyond the sniffer, a duplicate
// ACK at 40,010; the server retransmits S2 at 330,000; the client ACKs everything (the
// end of S3) at 340,000: that ACK covers resent bytes, so no sample. FINs after.
void karn(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 9'000, 10'000, 1000);
    f.client(20'000, 0, 100, k_psh, 0, 65535);
    f.server(30'000, 0, 1000, 0, 100, 65535);
    f.server(30'010, 1000, 1000, 0, 100, 65535);
    f.server(30'020, 2000, 500, k_psh, 100, 65535);
    f.client(40'000, 100, 0, 0, 1000, 65535);
    f.client(40'010, 100, 0, 0, 1000, 65535);
    f.server(330'000, 1000, 1000, 0, 100, 65535);
    f.client(340'000, 100, 0, 0, 2500, 65535);
    f.client(400'000, 100, 0, k_fin, 2500, 65535);
    f.server(410'000, 2500, 0, k_fin, 101, 65535);
    f.client(420'000, 101, 0, 0, 2501, 65535);
}

// ring_copy: RTT 10 ms. The request (100 B) at 20,000 is ACKed by the first response
// segment. Six response segments S0..S5 (1,000 B) at 30,000 + 10 k: S0..S3 fill the
// analyzer's four-slot ring, S4 and S5 find it full (not timed). The client ACKs S0 at
// 40,000 (10,000). The server sends S4 again at 40,005, 9,955 us after S5: within the
// initial RTT, so the engine calls it out-of-order, as Wireshark does. The ACK of S4's end
// at 50,000 gives no sample: the first copy was not timed, and timing the second would
// say 9,995 where tshark (from the first copy) says 19,960: Karn-excluded. The ACK of S5
// at 50,010: not timed (ring full). FINs after.
void ring_copy(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 9'000, 10'000, 1000);
    f.client(20'000, 0, 100, k_psh, 0, 65535);
    for (std::uint32_t k = 0; k < 6; ++k) f.server(30'000 + 10 * k, 1000 * k, 1000, 0, 100, 65535);
    f.client(40'000, 100, 0, 0, 1000, 65535);
    f.server(40'005, 4000, 1000, 0, 100, 65535);
    f.client(50'000, 100, 0, 0, 5000, 65535);
    f.client(50'010, 100, 0, 0, 6000, 65535);
    f.server(100'000, 6000, 0, k_fin, 100, 65535);
    f.client(110'000, 100, 0, k_fin, 6001, 65535);
    f.server(120'000, 6001, 0, 0, 101, 65535);
}

// ts_oneway: picked up mid-stream (no handshake), one-way: the server sends, the client
// only ACKs. TCP timestamps: the server's TSval is 5,000 + k, the client's 9,000 + k.
// Round k (r = 100,000 + 20,000 k, k = 0..4): server segment (1,000 B) at r echoing the
// client's previous TSval (8,999 for k = 0, never seen); client ACK at r + 15,000
// echoing the server's TSval of round k. Then the server's next segment (or, after round
// 4, a pure ACK at 200,000) echoes the client's TSval 5,000 us after the client sent it.
void ts_oneway(CaptureWriter& w) {
    Flow f(w);
    for (std::uint32_t k = 0; k < 5; ++k) {
        const std::uint64_t r = 100'000 + 20'000 * std::uint64_t{k};
        f.server(r, 1000 * k, 1000, k_psh, 0, 65535, TcpTimestamps{5'000 + k, 8'999 + k});
        f.client(r + 15'000, 0, 0, 0, 1000 * (k + 1), 65535, TcpTimestamps{9'000 + k, 5'000 + k});
    }
    f.server(200'000, 5000, 0, 0, 0, 65535, TcpTimestamps{5'005, 9'004});
}

// stall_zero_window: RTT 20 ms. Four 1,000 B segments at 30,000..30,030; the client ACKs
// all at 50,000 with window 0 and reopens (window 4,000) at 1,284,567 (1,234,567 us of
// zero window); the server sends 1,000 B at 1,290,000, ACKed at 1,310,000; FINs after.
void stall_zero_window(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 19'000, 20'000, 1000);
    f.client(25'000, 0, 100, k_psh, 0, 4000);
    for (int s = 0; s < 4; ++s) f.server(30'000 + 10 * s, 1000 * s, 1000, 0, 100, 65535);
    f.client(50'000, 100, 0, 0, 4000, 0);
    f.client(1'284'567, 100, 0, 0, 4000, 4000);
    f.server(1'290'000, 4000, 1000, k_psh, 100, 65535);
    f.client(1'310'000, 100, 0, 0, 5000, 4000);
    f.client(1'400'000, 100, 0, k_fin, 5000, 4000);
    f.server(1'420'000, 5000, 0, k_fin, 101, 65535);
    f.client(1'421'000, 101, 0, 0, 5001, 4000);
}

// stall_rto: RTT 20 ms. The server sends 2,000 B at 30,000 (last ACK progress: the
// request's ACK by this segment; the data is outstanding from 30,000); the client's ACK
// is lost; a client pure ACK without progress at 600,000; the server retransmits the
// first segment at 700,000; the client ACKs everything at 750,000 (720,000 us stalled).
void stall_rto(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 19'000, 20'000, 1000);
    f.client(25'000, 0, 100, k_psh, 0, 65535);
    f.server(30'000, 0, 1000, 0, 100, 65535);
    f.server(30'010, 1000, 1000, k_psh, 100, 65535);
    f.client(600'000, 100, 0, 0, 0, 65535);
    f.server(700'000, 0, 1000, 0, 100, 65535);
    f.client(750'000, 100, 0, 0, 2000, 65535);
    f.client(800'000, 100, 0, k_fin, 2000, 65535);
    f.server(820'000, 2000, 0, k_fin, 101, 65535);
    f.client(821'000, 101, 0, 0, 2001, 65535);
}

// stall_open: RTT 20 ms. The server sends 1,000 B at 30,000 that is never ACKed; the
// client keeps sending pure ACKs without progress (every 100,000 us up to 1,030,000);
// the capture ends with the stall open (no FIN).
void stall_open(CaptureWriter& w) {
    Flow f(w);
    f.handshake(0, 19'000, 20'000, 1000);
    f.client(25'000, 0, 100, k_psh, 0, 65535);
    f.server(30'000, 0, 1000, k_psh, 100, 65535);
    for (std::uint64_t t = 130'000; t <= 1'030'000; t += 100'000) f.client(t, 100, 0, 0, 0, 65535);
}

// stall_syn: a SYN nobody answers, sent again at 1,000,000 and 3,000,000: not a stall.
void stall_syn(CaptureWriter& w) {
    Flow f(w);
    TcpOptions o;
    o.mss = 1460;
    for (std::uint64_t t : {0ull, 1'000'000ull, 3'000'000ull}) f.pkt(true, t, -1, 0, k_syn, -1, 65535, {}, o);
}

// stall_tick: stall_zero_window's session (client port 40000) while another session
// (client port 40001) keeps the capture clock moving: 10 B requests every 50,000 us from
// 100,000 to 1,400,000, each ACKed 1,000 us later. Capture time now passes during the zero
// window, so the engine's ticks (about every 250 ms) detect the stall, not the next packet
// of the stalled session.
void stall_tick(CaptureWriter& w) {
    Flow b(w, 40001);
    std::vector<std::pair<std::uint64_t, std::function<void()>>> steps;
    steps.emplace_back(1, [&] { b.handshake(1, 2, 3); });
    for (std::uint64_t k = 0; k < 27; ++k) {
        const std::uint64_t t = 100'000 + 50'000 * k;
        steps.emplace_back(t + 1, [&b, t, k] { b.client(t + 1, static_cast<std::int64_t>(10 * k), 10, k_psh, 0, 65535); });
        steps.emplace_back(t + 1'001, [&b, t, k] { b.server(t + 1'001, 0, 0, 0, static_cast<std::int64_t>(10 * (k + 1)), 65535); });
    }
    // The stalled session's packets come from stall_zero_window, recorded into its own
    // writer and replayed here in time order with the others.
    CaptureWriter own(CaptureFormat::pcap);
    stall_zero_window(own);
    const Bytes& file = own.bytes();
    for (std::size_t at = 24; at + 16 <= file.size();) {  // classic pcap records, LE
        auto u32 = [&](std::size_t o) {
            return std::uint32_t{file[o]} | std::uint32_t{file[o + 1]} << 8 |
                   std::uint32_t{file[o + 2]} << 16 | std::uint32_t{file[o + 3]} << 24;
        };
        const std::uint64_t ts = std::uint64_t{u32(at)} * 1'000'000 + u32(at + 4);
        const std::uint32_t caplen = u32(at + 8);
        Bytes frame(file.begin() + static_cast<std::ptrdiff_t>(at + 16),
                    file.begin() + static_cast<std::ptrdiff_t>(at + 16 + caplen));
        steps.emplace_back(ts - k_t0, [&w, ts, frame] { w.write(ts, frame); });
        at += 16 + caplen;
    }
    std::stable_sort(steps.begin(), steps.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [t, step] : steps) step();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: gen_rtt_captures OUTDIR\n";
        return 2;
    }
    try {
        const fs::path out = argv[1];
        fs::create_directories(out);
        const std::vector<std::pair<std::string, void (*)(CaptureWriter&)>> cases = {
            {"handshake", handshake}, {"transfer", transfer},   {"rwnd", rwnd},
            {"app_pause", app_pause}, {"lossy", lossy},         {"karn", karn},
            {"ring_copy", ring_copy}, {"ts_oneway", ts_oneway}, {"stall_zero_window", stall_zero_window},
            {"stall_rto", stall_rto}, {"stall_open", stall_open}, {"stall_tick", stall_tick},
            {"stall_syn", stall_syn},
        };
        for (const auto& [name, make] : cases) {
            CaptureWriter w(CaptureFormat::pcap);
            make(w);
            w.save(out / (name + ".pcap"));
            std::cout << name << ".pcap\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "gen_rtt_captures: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
