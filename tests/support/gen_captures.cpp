// gen_captures — writes the golden captures of the end-to-end tests and, for each, the
// exact output stethoscope's `files` output must produce from it.
//
//   gen_captures OUTDIR
//
// For a capture NAME it writes OUTDIR/NAME.pcap (or .pcapng) and, unless the capture is an
// error case, OUTDIR/NAME.expected/ holding
//   <client_ip>_<client_port>-<server_ip>_<server_port>[~N]/requests.bin, responses.bin
//   sessions.count   (the number of sessions, decimal, newline-terminated)
// Requests are the bytes sent by the SYN sender. IPv6 addresses are in RFC 5952 form with
// ':' written as '.'; a repeated 4-tuple gets "~2", "~3", ... in order of session start.
//
// The expected streams are the payload bytes TcpConversation recorded while it put them
// into TCP segments, never an independent recomputation. All addresses are from the
// benchmarking range 198.18.0.0/15 or the IPv6 documentation prefix 2001:db8::/32.
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "capture_builder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sth_test;

constexpr std::uint64_t k_epoch_us = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z

// ---------------------------------------------------------------- expected output

// What one session must leave in the `files` output.
struct ExpectedSession {
    IpAddress client_ip;
    std::uint16_t client_port = 0;
    IpAddress server_ip;
    std::uint16_t server_port = 0;
    Bytes requests;
    Bytes responses;
};

ExpectedSession expected_from(const TcpConversation& c) {
    return {c.client_ip(),   c.client_port(), c.server_ip(),
            c.server_port(), c.requests(),    c.responses()};
}

std::string folder_name(const ExpectedSession& s) {
    return s.client_ip.file_name_form() + "_" + std::to_string(s.client_port) + "-" +
           s.server_ip.file_name_form() + "_" + std::to_string(s.server_port);
}

// `sessions` must be in order of session start.
void write_expected(const fs::path& outdir, const std::string& name,
                    const std::vector<ExpectedSession>& sessions) {
    const fs::path dir = outdir / (name + ".expected");
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::map<std::string, int> seen;
    for (const ExpectedSession& s : sessions) {
        const std::string base = folder_name(s);
        const int n = ++seen[base];
        const fs::path session_dir = dir / (n == 1 ? base : base + "~" + std::to_string(n));
        fs::create_directory(session_dir);
        write_file(session_dir / "requests.bin", s.requests);
        write_file(session_dir / "responses.bin", s.responses);
    }
    write_file(dir / "sessions.count", to_bytes(std::to_string(sessions.size()) + "\n"));
}

void save_capture(const fs::path& outdir, const std::string& name, const CaptureWriter& w) {
    const char* ext = w.format() == CaptureFormat::pcap ? ".pcap" : ".pcapng";
    w.save(outdir / (name + ext));
    std::cout << name << ext << "\n";
}

// ---------------------------------------------------------------- content

Bytes http_request(const std::string& path, const std::string& host) {
    return to_bytes("GET " + path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: stethoscope-gen/1\r\nAccept: */*\r\n\r\n");
}

// An HTTP/1.1 200 response whose body is `body_size` pseudo-random bytes.
Bytes http_response(std::size_t body_size, std::uint64_t seed) {
    Bytes out = to_bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        "Content-Length: " +
        std::to_string(body_size) + "\r\n\r\n");
    const Bytes body = pseudo_random_bytes(body_size, seed);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

ConversationConfig config_for(const std::string& client_ip, std::uint16_t client_port,
                              const std::string& server_ip, std::uint16_t server_port,
                              std::shared_ptr<PacketClock> clock) {
    ConversationConfig c;
    c.client = {client_ip, client_port};
    c.server = {server_ip, server_port};
    c.clock = std::move(clock);
    return c;
}

// Handshake, one HTTP exchange, FIN from the client then from the server.
void http_exchange(TcpConversation& c, std::uint64_t seed, std::size_t body_size = 5000) {
    c.handshake();
    c.client_send(http_request("/object/" + std::to_string(seed), c.server_ip().to_string()));
    c.server_send(http_response(body_size, seed));
    c.client_fin();
    c.server_fin();
}

// ---------------------------------------------------------------- the captures

// Three sessions from different client ports, interleaved call by call.
void gen_http_inorder(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 250);
    std::vector<TcpConversation> c;
    c.reserve(3);
    for (std::uint16_t i = 0; i < 3; ++i) {
        ConversationConfig cfg = config_for("198.18.0.1", static_cast<std::uint16_t>(40001 + i),
                                            "198.18.0.2", 80, clock);
        cfg.client_isn = 1'000'000u + i * 7'777'777u;
        cfg.server_isn = 2'000'000'000u + i * 55'555u;
        c.emplace_back(w, cfg);
    }
    for (auto& s : c) {
        s.handshake();
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
        c[i].client_send(http_request("/item/" + std::to_string(i), "198.18.0.2"));
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
        c[i].server_send(http_response(5000, 100 + i), 1460);
    }
    for (auto& s : c) {
        s.client_fin();
        s.server_fin();
    }
    save_capture(outdir, "http_inorder", w);
    write_expected(outdir, "http_inorder",
                   {expected_from(c[0]), expected_from(c[1]), expected_from(c[2])});
}

// pcapng with an Ethernet interface (0) and a raw-IP interface (1), one session on each.
void gen_pcapng_mixed(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcapng, linktype::ethernet);
    const std::uint32_t raw_iface = w.add_interface(linktype::raw);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 300);
    TcpConversation eth(w, config_for("198.18.0.1", 41000, "198.18.0.2", 80, clock));
    ConversationConfig raw_cfg = config_for("198.18.0.3", 41001, "198.18.0.4", 8080, clock);
    raw_cfg.link = LinkKind::raw_ip;
    raw_cfg.interface = raw_iface;
    raw_cfg.client_isn = 0x12345678;
    TcpConversation raw(w, raw_cfg);

    eth.handshake();
    raw.handshake();
    eth.client_send(http_request("/eth", "198.18.0.2"));
    raw.client_send(http_request("/raw", "198.18.0.4"));
    raw.server_send(http_response(4000, 201));
    eth.server_send(http_response(3000, 200));
    for (TcpConversation* s : {&eth, &raw}) {
        s->client_fin();
        s->server_fin();
    }
    save_capture(outdir, "pcapng_mixed", w);
    write_expected(outdir, "pcapng_mixed", {expected_from(eth), expected_from(raw)});
}

// The same 4-tuple twice; the second SYN comes 2 s after the first session's last ACK.
void gen_repeated_tuple(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 200);
    ConversationConfig cfg = config_for("198.18.0.1", 42000, "198.18.0.2", 80, clock);
    TcpConversation first(w, cfg);
    http_exchange(first, 300, 2500);

    clock->advance(2'000'000);
    cfg.client_isn = 0x7000'0000;
    cfg.server_isn = 0x0BAD'F00D;
    TcpConversation second(w, cfg);
    http_exchange(second, 301, 3500);

    save_capture(outdir, "repeated_tuple", w);
    write_expected(outdir, "repeated_tuple", {expected_from(first), expected_from(second)});
}

void gen_ipv6(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 150);
    TcpConversation c(w, config_for("2001:db8::1", 40000, "2001:db8::2", 80, clock));
    http_exchange(c, 400, 6000);
    const ExpectedSession e = expected_from(c);
    if (folder_name(e) != "2001.db8..1_40000-2001.db8..2_80") {
        throw std::logic_error("IPv6 folder name is " + folder_name(e));
    }
    save_capture(outdir, "ipv6", w);
    write_expected(outdir, "ipv6", {e});
}

// Both directions' sequence numbers wrap past 2^32 mid-stream (client after 255 bytes,
// server after 32 KiB); 100 KiB each way, delayed ACKs (every second segment).
void gen_wraparound(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = config_for("198.18.0.1", 44000, "198.18.0.2", 9000,
                                        std::make_shared<PacketClock>(k_epoch_us, 50));
    cfg.client_isn = 0xFFFFFF00;
    cfg.server_isn = 0xFFFF8000;
    cfg.ack_every = 2;
    TcpConversation c(w, cfg);
    c.handshake();
    constexpr std::size_t k_size = 100 * 1024;
    c.client_send(pseudo_random_bytes(k_size, 500), 1448);
    c.server_send(pseudo_random_bytes(k_size, 501), 1448);
    c.client_fin();
    c.server_fin();
    save_capture(outdir, "wraparound", w);
    write_expected(outdir, "wraparound", {expected_from(c)});
}

// One-byte segments and pure ACKs padded to the 60-byte Ethernet minimum: zero padding on
// the first session; 0xA5 padding plus a 4-byte trailer on every frame of the second.
void gen_padding(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 120);
    HandshakeOptions no_timestamps;
    no_timestamps.client_syn.timestamps.reset();
    no_timestamps.server_syn_ack.timestamps.reset();

    ConversationConfig zero_cfg = config_for("198.18.0.1", 45000, "198.18.0.2", 80, clock);
    zero_cfg.pad_to = 60;
    TcpConversation zero(w, zero_cfg);
    ConversationConfig junk_cfg = config_for("198.18.0.1", 45001, "198.18.0.2", 80, clock);
    junk_cfg.pad_to = 60;
    junk_cfg.pad_byte = 0xA5;
    junk_cfg.trailer = {0xDE, 0xAD, 0xBE, 0xEF};
    TcpConversation junk(w, junk_cfg);

    for (TcpConversation* s : {&zero, &junk}) {
        s->handshake(no_timestamps);
        s->client_send(http_request("/tiny", "198.18.0.2"), 1);
        s->server_send(http_response(40, 600), 1);
        s->server_send(pseudo_random_bytes(3000, 601), 1460);
        s->client_send(to_bytes("x"), 1);
        s->client_fin();
        s->server_fin();
    }
    save_capture(outdir, "padding", w);
    write_expected(outdir, "padding", {expected_from(zero), expected_from(junk)});
}

void gen_vlan(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = config_for("198.18.0.1", 46000, "198.18.0.2", 80,
                                        std::make_shared<PacketClock>(k_epoch_us, 100));
    cfg.vlan_tags = {VlanTag{100, 3}};
    TcpConversation c(w, cfg);
    http_exchange(c, 700, 4500);
    save_capture(outdir, "vlan", w);
    write_expected(outdir, "vlan", {expected_from(c)});
}

// A complete session, then a second one whose last record (a 1000-byte response segment)
// is cut in the middle of its packet data: the file ends inside that record. Expected:
// the first session's streams in full; the second session's request and the response
// bytes of its complete packets (the first 2920 response bytes), none of the cut packet.
// Both sessions are reported: the second is closed when the reader stops, so
// sessions.count is 2.
void gen_truncated_file(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 200);
    TcpConversation complete(w, config_for("198.18.0.1", 47000, "198.18.0.2", 80, clock));
    http_exchange(complete, 800, 3000);

    TcpConversation cut(w, config_for("198.18.0.1", 47001, "198.18.0.2", 80, clock));
    cut.handshake();
    cut.client_send(http_request("/cut", "198.18.0.2"));
    cut.server_send(pseudo_random_bytes(2920, 801), 1460);
    const ExpectedSession cut_expected = expected_from(cut);

    const Bytes last = pseudo_random_bytes(1000, 802);
    cut.write(cut.segment(false, static_cast<std::int64_t>(cut.server_offset()), last));
    w.truncate_last(w.last_record_size() / 2);

    save_capture(outdir, "truncated_file", w);
    write_expected(outdir, "truncated_file", {expected_from(complete), cut_expected});
}

// 100 bytes that start with no pcap or pcapng magic. An error case: no expected dir.
void gen_corrupt_magic(const fs::path& outdir) {
    Bytes bytes = to_bytes("NOT A CAPTURE FILE\n");
    const Bytes noise = pseudo_random_bytes(100 - bytes.size(), 900);
    bytes.insert(bytes.end(), noise.begin(), noise.end());
    fs::remove_all(outdir / "corrupt_magic.expected");
    write_file(outdir / "corrupt_magic.pcap", bytes);
    std::cout << "corrupt_magic.pcap\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: gen_captures OUTDIR\n";
        return 2;
    }
    try {
        const fs::path outdir = argv[1];
        fs::create_directories(outdir);
        gen_http_inorder(outdir);
        gen_pcapng_mixed(outdir);
        gen_repeated_tuple(outdir);
        gen_ipv6(outdir);
        gen_wraparound(outdir);
        gen_padding(outdir);
        gen_vlan(outdir);
        gen_truncated_file(outdir);
        gen_corrupt_magic(outdir);
    } catch (const std::exception& e) {
        std::cerr << "gen_captures: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
