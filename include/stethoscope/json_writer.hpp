// A small append-only JSON writer, shared by the core and plugins (SDK, header-only): no
// DOM, no allocation beyond the output string's, commas placed for you. Use it for
// event fields, session summaries and metrics instead of concatenating strings:
//
//     stethoscope::JsonWriter w;
//     w.begin_object();
//     w.key("path").value(path);
//     w.key("bytes").value(uint64_t{n});
//     w.end_object();
//     host.publish("file_written", w.str(), &session);
//
// Strings are escaped (quotes, backslash, control characters); doubles are written with
// 6 significant digits, non-finite ones as null. Callers keep the nesting well-formed.
// end_line() ends a document and starts the next on a new line (NDJSON).
//
// How it works: the text lives in a std::string kept longer than the JSON, as room to
// write tokens in place (no std::string::append, no libc call per token: an event has
// ~50 of them and the appends were the cost). str() and take() cut the string to the
// JSON before handing it out; the next write opens the room again.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace stethoscope {

class JsonWriter {
public:
    // Reserves room for a typical event (or `reserve` bytes).
    explicit JsonWriter(size_t reserve = 512) { out_.reserve(reserve); }

    JsonWriter& begin_object() { return punct('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return punct('['); }
    JsonWriter& end_array() { return close(']'); }
    JsonWriter& key(std::string_view k) {
        if (k.size() <= k_short && plain(k)) {  // the common case: written in place
            char* p = room(k.size() + 4);
            *p = ',';
            p += first_ ? 0 : 1;
            *p++ = '"';
            p = put(p, k.data(), k.size());
            *p++ = '"';
            *p++ = ':';
            len_ = static_cast<size_t>(p - out_.data());
        } else {
            comma();
            quoted(k);
            *room(1) = ':';
            ++len_;
        }
        first_ = true;  // the value follows without a comma
        return *this;
    }
    JsonWriter& value(std::string_view s) {
        if (s.size() <= k_short && plain(s)) {
            char* p = room(s.size() + 3);
            *p = ',';
            p += first_ ? 0 : 1;
            *p++ = '"';
            p = put(p, s.data(), s.size());
            *p++ = '"';
            len_ = static_cast<size_t>(p - out_.data());
            first_ = false;
            return *this;
        }
        comma();
        quoted(s);
        return *this;
    }
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b) { return literal(b ? std::string_view("true") : "false"); }
    JsonWriter& value(uint64_t v) { return number(v); }
    JsonWriter& value(int64_t v) { return number(v); }
    JsonWriter& value(uint32_t v) { return value(static_cast<uint64_t>(v)); }
    JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
    JsonWriter& value(double v) {
        if (!(v == v) || v > 1.7e308 || v < -1.7e308) return null();  // NaN, infinite: not JSON
        char* p = room(40);  // as printf's %.6g, without printf's cost
        *p = ',';
        p += first_ ? 0 : 1;
        first_ = false;
        len_ = static_cast<size_t>(std::to_chars(p, p + 32, v, std::chars_format::general, 6).ptr -
                                   out_.data());
        return *this;
    }
    // Inserts already-serialized JSON (an object from a plugin, say).
    JsonWriter& raw(std::string_view json) {
        comma();
        append(json.data(), json.size());
        return *this;
    }
    // Splices the members of a serialized object ("{...}") into the current object.
    JsonWriter& members_of(std::string_view object_json) {
        size_t b = object_json.find('{'), e = object_json.rfind('}');
        if (b == std::string_view::npos || e == std::string_view::npos || e <= b) return *this;
        std::string_view inner = object_json.substr(b + 1, e - b - 1);
        if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
        return raw(inner);
    }
    // Ends a JSON document with a newline; what follows starts the next one (NDJSON).
    JsonWriter& end_line() {
        *room(1) = '\n';
        ++len_;
        first_ = true;
        return *this;
    }

    JsonWriter& null() { return literal("null"); }

    // The JSON written so far; valid until the next write.
    const std::string& str() const {
        out_.resize(len_);  // only shortens: no allocation, no copy
        return out_;
    }
    // The JSON written so far, moved out; the writer is empty afterwards.
    std::string take() {
        out_.resize(len_);
        len_ = 0;
        first_ = true;
        return std::move(out_);
    }
    size_t size() const { return len_; }
    // Empties the writer for reuse, keeping its capacity.
    void clear() {
        len_ = 0;
        first_ = true;
    }
    bool empty() const { return len_ == 0; }

private:
    static constexpr size_t k_short = 60;  // keys and strings written without escaping

    // Room for `n` more bytes at out_.data() + len_.
#if defined(__GNUC__)
    __attribute__((always_inline))
#endif
    char* room(size_t n) {
        if (len_ + n > out_.size()) [[unlikely]] open(n);
        return out_.data() + len_;
    }
    // Makes out_ at least len_ + n long: within the capacity only its size changes; past
    // it, the capacity doubles.
    void open(size_t n) {
        size_t want = len_ + n, size = out_.capacity();
        if (size < want) size = want > 2 * size ? want : 2 * size;
        if (size < 64) size = 64;
        out_.resize(size);
    }
    // Copies n bytes to p; short copies inline (two overlapping moves), not a libc call.
    static char* put(char* p, const char* s, size_t n) {
        if (n >= 8 && n <= 16) {
            uint64_t a, b;
            std::memcpy(&a, s, 8);
            std::memcpy(&b, s + n - 8, 8);
            std::memcpy(p, &a, 8);
            std::memcpy(p + n - 8, &b, 8);
        } else if (n >= 4 && n < 8) {
            uint32_t a, b;
            std::memcpy(&a, s, 4);
            std::memcpy(&b, s + n - 4, 4);
            std::memcpy(p, &a, 4);
            std::memcpy(p + n - 4, &b, 4);
        } else if (n < 4) {
            if (n > 0) {
                p[0] = s[0];
                p[n / 2] = s[n / 2];
                p[n - 1] = s[n - 1];
            }
        } else {
            std::memcpy(p, s, n);
        }
        return p + n;
    }
    void append(const char* s, size_t n) {
        put(room(n), s, n);
        len_ += n;
    }
    void comma() {
        if (!first_) {
            *room(1) = ',';
            ++len_;
        }
        first_ = false;
    }
    JsonWriter& punct(char c) {
        char* p = room(2);
        *p = ',';
        p += first_ ? 0 : 1;
        *p++ = c;
        len_ = static_cast<size_t>(p - out_.data());
        first_ = true;
        return *this;
    }
    JsonWriter& close(char c) {
        *room(1) = c;
        ++len_;
        first_ = false;
        return *this;
    }
    JsonWriter& literal(std::string_view text) {
        char* p = room(text.size() + 1);
        *p = ',';
        p += first_ ? 0 : 1;
        first_ = false;
        len_ = static_cast<size_t>(put(p, text.data(), text.size()) - out_.data());
        return *this;
    }
    template <class T>
    JsonWriter& number(T v) {
        char* p = room(24);
        *p = ',';
        p += first_ ? 0 : 1;
        first_ = false;
        len_ = static_cast<size_t>(std::to_chars(p, p + 21, v).ptr - out_.data());
        return *this;
    }
    // True when nothing in s needs escaping. Eight bytes at a time (SWAR): a key is
    // checked in one or two steps instead of three compares per byte.
    static bool plain(std::string_view s) {
        const char* p = s.data();
        const size_t n = s.size();
        uint64_t bad = 0;
        if (n >= 8) {
            size_t i = 0;
            for (; i + 8 <= n; i += 8) bad |= escapes(load<uint64_t>(p + i));
            if (i < n) bad |= escapes(load<uint64_t>(p + n - 8));  // the tail, overlapping
        } else if (n >= 4) {
            bad = escapes(load<uint32_t>(p) | uint64_t{load<uint32_t>(p + n - 4)} << 32);
        } else if (n > 0) {
            uint64_t x = 0x2020202020202020ULL;  // spaces: plain
            x = (x & ~uint64_t{0xffffff}) | uint64_t{static_cast<unsigned char>(p[0])} |
                uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
                uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
            bad = escapes(x);
        }
        return bad == 0;
    }
    template <class T>
    static T load(const char* p) {
        T v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    // Non-zero when a byte of x is below 0x20, '"' or '\\' (each test exact for "any").
    static uint64_t escapes(uint64_t x) {
        constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        const uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
    }
    void quoted(std::string_view s) {
        if (plain(s)) {  // nothing to escape
            char* p = room(s.size() + 2);
            *p++ = '"';
            p = put(p, s.data(), s.size());
            *p++ = '"';
            len_ = static_cast<size_t>(p - out_.data());
            return;
        }
        // At most 6 bytes per input byte (\u00XX), and the quotes.
        char* p = room(6 * s.size() + 2);
        *p++ = '"';
        for (char c : s) {
            switch (c) {
                case '"': *p++ = '\\'; *p++ = '"'; break;
                case '\\': *p++ = '\\'; *p++ = '\\'; break;
                case '\n': *p++ = '\\'; *p++ = 'n'; break;
                case '\r': *p++ = '\\'; *p++ = 'r'; break;
                case '\t': *p++ = '\\'; *p++ = 't'; break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        static const char hex[] = "0123456789abcdef";
                        const auto u = static_cast<unsigned char>(c);
                        p = put(p, "\\u00", 4);
                        *p++ = hex[u >> 4];
                        *p++ = hex[u & 15];
                    } else {
                        *p++ = c;
                    }
            }
        }
        *p++ = '"';
        len_ = static_cast<size_t>(p - out_.data());
    }

    // [0, len_) is the JSON; the rest of out_'s size is room to write in.
    mutable std::string out_;
    size_t len_ = 0;
    bool first_ = true;
};

}  // namespace stethoscope
