// gen_concurrent — a synthetic capture of N concurrent TCP sessions that never close.
//
//   gen_concurrent OUT.pcap [SESSIONS=1000000]
//
// Every session is SYN, SYN-ACK, ACK and one small HTTP request segment from the client
// (no response, no ACK of it, no FIN): at the end of the file all N sessions are open, so
// a reader has to hold N flows at once. Sessions come one after the other on a shared
// clock advancing 1 us per packet (1M sessions span 4 s, far below any idle timeout).
//
// Addresses are in 198.18.0.0/15: clients 198.18.<i / 50000 / 256>.<i / 50000 % 256 + 1>
// port 10000 + i % 50000, all to 198.19.255.1:80; ISNs differ per session. Ethernet
// linktype, classic pcap, microsecond timestamps.
//
// The capture builder keeps a whole file in memory, so the file is written in chunks: a
// fresh CaptureWriter per chunk of sessions, its records appended after the first
// chunk's file header.
#include "capture_builder.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

namespace {

constexpr std::uint32_t k_sessions_per_ip = 50000;
constexpr std::uint32_t k_chunk_sessions = 20000;

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: gen_concurrent OUT.pcap [SESSIONS=1000000]\n");
        return 2;
    }
    const std::string out = argv[1];
    std::uint64_t sessions = 1000000;
    if (argc == 3) {
        char* end = nullptr;
        sessions = std::strtoull(argv[2], &end, 10);
        if (*end != '\0' || sessions == 0 || sessions > 50ull * 1000 * 1000) {
            std::fprintf(stderr, "gen_concurrent: SESSIONS must be 1..50000000\n");
            return 2;
        }
    }
    try {
        std::FILE* f = std::fopen(out.c_str(), "wb");
        if (f == nullptr) {
            std::fprintf(stderr, "gen_concurrent: %s: %s\n", out.c_str(), std::strerror(errno));
            return 1;
        }
        auto clock = std::make_shared<sth_test::PacketClock>(1'700'000'000'000'000ULL, 1);
        sth_test::HandshakeOptions handshake;  // Linux-like: MSS, SACK, timestamps, wscale
        std::uint64_t packets = 0, written = 0;
        for (std::uint64_t first = 0; first < sessions; first += k_chunk_sessions) {
            sth_test::CaptureWriter writer(sth_test::CaptureFormat::pcap);
            const std::size_t header = writer.bytes().size();
            const std::uint64_t last = std::min<std::uint64_t>(sessions, first + k_chunk_sessions);
            for (std::uint64_t i = first; i < last; ++i) {
                const std::uint64_t ip_index = i / k_sessions_per_ip;
                sth_test::ConversationConfig cfg;
                cfg.client.ip = "198.18." + std::to_string(ip_index / 250) + "." +
                                std::to_string(ip_index % 250 + 1);
                cfg.client.port = static_cast<std::uint16_t>(10000 + i % k_sessions_per_ip);
                cfg.server.ip = "198.19.255.1";
                cfg.server.port = 80;
                const std::uint64_t r = splitmix64(i);
                cfg.client_isn = static_cast<std::uint32_t>(r);
                cfg.server_isn = static_cast<std::uint32_t>(r >> 32);
                cfg.clock = clock;
                cfg.ack_every = 0;  // the request is never acknowledged
                sth_test::TcpConversation c(writer, cfg);
                c.handshake(handshake);
                const std::string request = "GET /item/" + std::to_string(i) +
                                            " HTTP/1.1\r\nHost: bench.example\r\n"
                                            "User-Agent: gen_concurrent\r\nAccept: */*\r\n\r\n";
                c.client_send(sth_test::to_bytes(request));
            }
            packets += writer.record_count();
            const auto& bytes = writer.bytes();
            const std::size_t skip = first == 0 ? 0 : header;
            const std::size_t n = bytes.size() - skip;
            if (std::fwrite(bytes.data() + skip, 1, n, f) != n) {
                std::fprintf(stderr, "gen_concurrent: %s: write failed: %s\n", out.c_str(),
                             std::strerror(errno));
                std::fclose(f);
                return 1;
            }
            written += n;
        }
        if (std::fclose(f) != 0) {
            std::fprintf(stderr, "gen_concurrent: %s: %s\n", out.c_str(), std::strerror(errno));
            return 1;
        }
        std::printf("gen_concurrent: %s: %llu sessions, %llu packets, %llu bytes\n", out.c_str(),
                    static_cast<unsigned long long>(sessions),
                    static_cast<unsigned long long>(packets),
                    static_cast<unsigned long long>(written));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gen_concurrent: %s\n", e.what());
        return 1;
    }
    return 0;
}
