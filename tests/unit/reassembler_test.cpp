// StreamReassembler in isolation, with a recording sink: exact bytes, gaps and outcomes.
// (End-to-end, the same engine runs on crafted captures in tests/e2e.)
#define BOOST_TEST_MODULE reassembler
#include <boost/test/unit_test.hpp>

#include "reassembler.hpp"

#include <string>
#include <vector>

using namespace stethoscope::core;

namespace {
struct Gap {
    uint64_t offset, length;
    std::string reason;
    bool operator==(const Gap&) const = default;
};
[[maybe_unused]] std::ostream& operator<<(std::ostream& o, const Gap& g) {
    return o << "{" << g.offset << "," << g.length << "," << g.reason << "}";
}

struct Recorder : StreamSink {
    std::string bytes;
    std::vector<Gap> gaps;
    uint64_t expected_offset = 0;
    void stream_data(uint64_t offset, const uint8_t* d, size_t n, int64_t) override {
        BOOST_TEST(offset == expected_offset);  // chunks are contiguous and in order
        bytes.append(reinterpret_cast<const char*>(d), n);
        expected_offset = offset + n;
    }
    void stream_gap(uint64_t offset, uint64_t length, const char* reason, int64_t) override {
        BOOST_TEST(offset == expected_offset);
        gaps.push_back({offset, length, reason});
        expected_offset = offset + length;
    }
};

struct Fixture {
    ReassemblyBudget budget{1 << 20, 0};
    StreamReassembler r{65536, &budget};
    Recorder sink;
    uint32_t isn = 1000;
    SegmentOutcome send(uint64_t offset, const std::string& s, bool fin = false) {
        return r.add_segment(isn + 1 + static_cast<uint32_t>(offset),
                             reinterpret_cast<const uint8_t*>(s.data()),
                             static_cast<uint32_t>(s.size()), static_cast<uint32_t>(s.size()), fin,
                             0, sink);
    }
};
}  // namespace

BOOST_FIXTURE_TEST_CASE(in_order_bytes_pass_straight_through, Fixture) {
    r.set_isn(isn);
    send(0, "hello ");
    send(6, "world");
    BOOST_TEST(sink.bytes == "hello world");
    BOOST_TEST(r.buffered_bytes() == 0u);
}

BOOST_FIXTURE_TEST_CASE(out_of_order_segments_wait_for_the_hole, Fixture) {
    r.set_isn(isn);
    BOOST_TEST(send(6, "world").out_of_order);
    BOOST_TEST(sink.bytes.empty());
    BOOST_TEST(r.buffered_bytes() == 5u);
    BOOST_TEST(budget.in_use == 5u);
    send(0, "hello ");
    BOOST_TEST(sink.bytes == "hello world");
    BOOST_TEST(budget.in_use == 0u);
}

BOOST_FIXTURE_TEST_CASE(first_seen_bytes_win_and_conflicts_are_reported, Fixture) {
    r.set_isn(isn);
    send(4, "EFGH");
    SegmentOutcome o = send(2, "cdXXXXij");  // overlaps EFGH with different bytes
    BOOST_TEST(o.overlap_conflict);
    SegmentOutcome same = send(4, "EF");   // identical copy: no conflict
    BOOST_TEST(!same.overlap_conflict);
    send(0, "ab");
    BOOST_TEST(sink.bytes == "abcdEFGHij");
}

BOOST_FIXTURE_TEST_CASE(retransmissions_add_nothing, Fixture) {
    r.set_isn(isn);
    send(0, "abcdef");
    BOOST_TEST(send(0, "abc").retransmission);
    SegmentOutcome partial = send(3, "defgh");
    BOOST_TEST(partial.retransmission);
    BOOST_TEST(partial.new_bytes == 2u);
    BOOST_TEST(sink.bytes == "abcdefgh");
}

BOOST_FIXTURE_TEST_CASE(an_ack_past_a_hole_makes_a_gap, Fixture) {
    r.set_isn(isn);
    send(0, "abc");
    send(10, "klm");
    r.peer_ack(isn + 1 + 13, 0, sink);
    BOOST_TEST(sink.bytes == "abcklm");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{3, 7, "ack_past_hole"}}));
    BOOST_TEST(r.gap_bytes() == 7u);
}

BOOST_FIXTURE_TEST_CASE(an_ack_past_data_never_seen_at_all, Fixture) {
    r.set_isn(isn);
    send(0, "abc");
    r.peer_ack(isn + 1 + 8, 0, sink);
    send(8, "ij");
    BOOST_TEST(sink.bytes == "abcij");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{3, 5, "ack_past_hole"}}));
}

BOOST_FIXTURE_TEST_CASE(flush_reports_remaining_holes, Fixture) {
    r.set_isn(isn);
    send(5, "fg");
    send(9, "j", true);
    r.flush(0, sink);
    BOOST_TEST(sink.bytes == "fgj");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{0, 5, "close"}, {7, 2, "close"}}));
    BOOST_TEST(r.finished());
}

BOOST_FIXTURE_TEST_CASE(sequence_numbers_wrap_around, Fixture) {
    isn = 0xfffffffaU;
    r.set_isn(isn);
    std::string a(10, 'a'), b(10, 'b');
    send(0, a);   // crosses 2^32
    send(10, b);
    BOOST_TEST(sink.bytes == a + b);
    BOOST_TEST(r.next_offset() == 20u);
}

BOOST_FIXTURE_TEST_CASE(the_flow_cap_turns_the_first_hole_into_a_gap, Fixture) {
    StreamReassembler small(8, &budget);
    small.set_isn(isn);
    auto put = [&](uint64_t off, const std::string& s) {
        small.add_segment(isn + 1 + static_cast<uint32_t>(off),
                          reinterpret_cast<const uint8_t*>(s.data()), static_cast<uint32_t>(s.size()),
                          static_cast<uint32_t>(s.size()), false, 0, sink);
    };
    put(2, "cdef");
    put(10, "klmno");  // 9 bytes buffered > 8
    BOOST_TEST(sink.bytes == "cdef");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{0, 2, "memcap"}}));
    BOOST_TEST(small.buffered_bytes() == 5u);
}

BOOST_FIXTURE_TEST_CASE(a_payload_cut_by_the_snaplen_is_a_gap, Fixture) {
    r.set_isn(isn);
    std::string s = "abcdefgh";
    r.add_segment(isn + 1, reinterpret_cast<const uint8_t*>(s.data()), 3, 8, false, 0, sink);
    send(8, "ij");
    BOOST_TEST(sink.bytes == "abcij");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{3, 5, "truncated"}}));
}

BOOST_FIXTURE_TEST_CASE(mid_stream_pickup_starts_at_the_first_byte_seen, Fixture) {
    send(100, "xyz");  // not anchored: offset 0 is this segment's first byte
    send(103, "!");
    BOOST_TEST(sink.bytes == "xyz!");
    BOOST_TEST(r.next_offset() == 4u);
}

BOOST_FIXTURE_TEST_CASE(nothing_after_the_fin_is_stream_data, Fixture) {
    r.set_isn(isn);
    send(0, "abc", true);
    send(3, "zzz");
    BOOST_TEST(sink.bytes == "abc");
    BOOST_TEST(r.finished());
}

namespace {
SegmentOutcome send_unverified(Fixture& f, uint64_t offset, const std::string& s) {
    return f.r.add_segment(f.isn + 1 + static_cast<uint32_t>(offset),
                           reinterpret_cast<const uint8_t*>(s.data()), static_cast<uint32_t>(s.size()),
                           static_cast<uint32_t>(s.size()), false, 0, f.sink, false);
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(a_bad_checksum_segment_waits_for_a_valid_copy, Fixture) {
    r.set_isn(isn);
    send_unverified(*this, 0, "aXc");  // corrupted
    send(3, "def");                     // valid, but behind the unverified bytes
    BOOST_TEST(sink.bytes.empty());
    send(0, "abc");                     // the valid copy wins over the corrupted bytes
    BOOST_TEST(sink.bytes == "abcdef");
    BOOST_TEST(r.buffered_bytes() == 0u);
}

BOOST_FIXTURE_TEST_CASE(the_peers_ack_confirms_unverified_bytes, Fixture) {
    r.set_isn(isn);
    send_unverified(*this, 0, "abcdef");
    r.peer_ack(isn + 1 + 4, 0, sink);  // confirms "abcd" only
    BOOST_TEST(sink.bytes == "abcd");
    r.peer_ack(isn + 1 + 6, 0, sink);
    BOOST_TEST(sink.bytes == "abcdef");
    BOOST_TEST(sink.gaps.empty());
}

BOOST_FIXTURE_TEST_CASE(unconfirmed_bytes_are_a_gap_at_close, Fixture) {
    r.set_isn(isn);
    send(0, "ab");
    send_unverified(*this, 2, "cd");
    r.flush(0, sink);
    BOOST_TEST(sink.bytes == "ab");
    BOOST_TEST(sink.gaps == std::vector<Gap>({{2, 2, "unverified"}}));
}

BOOST_FIXTURE_TEST_CASE(unverified_bytes_never_replace_valid_ones, Fixture) {
    r.set_isn(isn);
    send(4, "efgh");                        // valid, out of order
    SegmentOutcome o = send_unverified(*this, 4, "EFGH");
    BOOST_TEST(!o.overlap_conflict);        // corruption is not a conflict
    send(0, "abcd");
    BOOST_TEST(sink.bytes == "abcdefgh");
}
