#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::mtu {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.icmp = s.boolean("icmp", c.icmp);
    s.finish();
    return c;
}

}  // namespace stethoscope::mtu
