// bench_floor — the floors stethoscope's offline throughput is measured against.
//
//   bench_floor read FILE     libpcap only: a pcap_next_ex loop that touches nothing
//   bench_floor decode FILE   read + stethoscope::core::decode_packet + one lookup per TCP
//                             packet in an unordered_map keyed by the symmetric FlowKey
//                             (a per-flow packet/byte counter, as a flow table would keep)
//
// Prints one line: mode, packets, bytes (sum of original lengths on the wire),
// captured_bytes (sum of caplen), seconds (the loop only, steady clock), flows and the
// number of packets decoded as TCP. run_benchmarks.sh times the whole process instead, so
// startup counts the same for every contender.
#include "decoder.hpp"
#include "flow_key.hpp"

#include <pcap/pcap.h>

#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace {

struct FlowCounters {
    uint64_t packets = 0;
    uint64_t payload_bytes[2] = {0, 0};  // [0]: from side B, [1]: from side A
};

int usage() {
    std::fprintf(stderr, "usage: bench_floor read|decode FILE\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) return usage();
    const std::string_view mode = argv[1];
    const bool decode = mode == "decode";
    if (!decode && mode != "read") return usage();

    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    // Nanosecond timestamps, as the pcap-file input opens files.
    pcap_t* p = pcap_open_offline_with_tstamp_precision(argv[2], PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (p == nullptr) {
        std::fprintf(stderr, "bench_floor: %s\n", errbuf);
        return 1;
    }
    const int linktype = pcap_datalink(p);

    using namespace stethoscope::core;
    std::unordered_map<FlowKey, FlowCounters, FlowKeyHash> flows;
    uint64_t packets = 0, bytes = 0, captured = 0, tcp = 0;
    sth_packet pkt{};
    pkt.struct_size = sizeof(sth_packet);
    pkt.linktype = linktype;
    DecodedPacket d;

    const auto t0 = std::chrono::steady_clock::now();
    int rc = 0;
    for (;;) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        rc = pcap_next_ex(p, &hdr, &data);
        if (rc != 1) break;
        ++packets;
        bytes += hdr->len;
        captured += hdr->caplen;
        if (!decode) continue;
        pkt.ts_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000000 + hdr->ts.tv_usec;
        pkt.caplen = hdr->caplen;
        pkt.len = hdr->len;
        pkt.data = data;
        if (decode_packet(pkt, d) != DecodeStatus::ok) continue;
        ++tcp;
        bool from_a = false;
        FlowCounters& f = flows[make_flow_key(d, from_a)];
        ++f.packets;
        f.payload_bytes[from_a ? 1 : 0] += d.payload_len;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc == PCAP_ERROR) {
        std::fprintf(stderr, "bench_floor: %s: damaged after packet %" PRIu64 ": %s\n", argv[2],
                     packets, pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    std::printf("mode=%s packets=%" PRIu64 " bytes=%" PRIu64 " captured_bytes=%" PRIu64
                " seconds=%.6f flows=%zu tcp_packets=%" PRIu64 "\n",
                decode ? "decode" : "read", packets, bytes, captured, seconds, flows.size(), tcp);
    return 0;
}
