// The hand-off from the capture thread to the workers: the bounded ring (exact bytes in,
// exact bytes out, full means refused) and the pipeline's accounting of live drops.
#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include "capture_builder.hpp"
#include "config.hpp"
#include "packet_ring.hpp"
#include "pipeline.hpp"

#include <cstring>
#include <vector>

using namespace stethoscope::core;

namespace {
sth_packet packet_of(const std::vector<uint8_t>& bytes, int64_t ts) {
    return sth_packet{sizeof(sth_packet), 1, ts, static_cast<uint32_t>(bytes.size()),
                      static_cast<uint32_t>(bytes.size()) + 7, bytes.data(), 3};
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_full_ring_refuses_and_gives_back_every_byte_in_order) {
    PacketRing ring(1 << 20);  // 1 MiB
    std::vector<std::vector<uint8_t>> sent;
    size_t pushed = 0;
    for (;; ++pushed) {
        std::vector<uint8_t> b = sth_test::pseudo_random_bytes(1000 + pushed % 500, pushed);
        if (!ring.try_push(packet_of(b, static_cast<int64_t>(pushed)))) break;
        sent.push_back(std::move(b));
    }
    BOOST_TEST(pushed > 600u);   // about 1 MiB of ~1.3 KiB records
    BOOST_TEST(pushed < 1000u);
    // Drain half, refill past the end of the buffer (records wrap), drain everything.
    size_t received = 0;
    auto pop_one = [&] {
        sth_packet p{};
        BOOST_TEST_REQUIRE(ring.peek(p));
        const auto& want = sent[received];
        BOOST_TEST_REQUIRE(p.caplen == want.size());
        BOOST_TEST(p.len == want.size() + 7);
        BOOST_TEST(p.ts_ns == static_cast<int64_t>(received));
        BOOST_TEST(p.interface_id == 3u);
        BOOST_TEST(std::memcmp(p.data, want.data(), want.size()) == 0);
        ring.pop();
        ++received;
    };
    for (size_t i = 0; i < pushed / 2; ++i) pop_one();
    for (size_t i = pushed; sent.size() < pushed + pushed / 3; ++i) {
        std::vector<uint8_t> b = sth_test::pseudo_random_bytes(1000 + i % 500, i);
        BOOST_TEST_REQUIRE(ring.try_push(packet_of(b, static_cast<int64_t>(sent.size()))));
        sent.push_back(std::move(b));
    }
    while (received < sent.size()) pop_one();
    sth_packet p{};
    BOOST_TEST(!ring.peek(p));
}

BOOST_AUTO_TEST_CASE(live_drops_are_counted_exactly) {
    Config cfg = build_config(
        parse_config_text(R"({"capture": {"workers": 2, "ring_bytes": 1048576}})", "test"), {});
    Consumers consumers;
    EventBus bus;
    bus.set_stdout(false);
    Pipeline pipeline(cfg, consumers, bus);
    // Full-size frames of a few flows, as fast as the loop can go: the workers cannot
    // keep up with 1 MiB rings, and a live capture never waits.
    std::vector<std::vector<uint8_t>> frames;
    for (uint16_t port = 40000; port < 40008; ++port) {
        sth_test::CaptureWriter w(sth_test::CaptureFormat::pcap);
        sth_test::ConversationConfig c;
        c.client = {"198.18.0.1", port};
        c.server = {"198.18.0.2", 80};
        sth_test::TcpConversation conv(w, c);
        frames.push_back(conv.segment(true, 0, sth_test::pseudo_random_bytes(1400, port)));
    }
    const uint64_t submitted = 200000;
    uint64_t refused = 0;
    for (uint64_t i = 0; i < submitted; ++i) {
        const auto& f = frames[i % frames.size()];
        if (pipeline.submit(packet_of(f, static_cast<int64_t>(i)), false) == STH_DROPPED) ++refused;
    }
    pipeline.finish("end_of_input");
    const EngineStats st = pipeline.stats();
    BOOST_TEST(refused == pipeline.ring_drops());
    BOOST_TEST(st.packets + pipeline.ring_drops() == submitted);
    BOOST_TEST_MESSAGE("dropped " << refused << " of " << submitted);
}
