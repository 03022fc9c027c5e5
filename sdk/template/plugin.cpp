// Template of a stethoscope plugin: copy this folder, rename, fill in. See README.md
// "Writing a plugin" for the callbacks, threading rules and host services.
#include <stethoscope/plugin.hpp>

class MyPlugin : public stethoscope::OutputPlugin {  // or InputPlugin, AnalyzerPlugin, ControlPlugin
public:
    struct Config {};
    // Validate the plugin's config section; throw stethoscope::ConfigError("<path>.<key>: ...").
    static Config parse_config(std::string_view json, std::string_view path) {
        if (!json.empty() && json != "{}")
            throw stethoscope::ConfigError(std::string(path) + ": my-plugin takes no settings");
        return {};
    }
    MyPlugin(const stethoscope::Host& host, Config) : OutputPlugin(host) {}

    // Define only the callbacks you need; see include/stethoscope/plugin.hpp.
    sth_result stream_data(void*, const sth_session_info&, const sth_stream_chunk&) {
        return STH_OK;
    }
};

STETHOSCOPE_PLUGIN(MyPlugin, "my-plugin", "0.1.0", "one line saying what it does")
