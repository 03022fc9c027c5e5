#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::pcap_file {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    if (!s.has("file")) throw ConfigError(s.path("file") + ": required by the pcap-file input (or use -r FILE)");
    c.file = s.string("file", "", false);
    c.bpf = s.string("bpf", "");
    s.skip("interface");  // harmless leftovers of a live-capture or mirror-target config
    s.skip("listen");
    s.skip("vnis");
    s.finish();
    return c;
}

}  // namespace stethoscope::pcap_file
