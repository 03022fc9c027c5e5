#include "config.hpp"

#include <stethoscope/config_schema.hpp>

namespace stethoscope::pcap_live {

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.interface = s.string("interface", c.interface, false);
    c.snaplen = static_cast<int>(s.integer("snaplen", c.snaplen, 64, 262144));
    c.buffer_bytes = s.integer("buffer_bytes", c.buffer_bytes, 1 << 16, int64_t{1} << 32);
    c.promiscuous = s.boolean("promiscuous", c.promiscuous);
    c.immediate = s.boolean("immediate", c.immediate);
    c.timeout_ms = static_cast<int>(s.integer("timeout_ms", c.timeout_ms, 1, 1000));
    c.user = s.string("user", "");
    c.bpf = s.string("bpf", "");
    s.skip("file");  // harmless leftovers of an offline or a mirror-target config
    s.skip("listen");
    s.skip("vnis");
    s.finish();
    return c;
}

}  // namespace stethoscope::pcap_live
