// TcpAnalysis in isolation: the exact STH_SEG_* bits (and extras) per packet for each
// situation Wireshark's tcp.analysis flags describe. The same situations, as captures,
// are checked against tshark itself by tests/e2e/tshark_crosscheck.py.
#define BOOST_TEST_MODULE tcp_analysis
#include <boost/test/unit_test.hpp>

#include "capture_builder.hpp"
#include "decoder.hpp"
#include "tcp_analysis.hpp"

#include <cstdint>

using namespace stethoscope::core;

namespace {

constexpr uint8_t k_c = 0;  // client -> server
constexpr uint8_t k_s = 1;  // server -> client
constexpr uint8_t k_ack = tcp_flag::ack;
constexpr uint8_t k_psh_ack = tcp_flag::psh | tcp_flag::ack;
constexpr uint8_t k_syn = tcp_flag::syn;
constexpr uint8_t k_syn_ack = tcp_flag::syn | tcp_flag::ack;
constexpr uint8_t k_fin_ack = tcp_flag::fin | tcp_flag::ack;
constexpr uint8_t k_rst = tcp_flag::rst;

constexpr uint32_t k_retrans = STH_SEG_RETRANSMISSION;
constexpr uint32_t k_fast = STH_SEG_FAST_RETRANSMISSION | STH_SEG_RETRANSMISSION;
constexpr uint32_t k_spurious = STH_SEG_SPURIOUS_RETRANSMISSION | STH_SEG_RETRANSMISSION;
constexpr uint32_t k_ooo = STH_SEG_OUT_OF_ORDER;
constexpr uint32_t k_lost = STH_SEG_LOST_SEGMENT;
constexpr uint32_t k_dup = STH_SEG_DUPLICATE_ACK;
constexpr uint32_t k_zero = STH_SEG_ZERO_WINDOW;
constexpr uint32_t k_full = STH_SEG_WINDOW_FULL;
constexpr uint32_t k_keep_alive = STH_SEG_KEEP_ALIVE;

constexpr int64_t k_us = 1000;
constexpr int64_t k_ms = 1000 * k_us;

// One TCP session fed packet by packet. Sequence numbers are given as stream offsets of
// the sender (-1 = its ISN, for SYNs), ACK numbers as stream offsets of the peer. Every
// packet moves the clock on by `step` first (100 us by default).
struct Session {
    TcpAnalysis analysis;
    uint32_t isn[2] = {1'000'000, 3'000'000'000u};
    int64_t now = 1'700'000'000 * int64_t{1'000'000'000};
    int64_t step = 100 * k_us;
    uint16_t window = 1000;  // raw window field of data packets and ACKs

    TcpAnalysisResult send(uint8_t dir, int64_t seq_off, int64_t ack_off, uint32_t len,
                           uint8_t flags = k_psh_ack, int win = -1, int8_t wscale = -1) {
        DecodedPacket p;
        p.ip_version = 4;
        p.seq = isn[dir] + 1 + static_cast<uint32_t>(seq_off);
        p.ack = (flags & tcp_flag::ack) ? isn[dir ^ 1] + 1 + static_cast<uint32_t>(ack_off) : 0;
        p.flags = flags;
        p.window = static_cast<uint16_t>(win < 0 ? window : win);
        p.options.window_scale = wscale;
        p.payload_len = len;
        p.payload_captured = len;
        now += step;
        return analysis.analyze(p, dir, now);
    }
    uint32_t data(uint8_t dir, int64_t seq_off, uint32_t len, int64_t ack_off = 0, int win = -1) {
        return send(dir, seq_off, ack_off, len, k_psh_ack, win).bits;
    }
    uint32_t ack(uint8_t dir, int64_t seq_off, int64_t ack_off, int win = -1) {
        return send(dir, seq_off, ack_off, 0, k_ack, win).bits;
    }
    // SYN, SYN-ACK, ACK with the given window scale options (-1 = absent) and windows.
    void handshake(int8_t client_ws = 7, int8_t server_ws = 7, uint16_t syn_window = 65535) {
        BOOST_TEST(send(k_c, -1, 0, 0, k_syn, syn_window, client_ws).bits == 0u);
        BOOST_TEST(send(k_s, -1, 0, 0, k_syn_ack, syn_window, server_ws).bits == 0u);
        BOOST_TEST(ack(k_c, 0, 0) == 0u);
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_orderly_exchange_has_no_flags) {
    Session s;
    s.handshake();
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
    BOOST_TEST(s.ack(k_s, 0, 100) == 0u);
    BOOST_TEST(s.data(k_s, 0, 1000, 100) == 0u);
    BOOST_TEST(s.data(k_s, 1000, 1000, 100) == 0u);
    BOOST_TEST(s.ack(k_c, 100, 2000) == 0u);
    BOOST_TEST(s.send(k_c, 100, 2000, 0, k_fin_ack).bits == 0u);
    BOOST_TEST(s.send(k_s, 2000, 101, 0, k_fin_ack).bits == 0u);
    BOOST_TEST(s.ack(k_c, 101, 2001) == 0u);
}

BOOST_AUTO_TEST_CASE(classify_returns_the_bits_of_analyze) {
    Session a, b;
    a.handshake();
    b.handshake();
    DecodedPacket p;
    p.seq = a.isn[k_c] + 1 + 100;
    p.ack = a.isn[k_s] + 1;
    p.flags = k_psh_ack;
    p.window = 1000;
    p.payload_len = 100;
    BOOST_TEST(a.analysis.classify(p, k_c, a.now + k_us) == k_lost);
    BOOST_TEST(b.analysis.analyze(p, k_c, b.now + k_us).bits == k_lost);
}

BOOST_AUTO_TEST_CASE(a_segment_sent_again_after_a_timeout_is_a_retransmission) {
    Session s;
    s.handshake();
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
    BOOST_TEST(s.data(k_c, 100, 100) == 0u);
    s.now += 200 * k_ms;
    BOOST_TEST(s.data(k_c, 100, 100) == k_retrans);
    BOOST_TEST(s.data(k_c, 0, 100) == k_retrans);
    BOOST_TEST(s.ack(k_s, 0, 200) == 0u);
}

BOOST_AUTO_TEST_CASE(syn_and_fin_sent_again_are_retransmissions) {
    Session s;
    BOOST_TEST(s.send(k_c, -1, 0, 0, k_syn, 65535, 7).bits == 0u);
    s.now += 1000 * k_ms;
    BOOST_TEST(s.send(k_c, -1, 0, 0, k_syn, 65535, 7).bits == k_retrans);
    BOOST_TEST(s.send(k_s, -1, 0, 0, k_syn_ack, 65535, 7).bits == 0u);
    BOOST_TEST(s.ack(k_c, 0, 0) == 0u);
    BOOST_TEST(s.send(k_c, 0, 0, 0, k_fin_ack).bits == 0u);
    // Even within the first RTT: a FIN that ends where next_seq is, is not out-of-order.
    BOOST_TEST(s.send(k_c, 0, 0, 0, k_fin_ack).bits == k_retrans);
}

BOOST_AUTO_TEST_CASE(three_duplicate_acks_and_a_quick_resend_make_a_fast_retransmission) {
    Session s;
    s.handshake();
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
    BOOST_TEST(s.ack(k_s, 0, 100) == 0u);
    BOOST_TEST(s.data(k_c, 200, 100) == k_lost);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);
    BOOST_TEST(s.data(k_c, 300, 100) == 0u);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);
    BOOST_TEST(s.data(k_c, 400, 100) == 0u);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);
    BOOST_TEST(s.data(k_c, 100, 100) == k_fast);
    BOOST_TEST(s.ack(k_s, 0, 500) == 0u);
}

BOOST_AUTO_TEST_CASE(a_fast_retransmission_needs_two_dup_acks_within_20_ms) {
    Session one_dup;
    one_dup.handshake();
    one_dup.now += 10 * k_ms;  // beyond the out-of-order threshold (the first RTT)
    one_dup.data(k_c, 0, 100);
    one_dup.ack(k_s, 0, 100);
    BOOST_TEST(one_dup.data(k_c, 200, 100) == k_lost);
    BOOST_TEST(one_dup.ack(k_s, 0, 100) == k_dup);
    BOOST_TEST(one_dup.data(k_c, 100, 100) == k_retrans);

    Session late;
    late.handshake();
    late.data(k_c, 0, 100);
    late.ack(k_s, 0, 100);
    late.data(k_c, 200, 100);
    late.ack(k_s, 0, 100);
    late.data(k_c, 300, 100);
    BOOST_TEST(late.ack(k_s, 0, 100) == k_dup);
    late.now += 20 * k_ms;
    BOOST_TEST(late.data(k_c, 100, 100) == k_retrans);

    Session wrong_seq;
    wrong_seq.handshake();
    wrong_seq.data(k_c, 0, 100);
    wrong_seq.ack(k_s, 0, 100);
    wrong_seq.data(k_c, 200, 100);
    wrong_seq.ack(k_s, 0, 100);
    wrong_seq.data(k_c, 300, 100);
    wrong_seq.ack(k_s, 0, 100);
    wrong_seq.now += 10 * k_ms;
    BOOST_TEST(wrong_seq.data(k_c, 200, 100) == k_retrans);  // not where the peer ACKs
}

BOOST_AUTO_TEST_CASE(duplicate_acks_repeat_seq_ack_and_a_nonzero_window) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    BOOST_TEST(s.ack(k_s, 0, 100) == 0u);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);
    BOOST_TEST(s.ack(k_s, 0, 100, 2000) == 0u);       // a new window: a window update
    BOOST_TEST(s.data(k_s, 0, 10, 100, 2000) == 0u);  // data is never a duplicate ACK
    BOOST_TEST(s.ack(k_s, 10, 100, 2000) == k_dup);   // the count survives data, same ACK
    BOOST_TEST(s.ack(k_s, 10, 100, 0) == k_zero);     // a zero window never is one
    BOOST_TEST(s.send(k_s, 10, 100, 0, k_fin_ack, 0).bits == 0u);
}

BOOST_AUTO_TEST_CASE(a_window_update_is_reported_as_an_extra) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    s.ack(k_s, 0, 100);
    const TcpAnalysisResult r = s.send(k_s, 0, 100, 0, k_ack, 4000);
    BOOST_TEST(r.bits == 0u);
    BOOST_TEST(r.extra == tcp_analysis_extra::window_update);
}

BOOST_AUTO_TEST_CASE(a_resent_segment_already_acked_is_a_spurious_retransmission) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    s.ack(k_s, 0, 100);
    s.now += 300 * k_ms;
    BOOST_TEST(s.data(k_c, 0, 100) == k_spurious);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);

    // Spurious takes precedence over out-of-order (tshark 4.0): the resend comes 80 us
    // after the highest segment, within the 200 us first RTT.
    Session quick;
    quick.handshake();
    quick.step = 40 * k_us;
    quick.data(k_c, 0, 100);
    quick.data(k_c, 100, 100);
    quick.ack(k_s, 0, 200);
    BOOST_TEST(quick.data(k_c, 0, 100) == k_spurious);
}

BOOST_AUTO_TEST_CASE(an_overtaken_segment_within_the_first_rtt_is_out_of_order) {
    Session s;
    s.step = 1 * k_ms;  // handshake RTT (SYN to ACK) = 2 ms
    s.handshake();
    s.data(k_c, 0, 100);
    BOOST_TEST(s.data(k_c, 200, 100) == k_lost);
    BOOST_TEST(s.data(k_c, 100, 100) == k_ooo);  // 1 ms after the highest
    BOOST_TEST(s.ack(k_s, 0, 300) == 0u);

    Session late;
    late.step = 1 * k_ms;
    late.handshake();
    late.data(k_c, 0, 100);
    late.data(k_c, 200, 100);
    late.step = 2 * k_ms;  // not below the RTT
    BOOST_TEST(late.data(k_c, 100, 100) == k_retrans);
}

BOOST_AUTO_TEST_CASE(without_a_handshake_the_out_of_order_threshold_is_3_ms) {
    Session s;
    s.data(k_c, 0, 100);
    BOOST_TEST(s.data(k_c, 200, 100) == k_lost);
    s.step = 2900 * k_us;
    BOOST_TEST(s.data(k_c, 100, 100) == k_ooo);

    Session late;
    late.data(k_c, 0, 100);
    late.data(k_c, 200, 100);
    late.step = 3 * k_ms;
    BOOST_TEST(late.data(k_c, 100, 100) == k_retrans);

    // A segment that ends exactly at next_seq is a retransmission, however quick.
    Session tail;
    tail.data(k_c, 0, 100);
    tail.data(k_c, 100, 100);
    BOOST_TEST(tail.data(k_c, 100, 100) == k_retrans);
}

BOOST_AUTO_TEST_CASE(a_segment_beyond_next_seq_follows_a_lost_segment) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    BOOST_TEST(s.data(k_c, 300, 100) == k_lost);
    BOOST_TEST(s.send(k_c, 900, 0, 0, k_rst).bits == 0u);  // RSTs are never checked
    BOOST_TEST(s.ack(k_c, 1000, 0) == k_lost);             // pure ACKs are
}

BOOST_AUTO_TEST_CASE(acks_for_unseen_bytes_are_reported_once_per_stall) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    s.data(k_c, 100, 100);
    // 200..300 never captured.
    TcpAnalysisResult r = s.send(k_s, 0, 300, 0, k_ack);
    BOOST_TEST(r.extra == tcp_analysis_extra::ack_lost_segment);
    r = s.send(k_s, 0, 300, 0, k_ack);  // the client sent nothing since: not again
    BOOST_TEST(r.bits == k_dup);
    BOOST_TEST(r.extra == 0u);
    BOOST_TEST(s.data(k_c, 300, 100) == k_lost);
    r = s.send(k_s, 0, 400, 0, k_ack);  // the client sent more: reported again
    BOOST_TEST(r.extra == tcp_analysis_extra::ack_lost_segment);
    r = s.send(k_s, 0, 500, 0, k_ack);  // new ACK, still nothing new from the client
    BOOST_TEST(r.extra == 0u);
}

BOOST_AUTO_TEST_CASE(a_parked_dup_ack_count_allows_a_fast_retransmission) {
    // tshark 4.0 keeps the count unsigned: parked at -1 it passes ">= 2".
    Session s;
    s.handshake();
    s.now += 10 * k_ms;
    s.data(k_c, 0, 100);
    s.ack(k_s, 0, 100);
    s.data(k_c, 200, 100);
    BOOST_TEST(s.ack(k_s, 0, 100) == k_dup);                     // one duplicate ACK only
    const TcpAnalysisResult r = s.send(k_c, 300, 50, 0, k_ack);  // ACKs unseen server data
    BOOST_TEST(r.extra == 0u);                                   // (parks the server's count)
    BOOST_TEST(s.data(k_c, 100, 100, 50) == k_fast);
}

BOOST_AUTO_TEST_CASE(a_zero_window_is_probed_and_reopened) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 80);
    s.data(k_s, 0, 1000, 80);
    s.ack(k_c, 80, 1000);
    BOOST_TEST(s.ack(k_c, 80, 1000, 0) == k_zero);
    s.now += 200 * k_ms;
    TcpAnalysisResult r = s.send(k_s, 1000, 80, 1);
    BOOST_TEST(r.bits == 0u);
    BOOST_TEST(r.extra == tcp_analysis_extra::zero_window_probe);
    r = s.send(k_c, 80, 1000, 0, k_ack, 0);
    BOOST_TEST(r.bits == k_zero);
    BOOST_TEST(r.extra == tcp_analysis_extra::zero_window_probe_ack);
    s.now += 400 * k_ms;
    r = s.send(k_s, 1000, 80, 1);  // the probe did not move next_seq: a probe again
    BOOST_TEST(r.extra == tcp_analysis_extra::zero_window_probe);
    BOOST_TEST(s.ack(k_c, 80, 1000, 0) == k_zero);
    r = s.send(k_c, 80, 1000, 0, k_ack, 1000);
    BOOST_TEST(r.extra == tcp_analysis_extra::window_update);
    BOOST_TEST(s.data(k_s, 1000, 500, 80) == 0u);  // carries the probed byte again
    BOOST_TEST(s.ack(k_c, 80, 1500) == 0u);
}

BOOST_AUTO_TEST_CASE(data_after_a_probe_at_next_seq_minus_one_is_new_data) {
    Session s;
    s.handshake();
    s.data(k_s, 0, 100);
    s.ack(k_c, 0, 100, 0);
    s.send(k_s, 100, 0, 1);  // probe: 100..101, next_seq stays 100
    s.ack(k_c, 0, 100);
    BOOST_TEST(s.data(k_s, 100, 1) == 0u);
    BOOST_TEST(s.data(k_s, 100, 300) == 0u);  // starts at next_seq - 1, 2+ bytes
}

BOOST_AUTO_TEST_CASE(window_full_uses_the_scale_of_both_syns) {
    // Both SYNs scale by 7: the server's field 32 means 4096 bytes.
    Session s;
    s.window = 32;
    s.handshake(7, 7, 4096);
    s.data(k_c, 0, 1000);
    s.ack(k_s, 0, 1000);
    BOOST_TEST(s.data(k_c, 1000, 1024) == 0u);
    BOOST_TEST(s.data(k_c, 2024, 1024) == 0u);
    BOOST_TEST(s.data(k_c, 3048, 1024) == 0u);
    BOOST_TEST(s.data(k_c, 4072, 1024) == k_full);  // ends at 1000 + 32 << 7
    BOOST_TEST(s.analysis.window_scale(k_s) == 7);
}

BOOST_AUTO_TEST_CASE(the_first_window_after_a_syn_is_not_scaled) {
    // The server has sent only its SYN-ACK (window 4096, never scaled).
    Session s;
    s.handshake(7, 7, 4096);
    BOOST_TEST(s.data(k_c, 0, 2048) == 0u);
    BOOST_TEST(s.data(k_c, 2048, 2048) == k_full);
}

BOOST_AUTO_TEST_CASE(window_full_without_scaling_when_one_syn_lacks_the_option) {
    Session s;
    s.window = 4096;
    s.handshake(7, -1, 4096);
    BOOST_TEST(s.analysis.window_scale(k_c) == -2);
    BOOST_TEST(s.analysis.window_scale(k_s) == -2);
    s.data(k_c, 0, 1000);
    s.ack(k_s, 0, 1000);
    BOOST_TEST(s.data(k_c, 1000, 2048) == 0u);
    BOOST_TEST(s.data(k_c, 3048, 2048) == k_full);  // 1000 + 4096, unscaled
    BOOST_TEST(s.send(k_c, 5096, 0, 0, k_fin_ack).bits == 0u);

    Session client_lacks;
    client_lacks.handshake(-1, 7);
    BOOST_TEST(client_lacks.analysis.window_scale(k_c) == -2);
    BOOST_TEST(client_lacks.analysis.window_scale(k_s) == -2);
}

BOOST_AUTO_TEST_CASE(without_the_syns_the_scale_is_unknown_and_no_window_is_full) {
    Session s;
    s.window = 32;
    BOOST_TEST(s.ack(k_s, 0, 0) == 0u);
    BOOST_TEST(s.data(k_c, 0, 32) == 0u);  // ends at ACK + raw window
    BOOST_TEST(s.analysis.window_scale(k_s) == -1);
}

BOOST_AUTO_TEST_CASE(keep_alives_sit_one_below_next_seq) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    s.data(k_s, 0, 200, 100);
    s.ack(k_c, 100, 200);
    s.now += 60'000 * k_ms;
    BOOST_TEST(s.ack(k_c, 99, 200) == k_keep_alive);
    TcpAnalysisResult r = s.send(k_s, 200, 100, 0, k_ack);
    BOOST_TEST(r.bits == 0u);  // not a duplicate ACK
    BOOST_TEST(r.extra == tcp_analysis_extra::keep_alive_ack);
    s.now += 60'000 * k_ms;
    BOOST_TEST(s.data(k_c, 99, 1, 200) == k_keep_alive);  // one garbage byte: not resent data
    r = s.send(k_s, 200, 100, 0, k_ack);
    BOOST_TEST(r.extra == tcp_analysis_extra::keep_alive_ack);
    BOOST_TEST(s.data(k_c, 100, 50, 200) == 0u);
    BOOST_TEST(s.data(k_c, 148, 2, 200) == k_retrans);  // two bytes are no keep-alive
}

BOOST_AUTO_TEST_CASE(a_syn_with_a_new_isn_starts_over) {
    Session s;
    s.handshake();
    s.data(k_c, 0, 100);
    s.data(k_s, 0, 100, 100);
    s.send(k_c, 100, 100, 0, k_fin_ack);
    s.send(k_s, 100, 101, 0, k_fin_ack);
    s.ack(k_c, 101, 101);
    s.now += 2000 * k_ms;
    s.isn[k_c] = 77;  // new connection, same ports
    s.isn[k_s] = 99'999;
    BOOST_TEST(s.send(k_c, -1, 0, 0, k_syn, 65535, -1).bits == 0u);
    BOOST_TEST(s.analysis.window_scale(k_c) == -2);  // scaling re-decided by the new SYN
    BOOST_TEST(s.send(k_s, -1, 0, 0, k_syn_ack, 65535, -1).bits == 0u);
    BOOST_TEST(s.ack(k_c, 0, 0) == 0u);
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
}

BOOST_AUTO_TEST_CASE(a_resent_syn_rewinds_next_seq_past_a_stray_rst) {
    Session s;
    s.send(k_c, -1, 0, 0, k_syn, 65535, 7);
    s.send(k_c, 1000, 0, 0, k_rst);  // a RST far ahead moves next_seq
    s.now += 1000 * k_ms;
    BOOST_TEST(s.send(k_c, -1, 0, 0, k_syn, 65535, 7).bits == k_retrans);
    s.send(k_s, -1, 0, 0, k_syn_ack, 65535, 7);
    BOOST_TEST(s.ack(k_c, 0, 0) == 0u);
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
}

BOOST_AUTO_TEST_CASE(sequence_numbers_wrap_around) {
    Session s;
    s.isn[k_c] = 0xFFFFFF80u;
    s.handshake();
    BOOST_TEST(s.data(k_c, 0, 100) == 0u);
    BOOST_TEST(s.data(k_c, 200, 100) == k_lost);  // past 2^32
    BOOST_TEST(s.data(k_c, 100, 100) == k_ooo);   // straddles it
    s.now += 10 * k_ms;
    BOOST_TEST(s.data(k_c, 150, 100) == k_retrans);
    BOOST_TEST(s.ack(k_s, 0, 300) == 0u);
}

// The decoder's view of real frames: options parsed from builder-made SYNs.
BOOST_AUTO_TEST_CASE(decoded_frames_from_the_capture_builder) {
    using namespace sth_test;
    const IpAddress client = IpAddress::parse("198.18.0.1");
    const IpAddress server = IpAddress::parse("198.18.0.2");
    TcpAnalysis analysis;
    int64_t now = 1'700'000'000'000'000'000;
    auto feed = [&](bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                    std::size_t len, std::optional<uint8_t> wscale = {}) {
        TcpFields f;
        f.src_port = from_client ? 40000 : 80;
        f.dst_port = from_client ? 80 : 40000;
        f.seq = seq;
        f.ack = ack;
        f.flags = flags;
        f.window = window;
        f.options.window_scale = wscale;
        const Bytes payload(len, 0x61);
        const Bytes tcp = from_client ? tcp_segment(client, server, f, payload)
                                      : tcp_segment(server, client, f, payload);
        const Bytes frame =
            link_frame(LinkKind::ethernet, {},
                       from_client ? ipv4_packet(client, server, ip_protocol::tcp, tcp)
                                   : ipv4_packet(server, client, ip_protocol::tcp, tcp));
        const sth_packet pkt{sizeof(sth_packet),
                             1,
                             now,
                             static_cast<uint32_t>(frame.size()),
                             static_cast<uint32_t>(frame.size()),
                             frame.data(),
                             0};
        DecodedPacket p;
        BOOST_REQUIRE(decode_packet(pkt, p) == DecodeStatus::ok);
        now += 100 * k_us;
        return analysis.classify(p, from_client ? k_c : k_s, now);
    };
    BOOST_TEST(feed(true, 100, 0, tcp_flags::syn, 65535, 0, 2) == 0u);
    BOOST_TEST(feed(false, 500, 101, tcp_flags::syn | tcp_flags::ack, 65535, 0, 3) == 0u);
    BOOST_TEST(analysis.window_scale(k_c) == 2);
    BOOST_TEST(analysis.window_scale(k_s) == 3);
    BOOST_TEST(feed(true, 101, 501, tcp_flags::ack, 1000, 0) == 0u);
    BOOST_TEST(feed(false, 501, 101, tcp_flags::ack, 100, 0) == 0u);  // 100 << 3
    BOOST_TEST(feed(true, 101, 501, tcp_flags::ack | tcp_flags::psh, 1000, 800) == k_full);
    BOOST_TEST(feed(false, 501, 901, tcp_flags::ack, 0, 0) == k_zero);
}
