// Config of the mtu analyzer (analyzers.mtu; the host strips "enabled"):
//   icmp  (bool, default false)  add ICMP fragmentation-needed (IPv4 type 3 code 4) and
//                                ICMPv6 packet-too-big (type 2) to the capture filter, so
//                                path-MTU errors reach the analyzer in client, server and
//                                filtered captures
#pragma once

#include <string_view>

namespace stethoscope::mtu {

struct Config {
    bool icmp = false;
};

// Throws stethoscope::ConfigError naming the JSON path.
Config parse_config(std::string_view json, std::string_view path);

}  // namespace stethoscope::mtu
