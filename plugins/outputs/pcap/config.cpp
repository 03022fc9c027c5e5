#include "config.hpp"

#include "link_convert.hpp"

#include <stethoscope/config_schema.hpp>

#include <limits>

namespace stethoscope::pcap_output {
namespace {

constexpr double k_unbounded = std::numeric_limits<double>::max();

std::optional<int> parse_linktype(config::Section& s) {
    const auto* v = s.raw("linktype");
    if (v == nullptr) return std::nullopt;
    const std::string expected =
        "expected one of \"ethernet\" \"raw\" \"null\" \"linux_sll\" or a DLT number "
        "0, 1, 12, 14, 101, 108, 113, 228, 229, 276";
    if (const auto* str = v->if_string()) {
        if (auto dlt = linktype_by_name(*str)) return *dlt;
    } else if (v->is_int64() || v->is_uint64()) {
        auto n = boost::json::try_value_to<int64_t>(*v);
        if (n && *n >= 0 && *n <= std::numeric_limits<int>::max() &&
            is_writable_linktype(static_cast<int>(*n)))
            return static_cast<int>(*n);
    }
    s.fail("linktype", expected, *v);
}

}  // namespace

Config parse_config(std::string_view json, std::string_view path) {
    auto root = config::parse_section(json, path);
    config::Section s(root, std::string(path));
    Config c;
    c.dir = s.string("dir", c.dir, false);
    c.format = s.one_of("format", "pcapng", {"pcap", "pcapng"}) == "pcap" ? CaptureFormat::pcap
                                                                          : CaptureFormat::pcapng;
    c.per_session = s.boolean("per_session", c.per_session);
    c.queue_size = static_cast<uint32_t>(s.integer("queue_size", c.queue_size, 1, 10'000'000));
    c.close_on_fin = s.boolean("close_on_fin", c.close_on_fin);
    c.fin_close_grace_sec = s.number("fin_close_grace_sec", c.fin_close_grace_sec, 0, k_unbounded);
    c.idle_close_sec = s.number("idle_close_sec", c.idle_close_sec, 0, k_unbounded);
    c.linktype = parse_linktype(s);
    s.finish();
    return c;
}

}  // namespace stethoscope::pcap_output
