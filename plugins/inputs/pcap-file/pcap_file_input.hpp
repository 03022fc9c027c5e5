// The pcap-file input: reads a pcap or pcapng file with libpcap (nanosecond timestamps
// where the file has them) and hands every packet to the engine with back-pressure —
// reading a file never drops. A damaged file ends the run with libpcap's message after
// every packet before the damage was delivered.
//
// A classic pcap in a regular file is read from a memory mapping (MappedPcap: no copy,
// most of the cost of reading a file) with the same filter semantics (pcap_compile on
// the file's link type, pcap_offline_filter per packet). A pcapng file whose interfaces
// have different link types, which libpcap refuses, is read by PcapngReader instead: every packet keeps its interface's link type and id, and the
// capture filter is compiled once per link type and applied with pcap_offline_filter().
#pragma once

#include "config.hpp"

#include <cstdint>
#include <set>

#include <stethoscope/plugin.hpp>

namespace stethoscope::pcap_file {

class PcapngReader;
class LinktypeFilters;

class PcapFileInput : public InputPlugin {
public:
    using Config = pcap_file::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return pcap_file::parse_config(json, path);
    }
    PcapFileInput(const Host& host, Config config);

    // Reads the whole file; throws std::runtime_error("<file>: <reason>") on failure.
    void run();

private:
    void run_libpcap();
    void run_mapped();
    // `linktypes`: the file's distinct LINKTYPE_* values, from its interface blocks.
    void run_native(const std::set<int32_t>& linktypes);
    uint64_t deliver_native(PcapngReader& reader, LinktypeFilters& filters);

    Config config_;
};

}  // namespace stethoscope::pcap_file
