// GET /metrics: the capture_stats object rendered as Prometheus text format 0.0.4.
//
// Counters end in _total and are in base units (packets, bytes, sessions); per-reason and
// per-plugin counts are labels of one family; there are no per-session labels, so the
// number of series stays bounded. Families (each present when the stats carry it):
//   stethoscope_packets_total, stethoscope_bytes_total, stethoscope_input_received_packets_total,
//   stethoscope_sessions_{opened,closed,evicted,drain_forced}_total,
//   stethoscope_stream_bytes_total, stethoscope_gap_bytes_total,
//   stethoscope_packets_without_session_total, stethoscope_events_dropped_total,
//   stethoscope_events_published_total, stethoscope_icmp_errors_matched_total,
//   stethoscope_dropped_total{reason}        (every "dropped_<reason>" member),
//   stethoscope_decode_errors_total{reason}  (the "decode" object),
//   stethoscope_ip_fragments_total, stethoscope_ip_fragment_datagrams_total{outcome},
//   stethoscope_plugin_total{name}   (the "counters" object),
//   gauges stethoscope_workers, stethoscope_sessions_open, stethoscope_capturing (0/1).
#pragma once

#include <stethoscope/abi.h>

#include <string>
#include <string_view>

namespace stethoscope::control {

// Never throws on bad input: text that is not a JSON object gives only the health gauge.
std::string prometheus_text(std::string_view stats_json, sth_health health);

}  // namespace stethoscope::control
