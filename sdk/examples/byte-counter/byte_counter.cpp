// byte-counter: an example output plugin. It counts each session's stream bytes and
// publishes a "byte_count" event when the session closes. Its one setting,
// "label" (string), is copied into every event it publishes.
//
// It deliberately needs nothing but the SDK headers (no Boost): its config is parsed
// by hand — a real plugin would use <stethoscope/config_schema.hpp> (Boost.JSON). Its
// event is built with stethoscope::JsonWriter (header-only, part of the SDK).
#include <stethoscope/json_writer.hpp>
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
        stethoscope::JsonWriter w;
        w.begin_object();
        w.key("label").value(config_.label);
        for (uint8_t d = 0; d < 2; ++d) w.key(stethoscope::direction_name(d)).value(n[d]);
        w.end_object();
        host().publish("byte_count", w.str(), &s);
        delete[] n;
    }

private:
    Config config_;
    stethoscope::Counter total_;
};

STETHOSCOPE_PLUGIN(ByteCounter, "byte-counter", "1.0.0", "example: counts each session's bytes")
