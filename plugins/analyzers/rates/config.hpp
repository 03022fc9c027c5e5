// Config of the rates analyzer (analyzers.rates; the host strips "enabled"):
//   interval_sec  (number > 0, default 1, at most 86400)  capture time between two rate
//                 reports; reports happen on the host's session ticks (about every
//                 250 ms), so the reported interval is the first tick at or after it
#pragma once

#include <string_view>

namespace stethoscope::rates {

struct Config {
    double interval_sec = 1.0;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::rates
