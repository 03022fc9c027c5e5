// Config validation: one case per error class, each asserting the exact message with
// its JSON path. (Plugin sections are validated by the plugins: see plugin_host_test and
// the CLI tests, which run the real binary on broken configs.)
#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include "config.hpp"

#include <stethoscope/plugin.hpp>

using namespace stethoscope;
using namespace stethoscope::core;

namespace {
Config build(const std::string& text, ConfigOverrides o = {}) {
    return build_config(parse_config_text(text, "test.json"), o);
}
std::string error_of(const std::string& text, ConfigOverrides o = {}) {
    try {
        build(text, o);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}
const PluginSection* output(const Config& c, const std::string& name) {
    for (const auto& o : c.outputs)
        if (o.name == name) return &o;
    return nullptr;
}
}  // namespace

BOOST_AUTO_TEST_CASE(invalid_json_reports_line_and_column) {
    BOOST_TEST(error_of("{\n  \"capture\": {\n    \"mode\": client\n  }\n}") ==
               "config test.json:3:13: invalid JSON: syntax error");
    BOOST_TEST(error_of("{\"a\": 1} x") == "config test.json:1:10: invalid JSON: extra data");
    BOOST_TEST(error_of("[1, 2]") == "config test.json: expected a JSON object, got an array");
}

BOOST_AUTO_TEST_CASE(comments_and_trailing_commas_are_allowed) {
    Config c = build("{ // a comment\n \"log\": {\"level\": \"debug\",}, /* block */ }");
    BOOST_TEST(c.log_level == STH_LOG_DEBUG);
}

BOOST_AUTO_TEST_CASE(unknown_keys_name_their_path) {
    BOOST_TEST(error_of(R"({"captur": {}})") == "captur: unknown key");
    BOOST_TEST(error_of(R"({"reassembly": {"idle_timeout": 5}})") ==
               "reassembly.idle_timeout: unknown key");
}

BOOST_AUTO_TEST_CASE(wrong_types_name_path_expectation_and_value) {
    BOOST_TEST(error_of(R"({"reassembly": {"max_sessions": "abc"}})") ==
               "reassembly.max_sessions: expected integer 1..100000000, got \"abc\"");
    BOOST_TEST(error_of(R"({"capture": {"mode": 3}})") ==
               "capture.mode: expected one of \"client\" \"server\" \"filter\", got 3");
    BOOST_TEST(error_of(R"({"io": {"output": {"files": {"enabled": "yes"}}}})") ==
               "io.output.files.enabled: expected true or false, got \"yes\"");
    BOOST_TEST(error_of(R"({"capture": {"server_ports": [80, "x"]}})") ==
               "capture.server_ports[1]: expected integer 1..65535, got \"x\"");
    BOOST_TEST(error_of(R"({"io": {"output": []}})") == "io.output: expected object, got an array");
}

BOOST_AUTO_TEST_CASE(out_of_range_values) {
    BOOST_TEST(error_of(R"({"capture": {"mode": "client", "local_ip": "198.18.0.1",
        "remote_ip": "198.18.0.2", "remote_port": 70000}})") ==
               "capture.remote_port: expected integer 1..65535, got 70000");
    BOOST_TEST(error_of(R"({"reassembly": {"fin_grace_sec": -1}})") ==
               "reassembly.fin_grace_sec: expected number 0..3600, got -1");
    BOOST_TEST(error_of(R"({"capture": {"workers": 1.5}})") ==
               "capture.workers: expected integer 0..256, got 1.5E0");
}

BOOST_AUTO_TEST_CASE(mode_requirements) {
    BOOST_TEST(error_of(R"({"capture": {"mode": "client", "local_ip": "198.18.0.1"}})") ==
               "capture.remote_ip: required in this capture mode");
    BOOST_TEST(error_of(R"({"capture": {"mode": "server", "local_ip": "198.18.0.300", "local_port": 80}})") ==
               "capture.local_ip: expected an IPv4 or IPv6 address, got \"198.18.0.300\"");
}

BOOST_AUTO_TEST_CASE(bpf_is_built_from_the_mode_as_in_the_prototype) {
    Config c = build(R"({"capture": {"mode": "client", "local_ip": "198.18.0.1",
        "remote_ip": "198.18.0.2", "remote_port": 8080}})");
    BOOST_TEST(c.capture.bpf ==
               "tcp and ((src host 198.18.0.1 and dst host 198.18.0.2 and dst port 8080) or "
               "(src host 198.18.0.2 and src port 8080 and dst host 198.18.0.1))");
    Config s = build(R"({"capture": {"mode": "server", "local_ip": "198.18.0.1", "local_port": 80}})");
    BOOST_TEST(s.capture.bpf == "tcp and ((dst host 198.18.0.1 and dst port 80) or "
                                "(src host 198.18.0.1 and src port 80))");
    Config f = build(R"({"capture": {"mode": "filter", "filter": "tcp port 80"}})");
    BOOST_TEST(f.capture.bpf == "tcp port 80");
}

BOOST_AUTO_TEST_CASE(input_section_gets_the_non_core_capture_keys_and_the_bpf) {
    Config c = build(R"({"capture": {"input": "pcap-file", "file": "x.pcap", "mode": "filter",
        "filter": "tcp"}})");
    BOOST_TEST(c.input.name == "pcap-file");
    BOOST_TEST(c.input.path == "capture");
    BOOST_TEST(c.input.section_json == R"({"file":"x.pcap","bpf":"tcp"})");
}

BOOST_AUTO_TEST_CASE(command_line_overrides) {
    ConfigOverrides o;
    o.read_file = "a.pcap";
    Config c = build(R"({"capture": {"input": "pcap-live", "interface": "eth0"}})", o);
    BOOST_TEST(c.input.name == "pcap-file");
    BOOST_TEST(c.input.section_json == R"({"file":"a.pcap","bpf":""})");
    o.log_level = "loud";
    BOOST_TEST(error_of("{}", o) ==
               "--log-level: expected one of trace, debug, info, warning, error, got \"loud\"");
}

BOOST_AUTO_TEST_CASE(outputs_are_off_unless_enabled) {
    Config c = build(R"({"io": {"output": {"files": {"dir": "x"},
        "pcap": {"enabled": false}, "listener": {"enabled": true, "requests_port": 7001}}}})");
    BOOST_TEST(c.outputs.size() == 1u);
    BOOST_TEST_REQUIRE(output(c, "listener") != nullptr);
    BOOST_TEST(output(c, "listener")->section_json == R"({"requests_port":7001})");
    BOOST_TEST(output(c, "listener")->path == "io.output.listener");
}

BOOST_AUTO_TEST_CASE(the_prototype_spelling_listner_is_an_alias_with_a_warning) {
    Config c = build(R"({"io": {"output": {"listner": {"enabled": true}}}})");
    BOOST_TEST_REQUIRE(output(c, "listener") != nullptr);
    BOOST_TEST(output(c, "listener")->path == "io.output.listner");
    BOOST_TEST_REQUIRE(c.warnings.size() == 1u);
    BOOST_TEST(c.warnings[0] ==
               "io.output.listner: the prototype's spelling, read as io.output.listener");
    BOOST_TEST(error_of(R"({"io": {"output": {"listner": {}, "listener": {}}}})") ==
               "io.output.listner: both listner and listener are given");
}

BOOST_AUTO_TEST_CASE(analyzers_are_on_unless_disabled_and_optional_unless_asked_for) {
    Config c = build(R"({"analyzers": {"mtu": {"enabled": false}, "stall": {"threshold_ms": 10}}})");
    bool mtu_off = false, mtu_required = true, stall_required = false, mss_optional = false;
    bool stall_on = false;
    for (const auto& a : c.analyzers) {
        if (a.name == "mtu") mtu_off = !a.enabled, mtu_required = a.required;
        if (a.name == "stall") stall_required = a.required, stall_on = a.enabled;
        if (a.name == "mss") mss_optional = !a.required;
    }
    // A disabled analyzer is loaded switched off (the control plane may switch it on).
    BOOST_TEST(mtu_off);
    BOOST_TEST(!mtu_required);
    BOOST_TEST(stall_on);
    BOOST_TEST(!stall_required);  // on by default, not explicitly enabled
    BOOST_TEST(mss_optional);
    BOOST_TEST_REQUIRE(c.control.has_value());
    BOOST_TEST(c.control->name == "http");
    BOOST_TEST(!build(R"({"control": {"enabled": false}})").control.has_value());
}

BOOST_AUTO_TEST_CASE(memcaps_must_be_consistent) {
    BOOST_TEST(error_of(R"({"reassembly": {"flow_memcap_bytes": 1048576, "global_memcap_bytes": 65536}})") ==
               "reassembly.flow_memcap_bytes: must not exceed reassembly.global_memcap_bytes");
}
