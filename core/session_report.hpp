// Every event the core builds, in one place: the session events (session_opened,
// session_closed, gap, the per-packet anomalies, metrics), the live-session snapshot the
// control plane shows, and capture_stats. The engine decides *when*; this file decides
// *what the JSON says*, so one field has one spelling everywhere (README "Events").
//
// Every event is one JSON object: ts (RFC 3339, microseconds, UTC), event, then session,
// uid, client, server when it is about a session, then its own fields.
//
// Threading: the session builders run on the session's worker (they read the Session
// and call its consumers' summary callbacks); capture_stats runs on any thread.
#pragma once

#include <stethoscope/abi.h>
#include <stethoscope/json_writer.hpp>

#include "consumers.hpp"
#include "session.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stethoscope::core {

std::string format_ts(int64_t ts_ns);                // "2026-11-26T14:36:17.123456Z"
size_t format_ts(int64_t ts_ns, char* out);          // the same into out[32]; its length
std::string format_ip(const sth_endpoint& e);        // "198.18.0.1", "2001:db8::1"
std::string format_endpoint(const sth_endpoint& e);  // "198.18.0.1:80", "[2001:db8::1]:80"

// Starts an event object with the common fields; the caller adds its own and calls
// end_object().
void begin_event(JsonWriter& w, int64_t ts_ns, std::string_view type,
                 const sth_session_info* session);

// session_opened: pickup flag, the options of the SYN (or SYN-ACK) that opened it, and
// the fields consumers add (listener ports).
// A session event as plain data: captured on the session's worker (which also asks the
// consumers for their part, `consumer_fields`, as serialized `"k":v,...` members), written
// as JSON on any thread — the event thread, so building the text costs the worker nothing.
struct OpenedRecord {
    sth_session_info info{};
    int64_t ts = 0;
    SynOptions opener;
    bool opener_is_syn_ack = false;
    std::string consumer_fields;  // the listener's ports, ...
};
struct ClosedRecord {
    sth_session_info info{};
    const char* reason = "";  // a string literal
    int64_t close_ts = 0, last_ts = 0;
    uint64_t bytes[2] = {}, packets[2] = {}, gap_bytes[2] = {};
    uint32_t gap_count[2] = {};
    uint64_t flag_counts[k_flag_count] = {};
    uint64_t overlap_conflicts = 0, bad_checksums = 0, ignored_rsts = 0, out_of_window = 0;
    bool syn_seen[2] = {};
    SynOptions syn_options[2];
    std::vector<GapRecord> gaps;
    uint64_t gaps_total = 0;
    std::string consumer_fields;  // analyzers' results, "outputs": {...}
};
void capture_opened(OpenedRecord& r, Session& s, const SynOptions& opener, bool opener_is_syn_ack,
                    Consumers& consumers, int64_t ts);
void write_opened(JsonWriter& w, const OpenedRecord& r);
void capture_closed(ClosedRecord& r, Session& s, Consumers& consumers);
void write_closed(JsonWriter& w, const ClosedRecord& r);

// The same in one step, into a caller's writer (cleared first).
// session_closed: reason, duration, per-direction counts, classification counts, SYN
// options, gaps, then every consumer's summary (analyzers at the top level, outputs in
// "outputs").
void session_closed_event(JsonWriter& w, Session& s, Consumers& consumers);
// A live session for the control plane: the session_closed record so far (without the
// event's ts/event keys and reason), plus "state" and "age_sec" at `now`.
void write_session_snapshot(JsonWriter& w, Session& s, Consumers& consumers, int64_t now);

// gap: direction, stream offset, length, reason.
std::string gap_event(const Session& s, uint8_t dir, uint64_t offset, uint64_t length,
                      std::string_view reason, int64_t ts);
// A per-packet anomaly (retransmission, zero_window, overlap_conflict, ...).
std::string anomaly_event(const Session& s, const char* type, uint8_t dir, uint32_t seq,
                          uint32_t length, int64_t ts);
// metrics: `fields` are the consumers' keys, already serialized as `"k":v,...`.
std::string metrics_event(const Session& s, std::string_view fields, int64_t ts);

// Everything capture_stats reports, gathered by the runtime.
struct CaptureStatsInput {
    int64_t ts_ns = 0;
    bool final = false;
    uint64_t packets = 0, bytes = 0;
    uint64_t received = 0, dropped_kernel = 0, dropped_interface = 0, dropped_queue_full = 0;
    uint64_t sessions_opened = 0, sessions_closed = 0, sessions_evicted = 0,
             sessions_drain_forced = 0, sessions_open = 0;
    uint64_t stream_bytes = 0, gap_bytes = 0, no_session = 0, icmp_matched = 0;
    uint64_t workers = 0;
    uint64_t events_published = 0, events_dropped = 0;
    uint64_t fragments[6] = {};  // received, reassembled, timed_out, evicted, overlaps, invalid
    std::vector<std::pair<const char*, uint64_t>> decode;    // non-zero decode statuses
    std::vector<std::pair<std::string, uint64_t>> counters;  // plugins' counters
};
// The capture_stats event (with_header) or only its object of counts (snapshots).
std::string capture_stats_json(const CaptureStatsInput& in, bool with_header);

}  // namespace stethoscope::core
