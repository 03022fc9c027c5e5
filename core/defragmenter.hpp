// Defragmenter: reassembles IPv4 and IPv6 fragments of TCP datagrams before the flow
// table sees them, within a memory cap and a timeout (capture time).
//
// Fragments are kept per datagram (addresses, protocol, identification) as
// non-overlapping byte ranges: on overlap the first-seen bytes win and the overlap is
// counted. When the last fragment (MF clear) and every byte before it are present, the
// datagram is rebuilt as a raw IP packet (the first fragment's header, lengths fixed,
// fragmentation fields cleared) and handed on. A datagram that times out, or is evicted
// because the cap is reached (oldest first), is dropped and counted: its TCP bytes then
// show up as a gap in the stream, since nothing is invented.
#pragma once

#include "decoder.hpp"
#include "relaxed_counter.hpp"

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace stethoscope::core {

struct DefragStats {
    RelaxedCounter fragments;
    RelaxedCounter datagrams_reassembled;
    RelaxedCounter datagrams_timed_out;
    RelaxedCounter datagrams_evicted;   // memory cap
    RelaxedCounter overlaps;            // fragments whose bytes overlapped earlier ones
    RelaxedCounter invalid;             // beyond 65535 bytes, or inconsistent end
};

class Defragmenter {
public:
    Defragmenter(uint64_t memcap_bytes, int64_t timeout_ns);
    ~Defragmenter();

    // Adds the fragment of `p` (decode_packet returned ip_fragment). Returns true when it
    // completed a datagram: `out` then points at the rebuilt packet (link type RAW),
    // valid until the next call.
    bool add(const DecodedPacket& p, int64_t ts_ns, sth_packet& out);

    // Drops datagrams older than the timeout.
    void expire(int64_t now_ns);
    const DefragStats& stats() const { return stats_; }
    uint64_t bytes_held() const { return held_; }

private:
    struct Key {
        uint8_t version;
        std::array<uint8_t, 16> src, dst;
        uint32_t id;
        bool operator==(const Key& o) const {
            return version == o.version && id == o.id && src == o.src && dst == o.dst;
        }
    };
    struct KeyHash {
        size_t operator()(const Key& k) const;
    };
    struct Datagram;
    using Age = std::list<Datagram*>;

    void drop(Datagram* d);
    bool complete(const Datagram& d) const;
    void rebuild(const Datagram& d, int64_t ts_ns, sth_packet& out);

    uint64_t memcap_;
    int64_t timeout_ns_;
    uint64_t held_ = 0;
    std::unordered_map<Key, std::unique_ptr<Datagram>, KeyHash> table_;
    Age age_;  // front = oldest
    std::vector<uint8_t> out_;
    DefragStats stats_;
};

}  // namespace stethoscope::core
