#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::mss {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    s.finish();
    return Config{};
}

}  // namespace stethoscope::mss
