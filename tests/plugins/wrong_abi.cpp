// A plugin built for a future major ABI version: the host must refuse it by name.
#include <stethoscope/abi.h>

namespace {
void* create(const sth_host_api*, char*, size_t) { return nullptr; }
void destroy(void*) {}
int validate(sth_str, sth_str, char*, size_t) { return 0; }
}  // namespace

extern "C" __attribute__((visibility("default"))) const sth_plugin_descriptor*
stethoscope_plugin_descriptor(void) {
    static sth_plugin_descriptor d = [] {
        sth_plugin_descriptor x{};
        x.struct_size = sizeof x;
        x.abi_major = STH_ABI_MAJOR + 1;
        x.abi_minor = 0;
        x.kind = STH_KIND_OUTPUT;
        x.name = "wrong-abi";
        x.version = "9.9.9";
        x.validate_config = &validate;
        x.create = &create;
        x.destroy = &destroy;
        return x;
    }();
    return &d;
}
