// gen_basic_analyzer_captures — crafted captures for the mtu, mss and rates analyzers
// (tests/e2e/analyzers/basic_analyzers_e2e.py holds the expected values and derives them
// from the schedules written down here).
//
//   gen_basic_analyzer_captures OUTDIR
//
// Writes OUTDIR/sizes.pcap, OUTDIR/icmp.pcap and OUTDIR/rates.pcap. Every capture is
// Ethernet, every TCP packet has a 20-byte TCP header except SYNs (an MSS option adds 4),
// so IP sizes are easy to add up: IPv4 packet = 20 + 20 + payload, IPv6 = 40 + 20 +
// payload. No timestamps and no window scale are negotiated. t0 = 1,700,000,000 s
// (2023-11-14T22:13:20Z). Addresses are from 198.18.0.0/15 and 2001:db8::/32.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "capture_builder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sth_test;

constexpr std::uint64_t k_t0_us = 1'700'000'000'000'000;
constexpr std::uint64_t k_ms = 1000;

TcpOptions mss_only(std::uint16_t mss) {
    TcpOptions o;
    o.mss = mss;
    return o;
}

HandshakeOptions handshake(std::optional<std::uint16_t> client_mss, std::uint16_t server_mss) {
    HandshakeOptions h;
    h.client_syn = client_mss ? mss_only(*client_mss) : TcpOptions{};
    h.server_syn_ack = mss_only(server_mss);
    return h;
}

ConversationConfig conversation(const std::string& client_ip, std::uint16_t client_port,
                                const std::string& server_ip,
                                const std::shared_ptr<PacketClock>& clock) {
    ConversationConfig c;
    c.client = {client_ip, client_port};
    c.server = {server_ip, 80};
    c.clock = clock;
    return c;
}

// Moves a shared clock forward to t0 + `offset_us` (it never goes back).
void at(PacketClock& clock, std::uint64_t offset_us) {
    const std::uint64_t target = k_t0_us + offset_us;
    if (target < clock.now()) throw std::logic_error("schedule goes back in time");
    clock.advance(target - clock.now());
}

Bytes filler(std::size_t n, std::uint64_t seed) { return pseudo_random_bytes(n, seed); }

// sizes.pcap — three sessions, one after the other (clock step 100 us):
//  S1 198.18.0.1:40101 -> 198.18.1.1:80. SYN MSS 1460 (IP 44), SYN-ACK MSS 1400 (IP 44).
//     Client payloads 300, 1400, 2800, 1000 (IP 340, 1440, 2840, 1040); server payloads
//     1460, 1460, 2920, 4000, 500 (IP 1500, 1500, 2960, 4040, 540). Oversized against the
//     receiver's MSS: requests 2800 > 1400 (1); responses 2920 and 4000 > 1460 (2).
//  S2 198.18.0.1:40102. SYN without options (IP 40), SYN-ACK MSS 1460. Client payload 2000
//     (IP 2040, > 1460: 1 oversized); server payload 3000 (IP 3040, not judged: the
//     client offered no MSS).
//  S3 [2001:db8::1]:40103 -> [2001:db8:1::1]:80, MSS 1440 both ways. Client payload 500
//     (IP 560); server payloads 1440, 1440 (IP 1500 each). Nothing oversized.
void gen_sizes(const fs::path& out) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_t0_us, 100);
    {
        TcpConversation s1(w, conversation("198.18.0.1", 40101, "198.18.1.1", clock));
        s1.handshake(handshake(1460, 1400));
        for (std::size_t n : {300, 1400, 2800, 1000}) s1.client_send(filler(n, n), n);
        s1.server_send(filler(2920, 1), 1460);
        for (std::size_t n : {2920, 4000, 500}) s1.server_send(filler(n, n + 1), n);
        s1.client_fin();
        s1.server_fin();
    }
    {
        TcpConversation s2(w, conversation("198.18.0.1", 40102, "198.18.1.1", clock));
        s2.handshake(handshake(std::nullopt, 1460));
        s2.client_send(filler(2000, 2), 2000);
        s2.server_send(filler(3000, 3), 3000);
        s2.client_fin();
        s2.server_fin();
    }
    {
        TcpConversation s3(w, conversation("2001:db8::1", 40103, "2001:db8:1::1", clock));
        s3.handshake(handshake(1440, 1440));
        s3.client_send(filler(500, 4), 500);
        s3.server_send(filler(2880, 5), 1440);
        s3.client_fin();
        s3.server_fin();
    }
    w.save(out / "sizes.pcap");
}

// ICMP "fragmentation needed" (type 3 code 4) from `router` to `to`, quoting `quoted`
// (an IP packet, cut to `quote_bytes`).
Bytes icmp4_frag_needed(const IpAddress& router, const IpAddress& to, std::uint16_t mtu,
                        const Bytes& quoted, std::size_t quote_bytes) {
    Bytes m = {3, 4, 0, 0, 0, 0, static_cast<std::uint8_t>(mtu >> 8),
               static_cast<std::uint8_t>(mtu & 0xff)};
    m.insert(m.end(), quoted.begin(), quoted.begin() + static_cast<long>(quote_bytes));
    const std::uint16_t sum = internet_checksum(m);
    m[2] = static_cast<std::uint8_t>(sum >> 8);
    m[3] = static_cast<std::uint8_t>(sum & 0xff);
    return ipv4_packet(router, to, 1, m);
}

// ICMPv6 "packet too big" (type 2) from `router` to `to`, quoting as much of `quoted` as
// fits in 1280 bytes (RFC 4443 2.4).
Bytes icmp6_packet_too_big(const IpAddress& router, const IpAddress& to, std::uint32_t mtu,
                           const Bytes& quoted) {
    Bytes m = {2, 0, 0, 0};
    for (int shift = 24; shift >= 0; shift -= 8) m.push_back(static_cast<std::uint8_t>(mtu >> shift));
    const std::size_t room = 1280 - 40 - m.size();
    m.insert(m.end(), quoted.begin(),
             quoted.begin() + static_cast<long>(std::min(room, quoted.size())));
    Bytes pseudo(router.bytes().begin(), router.bytes().end());
    pseudo.insert(pseudo.end(), to.bytes().begin(), to.bytes().end());
    const std::uint32_t len = static_cast<std::uint32_t>(m.size());
    for (int shift = 24; shift >= 0; shift -= 8) pseudo.push_back(static_cast<std::uint8_t>(len >> shift));
    pseudo.insert(pseudo.end(), {0, 0, 0, 58});
    pseudo.insert(pseudo.end(), m.begin(), m.end());
    const std::uint16_t sum = internet_checksum(pseudo);
    m[2] = static_cast<std::uint8_t>(sum >> 8);
    m[3] = static_cast<std::uint8_t>(sum & 0xff);
    return ipv6_packet(router, to, 58, m);
}

// The IP packet (no link layer) of a data segment of `conv` at stream offset 0.
Bytes data_packet(TcpConversation& conv, bool from_client, const Bytes& payload) {
    const Bytes tcp = conv.tcp_bytes(from_client, 0, payload);
    const IpAddress& src = from_client ? conv.client_ip() : conv.server_ip();
    const IpAddress& dst = from_client ? conv.server_ip() : conv.client_ip();
    return ip_packet(src, dst, ip_protocol::tcp, tcp);
}

// icmp.pcap — path-MTU discovery seen from the sniffer (clock step 100 us):
//  A 198.18.0.1:40201 -> 198.18.1.1:80, MSS 1460 both ways, from t0.
//    A data segment of 1460 bytes (IP 1500) that a router drops; at t0+1 s router
//    198.18.0.254 answers ICMP fragmentation needed, MTU 1400, quoting the IP header and
//    the first 8 TCP bytes (RFC 792's minimum). A resend of 1360 bytes (IP 1400), dropped
//    further on: at t0+1.5 s an ICMP error for an unknown flow (port 40999, MTU 576:
//    must change nothing); at t0+2 s router 198.18.0.253 answers MTU 1300, quoting the IP
//    header, the TCP header and 64 payload bytes. Then the 2520 bytes go out in 1260-byte
//    segments (IP 1300) and the server answers 100 bytes (IP 140); both close.
//    Expected: requests largest IP 1500, payload 1460; responses 140 / 100; ICMP count 2,
//    min_mtu 1300 from 198.18.0.253, direction requests, at t0+2 s.
//  B [2001:db8::1]:40202 -> [2001:db8:1::1]:80, MSS 1440 both ways, from t0+2.5 s. The
//    client asks 200 bytes (IP 260); the server's 1440-byte segment (IP 1500) is too big
//    for router 2001:db8:1::fe, which answers packet too big, MTU 1280, at t0+3 s,
//    quoting 1232 bytes of it. The server resends in 1220-byte segments (IP 1280, 280).
//    Expected: responses largest IP 1500, payload 1440; requests 260 / 200; ICMP count
//    1, min_mtu 1280 from 2001:db8:1::fe, direction responses, at t0+3 s.
void gen_icmp(const fs::path& out) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_t0_us, 100);
    {
        TcpConversation a(w, conversation("198.18.0.1", 40201, "198.18.1.1", clock));
        a.handshake(handshake(1460, 1460));
        const Bytes request = filler(2520, 7);
        const Bytes big(request.begin(), request.begin() + 1460);
        a.write(a.segment(true, 0, big));
        at(*clock, 1000 * k_ms);
        const IpAddress r1 = IpAddress::parse("198.18.0.254");
        a.write(a.link_frame_from(false, icmp4_frag_needed(r1, a.client_ip(), 1400,
                                                           data_packet(a, true, big), 28)));
        const Bytes mid(request.begin(), request.begin() + 1360);
        a.write(a.segment(true, 0, mid));
        at(*clock, 1500 * k_ms);
        TcpConversation ghost(w, conversation("198.18.0.1", 40999, "198.18.1.1", clock));
        a.write(a.link_frame_from(false, icmp4_frag_needed(r1, a.client_ip(), 576,
                                                           data_packet(ghost, true, mid), 28)));
        at(*clock, 2000 * k_ms);
        const IpAddress r2 = IpAddress::parse("198.18.0.253");
        a.write(a.link_frame_from(false, icmp4_frag_needed(r2, a.client_ip(), 1300,
                                                           data_packet(a, true, mid), 104)));
        a.client_send(request, 1260);
        a.server_send(filler(100, 8), 100);
        a.client_fin();
        a.server_fin();
    }
    at(*clock, 2500 * k_ms);
    {
        TcpConversation b(w, conversation("2001:db8::1", 40202, "2001:db8:1::1", clock));
        b.handshake(handshake(1440, 1440));
        b.client_send(filler(200, 9), 200);
        const Bytes response = filler(1440, 10);
        b.write(b.segment(false, 0, response));
        at(*clock, 3000 * k_ms);
        const IpAddress r6 = IpAddress::parse("2001:db8:1::fe");
        b.write(b.link_frame_from(true, icmp6_packet_too_big(r6, b.server_ip(), 1280,
                                                             data_packet(b, false, response))));
        b.server_send(response, 1220);
        b.client_fin();
        b.server_fin();
    }
    w.save(out / "icmp.pcap");
}

// rates.pcap — two concurrent transfers of known timing; every packet has its own time
// (offsets from t0, in us):
//  R1 198.18.0.1:41001 -> 198.18.1.1:80: SYN 0 (IP 44), SYN-ACK 100 (IP 44), ACK 200
//     (IP 40). R2 198.18.0.1:41002: the same at 300, 400, 500.
//  For k = 1..300: at k*10000 + 1000 R1's server sends 1000 bytes (IP 1040), at +1100 the
//     client ACKs (IP 40); at k*10000 + 5000 R2's server sends 500 bytes (IP 540), at
//     +5100 its client ACKs (IP 40).
//  At 3,011,000 R1 closes: client FIN (IP 40), +100 server ACK, +200 server FIN, +300
//     client ACK; at 3,015,000 R2 the same.
//  So over any interval that is a whole number of 10 ms slots: R1 100 packets/s each way,
//  responses 100,000 payload B/s and 104,000 IP B/s, requests 0 and 4,000; R2 100
//  packets/s each way, 50,000 / 54,000 and 0 / 4,000; all sessions: 200 packets/s each
//  way, 150,000 / 158,000 and 0 / 8,000 B/s.
//  Totals R1: requests 2 + 300 + 2 = 304 packets, 44 + 303 * 40 = 12,164 IP bytes, 0
//  payload; responses 1 + 300 + 2 = 303 packets, 300,000 payload, 44 + 300 * 1040 + 80 =
//  312,124 IP bytes. R2: requests 304 / 12,164; responses 303, 150,000, 44 + 300 * 540 +
//  80 = 162,124.
void gen_rates(const fs::path& out) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_t0_us, 100);
    TcpConversation r1(w, conversation("198.18.0.1", 41001, "198.18.1.1", clock));
    TcpConversation r2(w, conversation("198.18.0.1", 41002, "198.18.1.1", clock));
    r1.handshake(handshake(1460, 1460));
    r2.handshake(handshake(1460, 1460));
    for (std::uint64_t k = 1; k <= 300; ++k) {
        at(*clock, k * 10 * k_ms + 1 * k_ms);
        r1.server_send(filler(1000, k), 1000);
        at(*clock, k * 10 * k_ms + 5 * k_ms);
        r2.server_send(filler(500, k + 1000), 500);
    }
    at(*clock, 3011 * k_ms);
    r1.client_fin();
    r1.server_fin();
    at(*clock, 3015 * k_ms);
    r2.client_fin();
    r2.server_fin();
    w.save(out / "rates.pcap");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: gen_basic_analyzer_captures OUTDIR\n";
        return 2;
    }
    try {
        const fs::path outdir = argv[1];
        fs::create_directories(outdir);
        gen_sizes(outdir);
        gen_icmp(outdir);
        gen_rates(outdir);
        for (const char* name : {"sizes.pcap", "icmp.pcap", "rates.pcap"})
            std::cout << (outdir / name).string() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "gen_basic_analyzer_captures: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
