/*
 * A frozen copy of an "older SDK" ABI header, for the compatibility test: the same
 * major version, but the descriptor ends after `stream_end` and the host API after
 * `counter_add` — as if built before those structs grew. Plain C on purpose.
 */
#ifndef OLD_STETHOSCOPE_ABI_H
#define OLD_STETHOSCOPE_ABI_H
#include <stddef.h>
#include <stdint.h>

typedef struct sth_str { const char* data; size_t size; } sth_str;
typedef struct sth_endpoint { uint8_t family; uint8_t addr[16]; uint16_t port; } sth_endpoint;
typedef struct sth_session_info {
    uint32_t struct_size; uint64_t uid; uint16_t session_id; sth_endpoint client;
    sth_endpoint server; int64_t start_ts_ns; uint8_t saw_syn;
} sth_session_info;
typedef struct sth_stream_chunk {
    uint32_t struct_size; uint8_t direction; uint64_t offset; const uint8_t* data; size_t size;
    int64_t ts_ns;
} sth_stream_chunk;
typedef struct sth_stream_end {
    uint32_t struct_size; uint8_t direction; uint64_t total_bytes; sth_str reason; int64_t ts_ns;
} sth_stream_end;
typedef struct sth_host_api {
    uint32_t struct_size; uint32_t abi_major; uint32_t abi_minor; void* ctx;
    sth_str instance_name; sth_str config_json; sth_str config_path;
    void (*log)(void* ctx, int level, sth_str message);
    void (*publish_event)(void* ctx, sth_str type, sth_str fields_json, const sth_session_info* s);
    uint32_t (*counter_register)(void* ctx, sth_str name);
    void (*counter_add)(void* ctx, uint32_t handle, uint64_t delta);
} sth_host_api;
typedef struct sth_plugin_descriptor {
    uint32_t struct_size; uint32_t abi_major; uint32_t abi_minor; uint32_t kind;
    const char* name; const char* version; const char* build_id; const char* description;
    int (*validate_config)(sth_str json, sth_str path, char* err, size_t cap);
    void* (*create)(const sth_host_api* host, char* err, size_t cap);
    int (*start)(void* instance, char* err, size_t cap);
    void (*stop)(void* instance);
    void (*destroy)(void* instance);
    int (*run)(void* instance, char* err, size_t cap);
    void* (*session_open)(void* instance, const sth_session_info* s);
    int (*stream_data)(void* instance, void* cookie, const sth_session_info* s,
                       const sth_stream_chunk* c);
    void (*stream_gap)(void* instance, void* cookie, const sth_session_info* s, const void* gap);
    void (*stream_end)(void* instance, void* cookie, const sth_session_info* s,
                       const sth_stream_end* e);
} sth_plugin_descriptor;
#endif
