// stethoscope plugin SDK — header-only C++ over the C ABI of abi.h.
//
// A plugin is an ordinary C++ class plus one registration line:
//
//     class MyOutput : public stethoscope::OutputPlugin {
//     public:
//         struct Config { std::string dir; };
//         static Config parse_config(std::string_view json, std::string_view path);  // throws
//         MyOutput(const stethoscope::Host& host, Config config);
//         void* session_open(const sth_session_info& s);                       // optional
//         sth_result stream_data(void* cookie, const sth_session_info& s,
//                                const sth_stream_chunk& c);                   // optional
//         ...
//     };
//     STETHOSCOPE_PLUGIN(MyOutput, "my-output", "1.0.0", "writes streams somewhere")
//
// The macro exports the descriptor; each callback the class defines (detected at compile
// time) is wired into the function table, the others stay NULL so the host never calls
// them. Every trampoline is noexcept: an exception becomes an error return (for create,
// start, run, validate) or is logged through the host and counted (for data callbacks).
// The per-packet callbacks (session_packet, session_tick) declared `noexcept` are called
// without the guard, which saves its cost on every packet.
// No `thread_local` in plugins: in a dlopen'd object it breaks LeakSanitizer (clang 14).
//
// Callback signatures a class may define (all optional except where its kind needs one):
//   void start();                      void stop();
//   void run();                        (inputs: return at end of input, throw on failure)
//   void* session_open(const sth_session_info&);
//   sth_result stream_data(void* cookie, const sth_session_info&, const sth_stream_chunk&);
//   void stream_gap(void* cookie, const sth_session_info&, const sth_stream_gap&);
//   void stream_end(void* cookie, const sth_session_info&, const sth_stream_end&);
//   void session_packet(void* cookie, const sth_session_info&, const sth_packet&,
//                       const sth_segment&);
//   void session_summary(void* cookie, const sth_session_info&, stethoscope::JsonSink&);
//   void session_opened_fields(void* cookie, const sth_session_info&, stethoscope::JsonSink&);
//   bool session_pending(void* cookie, const sth_session_info&);   (async outputs)
//   void session_close(void* cookie, const sth_session_info&, const sth_event&);
//   void session_done(void* cookie, const sth_session_info&);   (since ABI 1.4: frees the
//                     cookie; prefer it to session_close when the event is not needed)
//   void event(const sth_event&);
//   void session_tick(void* cookie, const sth_session_info&, int64_t now_ns,
//                     stethoscope::JsonSink& metrics);                 (since ABI 1.3)
//   void session_icmp(void* cookie, const sth_session_info&, const sth_icmp_error&);
//   std::string capture_filter() const;      (extra BPF the plugin needs; "" for none)
#pragma once

#include <stethoscope/abi.h>
#include <stethoscope/json_writer.hpp>

#include <cstdio>
#include <cstring>
#include <concepts>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace stethoscope {

inline sth_str to_sth(std::string_view s) { return sth_str{s.data(), s.size()}; }
inline std::string_view to_sv(sth_str s) { return std::string_view(s.data, s.size); }

// The one vocabulary for a stream's direction: "requests" (client to server) and
// "responses" (server to client), as in events, file names and subjects.
inline constexpr const char* direction_name(uint8_t direction) {
    return direction == STH_DIR_REQUESTS ? "requests" : "responses";
}

// Thrown by parse_config; the message starts with the JSON path ("io.output.files.dir: ...").
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An exact counter owned by the host, named per plugin instance.
class Counter {
public:
    Counter() = default;
    Counter(const sth_host_api* api, uint32_t handle) : api_(api), handle_(handle) {}
    void add(uint64_t delta = 1) const {
        if (api_ != nullptr) api_->counter_add(api_->ctx, handle_, delta);
    }

private:
    const sth_host_api* api_ = nullptr;
    uint32_t handle_ = 0;
};

// The host services of one plugin instance (see sth_host_api). Cheap to copy.
class Host {
public:
    explicit Host(const sth_host_api* api) : api_(api) {}

    std::string_view instance_name() const { return to_sv(api_->instance_name); }
    std::string_view config_json() const { return to_sv(api_->config_json); }
    std::string_view config_path() const { return to_sv(api_->config_path); }

    void log(sth_log_level level, std::string_view message) const {
        api_->log(api_->ctx, level, to_sth(message));
    }
    void debug(std::string_view m) const { log(STH_LOG_DEBUG, m); }
    void info(std::string_view m) const { log(STH_LOG_INFO, m); }
    void warn(std::string_view m) const { log(STH_LOG_WARNING, m); }
    void error(std::string_view m) const { log(STH_LOG_ERROR, m); }

    // fields_json: a JSON object with the event's own fields, e.g. {"path":"x"}.
    void publish(std::string_view type, std::string_view fields_json,
                 const sth_session_info* session = nullptr) const {
        api_->publish_event(api_->ctx, to_sth(type), to_sth(fields_json), session);
    }
    Counter counter(std::string_view name) const {
        return Counter(api_, api_->counter_register(api_->ctx, to_sth(name)));
    }
    sth_result submit_packet(const sth_packet& p, bool blocking) const {
        return api_->submit_packet(api_->ctx, &p, blocking ? 1 : 0);
    }
    void report_capture_stats(uint64_t received, uint64_t dropped_kernel,
                              uint64_t dropped_interface) const {
        api_->report_capture_stats(api_->ctx, received, dropped_kernel, dropped_interface);
    }
    bool stop_requested() const { return api_->stop_requested(api_->ctx) != 0; }
    // Inputs: nothing arrived up to `now_ns`; a no-op on hosts older than ABI 1.1.
    void idle(int64_t now_ns) const {
        if (STH_HAS_FIELD(api_, sth_host_api, idle) && api_->idle != nullptr)
            api_->idle(api_->ctx, now_ns);
    }
    // True while the input reads a file: outputs wait for room instead of dropping.
    // False on hosts older than ABI 1.2.
    bool offline() const {
        return STH_HAS_FIELD(api_, sth_host_api, offline) && api_->offline != nullptr &&
               api_->offline(api_->ctx) != 0;
    }
    // Control plane (ABI 1.3). Each returns nullopt / an error on hosts older than 1.3.
    // One live session's object (uid != 0) or the array of all of them (uid 0); nullopt
    // when the uid is not a live session or the host is too old.
    std::optional<std::string> sessions_snapshot(uint64_t uid = 0) const {
        std::string out;
        if (!has(&sth_host_api::sessions_snapshot, offsetof(sth_host_api, sessions_snapshot)))
            return std::nullopt;
        if (api_->sessions_snapshot(api_->ctx, uid, &append_text, &out) != 0) return std::nullopt;
        return out;
    }
    std::optional<std::string> stats_snapshot() const {
        return text_of(api_->stats_snapshot, offsetof(sth_host_api, stats_snapshot));
    }
    std::optional<std::string> config_snapshot() const {
        return text_of(api_->config_snapshot, offsetof(sth_host_api, config_snapshot));
    }
    std::optional<std::string> modules_snapshot() const {
        return text_of(api_->modules_snapshot, offsetof(sth_host_api, modules_snapshot));
    }
    // Switches a module for sessions that open afterwards; "" when done, else why not.
    std::string set_module_enabled(std::string_view name, bool enabled) const {
        if (!has(&sth_host_api::module_set_enabled, offsetof(sth_host_api, module_set_enabled)))
            return "the host is older than plugin ABI 1.3";
        char err[512] = {0};
        if (api_->module_set_enabled(api_->ctx, to_sth(name), enabled ? 1 : 0, err, sizeof err) ==
            0)
            return {};
        return err[0] != '\0' ? std::string(err) : std::string("refused");
    }
    // sth_health; STH_HEALTH_CAPTURING on hosts older than 1.3.
    sth_health health() const {
        if (!has(&sth_host_api::health, offsetof(sth_host_api, health)))
            return STH_HEALTH_CAPTURING;
        return static_cast<sth_health>(api_->health(api_->ctx));
    }
    // A plugin with event(): whether it wants events now (the default is yes). While no
    // sink wants them the host builds none. A no-op on hosts older than 1.4.
    void events_wanted(bool wanted) const {
        if (has(&sth_host_api::events_wanted, offsetof(sth_host_api, events_wanted)))
            api_->events_wanted(api_->ctx, wanted ? 1 : 0);
    }
    const sth_host_api* raw() const { return api_; }

private:
    static void append_text(void* user, sth_str text) {
        static_cast<std::string*>(user)->append(text.data, text.size);
    }
    template <class M>
    bool has(M member, size_t offset) const {
        return api_->struct_size >= offset + sizeof(api_->*member) && api_->*member != nullptr;
    }
    std::optional<std::string> text_of(void (*const& fn)(void*, sth_text_fn, void*),
                                       size_t offset) const {
        if (api_->struct_size < offset + sizeof(fn) || fn == nullptr) return std::nullopt;
        std::string out;
        fn(api_->ctx, &append_text, &out);
        return out;
    }

    const sth_host_api* api_;
};

// Where a session_summary writes its results (keys inside session_closed).
class JsonSink {
public:
    explicit JsonSink(const sth_json_sink* sink) : sink_(sink) {}
    void put(std::string_view key, std::string_view json_value) const {
        sink_->put(sink_->ctx, to_sth(key), to_sth(json_value));
    }

private:
    const sth_json_sink* sink_;
};

// Base classes: they fix the kind and keep the Host. Derive from exactly one.
class PluginBase {
public:
    explicit PluginBase(const Host& host) : host_(host) {}
    const Host& host() const { return host_; }

protected:
    Host host_;
};
class InputPlugin : public PluginBase {
public:
    static constexpr sth_plugin_kind kind = STH_KIND_INPUT;
    using PluginBase::PluginBase;
};
class AnalyzerPlugin : public PluginBase {
public:
    static constexpr sth_plugin_kind kind = STH_KIND_ANALYZER;
    using PluginBase::PluginBase;
};
class OutputPlugin : public PluginBase {
public:
    static constexpr sth_plugin_kind kind = STH_KIND_OUTPUT;
    using PluginBase::PluginBase;
};
class ControlPlugin : public PluginBase {
public:
    static constexpr sth_plugin_kind kind = STH_KIND_CONTROL;
    using PluginBase::PluginBase;
};

namespace detail {

inline void write_error(char* err, size_t cap, std::string_view msg) noexcept {
    if (err == nullptr || cap == 0) return;
    size_t n = msg.size() < cap - 1 ? msg.size() : cap - 1;
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

// Runs f, turning any exception into an error message; returns false on exception.
template <class F>
bool guarded(char* err, size_t cap, F&& f) noexcept {
    try {
        f();
        return true;
    } catch (const std::exception& e) {
        write_error(err, cap, e.what());
    } catch (...) {
        write_error(err, cap, "unknown exception");
    }
    return false;
}

// For callbacks without an error channel: the exception is logged through the host.
// The fast path is the call itself (a try block costs nothing until something throws);
// the report is out of line.
template <class P>
[[gnu::noinline, gnu::cold]] void report_callback_failure(P* plugin, const char* what,
                                                          const char* why) noexcept {
    try {
        plugin->host().error(std::string(what) + " failed: " + why);
    } catch (...) {
    }
}
template <class P, class F>
inline void guarded_callback(P* plugin, const char* what, F&& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        report_callback_failure(plugin, what, e.what());
    } catch (...) {
        report_callback_failure(plugin, what, "unknown exception");
    }
}

template <class P>
struct Trampolines {
    static int validate(sth_str json, sth_str path, char* err, size_t cap) noexcept {
        return guarded(err, cap, [&] { (void)P::parse_config(to_sv(json), to_sv(path)); }) ? 0
                                                                                            : 1;
    }
    static void* create(const sth_host_api* api, char* err, size_t cap) noexcept {
        P* made = nullptr;
        guarded(err, cap, [&] {
            Host host(api);
            made = new P(host, P::parse_config(host.config_json(), host.config_path()));
        });
        return made;
    }
    static int start(void* self, char* err, size_t cap) noexcept {
        if constexpr (requires(P& p) { p.start(); }) {
            return guarded(err, cap, [&] { static_cast<P*>(self)->start(); }) ? 0 : 1;
        } else {
            (void)self, (void)err, (void)cap;
            return 0;
        }
    }
    static void stop(void* self) noexcept {
        if constexpr (requires(P& p) { p.stop(); }) {
            P* p = static_cast<P*>(self);
            guarded_callback(p, "stop", [&] { p->stop(); });
        } else {
            (void)self;
        }
    }
    static void destroy(void* self) noexcept { delete static_cast<P*>(self); }
    static int run(void* self, char* err, size_t cap) noexcept {
        return guarded(err, cap, [&] { static_cast<P*>(self)->run(); }) ? 0 : 1;
    }
    static void* session_open(void* self, const sth_session_info* s) noexcept {
        P* p = static_cast<P*>(self);
        void* cookie = nullptr;
        guarded_callback(p, "session_open", [&] { cookie = p->session_open(*s); });
        return cookie;
    }
    static sth_result stream_data(void* self, void* c, const sth_session_info* s,
                                  const sth_stream_chunk* chunk) noexcept {
        P* p = static_cast<P*>(self);
        sth_result r = STH_FAILED;
        guarded_callback(p, "stream_data", [&] { r = p->stream_data(c, *s, *chunk); });
        return r;
    }
    static void stream_gap(void* self, void* c, const sth_session_info* s,
                           const sth_stream_gap* g) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "stream_gap", [&] { p->stream_gap(c, *s, *g); });
    }
    static void stream_end(void* self, void* c, const sth_session_info* s,
                           const sth_stream_end* e) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "stream_end", [&] { p->stream_end(c, *s, *e); });
    }
    static void session_packet(void* self, void* c, const sth_session_info* s,
                               const sth_packet* pk, const sth_segment* seg) noexcept {
        P* p = static_cast<P*>(self);
        // Per packet: a noexcept callback is called directly, without the guard.
        if constexpr (noexcept(p->session_packet(c, *s, *pk, *seg)))
            p->session_packet(c, *s, *pk, *seg);
        else
            guarded_callback(p, "session_packet", [&] { p->session_packet(c, *s, *pk, *seg); });
    }
    static void session_summary(void* self, void* c, const sth_session_info* s,
                                const sth_json_sink* sink) noexcept {
        P* p = static_cast<P*>(self);
        JsonSink js(sink);
        guarded_callback(p, "session_summary", [&] { p->session_summary(c, *s, js); });
    }
    static void session_close(void* self, void* c, const sth_session_info* s,
                              const sth_event* e) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "session_close", [&] { p->session_close(c, *s, *e); });
    }
    static void session_done(void* self, void* c, const sth_session_info* s) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "session_done", [&] { p->session_done(c, *s); });
    }
    static void session_opened_fields(void* self, void* c, const sth_session_info* s,
                                      const sth_json_sink* sink) noexcept {
        P* p = static_cast<P*>(self);
        JsonSink js(sink);
        guarded_callback(p, "session_opened_fields", [&] { p->session_opened_fields(c, *s, js); });
    }
    static int session_pending(void* self, void* c, const sth_session_info* s) noexcept {
        P* p = static_cast<P*>(self);
        bool pending = false;  // a throwing check must not hold the session forever
        guarded_callback(p, "session_pending", [&] { pending = p->session_pending(c, *s); });
        return pending ? 1 : 0;
    }
    static void event(void* self, const sth_event* e) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "event", [&] { p->event(*e); });
    }
    static void session_tick(void* self, void* c, const sth_session_info* s, int64_t now,
                             const sth_json_sink* sink) noexcept {
        P* p = static_cast<P*>(self);
        JsonSink js(sink);
        if constexpr (noexcept(p->session_tick(c, *s, now, js)))
            p->session_tick(c, *s, now, js);
        else
            guarded_callback(p, "session_tick", [&] { p->session_tick(c, *s, now, js); });
    }
    static void session_icmp(void* self, void* c, const sth_session_info* s,
                             const sth_icmp_error* icmp) noexcept {
        P* p = static_cast<P*>(self);
        guarded_callback(p, "session_icmp", [&] { p->session_icmp(c, *s, *icmp); });
    }
    static const char* capture_filter(void* self) noexcept {
        P* p = static_cast<P*>(self);
        // Kept per instance type; called once per instance on the main thread.
        static std::string filter;
        guarded_callback(p, "capture_filter", [&] { filter = p->capture_filter(); });
        return filter.c_str();
    }
};

template <class P>
const sth_plugin_descriptor* make_descriptor(const char* name, const char* version,
                                             const char* description) noexcept {
    using T = Trampolines<P>;
    static const sth_plugin_descriptor d = [&] {
        sth_plugin_descriptor x{};
        x.struct_size = sizeof(sth_plugin_descriptor);
        x.abi_major = STH_ABI_MAJOR;
        x.abi_minor = STH_ABI_MINOR;
        x.kind = static_cast<uint32_t>(P::kind);
        x.name = name;
        x.version = version;
        x.build_id = "built " __DATE__ " " __TIME__
#if defined(__clang__)
                     " clang " __clang_version__;
#elif defined(__GNUC__)
                     " gcc " __VERSION__;
#else
                     "";
#endif
        x.description = description;
        x.validate_config = &T::validate;
        x.create = &T::create;
        x.start = &T::start;
        x.stop = &T::stop;
        x.destroy = &T::destroy;
        if constexpr (requires(P& p) { p.run(); }) x.run = &T::run;
        if constexpr (requires(P& p, const sth_session_info& s) { p.session_open(s); })
            x.session_open = &T::session_open;
        if constexpr (requires(P& p, void* c, const sth_session_info& s,
                               const sth_stream_chunk& k) { p.stream_data(c, s, k); })
            x.stream_data = &T::stream_data;
        if constexpr (requires(P& p, void* c, const sth_session_info& s,
                               const sth_stream_gap& g) { p.stream_gap(c, s, g); })
            x.stream_gap = &T::stream_gap;
        if constexpr (requires(P& p, void* c, const sth_session_info& s,
                               const sth_stream_end& e) { p.stream_end(c, s, e); })
            x.stream_end = &T::stream_end;
        if constexpr (requires(P& p, void* c, const sth_session_info& s, const sth_packet& k,
                               const sth_segment& g) { p.session_packet(c, s, k, g); })
            x.session_packet = &T::session_packet;
        if constexpr (requires(P& p, void* c, const sth_session_info& s, JsonSink& j) {
                          p.session_summary(c, s, j);
                      })
            x.session_summary = &T::session_summary;
        if constexpr (requires(P& p, void* c, const sth_session_info& s, const sth_event& e) {
                          p.session_close(c, s, e);
                      })
            x.session_close = &T::session_close;
        if constexpr (requires(P& p, void* c, const sth_session_info& s) {
                          p.session_done(c, s);
                      })
            x.session_done = &T::session_done;
        if constexpr (requires(P& p, const sth_event& e) { p.event(e); }) x.event = &T::event;
        if constexpr (requires(P& p, void* c, const sth_session_info& s, JsonSink& j) {
                          p.session_opened_fields(c, s, j);
                      })
            x.session_opened_fields = &T::session_opened_fields;
        if constexpr (requires(P& p, void* c, const sth_session_info& s) {
                          { p.session_pending(c, s) } -> std::convertible_to<bool>;
                      })
            x.session_pending = &T::session_pending;
        if constexpr (requires(P& p, void* c, const sth_session_info& s, int64_t now,
                               JsonSink& j) { p.session_tick(c, s, now, j); })
            x.session_tick = &T::session_tick;
        if constexpr (requires(P& p, void* c, const sth_session_info& s,
                               const sth_icmp_error& i) { p.session_icmp(c, s, i); })
            x.session_icmp = &T::session_icmp;
        if constexpr (requires(const P& p) {
                          { p.capture_filter() } -> std::convertible_to<std::string>;
                      })
            x.capture_filter = &T::capture_filter;
        return x;
    }();
    return &d;
}

}  // namespace detail
}  // namespace stethoscope

#if defined(_WIN32)
#define STETHOSCOPE_EXPORT extern "C" __declspec(dllexport)
#else
#define STETHOSCOPE_EXPORT extern "C" __attribute__((visibility("default")))
#endif

// Registers CLASS as this shared object's plugin. Use once per plugin, in plugin.cpp.
#define STETHOSCOPE_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION)                              \
    STETHOSCOPE_EXPORT const sth_plugin_descriptor* stethoscope_plugin_descriptor(void) {  \
        return ::stethoscope::detail::make_descriptor<CLASS>(NAME, VERSION, DESCRIPTION); \
    }
