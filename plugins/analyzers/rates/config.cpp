#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::rates {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.interval_sec = s.number("interval_sec", c.interval_sec, 0, 86400);
    if (!(c.interval_sec > 0)) s.fail("interval_sec", "expected number > 0", *s.raw("interval_sec"));
    s.finish();
    return c;
}

}  // namespace stethoscope::rates
