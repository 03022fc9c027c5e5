// Config of the pcap-live input: the "capture" section minus the core's keys.
//   interface     (string, default "any")    the interface to capture on
//   snaplen       (integer, default 262144)  bytes kept per packet
//   buffer_bytes  (integer, default 32 MiB)  kernel capture buffer
//   promiscuous   (bool, default false)
//   immediate     (bool, default true)       deliver each packet at once; false lets the
//                                            kernel batch them (fewer wake-ups at high
//                                            rates, up to timeout_ms of delay)
//   timeout_ms    (integer, default 10)      the batching delay when immediate is false
//   user          (string, default "")       drop privileges to this user once the
//                                            capture handle is open (needs root)
//   bpf           (string)                   set by the core from the capture mode
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stethoscope::pcap_live {

struct Config {
    std::string interface = "any";
    int snaplen = 262144;
    int64_t buffer_bytes = 32 << 20;
    bool promiscuous = false;
    bool immediate = true;
    int timeout_ms = 10;
    std::string user;
    std::string bpf;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::pcap_live
