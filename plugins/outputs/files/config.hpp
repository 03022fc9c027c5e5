// Config of the files output (io.output.files):
//   dir  (string, default "streams/")  where session folders and sessions.ndjson go
#pragma once

#include <string>
#include <string_view>

namespace stethoscope::files {

struct Config {
    std::string dir = "streams/";
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::files
