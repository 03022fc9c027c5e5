// byte-counter: an example output plugin. It counts each session's stream bytes and
// publishes a "byte_count" event when the session closes. Its one setting,
// "label" (string), is copied into every event it publishes.
//
// It deliberately needs nothing but the SDK headers (no Boost): its config is parsed
// by hand — a real plugin would use <stethoscope/config_schema.hpp> (Boost.JSON).
#include <stethoscope/plugin.hpp>

#include <cstdint>
#include <string>

class ByteCounter : public stethoscope::OutputPlugin {
public:
    struct Config {
        std::string label;
    };
    // Accepts {} or {"label":"<text without quotes>"}; anything else is an error naming
    // the path.
    static Config parse_config(std::string_view json, std::string_view path) {
        Config c;
        if (json == "{}" || json.empty()) return c;
        const std::string_view prefix = "{\"label\":\"";
        if (json.substr(0, prefix.size()) != prefix || json.substr(json.size() - 2) != "\"}" ||
            json.size() < prefix.size() + 2)
            throw stethoscope::ConfigError(std::string(path) +
                                           ": byte-counter accepts only {\"label\": \"text\"}");
        c.label = std::string(json.substr(prefix.size(), json.size() - prefix.size() - 2));
        return c;
    }
    ByteCounter(const stethoscope::Host& host, Config config)
        : OutputPlugin(host), config_(std::move(config)), total_(host.counter("bytes")) {}

    void* session_open(const sth_session_info&) { return new uint64_t[2]{0, 0}; }
    sth_result stream_data(void* cookie, const sth_session_info&, const sth_stream_chunk& c) {
        static_cast<uint64_t*>(cookie)[c.direction] += c.size;
        total_.add(c.size);
        return STH_OK;
    }
    void session_close(void* cookie, const sth_session_info& s, const sth_event&) {
        auto* n = static_cast<uint64_t*>(cookie);
        host().publish("byte_count", "{\"label\":\"" + config_.label + "\",\"requests\":" +
                                         std::to_string(n[0]) + ",\"responses\":" +
                                         std::to_string(n[1]) + "}",
                       &s);
        delete[] n;
    }

private:
    Config config_;
    stethoscope::Counter total_;
};

STETHOSCOPE_PLUGIN(ByteCounter, "byte-counter", "1.0.0", "example: counts each session's bytes")
