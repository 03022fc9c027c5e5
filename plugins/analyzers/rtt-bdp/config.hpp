// Config of the rtt-bdp analyzer (analyzers.rtt-bdp; the host strips "enabled"):
//   interval_sec (number 0..86400, default 1)  period of the session's "rtt" metrics in
//                capture time; 0 = no metrics events
//   samples_log  (string, default "" = off)   debug: every ACK RTT sample, every sample
//                Karn's rule excludes and every segment the ring had no room for is
//                appended to this file, one line each (see RttBdpAnalyzer); meant for
//                comparisons with tshark, not for production
#pragma once

#include <string>
#include <string_view>

namespace stethoscope::rtt_bdp {

struct Config {
    double interval_sec = 1;
    std::string samples_log;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::rtt_bdp
