#include "mss_analyzer.hpp"

namespace stethoscope::mss {

namespace {
constexpr uint8_t k_syn = 0x02;
}  // namespace

// Indexed by direction: [0] the client (sends requests), [1] the server.
struct MssAnalyzer::SessionState {
    uint16_t syn_mss[2] = {0, 0};  // 0: no SYN seen, or it had no MSS option
    bool syn_seen[2] = {false, false};
    uint32_t largest_payload[2] = {0, 0};
    uint64_t oversized[2] = {0, 0};
};

MssAnalyzer::MssAnalyzer(const Host& host, Config)
    : AnalyzerPlugin(host), oversized_(host.counter("oversized_segments")) {}

void* MssAnalyzer::session_open(const sth_session_info&) {
    static_assert(sizeof(SessionState) < 256, "mss state must stay under 256 bytes");
    return new SessionState();
}

void MssAnalyzer::session_packet(void* cookie, const sth_session_info&, const sth_packet&,
                                 const sth_segment& seg) noexcept {
    auto* st = static_cast<SessionState*>(cookie);
    if (st == nullptr) return;  // session_open failed (logged by the SDK)
    const unsigned d = seg.direction & 1u;
    if ((seg.flags & k_syn) != 0 && !st->syn_seen[d]) {
        st->syn_seen[d] = true;
        if (STH_HAS_FIELD(&seg, sth_segment, mss)) st->syn_mss[d] = seg.mss;
    }
    if (seg.payload_len > st->largest_payload[d]) st->largest_payload[d] = seg.payload_len;
    const uint16_t peer_mss = st->syn_mss[d ^ 1u];
    if (peer_mss != 0 && seg.payload_len > peer_mss) {
        ++st->oversized[d];
        oversized_.add();
    }
}

void MssAnalyzer::session_summary(void* cookie, const sth_session_info&, JsonSink& out) {
    const auto* st = static_cast<const SessionState*>(cookie);
    if (st == nullptr) return;
    auto mss_or_null = [](JsonWriter& w, uint16_t mss) -> JsonWriter& {
        return mss != 0 ? w.value(static_cast<uint32_t>(mss)) : w.null();
    };
    JsonWriter w;
    w.begin_object();
    mss_or_null(w.key("client"), st->syn_mss[0]);
    mss_or_null(w.key("server"), st->syn_mss[1]);
    for (unsigned d = 0; d < 2; ++d) {
        w.key(direction_name(static_cast<uint8_t>(d))).begin_object();
        w.key("largest_payload").value(st->largest_payload[d]);
        w.key("oversized_segments").value(st->oversized[d]);
        w.end_object();
    }
    if (st->oversized[0] + st->oversized[1] != 0) w.key("note").value(k_offload_note);
    w.end_object();
    out.put("mss", w.str());
}

void MssAnalyzer::session_done(void* cookie, const sth_session_info&) {
    delete static_cast<SessionState*>(cookie);
}

}  // namespace stethoscope::mss
