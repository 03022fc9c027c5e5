#include "pcap_file_input.hpp"

#include "mapped_pcap.hpp"
#include "pcapng_reader.hpp"

#include <pcap/pcap.h>

#include <map>
#include <memory>
#include <stdexcept>

namespace stethoscope::pcap_file {

namespace {
struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

std::string linktype_name(int dlt) {
    const char* name = pcap_datalink_val_to_name(dlt);
    return name ? name : std::to_string(dlt);
}

// The DLT_* value libpcap reports for a file's LINKTYPE_* value (as libpcap maps them: the
// few link types whose DLT_* value differs between platforms; the others are the same).
int dlt_of_linktype(int32_t linktype) {
    switch (linktype) {
        case 100: return DLT_ATM_RFC1483;
        case 101: return DLT_RAW;
        case 102: return DLT_SLIP_BSDOS;
        case 103: return DLT_PPP_BSDOS;
        case 246: return DLT_PFSYNC;
#ifdef DLT_PKTAP
        case 258: return DLT_PKTAP;
#endif
        default: return linktype;
    }
}
}  // namespace

// The capture filter compiled for each link type of a pcapng file read natively.
class LinktypeFilters {
public:
    explicit LinktypeFilters(std::string expression) : expression_(std::move(expression)) {}
    LinktypeFilters(const LinktypeFilters&) = delete;
    LinktypeFilters& operator=(const LinktypeFilters&) = delete;
    ~LinktypeFilters() {
        for (auto& entry : programs_) pcap_freecode(&entry.second);
    }

    // Compiles the filter for `dlt` unless done; throws std::runtime_error when it cannot.
    void prepare(int dlt) {
        if (expression_.empty() || programs_.count(dlt) != 0) return;
        PcapHandle dead(pcap_open_dead(dlt, 262144));
        if (!dead) throw std::runtime_error("cannot compile the capture filter: out of memory");
        bpf_program program{};
        if (pcap_compile(dead.get(), &program, expression_.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
            throw std::runtime_error("capture filter \"" + expression_ +
                                     "\" does not compile for link type " + linktype_name(dlt) +
                                     ": " + pcap_geterr(dead.get()));
        programs_.emplace(dlt, program);
    }

    bool matches(const sth_packet& p) {
        if (expression_.empty()) return true;
        prepare(p.linktype);
        pcap_pkthdr hdr{};
        hdr.caplen = p.caplen;
        hdr.len = p.len;
        return pcap_offline_filter(&programs_.at(p.linktype), &hdr, p.data) != 0;
    }

private:
    std::string expression_;
    std::map<int, bpf_program> programs_;
};

PcapFileInput::PcapFileInput(const Host& host, Config config)
    : InputPlugin(host), config_(std::move(config)) {}

void PcapFileInput::run() {
    if (is_pcapng(config_.file)) {
        const std::set<int32_t> linktypes = pcapng_link_types(config_.file);
        if (linktypes.size() > 1) return run_native(linktypes);
    } else if (MappedPcap::handles(config_.file)) {
        return run_mapped();
    }
    run_libpcap();
}

void PcapFileInput::run_mapped() {
    std::unique_ptr<MappedPcap> file;
    try {
        file = std::make_unique<MappedPcap>(config_.file);
    } catch (const MappedPcapError& e) {
        throw std::runtime_error("cannot read capture " + config_.file + ": " + e.what());
    }
    sth_packet pkt{};
    pkt.struct_size = sizeof(sth_packet);
    pkt.linktype = dlt_of_linktype(file->linktype());
    LinktypeFilters filters(config_.bpf);
    filters.prepare(pkt.linktype);
    host_.info("reading " + config_.file + " (link type " + linktype_name(pkt.linktype) + ")");
    uint64_t count = 0;
    MappedPacket m{};
    for (;;) {
        try {
            if (!file->next(m)) break;
        } catch (const MappedPcapError& e) {
            host_.report_capture_stats(count, 0, 0);
            throw std::runtime_error("capture " + config_.file + " is damaged after packet " +
                                     std::to_string(count) + ": " + e.what());
        }
        pkt.ts_ns = m.ts_ns;
        pkt.caplen = m.caplen;
        pkt.len = m.len;
        pkt.data = m.data;
        if (!filters.matches(pkt)) continue;
        ++count;
        if (host_.submit_packet(pkt, true) == STH_STOPPED) break;
    }
    host_.report_capture_stats(count, 0, 0);
}

void PcapFileInput::run_libpcap() {
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
    host_.info("reading " + config_.file + " (link type " + linktype_name(linktype) + ")");
    sth_packet pkt{};
    pkt.struct_size = sizeof(sth_packet);
    pkt.linktype = linktype;
    uint64_t count = 0;
    for (;;) {
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(p.get(), &hdr, &data);
        if (rc == PCAP_ERROR_BREAK) break;  // end of file
        if (rc == PCAP_ERROR) {
            host_.report_capture_stats(count, 0, 0);
            throw std::runtime_error("capture " + config_.file + " is damaged after packet " +
                                     std::to_string(count) + ": " + pcap_geterr(p.get()));
        }
        if (rc != 1) continue;
        pkt.ts_ns = static_cast<int64_t>(hdr->ts.tv_sec) * 1000000000 + hdr->ts.tv_usec;
        pkt.caplen = hdr->caplen;
        pkt.len = hdr->len;
        pkt.data = data;
        ++count;
        if (host_.submit_packet(pkt, true) == STH_STOPPED) break;
    }
    host_.report_capture_stats(count, 0, 0);
}

void PcapFileInput::run_native(const std::set<int32_t>& linktypes) {
    host_.info("pcapng with several link types: reading it natively");
    LinktypeFilters filters(config_.bpf);
    for (int32_t linktype : linktypes) filters.prepare(dlt_of_linktype(linktype));
    std::unique_ptr<PcapngReader> reader;
    try {
        reader = std::make_unique<PcapngReader>(config_.file);
    } catch (const PcapngError& e) {
        throw std::runtime_error("cannot read capture " + config_.file + ": " + e.what());
    }
    host_.report_capture_stats(deliver_native(*reader, filters), 0, 0);
}

// Hands every packet that passes the filter to the engine; returns how many. Throws
// std::runtime_error on damage, after everything before it was delivered.
uint64_t PcapFileInput::deliver_native(PcapngReader& reader, LinktypeFilters& filters) {
    sth_packet pkt{};
    pkt.struct_size = sizeof(sth_packet);
    PcapngPacket p;
    uint64_t count = 0;
    for (;;) {
        try {
            if (!reader.next(p)) break;
        } catch (const PcapngError& e) {
            host_.report_capture_stats(count, 0, 0);
            throw std::runtime_error("capture " + config_.file + " is damaged after packet " +
                                     std::to_string(count) + ": " + e.what());
        }
        pkt.linktype = dlt_of_linktype(p.linktype);
        pkt.interface_id = p.interface_id;
        pkt.ts_ns = p.ts_ns;
        pkt.caplen = p.caplen;
        pkt.len = p.len;
        pkt.data = p.data;
        if (!filters.matches(pkt)) continue;
        ++count;
        if (host_.submit_packet(pkt, true) == STH_STOPPED) break;
    }
    return count;
}

}  // namespace stethoscope::pcap_file
