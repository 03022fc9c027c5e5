/* An output plugin written in C against the older SDK header beside it. It counts the
 * bytes of each direction and, when a direction ends, publishes an "old_sdk_end" event
 * with the count, so a test can see that it loaded and ran in the current host. */
#include "abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const sth_host_api* host; } instance;
typedef struct { uint64_t bytes[2]; int ended; } session;

static int validate(sth_str json, sth_str path, char* err, size_t cap) {
    (void)path;
    if (json.size > 2) { snprintf(err, cap, "old-sdk: takes no settings"); return 1; }
    return 0;
}
static void* create(const sth_host_api* host, char* err, size_t cap) {
    instance* i = calloc(1, sizeof *i);
    if (!i) { snprintf(err, cap, "out of memory"); return NULL; }
    i->host = host;
    return i;
}
static void destroy(void* p) { free(p); }
static void* session_open(void* p, const sth_session_info* s) { (void)p; (void)s; return calloc(1, sizeof(session)); }
static int stream_data(void* p, void* c, const sth_session_info* s, const sth_stream_chunk* k) {
    (void)p; (void)s;
    ((session*)c)->bytes[k->direction] += k->size;
    return 0;
}
static void stream_end(void* p, void* c, const sth_session_info* s, const sth_stream_end* e) {
    instance* i = p;
    session* ss = c;
    char fields[128];
    int n = snprintf(fields, sizeof fields, "{\"direction\":%u,\"bytes\":%llu}",
                     (unsigned)e->direction, (unsigned long long)ss->bytes[e->direction]);
    sth_str type = {"old_sdk_end", 11};
    sth_str f = {fields, (size_t)n};
    i->host->publish_event(i->host->ctx, type, f, s);
    /* The last callback this SDK knows is stream_end: free after both directions. */
    if (++ss->ended == 2) free(ss);
}

__attribute__((visibility("default"))) const sth_plugin_descriptor* stethoscope_plugin_descriptor(void) {
    static sth_plugin_descriptor d;
    d.struct_size = sizeof d;
    d.abi_major = 1;
    d.abi_minor = 0;
    d.kind = 3; /* output */
    d.name = "old-sdk";
    d.version = "1.0.0";
    d.build_id = "C, older SDK";
    d.description = "built against an older, smaller ABI header";
    d.validate_config = validate;
    d.create = create;
    d.destroy = destroy;
    d.session_open = session_open;
    d.stream_data = stream_data;
    d.stream_end = stream_end;
    return &d;
}
