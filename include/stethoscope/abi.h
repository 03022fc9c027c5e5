/*
 * stethoscope plugin ABI — the C boundary between the core and every plugin.
 *
 * Why C: a plugin built against SDK 1.x must keep loading in every later 1.y, built by
 * any compiler. So the boundary is plain structs of POD data and function pointers.
 *
 * Rules that keep the promise (read before changing anything here):
 *  - Every struct that crosses the boundary starts with `uint32_t struct_size`, set by
 *    whoever fills it in. A reader touches a field only when STH_HAS_FIELD says the
 *    writer's struct was large enough to contain it.
 *  - Structs only grow at the end. Fields are never removed, reordered or retyped.
 *  - Adding fields is a minor version bump (STH_ABI_MINOR). Anything else is a major
 *    bump, which old plugins cannot survive: the host refuses them by name.
 *  - tests/unit/abi_version_test.cpp hashes this file; changing it without updating
 *    STH_ABI_HEADER_REVISION fails the build's tests, as a reminder to bump the version.
 *  - Strings are pointer + length, UTF-8, not owned by the receiver and valid only for
 *    the duration of the call. Copy what you keep.
 *  - No function on either side lets a C++ exception escape; errors are return codes
 *    with a message written into a caller-provided buffer.
 *
 * Threading: the callbacks of one session come from one thread, in order. Callbacks of
 * different sessions may run concurrently on different worker threads, so a plugin's
 * shared state needs its own synchronisation; per-session state belongs in the session
 * cookie returned by `session_open`, which needs none.
 */
#ifndef STETHOSCOPE_ABI_H
#define STETHOSCOPE_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STH_ABI_MAJOR 1
#define STH_ABI_MINOR 4
/* Bumped with every edit of this file; checked by abi_version_test against its hash. */
#define STH_ABI_HEADER_REVISION 5

/* The one exported symbol of every plugin: `const sth_plugin_descriptor* NAME(void)`. */
#define STH_PLUGIN_ENTRY_SYMBOL "stethoscope_plugin_descriptor"

/* True when the struct at `ptr`, as filled in by its writer, contains `field`. */
#define STH_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

typedef enum sth_plugin_kind {
    STH_KIND_INPUT = 1,    /* produces packets (pcap-live, pcap-file) */
    STH_KIND_ANALYZER = 2, /* consumes segments, adds results to sessions (mss, rtt-bdp) */
    STH_KIND_OUTPUT = 3,   /* consumes streams/packets/events (listener, files, pcap) */
    STH_KIND_CONTROL = 4   /* consumes events, serves the control plane (http) */
} sth_plugin_kind;

typedef enum sth_log_level {
    STH_LOG_TRACE = 0,
    STH_LOG_DEBUG = 1,
    STH_LOG_INFO = 2,
    STH_LOG_WARNING = 3,
    STH_LOG_ERROR = 4
} sth_log_level;

/* Result of handing data to a plugin or to the host. */
typedef enum sth_result {
    STH_OK = 0,        /* delivered */
    STH_DROPPED = 1,   /* not delivered, counted, the caller carries on */
    STH_FAILED = 2,    /* broken: the caller should stop using this object */
    STH_STOPPED = 3    /* the host asked to stop (inputs: leave run()) */
} sth_result;

typedef struct sth_str {
    const char* data;
    size_t size;
} sth_str;

/* A captured packet as the input plugin saw it. `data` holds `caplen` bytes of an
 * original `len`-byte frame of link type `linktype` (a libpcap DLT_* value). */
typedef struct sth_packet {
    uint32_t struct_size;
    int32_t linktype;
    int64_t ts_ns; /* capture time, nanoseconds since the Unix epoch */
    uint32_t caplen;
    uint32_t len;
    const uint8_t* data;
    uint32_t interface_id; /* pcapng interface index, 0 otherwise */
} sth_packet;

/* One end of a TCP connection. `addr` holds 4 (IPv4) or 16 (IPv6) bytes, network order. */
typedef struct sth_endpoint {
    uint8_t family; /* 4 or 6 */
    uint8_t addr[16];
    uint16_t port;  /* host order */
} sth_endpoint;

typedef enum sth_direction {
    STH_DIR_REQUESTS = 0,  /* bytes sent by the client (the side that opened) */
    STH_DIR_RESPONSES = 1  /* bytes sent back by the server */
} sth_direction;

/* What every callback about a session gets. Valid for the duration of the call. */
typedef struct sth_session_info {
    uint32_t struct_size;
    uint64_t uid;        /* unique within the process run */
    uint16_t session_id; /* the client's source port, as in the prototype */
    sth_endpoint client;
    sth_endpoint server;
    int64_t start_ts_ns;
    uint8_t saw_syn;     /* 1 when the handshake was captured, 0 for mid-stream pickup */
} sth_session_info;

/* In-order stream bytes: `size` bytes at stream offset `offset` (0 = byte after SYN). */
typedef struct sth_stream_chunk {
    uint32_t struct_size;
    uint8_t direction; /* sth_direction */
    uint64_t offset;
    const uint8_t* data;
    size_t size;
    int64_t ts_ns; /* capture time of the packet that completed this chunk */
} sth_stream_chunk;

/* A hole in a stream: bytes the sniffer never saw. Nothing is invented for them. */
typedef struct sth_stream_gap {
    uint32_t struct_size;
    uint8_t direction;
    uint64_t offset;
    uint64_t length;
    sth_str reason; /* "ack_past_hole", "memcap", "close", "truncated" */
    int64_t ts_ns;
} sth_stream_gap;

/* The end of one direction of a stream (FIN, RST, timeout, shutdown). */
typedef struct sth_stream_end {
    uint32_t struct_size;
    uint8_t direction;
    uint64_t total_bytes; /* bytes delivered + gap bytes */
    sth_str reason;       /* "fin", "rst", "idle", "shutdown", "evicted" */
    int64_t ts_ns;
} sth_stream_end;

/* Classification bits of a segment, aligned with Wireshark's tcp.analysis flags. */
enum {
    STH_SEG_RETRANSMISSION = 1u << 0,
    STH_SEG_FAST_RETRANSMISSION = 1u << 1,
    STH_SEG_SPURIOUS_RETRANSMISSION = 1u << 2,
    STH_SEG_OUT_OF_ORDER = 1u << 3,
    STH_SEG_LOST_SEGMENT = 1u << 4,
    STH_SEG_DUPLICATE_ACK = 1u << 5,
    STH_SEG_ZERO_WINDOW = 1u << 6,
    STH_SEG_WINDOW_FULL = 1u << 7,
    STH_SEG_KEEP_ALIVE = 1u << 8,
    STH_SEG_BAD_CHECKSUM = 1u << 9
};

/* The decoded TCP header of one packet of a session, as seen by the engine. */
typedef struct sth_segment {
    uint32_t struct_size;
    uint8_t direction;   /* sth_direction of the sender */
    uint8_t flags;       /* TCP flags byte: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 */
    uint32_t seq;
    uint32_t ack;
    uint32_t window;     /* scaled when the handshake was seen */
    uint32_t payload_len;
    uint32_t ip_total_len; /* IP packet length on the wire (MTU analysis) */
    uint32_t analysis;   /* STH_SEG_* bits */
    int64_t ts_ns;
    /* Since 1.3 (check STH_HAS_FIELD): the segment's own TCP options and raw window. */
    uint16_t raw_window;     /* the window field as on the wire, unscaled */
    int8_t window_shift;     /* the shift applied to `window`; -1 when the scale is unknown
                                (no handshake seen): `window` is then the raw value */
    uint8_t has_timestamps;  /* 1 when the segment carries the timestamps option */
    uint32_t ts_val;
    uint32_t ts_ecr;
    uint16_t mss;            /* MSS option (SYN, SYN-ACK), 0 when absent */
    int8_t window_scale;     /* window scale option (SYN, SYN-ACK), -1 when absent */
    uint8_t sack_permitted;  /* SACK-permitted option (SYN, SYN-ACK) */
    uint8_t sack_blocks;     /* number of SACK blocks the segment carries */
    uint8_t ip_version;      /* 4 or 6 */
    uint16_t ip_header_len;  /* IP header bytes, extension headers included */
} sth_segment;

/* Since 1.3. An ICMP error (IPv4 destination unreachable / fragmentation needed, time
 * exceeded; ICMPv6 packet too big, ...) whose quoted packet belongs to a live session. */
typedef struct sth_icmp_error {
    uint32_t struct_size;
    uint8_t direction;   /* sth_direction of the sender of the quoted (original) packet */
    uint8_t ip_version;  /* 4: ICMP, 6: ICMPv6 */
    uint8_t type;
    uint8_t code;
    uint32_t mtu;        /* next-hop MTU (v4 type 3 code 4) or packet-too-big MTU, else 0 */
    uint32_t quoted_seq; /* sequence number of the quoted TCP header */
    sth_endpoint reporter; /* who sent the error (a router on the path, or the peer) */
    int64_t ts_ns;
} sth_icmp_error;

/* Since 1.3. Receives text the host produces for the caller (snapshots); the text is
 * valid during the call only. */
typedef void (*sth_text_fn)(void* user, sth_str text);

/* Since 1.3. What the capture is doing, for health checks. */
typedef enum sth_health {
    STH_HEALTH_STARTING = 0,  /* plugins are starting, no packet read yet */
    STH_HEALTH_CAPTURING = 1, /* the input runs */
    STH_HEALTH_ENDED = 2,     /* the input ended normally (end of file, stop requested) */
    STH_HEALTH_FAILED = 3     /* the input failed (interface gone, corrupt file, ...) */
} sth_health;

/* An event: one JSON object, the same text that goes to the control plane and logs. */
typedef struct sth_event {
    uint32_t struct_size;
    sth_str type;   /* "session_opened", "gap", ... */
    sth_str json;   /* the whole object, no trailing newline */
    uint64_t uid;   /* 0 when the event is not about one session */
} sth_event;

/* Where an analyzer writes its results into a session_closed event. */
typedef struct sth_json_sink {
    uint32_t struct_size;
    void* ctx;
    /* Adds `"key": <json_value>` to the object; json_value must be valid JSON. */
    void (*put)(void* ctx, sth_str key, sth_str json_value);
} sth_json_sink;

/* Services the host gives each plugin instance. Valid from create() until destroy(). */
typedef struct sth_host_api {
    uint32_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void* ctx; /* pass back to every function below */
    sth_str instance_name; /* the plugin's name as configured */
    sth_str config_json;   /* the plugin's own config section (comments removed) */
    sth_str config_path;   /* its JSON path, for error messages: "io.output.files" */
    void (*log)(void* ctx, sth_log_level level, sth_str message);
    /* Publishes an event; `fields_json` is a JSON object whose members are added to the
     * common ones (ts, event, and session/uid/client/server when `session` is given). */
    void (*publish_event)(void* ctx, sth_str type, sth_str fields_json,
                          const sth_session_info* session);
    /* Counters are named per instance ("files.write_errors") and exact. The returned
     * handle is stable for the instance's life. */
    uint32_t (*counter_register)(void* ctx, sth_str name);
    void (*counter_add)(void* ctx, uint32_t handle, uint64_t delta);
    /* Inputs only: hands one packet to the engine. Returns STH_OK, STH_DROPPED (live
     * capture, queue full: counted by the host), or STH_STOPPED (leave run()). With
     * `blocking` set (offline input) it waits for room instead of dropping. */
    sth_result (*submit_packet)(void* ctx, const sth_packet* packet, int blocking);
    /* Inputs only: reports capture statistics the host cannot see itself. */
    void (*report_capture_stats)(void* ctx, uint64_t received, uint64_t dropped_kernel,
                                 uint64_t dropped_interface);
    /* 1 once the host wants every plugin to wind down (signal, end of input). */
    int (*stop_requested)(void* ctx);
    /* Since 1.1. Inputs only (live captures): no packet arrived up to `now_ns` (Unix
     * nanoseconds), so the engines' clocks may move on and timeouts fire on a quiet
     * link. Call it from the thread that submits packets, e.g. after an idle poll. */
    void (*idle)(void* ctx, int64_t now_ns);
    /* Since 1.2. 1 while the input reads a file (it submits packets blocking): nothing
     * may be dropped, so an output whose queue is full waits for room instead. 0 for a
     * live capture, where the capture must never wait and a full queue drops. */
    int (*offline)(void* ctx);

    /* Since 1.3: what a control plane needs from the core. Every snapshot is JSON built
     * by the host and handed to `fn` once; they may be called from any thread. */
    /* uid 0: a JSON array of every live session; else that session's object. A live
     * session's object is its session_closed record so far (counts, analyzers, outputs)
     * plus "state" and "age_sec". Returns 0, or 1 when no live session has that uid.
     * Sessions are read by their workers, so the answer may lag by up to ~250 ms. */
    int (*sessions_snapshot)(void* ctx, uint64_t uid, sth_text_fn fn, void* user);
    /* The capture_stats object as of now. */
    void (*stats_snapshot)(void* ctx, sth_text_fn fn, void* user);
    /* The effective config (defaults filled in, secrets masked as "***"). */
    void (*config_snapshot)(void* ctx, sth_text_fn fn, void* user);
    /* A JSON array: {"name","kind","enabled","path","version"} per loaded module. */
    void (*modules_snapshot)(void* ctx, sth_text_fn fn, void* user);
    /* Switches an analyzer or output on or off for sessions that open afterwards.
     * 0 = done; else `err` says why (unknown module, not switchable). */
    int (*module_set_enabled)(void* ctx, sth_str name, int enabled, char* err, size_t err_cap);
    /* sth_health of the capture. */
    int (*health)(void* ctx);
    /* Since 1.4. A plugin with an `event` callback says whether it wants events now (1,
     * the default) or not (0): the control plane while no client follows /events. While
     * nothing wants events (no stdout, no wanting plugin, no debug log) the workers do not
     * build them at all, so an idle watcher costs the capture nothing. Any thread. */
    void (*events_wanted)(void* ctx, int wanted);
} sth_host_api;

/* The plugin's function table. Entries a kind does not use are NULL. Every function is
 * called by the host only; none may throw. Error-returning functions write a message of
 * at most `err_cap` bytes (NUL-terminated) into `err`. */
typedef struct sth_plugin_descriptor {
    uint32_t struct_size;
    uint32_t abi_major; /* must equal the host's STH_ABI_MAJOR */
    uint32_t abi_minor; /* may be lower than the host's, never higher */
    uint32_t kind;      /* sth_plugin_kind */
    const char* name;   /* the name used in the config, e.g. "files" */
    const char* version;
    const char* build_id;    /* compiler and build date, for --list-plugins */
    const char* description; /* one line */

    /* Checks the plugin's config section without creating anything. 0 = valid. */
    int (*validate_config)(sth_str config_json, sth_str config_path, char* err, size_t err_cap);
    /* Creates an instance. NULL on failure with `err` filled in. */
    void* (*create)(const sth_host_api* host, char* err, size_t err_cap);
    /* Starts background work (threads, sockets). 0 = started. */
    int (*start)(void* instance, char* err, size_t err_cap);
    /* Stops background work and flushes; after it returns no callback of the instance
     * runs on any plugin-owned thread. The host calls it once, before destroy. */
    void (*stop)(void* instance);
    void (*destroy)(void* instance);

    /* Inputs: produces packets through host->submit_packet until the input ends or
     * stop_requested(). Returns 0 at a normal end, non-zero (with `err`) on failure. */
    int (*run)(void* instance, char* err, size_t err_cap);

    /* Consumers (analyzer, output, control). The returned cookie (may be NULL) is passed
     * back with every later callback of that session. */
    void* (*session_open)(void* instance, const sth_session_info* session);
    sth_result (*stream_data)(void* instance, void* cookie, const sth_session_info* session,
                              const sth_stream_chunk* chunk);
    void (*stream_gap)(void* instance, void* cookie, const sth_session_info* session,
                       const sth_stream_gap* gap);
    void (*stream_end)(void* instance, void* cookie, const sth_session_info* session,
                       const sth_stream_end* end);
    /* Raw packets of a session, in capture order (pcap writer, analyzers). */
    void (*session_packet)(void* instance, void* cookie, const sth_session_info* session,
                           const sth_packet* packet, const sth_segment* segment);
    /* Adds results to the session_closed event, called just before it. An analyzer's
     * keys go at the event's top level; an output's keys go inside its own object,
     * "outputs": {"<name>": {...}} (without this callback the host writes the output's
     * accepted and dropped counts there itself). Since 1.3 it is also called for
     * snapshots of a live session (the control plane's /sessions) — never concurrently
     * with the session's other callbacks, though possibly from another thread while the
     * session's worker is idle: it must only read the session's state. */
    void (*session_summary)(void* instance, void* cookie, const sth_session_info* session,
                            const sth_json_sink* sink);
    /* The session is over; `closed_event` is its complete session_closed event. The
     * cookie is not used again. */
    void (*session_close)(void* instance, void* cookie, const sth_session_info* session,
                          const sth_event* closed_event);
    /* Every event the host publishes (control plane, loggers). Since 1.3 events come
     * from one event thread, in publication order; the callback must not block (queue
     * the event and return): a slow one delays every sink. */
    void (*event)(void* instance, const sth_event* event);

    /* Since 1.2. Outputs: adds fields to the session_opened event (e.g. the listen ports
     * a listener opened for the session). Called right after session_open. */
    void (*session_opened_fields)(void* instance, void* cookie, const sth_session_info* session,
                                  const sth_json_sink* sink);
    /* Since 1.2. Outputs that deliver asynchronously: non-zero while bytes of the session
     * are still on their way (queued for a socket, or held for a consumer not yet come).
     * Asked after both stream_end calls; while any consumer answers non-zero the host
     * holds back session_summary, session_close and the session_closed event and asks
     * again about every 100 ms, so the event carries final delivery counts. The plugin
     * bounds the wait itself (its own timeouts): the host waits as long as it says. */
    int (*session_pending)(void* instance, void* cookie, const sth_session_info* session);

    /* Since 1.3. Consumers: called for every live session about every 250 ms of capture
     * time (on a quiet live link, of wall-clock time), on the session's worker, so time
     * can pass without packets (stall detection, periodic metrics). Keys put into
     * `metrics` go into one `metrics` event for the session; put nothing when there is
     * nothing to report (no event is published then). */
    void (*session_tick)(void* instance, void* cookie, const sth_session_info* session,
                         int64_t now_ns, const sth_json_sink* metrics);
    /* Since 1.3. An ICMP error quoting one of the session's packets (MTU discovery). */
    void (*session_icmp)(void* instance, void* cookie, const sth_session_info* session,
                         const sth_icmp_error* icmp);
    /* Since 1.3. Consumers: a BPF expression whose packets the plugin needs besides the
     * capture's own (e.g. ICMP errors); the host ORs it into a non-empty capture filter.
     * Called once on the main thread after create, before start; NULL or "" for none.
     * The host copies the string at once. */
    const char* (*capture_filter)(void* instance);
    /* Since 1.4. The session is over and its cookie is not used again. Called last, after
     * session_close when the plugin has that too. A plugin that only needs to free its
     * per-session state implements this instead of session_close: the host then builds
     * the session_closed event only when some sink reads it. */
    void (*session_done)(void* instance, void* cookie, const sth_session_info* session);
} sth_plugin_descriptor;

typedef const sth_plugin_descriptor* (*sth_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* STETHOSCOPE_ABI_H */
