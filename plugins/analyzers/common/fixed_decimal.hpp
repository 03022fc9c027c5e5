// fixed_decimal.hpp — writes a number with at most six decimals into a JsonWriter, without
// printf (the analyzers write several per session; printf's float path dominated their
// cost). 1.234567 -> "1.234567", 0.72 -> "0.72", 2.0 -> "2"; NaN/inf -> null. Values are
// rounded to the nearest millionth; |x| must stay below 9.2e12 (plenty for seconds and
// shares). Header-only, shared by the rtt-bdp and stall analyzers.
#pragma once

#include <stethoscope/json_writer.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace stethoscope::analyzers {

inline void fixed_decimal(JsonWriter& w, double x) {
    if (!std::isfinite(x) || std::fabs(x) >= 9.2e12) {
        w.null();
        return;
    }
    char buf[40];
    char* p = buf;
    long long scaled = std::llround(x * 1e6);
    if (scaled < 0) {
        *p++ = '-';
        scaled = -scaled;
    }
    p = std::to_chars(p, buf + sizeof buf, scaled / 1000000).ptr;
    long long frac = scaled % 1000000;
    if (frac != 0) {
        int digits = 6;
        while (frac % 10 == 0) frac /= 10, --digits;
        *p++ = '.';
        char tmp[8];
        char* end = std::to_chars(tmp, tmp + sizeof tmp, frac).ptr;
        for (int pad = digits - static_cast<int>(end - tmp); pad > 0; --pad) *p++ = '0';
        for (char* c = tmp; c < end; ++c) *p++ = *c;
    }
    w.raw(std::string_view(buf, static_cast<size_t>(p - buf)));
}

}  // namespace stethoscope::analyzers
