// Config of the pcap output (io.output.pcap). Every key is optional:
//
//   dir                  string, default "tcpdumps/"   where the capture files go; created
//                                                       at start (failing start if it cannot be)
//   format               "pcap" | "pcapng", default "pcapng"
//   per_session          bool, default true            false: one file <dir>/capture.<ext>
//   queue_size           integer 1..10000000, default 20000
//                        packets a file buffers in memory before they are written (the
//                        buffer is also bounded to k_max_buffered_bytes). Writing happens on
//                        the calling worker thread, so nothing is ever dropped for lack of
//                        room; 1 writes every packet as it arrives.
//   close_on_fin         bool, default true            close a session's file once both of
//                                                       its directions have ended
//   fin_close_grace_sec  number >= 0, default 0.5      ... that long after the second end,
//                                                       so the last ACKs get in
//   idle_close_sec       number >= 0, default 15       close a file with no packet for that
//                                                       long; 0 = never
//   linktype             "ethernet" | "raw" | "null" | "linux_sll" or a DLT number the
//                        engine decodes (0, 1, 12, 14, 101, 108, 113, 228, 229, 276);
//                        absent = every packet keeps its own link type
//
// The times are capture time (see PcapOutput for how that is kept moving when traffic
// stops). A file closed early is reopened in append mode by a later packet of its session,
// so closing never loses a frame; the engine's session_close always closes the file.
#pragma once

#include "capture_file.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stethoscope::pcap_output {

struct Config {
    std::string dir = "tcpdumps/";
    CaptureFormat format = CaptureFormat::pcapng;
    bool per_session = true;
    uint32_t queue_size = 20000;
    bool close_on_fin = true;
    double fin_close_grace_sec = 0.5;
    double idle_close_sec = 15;
    std::optional<int> linktype;  // a DLT value; nullopt = the packets' own
};

// A file's write buffer never holds more than this many bytes, whatever queue_size says:
// with thousands of sessions open at once, memory stays bounded.
inline constexpr size_t k_max_buffered_bytes = 64 * 1024;

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::pcap_output
