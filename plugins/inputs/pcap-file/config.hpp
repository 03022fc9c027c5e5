// Config of the pcap-file input: the "capture" section minus the core's keys.
//   file  (string, required)  the pcap or pcapng file to read
//   bpf   (string)            set by the core from capture.mode / capture.filter
#pragma once

#include <string>
#include <string_view>

namespace stethoscope::pcap_file {

struct Config {
    std::string file;
    std::string bpf;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::pcap_file
