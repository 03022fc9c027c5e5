// byte_order.hpp — internal to the capture builder: appending and patching integers in
// an explicit byte order, so the files come out the same on any host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sth_test::detail {

inline void put_u8(std::vector<std::uint8_t>& out, std::uint8_t v) {
    out.push_back(v);
}

inline void put_u16_be(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

inline void put_u32_be(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put_u16_be(out, static_cast<std::uint16_t>(v >> 16));
    put_u16_be(out, static_cast<std::uint16_t>(v));
}

inline void put_u16_le(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}

inline void put_u32_le(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put_u16_le(out, static_cast<std::uint16_t>(v));
    put_u16_le(out, static_cast<std::uint16_t>(v >> 16));
}

inline void set_u16_be(std::vector<std::uint8_t>& out, std::size_t pos, std::uint16_t v) {
    out.at(pos) = static_cast<std::uint8_t>(v >> 8);
    out.at(pos + 1) = static_cast<std::uint8_t>(v);
}

inline void set_u32_le(std::vector<std::uint8_t>& out, std::size_t pos, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) {
        out.at(pos + i) = static_cast<std::uint8_t>(v >> (8 * i));
    }
}

}  // namespace sth_test::detail
