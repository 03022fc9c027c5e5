#include "consumers.hpp"

#include "plugin_instance.hpp"

#include <stethoscope/plugin.hpp>

namespace stethoscope::core {

void Consumers::add(PluginInstance* plugin, bool enabled) {
    const sth_plugin_descriptor* t = &plugin->table();
    enabled_.emplace_back(enabled);
    bool packets = t->session_packet != nullptr;
    bool output = t->kind == STH_KIND_OUTPUT;
    if (packets) packet_takers_.push_back(plugins_.size());
    plugins_.push_back(Entry{plugin, t, plugin->object(), packets, output});
    adds_opened_ = adds_opened_ || t->session_opened_fields != nullptr;
    any_pending_ = any_pending_ || t->session_pending != nullptr;
}

bool Consumers::set_enabled(std::string_view name, bool enabled) {
    bool found = false;
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (plugins_[i].plugin->name() == name) {
            enabled_[i].store(enabled, std::memory_order_relaxed);
            found = true;
        }
    return found;
}

int Consumers::enabled(std::string_view name) const {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (plugins_[i].plugin->name() == name)
            return enabled_[i].load(std::memory_order_relaxed) ? 1 : 0;
    return -1;
}

Consumers::Wants Consumers::session_open(const sth_session_info& s,
                                         std::vector<ConsumerSlot>& slots) {
    slots.assign(plugins_.size(), ConsumerSlot{});
    Wants wants;
    for (size_t i = 0; i < plugins_.size(); ++i) {
        slots[i].active = enabled_[i].load(std::memory_order_relaxed);
        if (!slots[i].active) continue;
        wants.tick = wants.tick || plugins_[i].table->session_tick != nullptr;
        wants.closed_event = wants.closed_event || plugins_[i].table->session_close != nullptr;
        wants.packets = wants.packets || plugins_[i].takes_packets;
        wants.done = wants.done || plugins_[i].table->session_done != nullptr;
        if (plugins_[i].table->session_open != nullptr)
            slots[i].cookie = plugins_[i].table->session_open(plugins_[i].object, &s);
    }
    return wants;
}

void Consumers::session_tick(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                             int64_t now, JsonWriter& fields) {
    struct Ctx {
        JsonWriter* w;
    } ctx{&fields};
    sth_json_sink sink{sizeof(sth_json_sink), &ctx, [](void* c, sth_str key, sth_str value) {
                           static_cast<Ctx*>(c)->w->key(std::string_view(key.data, key.size))
                               .raw(std::string_view(value.data, value.size));
                       }};
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_tick != nullptr)
            plugins_[i].table->session_tick(plugins_[i].object, slots[i].cookie, &s, now, &sink);
}

void Consumers::session_icmp(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                             const sth_icmp_error& icmp) {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_icmp != nullptr)
            plugins_[i].table->session_icmp(plugins_[i].object, slots[i].cookie, &s, &icmp);
}

void Consumers::stream_data(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                            const sth_stream_chunk& chunk) {
    for (size_t i = 0; i < plugins_.size(); ++i) {
        const Entry& e = plugins_[i];
        if (e.table->stream_data == nullptr || !slots[i].active) continue;
        sth_result r = e.table->stream_data(e.object, slots[i].cookie, &s, &chunk);
        if (r == STH_OK) {
            slots[i].delivered[chunk.direction] += chunk.size;
        } else {
            slots[i].dropped[chunk.direction] += chunk.size;
            slots[i].dropped_segments[chunk.direction] += 1;
        }
    }
}

void Consumers::stream_gap(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                           const sth_stream_gap& gap) {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->stream_gap != nullptr)
            plugins_[i].table->stream_gap(plugins_[i].object, slots[i].cookie, &s, &gap);
}

void Consumers::stream_end(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                           const sth_stream_end& end) {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->stream_end != nullptr)
            plugins_[i].table->stream_end(plugins_[i].object, slots[i].cookie, &s, &end);
}

void Consumers::session_packet(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                               const sth_packet& p, const sth_segment& seg) {
    for (size_t i : packet_takers_)  // per packet: only the consumers that take packets
        if (slots[i].active)
            plugins_[i].table->session_packet(plugins_[i].object, slots[i].cookie, &s, &p, &seg);
}

namespace {
struct SinkCtx {
    JsonWriter* w;
};
void sink_put(void* ctx, sth_str key, sth_str value) {
    auto* c = static_cast<SinkCtx*>(ctx);
    c->w->key(std::string_view(key.data, key.size)).raw(std::string_view(value.data, value.size));
}
}  // namespace

void Consumers::opened_fields(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                              JsonWriter& w) {
    SinkCtx ctx{&w};
    sth_json_sink sink{sizeof(sth_json_sink), &ctx, &sink_put};
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_opened_fields != nullptr)
            plugins_[i].table->session_opened_fields(plugins_[i].object, slots[i].cookie, &s,
                                                     &sink);
}

bool Consumers::pending(const sth_session_info& s, std::vector<ConsumerSlot>& slots) {
    if (!any_pending_) return false;
    bool any = false;
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_pending != nullptr &&
            plugins_[i].table->session_pending(plugins_[i].object, slots[i].cookie, &s) != 0)
            any = true;  // ask every one: each may move its own timeouts on
    return any;
}

void Consumers::session_summary(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                                JsonWriter& w) {
    SinkCtx ctx{&w};
    sth_json_sink sink{sizeof(sth_json_sink), &ctx, &sink_put};
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_summary != nullptr &&
            !plugins_[i].is_output)
            plugins_[i].table->session_summary(plugins_[i].object, slots[i].cookie, &s, &sink);
    w.key("outputs").begin_object();
    for (size_t i = 0; i < plugins_.size(); ++i) {
        bool own = plugins_[i].is_output && plugins_[i].table->session_summary != nullptr;
        if (!slots[i].active || (plugins_[i].table->stream_data == nullptr && !own)) continue;
        w.key(plugins_[i].plugin->name()).begin_object();
        if (own) {
            // An output with its own accounting (asynchronous delivery) writes it here.
            plugins_[i].table->session_summary(plugins_[i].object, slots[i].cookie, &s, &sink);
            w.end_object();
            continue;
        }
        for (uint8_t d = 0; d < 2; ++d) {
            w.key(direction_name(d)).begin_object();
            w.key("delivered").value(slots[i].delivered[d]);
            w.key("dropped").value(slots[i].dropped[d]);
            w.key("dropped_segments").value(slots[i].dropped_segments[d]);
            w.end_object();
        }
        w.end_object();
    }
    w.end_object();
}

void Consumers::session_close(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                              const sth_event& closed) {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_close != nullptr)
            plugins_[i].table->session_close(plugins_[i].object, slots[i].cookie, &s, &closed);
}

void Consumers::session_done(const sth_session_info& s, std::vector<ConsumerSlot>& slots) {
    for (size_t i = 0; i < plugins_.size(); ++i)
        if (slots[i].active && plugins_[i].table->session_done != nullptr)
            plugins_[i].table->session_done(plugins_[i].object, slots[i].cookie, &s);
}

}  // namespace stethoscope::core
