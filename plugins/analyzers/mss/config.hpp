// Config of the mss analyzer (analyzers.mss; the host strips "enabled"). It has no keys
// of its own: any key is an error naming its path.
#pragma once

#include <string_view>

namespace stethoscope::mss {

struct Config {};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::mss
