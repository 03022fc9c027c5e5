// An in-process HostServices for unit tests of the plugin host: records what plugins
// publish and count. (The real one, core/runtime.cpp, is exercised end to end.)
#pragma once

#include "counters.hpp"
#include "plugin_instance.hpp"

#include <string>
#include <vector>

namespace stethoscope::test {

struct RecordedEvent {
    std::string origin, type, fields;
    uint64_t uid;
};

class RecordingServices : public core::HostServices {
public:
    std::vector<RecordedEvent> events;
    core::CounterRegistry counters;
    std::vector<sth_packet> packets;

    void publish(std::string_view origin, std::string_view type, std::string_view fields,
                 const sth_session_info* s) override {
        events.push_back({std::string(origin), std::string(type), std::string(fields),
                          s != nullptr ? s->uid : 0});
    }
    uint32_t counter_register(const std::string& name) override {
        return counters.register_counter(name);
    }
    void counter_add(uint32_t h, uint64_t d) override { counters.add(h, d); }
    sth_result submit_packet(const sth_packet& p, bool) override {
        packets.push_back(p);
        return STH_OK;
    }
    void report_capture_stats(uint64_t, uint64_t, uint64_t) override {}
    bool stop_requested() const override { return false; }
    void idle(int64_t) override {}
};

}  // namespace stethoscope::test
