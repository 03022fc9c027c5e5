// The stethoscope executable: command line, config, plugin host, run. Every failure ends
// in one line on stderr and a documented exit code (see runtime.hpp / README).
#include "config.hpp"
#include "log.hpp"
#include "plugin_host.hpp"
#include "runtime.hpp"

#include <stethoscope/plugin.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#ifndef STETHOSCOPE_VERSION
#define STETHOSCOPE_VERSION "0.0.0"
#endif

namespace fs = std::filesystem;
using namespace stethoscope::core;

namespace {

const char* const k_usage =
    "usage: stethoscope [options]\n"
    "  -c, --config FILE     JSON config (comments allowed); default: built-in defaults\n"
    "  -r, --read FILE       read packets from a pcap/pcapng file (input pcap-file)\n"
    "  -i, --interface IF    capture live on IF, or \"any\" (input pcap-live)\n"
    "      --check-config    validate the config and load every plugin, capture nothing\n"
    "      --list-plugins    list the plugins found in the plugin dirs and exit\n"
    "      --log-level LVL   trace, debug, info, warning or error (overrides log.level)\n"
    "      --version         print the version and exit\n"
    "  -h, --help            this text\n"
    "Events go to stdout as JSON lines, logs to stderr.\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 bad command line or config,\n"
    "            3 plugin not found or not loadable, 4 input failed (e.g. corrupt capture).\n";

struct Options {
    std::string config_file;
    ConfigOverrides overrides;
    bool check_config = false, list_plugins = false, version = false, help = false;
};

Runtime* g_runtime = nullptr;

extern "C" void on_signal(int) {
    if (g_runtime != nullptr) g_runtime->request_stop();
}

// Throws std::invalid_argument with a one-line message.
Options parse_args(int argc, char** argv) {
    Options o;
    auto need = [&](int& i, const char* name) -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
        return argv[++i];
    };
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-c" || a == "--config") o.config_file = need(i, "--config");
        else if (a == "-r" || a == "--read") o.overrides.read_file = need(i, "--read");
        else if (a == "-i" || a == "--interface") o.overrides.interface = need(i, "--interface");
        else if (a == "--log-level") o.overrides.log_level = need(i, "--log-level");
        else if (a == "--check-config") o.check_config = true;
        else if (a == "--list-plugins") o.list_plugins = true;
        else if (a == "--version") o.version = true;
        else if (a == "-h" || a == "--help") o.help = true;
        else throw std::invalid_argument("unknown option " + a + " (see --help)");
    }
    if (o.overrides.read_file && o.overrides.interface)
        throw std::invalid_argument("--read and --interface exclude each other");
    return o;
}

std::vector<fs::path> plugin_dirs(const Config& cfg) {
    std::vector<fs::path> dirs;
    for (size_t i = 0; i < cfg.plugin_dirs.size(); ++i) {
        std::error_code ec;
        if (!fs::is_directory(cfg.plugin_dirs[i], ec))
            throw stethoscope::ConfigError("plugins.dirs[" + std::to_string(i) + "]: \"" +
                                           cfg.plugin_dirs[i] + "\" is not a directory");
        dirs.emplace_back(cfg.plugin_dirs[i]);
    }
    for (auto& d : PluginHost::default_dirs()) dirs.push_back(std::move(d));
    return dirs;
}

int list_plugins(PluginHost& host) {
    std::vector<std::string> errors;
    auto libs = host.load_all(errors);
    std::printf("%-14s %-9s %-9s %s\n", "NAME", "KIND", "VERSION", "FILE");
    for (const auto& l : libs)
        std::printf("%-14s %-9s %-9s %s\n", l->table.name, kind_name(l->table.kind),
                    l->table.version, l->file.string().c_str());
    for (const auto& e : errors) std::fprintf(stderr, "stethoscope: %s\n", e.c_str());
    return errors.empty() ? k_exit_ok : k_exit_plugin;
}

int run(const Options& opt) {
    boost::json::value doc = opt.config_file.empty() ? boost::json::value(boost::json::object())
                                                     : load_config_file(opt.config_file);
    Config cfg = build_config(std::move(doc), opt.overrides);
    init_logging(cfg.log_level);
    for (const auto& w : cfg.warnings) log_warn(w);
    PluginHost host(plugin_dirs(cfg));
    if (opt.list_plugins) return list_plugins(host);

    Runtime runtime(std::move(cfg));
    runtime.load(host);
    if (opt.check_config) {
        for (const auto& line : runtime.loaded_summary()) std::printf("loaded %s\n", line.c_str());
        std::printf("config OK\n");
        return k_exit_ok;
    }
    g_runtime = &runtime;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    int rc = runtime.run();
    g_runtime = nullptr;
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    try {
        opt = parse_args(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stethoscope: %s\n", e.what());
        return k_exit_usage;
    }
    if (opt.help) {
        std::fputs(k_usage, stdout);
        return k_exit_ok;
    }
    if (opt.version) {
        std::printf("stethoscope %s (plugin ABI %d.%d)\n", STETHOSCOPE_VERSION, STH_ABI_MAJOR,
                    STH_ABI_MINOR);
        return k_exit_ok;
    }
    init_logging(STH_LOG_INFO);
    if (opt.overrides.log_level) {
        if (auto l = parse_log_level(*opt.overrides.log_level)) init_logging(*l);
    }
    try {
        return run(opt);
    } catch (const stethoscope::ConfigError& e) {
        std::fprintf(stderr, "stethoscope: %s\n", e.what());
        return k_exit_usage;
    } catch (const PluginError& e) {
        std::fprintf(stderr, "stethoscope: %s\n", e.what());
        return k_exit_plugin;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stethoscope: %s\n", e.what());
        return k_exit_runtime;
    }
}
