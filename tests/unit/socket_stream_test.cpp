// The socket outputs' stream (plugins/common/socket-stream) with real loopback sockets
// and a recording host (events, counters): the output-wide queue cap, exact byte
// accounting on delivery, half-close, a peer that leaves, and the offline wait. The
// plugins built on it are tested end to end with real consumers (tests/e2e).
#define BOOST_TEST_MODULE socket_stream
#include <boost/test/unit_test.hpp>

#include "../../plugins/common/socket-stream/socket_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ss = stethoscope::sockstream;
using ss::tcp;

namespace {

// A host that records what the stream publishes and counts.
struct RecordingHost {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> events;  // type, fields
    std::vector<std::string> counter_names;
    std::vector<uint64_t> counter_values;
    bool offline = false;
    sth_host_api api{};

    RecordingHost() {
        api.struct_size = sizeof api;
        api.abi_major = STH_ABI_MAJOR;
        api.abi_minor = STH_ABI_MINOR;
        api.ctx = this;
        api.log = [](void*, sth_log_level, sth_str) {};
        api.publish_event = [](void* c, sth_str type, sth_str fields, const sth_session_info*) {
            auto* h = static_cast<RecordingHost*>(c);
            std::lock_guard<std::mutex> lock(h->mutex);
            h->events.emplace_back(std::string(type.data, type.size), std::string(fields.data, fields.size));
        };
        api.counter_register = [](void* c, sth_str name) -> uint32_t {
            auto* h = static_cast<RecordingHost*>(c);
            std::lock_guard<std::mutex> lock(h->mutex);
            h->counter_names.emplace_back(name.data, name.size);
            h->counter_values.push_back(0);
            return static_cast<uint32_t>(h->counter_values.size() - 1);
        };
        api.counter_add = [](void* c, uint32_t handle, uint64_t delta) {
            auto* h = static_cast<RecordingHost*>(c);
            std::lock_guard<std::mutex> lock(h->mutex);
            h->counter_values[handle] += delta;
        };
        api.stop_requested = [](void*) { return 0; };
        api.offline = [](void* c) { return static_cast<RecordingHost*>(c)->offline ? 1 : 0; };
    }
    uint64_t counter(const std::string& name) {
        std::lock_guard<std::mutex> lock(mutex);
        for (size_t i = 0; i < counter_names.size(); ++i)
            if (counter_names[i] == name) return counter_values[i];
        return ~uint64_t{0};
    }
    size_t count(const std::string& type, const std::string& needle) {
        std::lock_guard<std::mutex> lock(mutex);
        size_t n = 0;
        for (auto& [t, f] : events)
            if (t == type && f.find(needle) != std::string::npos) ++n;
        return n;
    }
};

sth_session_info session(uint64_t uid) {
    sth_session_info s{};
    s.struct_size = sizeof s;
    s.uid = uid;
    s.session_id = static_cast<uint16_t>(40000 + uid);
    return s;
}

// A connected pair on 127.0.0.1: `ours` for the stream, `peer` read by the test.
struct Pair {
    tcp::socket ours, peer;
};
Pair connect_pair(ss::asio::io_context& io) {
    tcp::acceptor acc(io, tcp::endpoint(ss::asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket a(io), b(io);
    a.connect(acc.local_endpoint());
    acc.accept(b);
    return Pair{std::move(a), std::move(b)};
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + i / 251);
    return v;
}

template <class F>
bool eventually(F f, int ms = 5000) {
    for (int i = 0; i < ms / 5; ++i) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return f();
}

struct Fixture {
    RecordingHost rec;
    stethoscope::Host host{&rec.api};
    ss::asio::io_context io;
    std::optional<ss::asio::executor_work_guard<ss::asio::io_context::executor_type>> work{io.get_executor()};
    std::thread thread;
    Fixture() {}
    void run() { thread = std::thread([this] { io.run(); }); }
    ~Fixture() {
        work.reset();
        io.stop();
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_output_wide_cap_bounds_all_streams_together, Fixture) {
    ss::Context ctx(host, io, "out", 100 * 1000);
    ss::Limits limits;
    limits.hold_bytes = 1 << 20;  // each stream alone could hold 1 MiB...
    limits.queue_bytes = 1 << 20;
    auto a = std::make_shared<ss::SocketStream>(ctx, session(1), 0, limits);
    auto b = std::make_shared<ss::SocketStream>(ctx, session(2), 1, limits);
    std::vector<uint8_t> chunk(1000, 'x');
    int accepted = 0, dropped = 0;
    for (int i = 0; i < 200; ++i) {
        auto& st = i % 2 == 0 ? a : b;
        (st->push(chunk.data(), chunk.size()) == STH_OK ? accepted : dropped)++;
    }
    // ...but together they hold at most the output's 100,000 bytes.
    BOOST_TEST(accepted == 100);
    BOOST_TEST(dropped == 100);
    BOOST_TEST(ctx.total_queued.load() == 100000u);
    BOOST_TEST(rec.count("output_overflow", "\"reason\":\"total_queue_full\"") == 2u);  // one per stream
    BOOST_TEST(rec.counter("requests.reassembled_bytes") == 100000u);
    BOOST_TEST(rec.counter("requests.dropped_bytes") == 50000u);
    BOOST_TEST(rec.counter("requests.dropped_segments") == 50u);
    BOOST_TEST(rec.counter("responses.dropped_bytes") == 50000u);
    a->fail("test", "");  // a's queue is dropped: the output has room again
    BOOST_TEST(ctx.total_queued.load() == 50000u);
    BOOST_TEST(b->push(chunk.data(), chunk.size()) == STH_OK);
}

BOOST_FIXTURE_TEST_CASE(before_a_consumer_comes_hold_bytes_are_kept_then_dropped, Fixture) {
    ss::Context ctx(host, io, "out", 64 << 20);
    ss::Limits limits;
    limits.hold_bytes = 10000;
    auto st = std::make_shared<ss::SocketStream>(ctx, session(1), 1, limits);
    std::vector<uint8_t> chunk(1000, 'y');
    int accepted = 0;
    for (int i = 0; i < 25; ++i) accepted += st->push(chunk.data(), chunk.size()) == STH_OK ? 1 : 0;
    BOOST_TEST(accepted == 10);  // exactly hold_bytes kept
    BOOST_TEST(rec.counter("responses.dropped_bytes") == 15000u);
    BOOST_TEST(rec.counter("responses.dropped_segments") == 15u);
    BOOST_TEST(rec.count("output_overflow", "\"reason\":\"no_consumer\"") == 1u);  // one episode
    // hold_bytes 0 (the prototype's behaviour): nothing is kept on a live capture.
    limits.hold_bytes = 0;
    auto none = std::make_shared<ss::SocketStream>(ctx, session(2), 0, limits);
    BOOST_TEST(none->push(chunk.data(), chunk.size()) == STH_DROPPED);
    BOOST_TEST(rec.counter("requests.dropped_bytes") == 1000u);
}

BOOST_FIXTURE_TEST_CASE(an_ended_stream_without_bytes_waits_for_nobody, Fixture) {
    ss::Context ctx(host, io, "out", 1 << 20);
    ss::Limits limits;
    auto empty = std::make_shared<ss::SocketStream>(ctx, session(1), 0, limits);
    auto full = std::make_shared<ss::SocketStream>(ctx, session(2), 0, limits);
    uint8_t byte = 'x';
    BOOST_TEST(full->push(&byte, 1) == STH_OK);
    empty->end();
    full->end();
    BOOST_TEST(!empty->pending());  // nothing to deliver: the record need not wait
    BOOST_TEST(full->pending());    // one held byte waits for its consumer (or the timeout)
}

BOOST_FIXTURE_TEST_CASE(delivers_exact_bytes_then_half_closes, Fixture) {
    ss::Context ctx(host, io, "out", 64 << 20);
    ss::Limits limits;
    auto st = std::make_shared<ss::SocketStream>(ctx, session(1), 1, limits);
    Pair p = connect_pair(io);
    std::vector<uint8_t> data = pattern(3 << 20, 3);
    // Some bytes before the socket is there (held), the rest after.
    BOOST_TEST(st->push(data.data(), 100000) == STH_OK);
    run();
    ss::asio::post(io, [&, s = std::move(p.ours)]() mutable { st->attach(std::move(s), "peer"); });
    for (size_t off = 100000; off < data.size(); off += 1448) {
        size_t n = std::min<size_t>(1448, data.size() - off);
        while (st->push(data.data() + off, n) != STH_OK) {  // live: a full queue drops...
            BOOST_FAIL("dropped with a reader that keeps up");  // ...which must not happen here
        }
        if (off % (256 * 1448) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    st->end();
    std::vector<uint8_t> got;
    boost::system::error_code ec;
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
        size_t n = p.peer.read_some(ss::asio::buffer(buf), ec);
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
        if (ec) break;
    }
    BOOST_TEST(ec == ss::asio::error::eof);  // the half-close
    BOOST_TEST(got.size() == data.size());
    BOOST_TEST((got == data));
    BOOST_TEST(eventually([&] { return !st->pending(); }));
    BOOST_TEST(st->summary_json().find("\"reassembled\":3145728,\"delivered\":3145728,\"dropped\":0") !=
               std::string::npos, st->summary_json());
    BOOST_TEST(ctx.total_queued.load() == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_peer_that_leaves_loses_nothing_unaccounted, Fixture) {
    ss::Context ctx(host, io, "out", 64 << 20);
    ss::Limits limits;
    limits.queue_bytes = 256 << 10;
    auto st = std::make_shared<ss::SocketStream>(ctx, session(7), 0, limits);
    Pair p = connect_pair(io);
    run();
    ss::asio::post(io, [&, s = std::move(p.ours)]() mutable { st->attach(std::move(s), "peer"); });
    BOOST_TEST(eventually([&] { return !st->waiting(); }));
    std::vector<uint8_t> chunk = pattern(1448, 9);
    uint64_t pushed = 0;
    for (int i = 0; i < 4000; ++i) {  // 5.8 MB into a peer that reads nothing: drops
        st->push(chunk.data(), chunk.size());
        pushed += chunk.size();
    }
    // Announced once per episode (an episode ends when a chunk fits again; the kernel's
    // socket buffers take bursts, so there may be several): events == episodes.
    size_t episodes = rec.count("output_overflow", "\"reason\":\"queue_full\"");
    BOOST_TEST(episodes >= 1u);
    BOOST_TEST(st->summary_json().find("\"overflow_episodes\":" + std::to_string(episodes)) !=
               std::string::npos, st->summary_json());
    p.peer.close();  // the consumer leaves with bytes unread
    for (int i = 0; i < 100; ++i) {
        st->push(chunk.data(), chunk.size());
        pushed += chunk.size();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    BOOST_TEST(eventually([&] { return !st->pending(); }));
    BOOST_TEST(rec.count("output_error", "\"error\":\"disconnected\"") == 1u);
    uint64_t delivered = rec.counter("requests.delivered_bytes");
    uint64_t dropped = rec.counter("requests.dropped_bytes");
    BOOST_TEST(rec.counter("requests.reassembled_bytes") == pushed);
    BOOST_TEST(delivered + dropped == pushed);
    BOOST_TEST(dropped > 0u);
    BOOST_TEST(ctx.total_queued.load() == 0u);
}

BOOST_FIXTURE_TEST_CASE(offline_waits_for_room_instead_of_dropping, Fixture) {
    rec.offline = true;
    ss::Context ctx(host, io, "out", 64 << 20);
    ss::Limits limits;
    limits.queue_bytes = 4096;  // tiny: the writer must wait again and again
    auto st = std::make_shared<ss::SocketStream>(ctx, session(3), 0, limits);
    Pair p = connect_pair(io);
    run();
    std::vector<uint8_t> data = pattern(2 << 20, 5);
    std::vector<uint8_t> got;
    std::thread reader([&] {
        std::vector<uint8_t> buf(1 << 16);
        boost::system::error_code ec;
        for (;;) {
            size_t n = p.peer.read_some(ss::asio::buffer(buf), ec);
            got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
            if (ec) break;
        }
    });
    ss::asio::post(io, [&, s = std::move(p.ours)]() mutable { st->attach(std::move(s), "peer"); });
    for (size_t off = 0; off < data.size(); off += 1000) {
        size_t n = std::min<size_t>(1000, data.size() - off);
        BOOST_REQUIRE(st->push(data.data() + off, n) == STH_OK);
    }
    st->end();
    reader.join();
    BOOST_TEST((got == data));
    BOOST_TEST(rec.counter("requests.dropped_bytes") == 0u);
    BOOST_TEST(rec.count("output_overflow", "") == 0u);
}
