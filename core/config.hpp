// The core's view of the config file: loading (JSON with comments, errors with line and
// column), validation of the sections the core owns (plugins, capture, reassembly, log)
// and the list of plugin sections to hand to plugins, each of which validates its own.
//
// Plugin sections: `capture.input` names the input plugin (it gets the capture section
// minus the core's keys, plus "bpf", the filter built from the mode); every key of
// `io.output` and `analyzers` names a plugin; `control` is the control plugin ("http"
// unless `control.plugin` says otherwise). The key `enabled` belongs to the core.
#pragma once

#include <stethoscope/abi.h>

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stethoscope::core {

// One plugin the config wants: which, where its section is, its section minus "enabled".
struct PluginSection {
    std::string name;             // plugin name, e.g. "files"
    sth_plugin_kind kind;
    std::string path;             // JSON path of its section, e.g. "io.output.files"
    std::string section_json;     // serialized section without "enabled"
    bool required = true;         // false: on by default, skipped with a note if missing
    bool enabled = true;          // false: an analyzer loaded switched off ("enabled": false),
                                  // so the control plane can switch it on at run time
};

enum class CaptureMode { client, server, filter };

struct CaptureConfig {
    CaptureMode mode = CaptureMode::filter;
    std::string local_ip, remote_ip;
    uint16_t remote_port = 0, local_port = 0;
    std::string filter;                 // filter mode: user's BPF expression
    std::vector<uint16_t> server_ports; // filter mode: which side is the server
    unsigned workers = 0;               // 0 = one per core
    uint64_t ring_bytes = 16u << 20;    // per worker queue (workers > 1)
    double stats_interval_sec = 10;     // periodic capture_stats; 0 = only at the end
    std::string bpf;                    // the filter actually used, built from the mode
    std::vector<std::string> decapsulate;  // layers to peel (validated; only vlan so far)
};

struct ReassemblyConfig {
    uint64_t flow_memcap_bytes = 4u << 20;
    uint64_t global_memcap_bytes = 256u << 20;
    uint64_t max_sessions = 1000000;
    double idle_timeout_sec = 300;
    double fin_grace_sec = 0.5;
    double handshake_timeout_sec = 10;
    uint64_t fragment_memcap_bytes = 16u << 20;
};

struct Config {
    std::vector<std::string> plugin_dirs;  // as configured (defaults added by the host)
    CaptureConfig capture;
    ReassemblyConfig reassembly;
    PluginSection input;
    std::vector<PluginSection> analyzers;
    std::vector<PluginSection> outputs;
    std::optional<PluginSection> control;
    sth_log_level log_level = STH_LOG_INFO;
    bool events_to_stdout = true;
    boost::json::value document;           // the whole config, after overrides
    std::vector<std::string> warnings;     // e.g. the "listner" alias
};

// Command-line settings that override the file.
struct ConfigOverrides {
    std::optional<std::string> read_file;  // -r: pcap-file input on this file
    std::optional<std::string> interface;  // -i: pcap-live input on this interface
    std::optional<std::string> log_level;  // --log-level
};

// Parses JSON text with comments; throws ConfigError "config FILE:LINE:COL: message".
boost::json::value parse_config_text(const std::string& text, const std::string& origin);

// Reads and parses a file; throws ConfigError naming the file.
boost::json::value load_config_file(const std::string& path);

// Validates the core's sections and collects plugin sections; throws ConfigError.
Config build_config(boost::json::value document, const ConfigOverrides& overrides);

// The BPF expression for a capture config (empty in filter mode without filter).
std::string build_bpf(const CaptureConfig& c);

}  // namespace stethoscope::core
