// Fan-out of session callbacks to the consumer plugins (analyzers, outputs, control),
// with the per-session, per-consumer state: the plugin's cookie and the exact count of
// bytes delivered and dropped per direction (delivered + dropped == reassembled).
// The tables are the host's full-size copies (PluginLibrary::table): entries an older
// plugin's descriptor did not have are NULL there, so a NULL check is all it takes.
#pragma once

#include <stethoscope/abi.h>

#include "json_writer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace stethoscope::core {

class PluginInstance;

struct ConsumerSlot {
    void* cookie = nullptr;
    uint64_t delivered[2] = {0, 0};
    uint64_t dropped[2] = {0, 0};
    uint64_t dropped_segments[2] = {0, 0};
};

class Consumers {
public:
    void add(PluginInstance* plugin);
    size_t size() const { return plugins_.size(); }
    // True when some consumer takes the session_closed event or adds to it.
    bool wants_closed_event() const { return wants_closed_; }
    // True when some consumer adds fields to session_opened.
    bool adds_opened_fields() const { return adds_opened_; }

    void session_open(const sth_session_info& s, std::vector<ConsumerSlot>& slots);
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

private:
    struct Entry {
        PluginInstance* plugin;
        const sth_plugin_descriptor* table;
        void* object;
        bool takes_packets;
        bool is_output;
    };
    std::vector<Entry> plugins_;
    bool any_packets_ = false;
    bool wants_closed_ = false;
    bool adds_opened_ = false;
    bool any_pending_ = false;
};

}  // namespace stethoscope::core
