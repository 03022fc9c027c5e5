// fuzz_engine: whole Ethernet frames through a real Engine with small caps (64 sessions,
// small memcaps, short timeouts), then close_all. Aimed at session lifecycle bugs:
// eviction, port reuse, RST, FIN grace, idle expiry, memcaps, time going backwards.
//
// Input: [config][record]...
//   config  bits 0-1  capture mode: filter (server port 80), client or server (local
//                     198.18.0.1, port 80 in server mode), % 3
//           bit 2     per-flow memcap 512 instead of 16 KiB
//           bit 3     global memcap 2 KiB instead of 64 KiB
//           (IP fragments: memcap 8 KiB)
//   record  [length: u16 big-endian][control][frame: length bytes, fewer at the end]
//           control bits 0-3  time step from k_time_steps
//                   bit 4     the step goes back in time instead of forward
//                   bits 5-7  n > 0: the frame was cut by the snaplen, len = caplen + 64 n
// Each frame is copied into a buffer of exactly its size that is freed after process(),
// so ASan reports the engine reading past a frame or keeping a pointer into one.
//
// The engine feeds one consumer, an in-process plugin built here (CheckingConsumer), that
// checks what every output plugin relies on (abort on violation):
//   - every callback of a session carries the cookie session_open returned, and nothing
//     arrives after session_close (the cookie is freed there: ASan sees a late use);
//   - per direction, data and gaps start at offset 0 and follow each other back to
//     back; every chunk is readable in full;
//   - nothing arrives for a direction after its stream_end, which comes at most once and
//     whose total_bytes is where that direction's data and gaps ended;
//   - both directions have ended when session_close comes;
//   - after close_all no session is open: every session_open had its session_close.
#include "consumers.hpp"
#include "engine.hpp"
#include "event_bus.hpp"
#include "plugin_host.hpp"
#include "plugin_instance.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <unordered_set>

namespace {

using namespace stethoscope::core;

constexpr int64_t k_us = 1'000, k_ms = 1'000'000, k_s = 1'000'000'000;
// Around the engine's small timeouts: fin grace 0.5 s, idle 60 s.
constexpr int64_t k_time_steps[16] = {
    0,          k_us, 50 * k_us, 250 * k_us, k_ms,          10 * k_ms,     100 * k_ms, 499 * k_ms,
    501 * k_ms, k_s,  2 * k_s,   5 * k_s,    59'999 * k_ms, 60'001 * k_ms, 600 * k_s,  3'600 * k_s};
constexpr uint64_t k_max_sessions = 64;

[[noreturn]] void violation(const char* what, uint64_t a = 0, uint64_t b = 0) {
    std::fprintf(stderr, "fuzz_engine: invariant violated: %s (%llu, %llu)\n", what,
                 static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
    std::abort();
}

// ------------------------------------------------------------------ checking consumer

struct SessionState {
    uint64_t uid = 0;
    uint64_t expected[2] = {0, 0};  // where the next chunk or gap of a direction starts
    bool ended[2] = {false, false};
};

// The plugin object. One per input; sessions are its cookies.
struct CheckingConsumer {
    std::unordered_set<SessionState*> live;
    uint64_t opened = 0, closed = 0;

    SessionState& session(void* cookie, const sth_session_info* info, const char* callback) {
        auto* s = static_cast<SessionState*>(cookie);
        if (live.count(s) == 0)
            violation(callback);  // unknown cookie, or after close
        if (info == nullptr || info->uid != s->uid)
            violation("session info does not match cookie");
        return *s;
    }

    void advance(SessionState& s, uint8_t dir, uint64_t offset, uint64_t size, const char* what) {
        if (dir > 1)
            violation("bad direction", dir);
        if (s.ended[dir]) {
            std::fprintf(stderr,
                         "fuzz_engine: %s at %llu+%llu, direction %u, after its stream_end\n", what,
                         static_cast<unsigned long long>(offset),
                         static_cast<unsigned long long>(size), dir);
            violation("stream callback after stream_end", s.uid, dir);
        }
        if (offset != s.expected[dir])
            violation("stream output not contiguous", offset, s.expected[dir]);
        if (size == 0)
            violation("empty chunk or gap", offset);
        s.expected[dir] = offset + size;
    }
};

CheckingConsumer& consumer(void* instance) {
    return *static_cast<CheckingConsumer*>(instance);
}

void* on_session_open(void* instance, const sth_session_info* info) {
    auto* s = new SessionState;
    s->uid = info->uid;
    consumer(instance).live.insert(s);
    ++consumer(instance).opened;
    return s;
}

sth_result on_stream_data(void* instance, void* cookie, const sth_session_info* info,
                          const sth_stream_chunk* c) {
    SessionState& s = consumer(instance).session(cookie, info, "stream_data for no open session");
    consumer(instance).advance(s, c->direction, c->offset, c->size, "data");
    volatile uint8_t touch = 0;
    for (size_t i = 0; i < c->size; ++i)
        touch = touch ^ c->data[i];  // ASan: readable?
    (void)touch;
    return STH_OK;
}

void on_stream_gap(void* instance, void* cookie, const sth_session_info* info,
                   const sth_stream_gap* g) {
    SessionState& s = consumer(instance).session(cookie, info, "stream_gap for no open session");
    consumer(instance).advance(s, g->direction, g->offset, g->length, "gap");
}

void on_stream_end(void* instance, void* cookie, const sth_session_info* info,
                   const sth_stream_end* e) {
    SessionState& s = consumer(instance).session(cookie, info, "stream_end for no open session");
    if (e->direction > 1)
        violation("bad direction", e->direction);
    if (s.ended[e->direction])
        violation("stream_end twice", s.uid, e->direction);
    if (e->total_bytes != s.expected[e->direction])
        violation("stream_end total_bytes is not where the stream ended", e->total_bytes,
                  s.expected[e->direction]);
    s.ended[e->direction] = true;
}

void on_session_packet(void* instance, void* cookie, const sth_session_info* info,
                       const sth_packet* p, const sth_segment*) {
    consumer(instance).session(cookie, info, "session_packet for no open session");
    volatile uint8_t touch = 0;
    for (uint32_t i = 0; i < p->caplen; ++i)
        touch = touch ^ p->data[i];
    (void)touch;
}

void on_session_close(void* instance, void* cookie, const sth_session_info* info,
                      const sth_event*) {
    CheckingConsumer& c = consumer(instance);
    SessionState& s = c.session(cookie, info, "session_close for no open session");
    if (!s.ended[0] || !s.ended[1])
        violation("session_close before both stream_ends", s.uid);
    c.live.erase(&s);
    ++c.closed;
    delete &s;  // a later use of this cookie is a use-after-free
}

int validate_config(sth_str, sth_str, char*, size_t) {
    return 0;
}
void* create(const sth_host_api*, char*, size_t) {
    return new CheckingConsumer;
}
void destroy(void* instance) {
    CheckingConsumer* c = &consumer(instance);
    for (SessionState* s : c->live)
        delete s;
    delete c;
}

sth_plugin_descriptor checking_descriptor() {
    sth_plugin_descriptor d{};
    d.struct_size = sizeof(sth_plugin_descriptor);
    d.abi_major = STH_ABI_MAJOR;
    d.abi_minor = STH_ABI_MINOR;
    d.kind = STH_KIND_OUTPUT;
    d.name = "fuzz-checker";
    d.version = "1";
    d.build_id = "fuzz";
    d.description = "checks the engine's consumer callbacks";
    d.validate_config = &validate_config;
    d.create = &create;
    d.destroy = &destroy;
    d.session_open = &on_session_open;
    d.stream_data = &on_stream_data;
    d.stream_gap = &on_stream_gap;
    d.stream_end = &on_stream_end;
    d.session_packet = &on_session_packet;
    d.session_close = &on_session_close;
    return d;
}

// The host side a PluginInstance needs; the checker uses none of it. (When HostServices
// gains a method, add an empty override here.)
class NullServices : public HostServices {
public:
    void publish(std::string_view, std::string_view, std::string_view,
                 const sth_session_info*) override {}
    uint32_t counter_register(const std::string&) override { return 0; }
    void counter_add(uint32_t, uint64_t) override {}
    sth_result submit_packet(const sth_packet&, bool) override { return STH_OK; }
    void report_capture_stats(uint64_t, uint64_t, uint64_t) override {}
    bool stop_requested() const override { return false; }
    void idle(int64_t) override {}
};

// ------------------------------------------------------------------ engine

EngineConfig engine_config(uint8_t config) {
    EngineConfig c;
    c.reassembly.max_sessions = k_max_sessions;
    c.reassembly.flow_memcap_bytes = (config & 4) != 0 ? 512 : 16 * 1024;
    c.reassembly.global_memcap_bytes = (config & 8) != 0 ? 2 * 1024 : 64 * 1024;
    c.reassembly.idle_timeout_sec = 60;
    c.reassembly.fin_grace_sec = 0.5;
    c.reassembly.handshake_timeout_sec = 5;
    c.reassembly.fragment_memcap_bytes = 8 * 1024;
    static constexpr CaptureMode k_modes[] = {CaptureMode::filter, CaptureMode::client,
                                              CaptureMode::server};
    c.mode = k_modes[(config & 3) % 3];
    c.server_ports = {80};
    if (c.mode != CaptureMode::filter) {
        c.local.family = 4;
        const uint8_t local_ip[4] = {198, 18, 0, 1};
        std::memcpy(c.local.addr, local_ip, sizeof local_ip);
        c.local.port = c.mode == CaptureMode::server ? 80 : 0;
    }
    return c;
}

// Feeds every record to the engine; returns the number of packets fed.
uint64_t feed(Engine& engine, const uint8_t* data, size_t size) {
    int64_t ts = 1'700'000'000'000'000'000;
    uint64_t fed = 0;
    size_t pos = 0;
    while (pos + 3 <= size) {
        const size_t want = size_t{data[pos]} << 8 | data[pos + 1];
        const uint8_t control = data[pos + 2];
        pos += 3;
        const size_t caplen = want < size - pos ? want : size - pos;
        std::unique_ptr<uint8_t[]> frame(new uint8_t[caplen]);
        if (caplen > 0)
            std::memcpy(frame.get(), data + pos, caplen);
        pos += caplen;

        const int64_t step = k_time_steps[control & 15];
        ts += (control & 16) != 0 ? -step : step;
        sth_packet p{};
        p.struct_size = sizeof(sth_packet);
        p.linktype = 1;  // DLT_EN10MB
        p.ts_ns = ts;
        p.caplen = static_cast<uint32_t>(caplen);
        p.len = static_cast<uint32_t>(caplen) + 64u * (control >> 5);
        p.data = frame.get();
        engine.process(p);
        ++fed;
        if (engine.open_sessions() > k_max_sessions)
            violation("more sessions than max_sessions", engine.open_sessions());
    }
    return fed;
}

void check_stats(const Engine& engine, const CheckingConsumer& c, uint64_t fed) {
    const EngineStats& st = engine.stats();
    if (engine.open_sessions() != 0)
        violation("sessions left after close_all", engine.open_sessions());
    if (st.sessions_opened != st.sessions_closed)
        violation("sessions opened != closed", st.sessions_opened, st.sessions_closed);
    if (!c.live.empty())
        violation("session_open without session_close", c.live.size());
    if (c.opened != st.sessions_opened)
        violation("session_open count", c.opened, st.sessions_opened);
    if (st.packets != fed)
        violation("packet count", st.packets, fed);
    const uint64_t decoded = std::accumulate(st.decode.begin(), st.decode.end(), uint64_t{0});
    if (decoded != fed)
        violation("decode statuses do not add up to packets", decoded, fed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1)
        return 0;
    static NullServices services;
    static const std::shared_ptr<PluginLibrary> library = [] {
        auto lib = std::make_shared<PluginLibrary>();  // not loaded from a file
        lib->file = "fuzz_engine (in-process)";
        lib->table = checking_descriptor();
        lib->plugin_struct_size = sizeof(sth_plugin_descriptor);
        return lib;
    }();
    PluginSection section{"fuzz-checker", STH_KIND_OUTPUT, "io.output.fuzz-checker", "{}", true};
    PluginInstance checker(library, section, services);
    Consumers consumers;
    consumers.add(&checker);
    EventBus bus;
    bus.set_stdout(false);

    Engine engine(engine_config(data[0]), consumers, bus);
    const uint64_t fed = feed(engine, data + 1, size - 1);
    engine.close_all("shutdown");
    check_stats(engine, consumer(checker.object()), fed);
    return 0;
}
