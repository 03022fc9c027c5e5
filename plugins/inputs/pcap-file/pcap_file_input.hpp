// The pcap-file input: reads a pcap or pcapng file with libpcap (nanosecond timestamps
// where the file has them) and hands every packet to the engine with back-pressure —
// reading a file never drops. A damaged file ends the run with libpcap's message after
// every packet before the damage was delivered.
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>

namespace stethoscope::pcap_file {

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
    Config config_;
    Counter packets_;
};

}  // namespace stethoscope::pcap_file
