#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::rtt_bdp {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.interval_sec = s.number("interval_sec", c.interval_sec, 0, 86400);
    c.samples_log = s.string("samples_log", c.samples_log);
    s.finish();
    return c;
}

}  // namespace stethoscope::rtt_bdp
