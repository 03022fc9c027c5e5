// SessionRtt: the JSON it reports (read-only; also used for live snapshots).
#include "session_rtt.hpp"

#include "../common/fixed_decimal.hpp"

#include <stethoscope/plugin.hpp>

#include <cmath>
#include <cstdio>
#include <string_view>

namespace stethoscope::rtt_bdp {

namespace {

void opt_us(JsonWriter& w, const char* key, bool known, uint32_t us) {
    w.key(key);
    if (known) w.value(us);
    else w.null();
}

void write_stats(JsonWriter& w, const RttStats& s, uint32_t karn) {
    w.begin_object();
    w.key("count").value(s.n);
    if (s.n > 0) {
        const double stdev = s.n > 1 ? std::sqrt(static_cast<double>(s.m2) / (s.n - 1)) : 0.0;
        w.key("min_us").value(s.min);
        w.key("avg_us").value(static_cast<uint64_t>(std::llround(s.mean)));
        w.key("max_us").value(s.max);
        w.key("stdev_us").value(static_cast<uint64_t>(std::llround(stdev)));
        w.key("srtt_us").value(s.srtt);
        w.key("rttvar_us").value(s.rttvar);
    }
    w.key("karn_excluded").value(karn);
    w.end_object();
}

const char* limit_name(uint8_t lim) {
    switch (lim) {
        case k_network: return "network";
        case k_receiver: return "receiver";
        case k_sender: return "sender";
        default: return "idle";
    }
}

}  // namespace

uint32_t SessionRtt::min_rtt_us() const {
    uint32_t side[2];
    bool has[2];
    for (int d = 0; d < 2; ++d) {
        const DirRtt& r = dir[d];
        has[d] = r.ack.n > 0 || r.ts_n > 0;
        side[d] = r.ack.n > 0 ? r.ack.min : r.ts_min;
        if (r.ack.n > 0 && r.ts_n > 0 && r.ts_min < side[d]) side[d] = r.ts_min;
    }
    const bool hs_known = (hs & (k_syn | k_hs_ack)) == (k_syn | k_hs_ack);
    uint32_t best = hs_known ? hsack_t - syn_t : 0;
    if (has[0] && has[1]) {
        const uint32_t sum = side[0] + side[1];
        if (!hs_known || sum < best) best = sum;
    } else if (!hs_known && (has[0] || has[1])) {
        best = has[0] ? side[0] : side[1];  // one side only: a lower bound
    }
    return best;
}

uint64_t SessionRtt::acked_bytes(int d) const {
    return (uint64_t{dir[d].acked_hi} << 32) | dir[d].acked_lo;
}

double SessionRtt::busy_sec(int d) const {
    const DirRtt& r = dir[d];
    const double units = double(r.lim_us[0]) + r.lim_us[1] + r.lim_us[2];
    return std::ldexp(units, r.halvings) / 1e6;
}

double SessionRtt::goodput_bps(int d) const {
    const double busy = busy_sec(d);
    return busy > 0 ? static_cast<double>(acked_bytes(d)) * 8 / busy : 0.0;
}

uint32_t SessionRtt::in_flight(int d) const { return in_flight_of(dir[d]); }

void SessionRtt::write_rtt(JsonWriter& w) const {
    w.begin_object();
    w.key("handshake").begin_object();
    opt_us(w, "server_leg_us", (hs & (k_syn | k_synack)) == (k_syn | k_synack), synack_t - syn_t);
    opt_us(w, "client_leg_us", (hs & (k_synack | k_hs_ack)) == (k_synack | k_hs_ack),
           hsack_t - synack_t);
    opt_us(w, "initial_rtt_us", (hs & (k_syn | k_hs_ack)) == (k_syn | k_hs_ack), hsack_t - syn_t);
    w.end_object();
    const uint32_t min_rtt = min_rtt_us();
    opt_us(w, "min_rtt_us", min_rtt > 0, min_rtt);
    static constexpr const char* k_side[2] = {"server", "client"};  // the receiver of d
    for (int d = 0; d < 2; ++d) {
        const DirRtt& r = dir[d];
        w.key(k_side[d]).begin_object();
        w.key("ack");
        write_stats(w, r.ack, r.karn);
        w.key("ts").begin_object().key("count").value(r.ts_n);
        if (r.ts_n > 0) w.key("min_us").value(r.ts_min);
        w.end_object();
        w.end_object();
    }
    for (int d = 0; d < 2; ++d) {
        const double goodput = goodput_bps(d);
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        w.key("acked_bytes").value(acked_bytes(d));
        w.key("goodput_bps").value(static_cast<uint64_t>(std::llround(goodput)));
        w.key("bdp_bytes").value(static_cast<uint64_t>(std::llround(goodput / 8 * min_rtt / 1e6)));
        w.end_object();
    }
    w.end_object();
}

void SessionRtt::write_limits(JsonWriter& w) const {
    w.begin_object();
    for (int d = 0; d < 2; ++d) {
        const DirRtt& r = dir[d];
        const double total = double(r.lim_us[0]) + r.lim_us[1] + r.lim_us[2];
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        if (total > 0) {
            analyzers::fixed_decimal(w.key("receiver"), r.lim_us[k_receiver] / total);
            analyzers::fixed_decimal(w.key("sender"), r.lim_us[k_sender] / total);
            analyzers::fixed_decimal(w.key("network"), r.lim_us[k_network] / total);
        }
        analyzers::fixed_decimal(w.key("busy_sec"), busy_sec(d));
        w.end_object();
    }
    w.end_object();
}

void SessionRtt::write_metrics(JsonWriter& w) const {
    w.begin_object();
    const uint32_t min_rtt = min_rtt_us();
    opt_us(w, "min_rtt_us", min_rtt > 0, min_rtt);
    static constexpr const char* k_side[2] = {"server", "client"};
    for (int d = 0; d < 2; ++d) {
        const RttStats& s = dir[d].ack;
        w.key(k_side[d]).begin_object();
        w.key("ack_samples").value(s.n);
        opt_us(w, "srtt_us", s.n > 0, s.srtt);
        opt_us(w, "rttvar_us", s.n > 0, s.rttvar);
        w.key("ts_samples").value(dir[d].ts_n);
        w.end_object();
    }
    for (int d = 0; d < 2; ++d) {
        const DirRtt& r = dir[d];
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        w.key("in_flight_bytes").value(in_flight_of(r));
        w.key("window_bytes").value(r.win);
        w.key("acked_bytes").value(acked_bytes(d));
        w.key("goodput_bps").value(static_cast<uint64_t>(std::llround(goodput_bps(d))));
        w.key("limit").value(limit_name(r.lim));
        w.end_object();
    }
    w.end_object();
}

}  // namespace stethoscope::rtt_bdp
