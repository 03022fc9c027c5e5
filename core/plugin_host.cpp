#include "plugin_host.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cstring>
#include <set>

#ifndef STETHOSCOPE_INSTALL_PLUGIN_DIR
#define STETHOSCOPE_INSTALL_PLUGIN_DIR "/usr/local/lib/stethoscope/plugins"
#endif

namespace stethoscope::core {
namespace fs = std::filesystem;

namespace {
constexpr const char* k_prefix = "stethoscope-";

std::string suffix() { return boost::dll::shared_library::suffix().string(); }

const sth_plugin_descriptor* call_entry(boost::dll::shared_library& lib, const fs::path& file) {
    if (!lib.has(STH_PLUGIN_ENTRY_SYMBOL))
        throw PluginError("plugin " + file.string() + ": not a stethoscope plugin (no symbol " +
                          STH_PLUGIN_ENTRY_SYMBOL + ")");
    auto entry = lib.get<const sth_plugin_descriptor*()>(STH_PLUGIN_ENTRY_SYMBOL);
    const sth_plugin_descriptor* d = entry();
    if (d == nullptr) throw PluginError("plugin " + file.string() + ": descriptor is NULL");
    return d;
}

void check_descriptor(const sth_plugin_descriptor& d, const fs::path& file,
                      uint32_t expected_kind, const std::string& expected_name) {
    const std::string where = "plugin " + file.string() + ": ";
    if (d.struct_size < k_min_descriptor_size)
        throw PluginError(where + "descriptor too small (" + std::to_string(d.struct_size) +
                          " bytes, need at least " + std::to_string(k_min_descriptor_size) + ")");
    if (d.abi_major != STH_ABI_MAJOR || d.abi_minor > STH_ABI_MINOR)
        throw PluginError(where + "built for plugin ABI " + std::to_string(d.abi_major) + "." +
                          std::to_string(d.abi_minor) + ", this stethoscope supports " +
                          std::to_string(STH_ABI_MAJOR) + ".0 to " +
                          std::to_string(STH_ABI_MAJOR) + "." + std::to_string(STH_ABI_MINOR));
    if (d.kind < STH_KIND_INPUT || d.kind > STH_KIND_CONTROL)
        throw PluginError(where + "unknown plugin kind " + std::to_string(d.kind));
    if (expected_kind != 0 && d.kind != expected_kind)
        throw PluginError(where + "expected kind " + kind_name(expected_kind) + ", found " +
                          kind_name(d.kind));
    if (d.name == nullptr || d.create == nullptr || d.destroy == nullptr ||
        d.validate_config == nullptr)
        throw PluginError(where + "descriptor lacks name, validate_config, create or destroy");
    if (!expected_name.empty() && expected_name != d.name)
        throw PluginError(where + "holds plugin '" + d.name + "', expected '" + expected_name + "'");
    if (d.kind == STH_KIND_INPUT &&
        (!STH_HAS_FIELD(&d, sth_plugin_descriptor, run) || d.run == nullptr))
        throw PluginError(where + "input plugin without run()");
}
}  // namespace

const char* kind_name(uint32_t kind) {
    switch (kind) {
        case STH_KIND_INPUT: return "input";
        case STH_KIND_ANALYZER: return "analyzer";
        case STH_KIND_OUTPUT: return "output";
        case STH_KIND_CONTROL: return "control";
        default: return "unknown";
    }
}

std::string plugin_file_name(const std::string& name) { return k_prefix + name + suffix(); }

PluginHost::PluginHost(std::vector<fs::path> dirs) : dirs_(std::move(dirs)) {}

std::vector<fs::path> PluginHost::default_dirs() {
    std::vector<fs::path> out;
    std::error_code ec;
    fs::path exe = boost::dll::program_location(ec);
    if (!ec) out.push_back(exe.parent_path() / "plugins");
    out.emplace_back(STETHOSCOPE_INSTALL_PLUGIN_DIR);
    return out;
}

std::shared_ptr<PluginLibrary> PluginHost::load_file(const fs::path& file, uint32_t expected_kind,
                                                     const std::string& expected_name) {
    auto lib = std::make_shared<PluginLibrary>();
    lib->file = file;
    try {
        lib->library.load(file.string(), boost::dll::load_mode::rtld_now |
                                             boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        throw PluginError("plugin " + file.string() + ": cannot load: " + e.what());
    }
    const sth_plugin_descriptor* d = call_entry(lib->library, file);
    // Read the size first, then copy no more than the plugin filled in.
    lib->plugin_struct_size = d->struct_size;
    std::memcpy(&lib->table, d, std::min<size_t>(d->struct_size, sizeof(sth_plugin_descriptor)));
    lib->table.struct_size = std::min<uint32_t>(d->struct_size, sizeof(sth_plugin_descriptor));
    check_descriptor(lib->table, file, expected_kind, expected_name);
    return lib;
}

std::shared_ptr<PluginLibrary> PluginHost::load(const std::string& name, sth_plugin_kind kind,
                                                bool allow_missing) {
    const std::string file_name = plugin_file_name(name);
    for (const auto& dir : dirs_) {
        std::error_code ec;
        fs::path candidate = dir / file_name;
        if (fs::exists(candidate, ec)) return load_file(candidate, kind, name);
    }
    if (allow_missing) return nullptr;
    std::string searched;
    for (const auto& d : dirs_) searched += (searched.empty() ? "" : ", ") + d.string();
    throw PluginError(std::string("unknown ") + kind_name(kind) + " plugin '" + name + "': no " +
                      file_name + " in " + searched);
}

std::vector<std::shared_ptr<PluginLibrary>> PluginHost::load_all(std::vector<std::string>& errors) {
    std::vector<std::shared_ptr<PluginLibrary>> out;
    std::set<std::string> seen_names;
    for (const auto& dir : dirs_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            std::string fname = entry.path().filename().string();
            if (fname.rfind(k_prefix, 0) == 0 && entry.path().extension() == suffix())
                files.push_back(entry.path());
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            try {
                auto lib = load_file(f, 0, "");
                if (seen_names.insert(lib->table.name).second) out.push_back(std::move(lib));
            } catch (const std::exception& e) {
                errors.emplace_back(e.what());
            }
        }
    }
    return out;
}

}  // namespace stethoscope::core
