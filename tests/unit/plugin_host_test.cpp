// The plugin host against real shared objects built by this tree: good plugins, and one
// deliberately broken plugin per load failure. Paths come from CMake ($<TARGET_FILE>).
#define BOOST_TEST_MODULE plugin_host
#include <boost/test/unit_test.hpp>

#include "consumers.hpp"
#include "plugin_host.hpp"
#include "plugin_instance.hpp"
#include "test_services.hpp"

#include <stethoscope/plugin.hpp>

#include <filesystem>
#include <fstream>

using namespace stethoscope;
using namespace stethoscope::core;
namespace fs = std::filesystem;

namespace {
// Runs f, which must throw E; returns the message.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    BOOST_FAIL("no exception thrown");
    return {};
}
PluginSection section(const std::string& name, sth_plugin_kind kind, const std::string& json) {
    return PluginSection{name, kind, "io.output." + name, json, true};
}
sth_session_info session_info(uint64_t uid) {
    sth_session_info s{};
    s.struct_size = sizeof s;
    s.uid = uid;
    s.client.family = 4;
    s.client.port = 40000;
    s.server.family = 4;
    s.server.port = 80;
    return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(loads_a_good_plugin_and_reads_its_descriptor) {
    auto lib = PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_OUTPUT, "test-output");
    BOOST_TEST(std::string(lib->table.name) == "test-output");
    BOOST_TEST(std::string(lib->table.version) == "1.2.3");
    BOOST_TEST(lib->plugin_struct_size == sizeof(sth_plugin_descriptor));
    BOOST_TEST(lib->table.stream_data != nullptr);
    BOOST_TEST(lib->table.session_packet == nullptr);  // not defined by the class: not wired
}

BOOST_AUTO_TEST_CASE(finds_plugins_by_name_in_the_dirs_in_order) {
    PluginHost host({"/nonexistent-dir", fs::path(TEST_PLUGIN_DIR)});
    auto lib = host.load("test-output", STH_KIND_OUTPUT);
    BOOST_TEST(lib->file == fs::path(TEST_PLUGIN_DIR) / "stethoscope-test-output.so");
}

BOOST_AUTO_TEST_CASE(unknown_name_names_the_file_and_the_dirs) {
    PluginHost host({"/nonexistent-dir"});
    BOOST_TEST(message_of<PluginError>([&] { host.load("nope", STH_KIND_OUTPUT); }) ==
               "unknown output plugin 'nope': no stethoscope-nope.so in /nonexistent-dir");
    BOOST_TEST(host.load("nope", STH_KIND_ANALYZER, true) == nullptr);  // optional: no error
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_plugin) {
    std::string msg = message_of<PluginError>(
        [] { PluginHost::load_file(NOT_A_PLUGIN, STH_KIND_OUTPUT, ""); });
    BOOST_TEST(msg == std::string("plugin ") + NOT_A_PLUGIN +
                          ": not a stethoscope plugin (no symbol stethoscope_plugin_descriptor)");
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_shared_object) {
    fs::path junk = fs::temp_directory_path() / "stethoscope-junk.so";
    std::ofstream(junk) << "this is not ELF";
    std::string msg =
        message_of<PluginError>([&] { PluginHost::load_file(junk, STH_KIND_OUTPUT, ""); });
    BOOST_TEST(msg.rfind("plugin " + junk.string() + ": cannot load: ", 0) == 0);
    fs::remove(junk);
}

BOOST_AUTO_TEST_CASE(a_wrong_abi_version) {
    std::string msg =
        message_of<PluginError>([] { PluginHost::load_file(WRONG_ABI_PLUGIN, 0, ""); });
    BOOST_TEST(msg == std::string("plugin ") + WRONG_ABI_PLUGIN + ": built for plugin ABI " +
                          std::to_string(STH_ABI_MAJOR + 1) + ".0, this stethoscope supports " +
                          std::to_string(STH_ABI_MAJOR) + ".0 to " + std::to_string(STH_ABI_MAJOR) +
                          "." + std::to_string(STH_ABI_MINOR));
}

BOOST_AUTO_TEST_CASE(a_wrong_kind) {
    std::string msg = message_of<PluginError>(
        [] { PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_INPUT, "test-output"); });
    BOOST_TEST(msg == std::string("plugin ") + TEST_OUTPUT_PLUGIN + ": expected kind input, found output");
}

BOOST_AUTO_TEST_CASE(a_file_holding_another_name) {
    std::string msg = message_of<PluginError>(
        [] { PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_OUTPUT, "files"); });
    BOOST_TEST(msg == std::string("plugin ") + TEST_OUTPUT_PLUGIN +
                          ": holds plugin 'test-output', expected 'files'");
}

BOOST_AUTO_TEST_CASE(config_rejected_by_the_plugin_names_the_path) {
    test::RecordingServices services;
    auto lib = PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_OUTPUT, "test-output");
    std::string msg = message_of<ConfigError>([&] {
        PluginInstance p(lib, section("test-output", STH_KIND_OUTPUT, R"({"fail_create":"yes"})"),
                         services);
    });
    BOOST_TEST(msg == "io.output.test-output.fail_create: expected true or false, got \"yes\"");
    msg = message_of<ConfigError>([&] {
        PluginInstance p(lib, section("test-output", STH_KIND_OUTPUT, R"({"bogus":1})"), services);
    });
    BOOST_TEST(msg == "io.output.test-output.bogus: unknown key");
}

BOOST_AUTO_TEST_CASE(an_exception_in_create_becomes_an_error_not_a_crash) {
    test::RecordingServices services;
    auto lib = PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_OUTPUT, "test-output");
    std::string msg = message_of<PluginError>([&] {
        PluginInstance p(lib, section("test-output", STH_KIND_OUTPUT, R"({"fail_create":true})"),
                         services);
    });
    BOOST_TEST(msg == std::string("plugin test-output (") + TEST_OUTPUT_PLUGIN +
                          "): create failed: told to fail");
}

BOOST_AUTO_TEST_CASE(the_library_outlives_the_instance) {
    test::RecordingServices services;
    std::unique_ptr<PluginInstance> inst;
    {
        auto lib = PluginHost::load_file(TEST_OUTPUT_PLUGIN, STH_KIND_OUTPUT, "test-output");
        inst = std::make_unique<PluginInstance>(lib, section("test-output", STH_KIND_OUTPUT, "{}"),
                                                services);
    }  // our reference is gone; the instance still holds the library
    BOOST_TEST(inst->library().library.is_loaded());
    Consumers consumers;
    consumers.add(inst.get());
    std::vector<ConsumerSlot> slots;
    sth_session_info s = session_info(7);
    consumers.session_open(s, slots);
    const uint8_t bytes[5] = {1, 2, 3, 4, 5};
    sth_stream_chunk c{sizeof c, STH_DIR_REQUESTS, 0, bytes, 5, 0};
    consumers.stream_data(s, slots, c);
    sth_event closed{sizeof closed, {"session_closed", 14}, {"{}", 2}, 7};
    consumers.session_close(s, slots, closed);
    BOOST_TEST_REQUIRE(services.events.size() == 1u);
    BOOST_TEST(services.events[0].type == "test_totals");
    BOOST_TEST(services.events[0].fields == "{\"bytes\":5}");
    BOOST_TEST(slots[0].delivered[STH_DIR_REQUESTS] == 5u);
}

BOOST_AUTO_TEST_CASE(a_plugin_built_against_an_older_smaller_sdk_loads_and_runs) {
    test::RecordingServices services;
    auto lib = PluginHost::load_file(OLD_SDK_PLUGIN, STH_KIND_OUTPUT, "old-sdk");
    BOOST_TEST(lib->plugin_struct_size < sizeof(sth_plugin_descriptor));
    // Fields past the plugin's struct are NULL in the host's copy, never read from it.
    BOOST_TEST(lib->table.session_packet == nullptr);
    BOOST_TEST(lib->table.session_close == nullptr);
    BOOST_TEST(lib->table.event == nullptr);
    // ABI 1.3 entries: NULL for an older plugin, so the host never calls them.
    BOOST_TEST(lib->table.session_tick == nullptr);
    BOOST_TEST(lib->table.session_icmp == nullptr);
    BOOST_TEST(lib->table.capture_filter == nullptr);
    PluginInstance inst(lib, section("old-sdk", STH_KIND_OUTPUT, "{}"), services);
    BOOST_TEST(inst.capture_filter().empty());
    Consumers consumers;
    consumers.add(&inst);
    std::vector<ConsumerSlot> slots;
    sth_session_info s = session_info(9);
    const Consumers::Wants wants = consumers.session_open(s, slots);
    BOOST_TEST(!wants.tick);  // an old plugin has no session_tick: the session is never ticked
    BOOST_TEST(!wants.packets);
    std::vector<uint8_t> data(1000, 0x41);
    sth_stream_chunk c1{sizeof c1, STH_DIR_REQUESTS, 0, data.data(), 1000, 0};
    sth_stream_chunk c2{sizeof c2, STH_DIR_RESPONSES, 0, data.data(), 300, 0};
    consumers.stream_data(s, slots, c1);
    consumers.stream_data(s, slots, c2);
    for (uint8_t d = 0; d < 2; ++d) {
        sth_stream_end e{sizeof e, d, 0, {"fin", 3}, 0};
        consumers.stream_end(s, slots, e);
    }
    // The 1.3 callbacks of the fan-out skip it: no metrics keys, no crash.
    stethoscope::JsonWriter fields;
    consumers.session_tick(s, slots, 1, fields);
    BOOST_TEST(fields.empty());
    sth_icmp_error icmp{};
    icmp.struct_size = sizeof icmp;
    consumers.session_icmp(s, slots, icmp);
    sth_event closed{sizeof closed, {"session_closed", 14}, {"{}", 2}, 9};
    consumers.session_close(s, slots, closed);  // beyond the old struct: skipped, no crash
    BOOST_TEST_REQUIRE(services.events.size() == 2u);
    BOOST_TEST(services.events[0].type == "old_sdk_end");
    BOOST_TEST(services.events[0].fields == "{\"direction\":0,\"bytes\":1000}");
    BOOST_TEST(services.events[1].fields == "{\"direction\":1,\"bytes\":300}");
}

#ifdef MSS_PLUGIN
// An analyzer that only frees its per-session state takes session_done (ABI 1.4), not
// session_close: the session then needs no session_closed event when nobody reads it.
// Its summary is still there for whoever builds the event; under the sanitizer build a
// cookie that session_done did not free is a leak report.
BOOST_AUTO_TEST_CASE(an_analyzer_frees_its_state_in_session_done) {
    test::RecordingServices services;
    auto lib = PluginHost::load_file(MSS_PLUGIN, STH_KIND_ANALYZER, "mss");
    BOOST_TEST(lib->table.session_close == nullptr);
    BOOST_TEST_REQUIRE(lib->table.session_done != nullptr);
    PluginInstance inst(lib, PluginSection{"mss", STH_KIND_ANALYZER, "analyzers.mss", "{}", false},
                        services);
    Consumers consumers;
    consumers.add(&inst);
    std::vector<ConsumerSlot> slots;
    sth_session_info s = session_info(11);
    const Consumers::Wants wants = consumers.session_open(s, slots);
    BOOST_TEST(wants.done);
    BOOST_TEST(!wants.closed_event);  // no session_closed event is built for it
    BOOST_TEST(wants.packets);
    sth_segment syn{};
    syn.struct_size = sizeof syn;
    syn.direction = STH_DIR_REQUESTS;
    syn.flags = 0x02;
    syn.mss = 1400;
    sth_packet raw{};
    raw.struct_size = sizeof raw;
    consumers.session_packet(s, slots, raw, syn);
    stethoscope::JsonWriter w;
    w.begin_object();
    consumers.session_summary(s, slots, w);
    w.end_object();
    BOOST_TEST(w.str().find(R"("mss":{"client":1400,"server":null,)") != std::string::npos,
               w.str());
    consumers.session_done(s, slots);
}
#endif

// Run-time switches (control plane): a session takes the consumers enabled when it opens
// and keeps them; a switched-off consumer gets no callback for sessions opened after.
BOOST_AUTO_TEST_CASE(a_switched_off_consumer_gets_no_new_sessions) {
    test::RecordingServices services;
    auto lib = PluginHost::load_file(OLD_SDK_PLUGIN, STH_KIND_OUTPUT, "old-sdk");
    PluginInstance inst(lib, section("old-sdk", STH_KIND_OUTPUT, "{}"), services);
    Consumers consumers;
    consumers.add(&inst);
    BOOST_TEST(consumers.enabled("old-sdk") == 1);
    BOOST_TEST(consumers.enabled("nope") == -1);
    BOOST_TEST(!consumers.set_enabled("nope", false));
    std::vector<uint8_t> data(10, 0x41);
    auto run_session = [&](uint64_t uid, std::vector<ConsumerSlot>& slots) {
        sth_session_info s = session_info(uid);
        consumers.session_open(s, slots);
        sth_stream_chunk c{sizeof c, STH_DIR_REQUESTS, 0, data.data(), data.size(), 0};
        consumers.stream_data(s, slots, c);
        for (uint8_t d = 0; d < 2; ++d) {  // the plugin frees its cookie after both ends
            sth_stream_end e{sizeof e, d, d == 0 ? 10u : 0u, {"fin", 3}, 0};
            consumers.stream_end(s, slots, e);
        }
    };
    std::vector<ConsumerSlot> before, after;
    sth_session_info open_early = session_info(1);
    consumers.session_open(open_early, before);  // opened while enabled
    BOOST_TEST(consumers.set_enabled("old-sdk", false));
    BOOST_TEST(consumers.enabled("old-sdk") == 0);
    run_session(2, after);
    BOOST_TEST(!after[0].active);
    BOOST_TEST(after[0].delivered[STH_DIR_REQUESTS] == 0u);
    BOOST_TEST(services.events.empty());
    // The session that opened before the switch keeps its consumer to its end.
    sth_stream_chunk c{sizeof c, STH_DIR_REQUESTS, 0, data.data(), data.size(), 0};
    consumers.stream_data(open_early, before, c);
    for (uint8_t d = 0; d < 2; ++d) {
        sth_stream_end e{sizeof e, d, d == 0 ? 10u : 0u, {"fin", 3}, 0};
        consumers.stream_end(open_early, before, e);
    }
    BOOST_TEST(before[0].delivered[STH_DIR_REQUESTS] == 10u);
    BOOST_TEST_REQUIRE(services.events.size() == 2u);
    BOOST_TEST(services.events[0].fields == "{\"direction\":0,\"bytes\":10}");
    BOOST_TEST(services.events[1].fields == "{\"direction\":1,\"bytes\":0}");
    BOOST_TEST(consumers.set_enabled("old-sdk", true));
    std::vector<ConsumerSlot> again;
    run_session(3, again);
    BOOST_TEST(again[0].active);
    BOOST_TEST(again[0].delivered[STH_DIR_REQUESTS] == 10u);
}
