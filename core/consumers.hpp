// Fan-out of session callbacks to the consumer plugins (analyzers, outputs, control),
// with the per-session, per-consumer state: the plugin's cookie and the exact count of
// bytes delivered and dropped per direction (delivered + dropped == reassembled).
// Run-time switches: every consumer has an enabled flag (control plane); a session takes
// the consumers enabled when it opens and keeps them to its end, so switching never cuts
// a stream in half. A slot whose consumer was off at open is inactive: no callback.
// The tables are the host's full-size copies (PluginLibrary::table): entries an older
// plugin's descriptor did not have are NULL there, so a NULL check is all it takes.
#pragma once

#include <stethoscope/abi.h>

#include <stethoscope/json_writer.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace stethoscope::core {

class PluginInstance;

struct ConsumerSlot {
    void* cookie = nullptr;
    bool active = false;  // the consumer was enabled when the session opened
    uint64_t delivered[2] = {0, 0};
    uint64_t dropped[2] = {0, 0};
    uint64_t dropped_segments[2] = {0, 0};
};

class Consumers {
public:
    // Start-up only (main thread), before any session.
    void add(PluginInstance* plugin, bool enabled = true);
    size_t size() const { return plugins_.size(); }
    // Any thread. False when no consumer has that name.
    bool set_enabled(std::string_view name, bool enabled);
    // Any thread: -1 unknown name, else 0/1.
    int enabled(std::string_view name) const;

    // True when some consumer adds fields to session_opened.
    bool adds_opened_fields() const { return adds_opened_; }

    // What the session's active consumers take, decided when it opens.
    struct Wants {
        bool tick = false;          // session_tick
        bool closed_event = false;  // session_close (the session_closed event)
        bool packets = false;       // session_packet
        bool done = false;          // session_done
    };
    Wants session_open(const sth_session_info& s, std::vector<ConsumerSlot>& slots);
    void stream_data(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                     const sth_stream_chunk& chunk);
    void stream_gap(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                    const sth_stream_gap& gap);
    void stream_end(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                    const sth_stream_end& end);
    void session_packet(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                        const sth_packet& p, const sth_segment& seg);
    // Adds the consumers' fields to a session_opened event (listener ports).
    void opened_fields(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                       JsonWriter& w);
    // True while some output still has bytes of the session on their way.
    bool pending(const sth_session_info& s, std::vector<ConsumerSlot>& slots);
    // Adds analyzer results and the per-output delivery counts to a session_closed event.
    void session_summary(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                         JsonWriter& w);
    void session_close(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                       const sth_event& closed);
    // The session is over (after session_close, whether or not its event was built).
    void session_done(const sth_session_info& s, std::vector<ConsumerSlot>& slots);
    // Collects the consumers' metrics keys (`"k":v,...`) into `fields`.
    void session_tick(const sth_session_info& s, std::vector<ConsumerSlot>& slots, int64_t now,
                      JsonWriter& fields);
    void session_icmp(const sth_session_info& s, std::vector<ConsumerSlot>& slots,
                      const sth_icmp_error& icmp);

private:
    struct Entry {
        PluginInstance* plugin;
        const sth_plugin_descriptor* table;
        void* object;
        bool takes_packets;
        bool is_output;
    };
    std::vector<Entry> plugins_;
    std::deque<std::atomic<bool>> enabled_;  // per entry; a deque: atomics do not move
    std::vector<size_t> packet_takers_;  // indices of the consumers with session_packet
    bool adds_opened_ = false;
    bool any_pending_ = false;
};

}  // namespace stethoscope::core
