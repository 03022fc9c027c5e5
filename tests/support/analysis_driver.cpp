// analysis_driver — runs core::TcpAnalysis over a capture file, for debugging and for
// comparing with tshark without the engine.
//
//   analysis_driver [--packets] [--json] FILE...
//
// Reads each file with libpcap, decodes every packet with core::decode_packet, groups TCP
// packets into connections by 4-tuple (a SYN with a new ISN on a known 4-tuple starts a
// new connection, as in Wireshark) and classifies each packet. Prints, per connection in
// order of first packet (tshark's tcp.stream numbering for these captures):
//   stream N client -> server  flag=count ...          (default)
//   {"stream":N,"client":"ip:port","server":"ip:port","analysis":{...}}   (--json)
// With --packets, first one line per TCP packet: its frame number (1-based, as tshark
// counts), stream, direction and the flags set. The client is the sender of the first
// packet seen, or the receiver when that packet is a SYN-ACK. Endpoints are written as
// stethoscope's events write them ("ip:port", "[ipv6]:port").
#include "decoder.hpp"
#include "tcp_analysis.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

using namespace stethoscope::core;

struct FlagName {
    bool extra;  // TcpAnalysisResult::extra rather than ::bits
    uint32_t bit;
    const char* name;
};

// The STH_SEG_* keys of the session_closed "analysis" object, then the extras.
constexpr FlagName k_flags[] = {
    {false, STH_SEG_RETRANSMISSION, "retransmission"},
    {false, STH_SEG_FAST_RETRANSMISSION, "fast_retransmission"},
    {false, STH_SEG_SPURIOUS_RETRANSMISSION, "spurious_retransmission"},
    {false, STH_SEG_OUT_OF_ORDER, "out_of_order"},
    {false, STH_SEG_LOST_SEGMENT, "lost_segment"},
    {false, STH_SEG_DUPLICATE_ACK, "duplicate_ack"},
    {false, STH_SEG_ZERO_WINDOW, "zero_window"},
    {false, STH_SEG_WINDOW_FULL, "window_full"},
    {false, STH_SEG_KEEP_ALIVE, "keep_alive"},
    {true, tcp_analysis_extra::zero_window_probe, "zero_window_probe"},
    {true, tcp_analysis_extra::zero_window_probe_ack, "zero_window_probe_ack"},
    {true, tcp_analysis_extra::keep_alive_ack, "keep_alive_ack"},
    {true, tcp_analysis_extra::window_update, "window_update"},
    {true, tcp_analysis_extra::ack_lost_segment, "ack_lost_segment"},
};
constexpr size_t k_flag_count = std::size(k_flags);

struct Endpoint {
    uint8_t family = 4;
    std::array<uint8_t, 16> addr{};
    uint16_t port = 0;
    auto tie() const { return std::tie(family, addr, port); }
    bool operator<(const Endpoint& o) const { return tie() < o.tie(); }
    bool operator==(const Endpoint& o) const { return tie() == o.tie(); }
};

std::string endpoint_text(const Endpoint& e) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr.data(), buf, sizeof buf);
    const std::string port = std::to_string(e.port);
    return e.family == 6 ? "[" + std::string(buf) + "]:" + port : std::string(buf) + ":" + port;
}

struct Connection {
    int stream = 0;
    Endpoint client, server;
    bool client_syn_seen = false;
    uint32_t client_isn = 0;
    TcpAnalysis analysis;
    std::array<uint64_t, k_flag_count> counts{};
};

struct Options {
    bool packets = false;
    bool json = false;
};

class Driver {
public:
    explicit Driver(Options o) : options_(o) {}

    void packet(uint64_t frame, const DecodedPacket& p, int64_t ts_ns) {
        Endpoint src{p.ip_version, p.src, p.src_port}, dst{p.ip_version, p.dst, p.dst_port};
        const auto key = src < dst ? std::pair{src, dst} : std::pair{dst, src};
        Connection* c = find_or_open(key, src, dst, p);
        const uint8_t dir = src == c->client ? 0 : 1;
        const TcpAnalysisResult r = c->analysis.analyze(p, dir, ts_ns);
        std::string names;
        for (size_t i = 0; i < k_flag_count; ++i) {
            if ((k_flags[i].extra ? r.extra : r.bits) & k_flags[i].bit) {
                ++c->counts[i];
                names += std::string(" ") + k_flags[i].name;
            }
        }
        if (options_.packets) {
            std::printf("frame %llu stream %d dir %u%s\n", static_cast<unsigned long long>(frame),
                        c->stream, dir, names.c_str());
        }
    }

    void report() const {
        for (const Connection& c : connections_) {
            if (options_.json) {
                std::printf("{\"stream\":%d,\"client\":\"%s\",\"server\":\"%s\",\"analysis\":{",
                            c.stream, endpoint_text(c.client).c_str(),
                            endpoint_text(c.server).c_str());
                for (size_t i = 0; i < k_flag_count; ++i) {
                    std::printf("%s\"%s\":%llu", i ? "," : "", k_flags[i].name,
                                static_cast<unsigned long long>(c.counts[i]));
                }
                std::printf("}}\n");
                continue;
            }
            std::printf("stream %d %s -> %s", c.stream, endpoint_text(c.client).c_str(),
                        endpoint_text(c.server).c_str());
            for (size_t i = 0; i < k_flag_count; ++i) {
                if (c.counts[i]) {
                    std::printf(" %s=%llu", k_flags[i].name,
                                static_cast<unsigned long long>(c.counts[i]));
                }
            }
            std::printf("\n");
        }
    }

private:
    Connection* find_or_open(const std::pair<Endpoint, Endpoint>& key, const Endpoint& src,
                             const Endpoint& dst, const DecodedPacket& p) {
        const bool pure_syn = (p.flags & (tcp_flag::syn | tcp_flag::ack)) == tcp_flag::syn;
        auto it = by_tuple_.find(key);
        if (it != by_tuple_.end()) {
            Connection& c = connections_[it->second];
            const bool new_isn =
                pure_syn && c.client_syn_seen && src == c.client && p.seq != c.client_isn;
            if (!new_isn) {
                note_syn(c, src, p, pure_syn);
                return &c;
            }
        }
        Connection c;
        c.stream = static_cast<int>(connections_.size());
        const bool syn_ack =
            (p.flags & (tcp_flag::syn | tcp_flag::ack)) == (tcp_flag::syn | tcp_flag::ack);
        c.client = syn_ack ? dst : src;
        c.server = syn_ack ? src : dst;
        note_syn(c, src, p, pure_syn);
        connections_.push_back(std::move(c));
        by_tuple_[key] = connections_.size() - 1;
        return &connections_.back();
    }

    static void note_syn(Connection& c, const Endpoint& src, const DecodedPacket& p,
                         bool pure_syn) {
        if (pure_syn && src == c.client && !c.client_syn_seen) {
            c.client_syn_seen = true;
            c.client_isn = p.seq;
        }
    }

    Options options_;
    std::vector<Connection> connections_;
    std::map<std::pair<Endpoint, Endpoint>, size_t> by_tuple_;
};

int run_file(const char* path, Options options) {
    char err[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    if (pcap == nullptr) {
        std::fprintf(stderr, "analysis_driver: %s: %s\n", path, err);
        return 1;
    }
    Driver driver(options);
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    uint64_t frame = 0;
    int rc = 0;
    while ((rc = pcap_next_ex(pcap, &header, &data)) == 1) {
        ++frame;
        const int64_t ts_ns = int64_t{header->ts.tv_sec} * 1'000'000'000 + header->ts.tv_usec;
        sth_packet packet{
            sizeof(sth_packet), pcap_datalink(pcap), ts_ns, header->caplen, header->len, data, 0};
        DecodedPacket p;
        if (decode_packet(packet, p) == DecodeStatus::ok)
            driver.packet(frame, p, ts_ns);
    }
    if (rc == PCAP_ERROR) {
        std::fprintf(stderr, "analysis_driver: %s: %s\n", path, pcap_geterr(pcap));
    }
    pcap_close(pcap);
    driver.report();
    return rc == PCAP_ERROR ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    std::vector<const char*> files;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--packets") {
            options.packets = true;
        } else if (arg == "--json") {
            options.json = true;
        } else {
            files.push_back(argv[i]);
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "usage: analysis_driver [--packets] [--json] FILE...\n");
        return 2;
    }
    int status = 0;
    for (const char* f : files) {
        if (files.size() > 1 && !options.json)
            std::printf("== %s\n", f);
        status |= run_file(f, options);
    }
    return status;
}
