#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::stall {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.threshold_ms = s.integer("threshold_ms", c.threshold_ms, 1, 86'400'000);
    c.min_rtt_factor = s.number("min_rtt_factor", c.min_rtt_factor, 0, 1000);
    s.finish();
    return c;
}

}  // namespace stethoscope::stall
