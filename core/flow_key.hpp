// The symmetric key of a TCP flow: both directions of a connection map to the same key.
// Side A is the lower (address, port) pair. The hash is seeded randomly per process so
// nobody can aim collisions at the flow table.
#pragma once

#include "decoder.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace stethoscope::core {

struct FlowKey {
    std::array<uint8_t, 16> addr_a{}, addr_b{};
    uint16_t port_a = 0, port_b = 0;
    uint8_t family = 0;

    bool operator==(const FlowKey& o) const {
        if (port_a != o.port_a || port_b != o.port_b || family != o.family) return false;
        uint64_t x[4], y[4];  // four word compares instead of two memcmp calls
        std::memcpy(x, addr_a.data(), 16);
        std::memcpy(x + 2, addr_b.data(), 16);
        std::memcpy(y, o.addr_a.data(), 16);
        std::memcpy(y + 2, o.addr_b.data(), 16);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
    }
};

// Builds the key of a decoded packet; `from_a` tells whether its sender is side A.
inline FlowKey make_flow_key(const DecodedPacket& p, bool& from_a) {
    FlowKey k;
    k.family = p.ip_version;
    int c = std::memcmp(p.src.data(), p.dst.data(), 16);
    from_a = c < 0 || (c == 0 && p.src_port <= p.dst_port);
    k.addr_a = from_a ? p.src : p.dst;
    k.addr_b = from_a ? p.dst : p.src;
    k.port_a = from_a ? p.src_port : p.dst_port;
    k.port_b = from_a ? p.dst_port : p.src_port;
    return k;
}

uint64_t flow_hash_seed();  // random, fixed for the process

struct FlowKeyHash {
    size_t operator()(const FlowKey& k) const {
        uint64_t h = flow_hash_seed() ^ (uint64_t{k.port_a} << 32 | uint64_t{k.port_b} << 16 | k.family);
        auto mix = [&h](uint64_t v) {
            h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
            h *= 0xff51afd7ed558ccdULL;
            h ^= h >> 33;
        };
        uint64_t w[4];
        std::memcpy(w, k.addr_a.data(), 16);
        std::memcpy(w + 2, k.addr_b.data(), 16);
        for (uint64_t v : w) mix(v);
        mix(h);
        return static_cast<size_t>(h);
    }
};

}  // namespace stethoscope::core
