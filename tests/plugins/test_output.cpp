// A well-formed output plugin for the host tests, built through the SDK's macro. It has
// one config key ("fail_create": true makes create throw) and publishes a "test_totals"
// event with the bytes it saw when a session closes.
#include <stethoscope/config_schema.hpp>
#include <stethoscope/plugin.hpp>

#include <stdexcept>
#include <string>

class TestOutput : public stethoscope::OutputPlugin {
public:
    struct Config {
        bool fail_create = false;
    };
    static Config parse_config(std::string_view json, std::string_view path) {
        auto v = stethoscope::config::parse_section(json, path);
        stethoscope::config::Section s(v, std::string(path));
        Config c;
        c.fail_create = s.boolean("fail_create", false);
        s.finish();
        return c;
    }
    TestOutput(const stethoscope::Host& host, Config c) : OutputPlugin(host) {
        if (c.fail_create) throw std::runtime_error("told to fail");
    }
    void* session_open(const sth_session_info&) { return new uint64_t(0); }
    sth_result stream_data(void* cookie, const sth_session_info&, const sth_stream_chunk& c) {
        *static_cast<uint64_t*>(cookie) += c.size;
        return STH_OK;
    }
    void session_close(void* cookie, const sth_session_info& s, const sth_event&) {
        auto* n = static_cast<uint64_t*>(cookie);
        host().publish("test_totals", "{\"bytes\":" + std::to_string(*n) + "}", &s);
        delete n;
    }
};

STETHOSCOPE_PLUGIN(TestOutput, "test-output", "1.2.3", "test output for the host tests")
