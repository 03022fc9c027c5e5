// The plugin ABI's version must move with its header: this test hashes abi.h and fails
// when the header changed without STH_ABI_HEADER_REVISION (and the version, if the
// change needs one: adding fields at a struct's end = minor, anything else = major).
#define BOOST_TEST_MODULE abi_version
#include <boost/test/unit_test.hpp>

#include <stethoscope/abi.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

namespace {
// FNV-1a, 64 bit, over the header with '\r' removed (checkouts with CRLF hash the same).
uint64_t fnv1a(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) {
        if (c == '\r') continue;
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}
}  // namespace

// Revision -> hash of abi.h at that revision, with the ABI version it shipped as.
struct Known {
    int revision;
    int major, minor;
    uint64_t hash;
};
constexpr Known k_known[] = {
    {1, 1, 0, 0x4c49459d3bbb10fdULL},
    {2, 1, 1, 0x1a19169fd8fdf245ULL},  // sth_host_api.idle
    {3, 1, 2, 0xee2cfd9a35e93b9aULL},  // host offline(), session_opened_fields, session_pending
    {4, 1, 3, 0xc3836cbb8ecd8c6cULL},  // segment options, ICMP errors, session_tick, capture_filter,
                                       // control-plane snapshots, module switches, health
    {5, 1, 4, 0x49241becadc17fd5ULL},  // host events_wanted, session_done
};

BOOST_AUTO_TEST_CASE(header_matches_its_recorded_revision) {
    std::ifstream in(ABI_HEADER_PATH, std::ios::binary);
    BOOST_TEST_REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    const uint64_t hash = fnv1a(ss.str());
    const Known& last = k_known[sizeof(k_known) / sizeof(k_known[0]) - 1];
    BOOST_TEST(STH_ABI_HEADER_REVISION == last.revision);
    BOOST_TEST(STH_ABI_MAJOR == last.major);
    BOOST_TEST(STH_ABI_MINOR == last.minor);
    BOOST_TEST(hash == last.hash,
               "abi.h changed (hash 0x" << std::hex << hash
                                        << "): bump STH_ABI_HEADER_REVISION, the ABI version "
                                           "if the change needs it, and record the new hash here");
}

BOOST_AUTO_TEST_CASE(structs_start_with_their_size) {
    BOOST_TEST(offsetof(sth_plugin_descriptor, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_host_api, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_packet, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_session_info, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_stream_chunk, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_segment, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_event, struct_size) == 0u);
    BOOST_TEST(offsetof(sth_icmp_error, struct_size) == 0u);
}

// 1.3 only appended: every 1.2 member keeps its offset, the new ones come after.
BOOST_AUTO_TEST_CASE(abi_1_3_only_appends) {
    BOOST_TEST(offsetof(sth_segment, raw_window) > offsetof(sth_segment, ts_ns));
    BOOST_TEST(offsetof(sth_host_api, sessions_snapshot) > offsetof(sth_host_api, offline));
    BOOST_TEST(offsetof(sth_host_api, health) > offsetof(sth_host_api, module_set_enabled));
    BOOST_TEST(offsetof(sth_plugin_descriptor, session_tick) >
               offsetof(sth_plugin_descriptor, session_pending));
    BOOST_TEST(offsetof(sth_plugin_descriptor, capture_filter) >
               offsetof(sth_plugin_descriptor, session_icmp));
    BOOST_TEST(offsetof(sth_host_api, events_wanted) > offsetof(sth_host_api, health));
    BOOST_TEST(offsetof(sth_plugin_descriptor, session_done) >
               offsetof(sth_plugin_descriptor, capture_filter));
}
