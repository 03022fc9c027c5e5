// The plugin host: finds plugins by name in the plugin dirs, loads them with Boost.DLL,
// checks the descriptor (ABI version, kind, name) before calling anything, and creates
// instances with their host services.
//
// Lifetime: a PluginLibrary stays loaded while anything refers to it; every
// PluginInstance holds a shared_ptr to its library, so an instance is always destroyed
// before its code is unmapped. The host never unloads during a run (see STYLE.md).
// Threading: load everything from one thread at start-up.
#pragma once

#include <stethoscope/abi.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace stethoscope::core {

class PluginError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

const char* kind_name(uint32_t kind);

// One loaded shared object and a full-size copy of its descriptor (fields the plugin's
// older SDK did not have are zero, i.e. NULL callbacks).
struct PluginLibrary {
    boost::dll::shared_library library;
    std::filesystem::path file;
    sth_plugin_descriptor table{};
    uint32_t plugin_struct_size = 0;  // as the plugin filled it in
};

// The smallest descriptor the host accepts: everything up to `destroy` (SDK 1.0 core).
constexpr size_t k_min_descriptor_size =
    offsetof(sth_plugin_descriptor, destroy) + sizeof(sth_plugin_descriptor::destroy);

// File name of plugin `name`: "stethoscope-<name>.so" (".dylib" on macOS).
std::string plugin_file_name(const std::string& name);

class PluginHost {
public:
    // `dirs`: searched in order. Each must exist (checked by the caller's config).
    explicit PluginHost(std::vector<std::filesystem::path> dirs);

    // Loads plugin `name` of kind `kind`; throws PluginError naming the file and reason.
    // Returns nullptr only when `allow_missing` and no file of that name exists.
    std::shared_ptr<PluginLibrary> load(const std::string& name, sth_plugin_kind kind,
                                        bool allow_missing = false);

    // Loads one file and checks its descriptor; kind 0 accepts any kind.
    static std::shared_ptr<PluginLibrary> load_file(const std::filesystem::path& file,
                                                    uint32_t expected_kind,
                                                    const std::string& expected_name);

    // Every plugin file in the dirs (for --list-plugins); broken ones are reported in
    // `errors` instead of thrown.
    std::vector<std::shared_ptr<PluginLibrary>> load_all(std::vector<std::string>& errors);

    const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

    // The default dirs: <exe dir>/plugins, then the compiled-in install dir.
    static std::vector<std::filesystem::path> default_dirs();

private:
    std::vector<std::filesystem::path> dirs_;
};

}  // namespace stethoscope::core
