#include "pcap_file_input.hpp"

#include <pcap/pcap.h>

#include <memory>
#include <stdexcept>

namespace stethoscope::pcap_file {

namespace {
struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;
}  // namespace

PcapFileInput::PcapFileInput(const Host& host, Config config)
    : InputPlugin(host), config_(std::move(config)), packets_(host.counter("packets")) {}

void PcapFileInput::run() {
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    PcapHandle p(pcap_open_offline_with_tstamp_precision(config_.file.c_str(),
                                                         PCAP_TSTAMP_PRECISION_NANO, errbuf));
    if (!p) throw std::runtime_error("cannot read capture " + config_.file + ": " + errbuf);
    if (!config_.bpf.empty()) {
        bpf_program prog{};
        if (pcap_compile(p.get(), &prog, config_.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            throw std::runtime_error("capture filter \"" + config_.bpf +
                                     "\" does not compile: " + pcap_geterr(p.get()));
        int rc = pcap_setfilter(p.get(), &prog);
        pcap_freecode(&prog);
        if (rc != 0) throw std::runtime_error(std::string("cannot set filter: ") + pcap_geterr(p.get()));
    }
    const int linktype = pcap_datalink(p.get());
    host_.info("reading " + config_.file + " (link type " +
               (pcap_datalink_val_to_name(linktype) ? pcap_datalink_val_to_name(linktype) : "?") + ")");
    sth_packet pkt{};
    pkt.struct_size = sizeof(sth_packet);
    pkt.linktype = linktype;
    uint64_t count = 0;
    for (;;) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(p.get(), &hdr, &data);
        if (rc == PCAP_ERROR_BREAK) break;  // end of file
        if (rc == PCAP_ERROR)
            throw std::runtime_error("capture " + config_.file + " is damaged after packet " +
                                     std::to_string(count) + ": " + pcap_geterr(p.get()));
        if (rc != 1) continue;
        pkt.ts_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000000 + hdr->ts.tv_usec;
        pkt.caplen = hdr->caplen;
        pkt.len = hdr->len;
        pkt.data = data;
        ++count;
        packets_.add();
        if (host_.submit_packet(pkt, true) == STH_STOPPED) break;
    }
    host_.report_capture_stats(count, 0, 0);
}

}  // namespace stethoscope::pcap_file
