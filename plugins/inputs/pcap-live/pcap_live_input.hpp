// The pcap-live input: a libpcap live handle (immediate mode, configurable snaplen,
// kernel buffer and promiscuous mode) with the mode-built BPF filter. Packets are handed
// to the engine without blocking; what the engine cannot take is counted by the host.
// Uses only the libpcap API, so it builds wherever libpcap does.
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>

#include <pcap/pcap.h>

namespace stethoscope::pcap_live {

class PcapLiveInput : public InputPlugin {
public:
    using Config = pcap_live::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return pcap_live::parse_config(json, path);
    }
    PcapLiveInput(const Host& host, Config config);

    // Captures until stop is requested; throws std::runtime_error with one clear line
    // when the interface cannot be opened or fails during capture.
    void run();

private:
    pcap_t* open_handle();
    void apply_filter(pcap_t* p);
    void report_stats(pcap_t* p);
    void drop_privileges();
    void check_interface_up();
    void report_idle();

    Config config_;
};

}  // namespace stethoscope::pcap_live
