// Config of the stall analyzer (analyzers.stall; the host strips "enabled"):
//   threshold_ms   (integer 1..86400000, default 500)  no ACK progress on un-ACKed data, or
//                  a zero window, for this long is a stall...
//   min_rtt_factor (number 0..1000, default 4)  ...and for at least this many times the
//                  session's minimum RTT (0 = the threshold alone)
#pragma once

#include <cstdint>
#include <string_view>

namespace stethoscope::stall {

struct Config {
    int64_t threshold_ms = 500;
    double min_rtt_factor = 4;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::stall
