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
    JsonWriter& end_object() { out_.push_back('}'); first_ = false; return *this; }
    JsonWriter& begin_array() { return punct('['); }
    JsonWriter& end_array() { out_.push_back(']'); first_ = false; return *this; }
    JsonWriter& key(std::string_view k) {
        // Each token is built on the stack and appended in one call: the string's
        // append is the cost, not the few bytes (an event has ~50 keys).
        if (k.size() <= k_short && plain(k)) {
            char buf[k_short + 4];
            char* p = buf;
            if (!first_) *p++ = ',';
            *p++ = '"';
            std::memcpy(p, k.data(), k.size());
            p += k.size();
            *p++ = '"';
            *p++ = ':';
            out_.append(buf, static_cast<size_t>(p - buf));
        } else {
            comma();
            quoted(k);
            out_.push_back(':');
        }
        first_ = true;  // the value follows without a comma
        return *this;
    }
    JsonWriter& value(std::string_view s) {
        if (s.size() <= k_short && plain(s)) {  // the common case: one append
            char buf[k_short + 3];
            char* p = buf;
            if (!first_) *p++ = ',';
            *p++ = '"';
            std::memcpy(p, s.data(), s.size());
            p += s.size();
            *p++ = '"';
            out_.append(buf, static_cast<size_t>(p - buf));
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
        char buf[40];  // as printf's %.6g, without printf's cost
        char* p = buf;
        if (!first_) *p++ = ',';
        first_ = false;
        auto r = std::to_chars(p, buf + sizeof buf, v, std::chars_format::general, 6);
        out_.append(buf, static_cast<size_t>(r.ptr - buf));
        return *this;
    }
    // Inserts already-serialized JSON (an object from a plugin, say).
    JsonWriter& raw(std::string_view json) { comma(); out_.append(json); return *this; }
    // Splices the members of a serialized object ("{...}") into the current object.
    JsonWriter& members_of(std::string_view object_json) {
        size_t b = object_json.find('{'), e = object_json.rfind('}');
        if (b == std::string_view::npos || e == std::string_view::npos || e <= b) return *this;
        std::string_view inner = object_json.substr(b + 1, e - b - 1);
        if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
        comma();
        out_.append(inner);
        return *this;
    }

    JsonWriter& null() { return literal("null"); }

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }
    // Empties the writer for reuse, keeping its capacity.
    void clear() { out_.clear(); first_ = true; }
    bool empty() const { return out_.empty(); }

private:
    static constexpr size_t k_short = 60;  // keys and strings built on the stack

    void comma() {
        if (!first_) out_.push_back(',');
        first_ = false;
    }
    JsonWriter& punct(char c) {
        char buf[2] = {',', c};
        out_.append(first_ ? buf + 1 : buf, first_ ? 1 : 2);
        first_ = true;
        return *this;
    }
    JsonWriter& literal(std::string_view text) {
        char buf[8];
        char* p = buf;
        if (!first_) *p++ = ',';
        first_ = false;
        std::memcpy(p, text.data(), text.size());
        out_.append(buf, static_cast<size_t>(p - buf) + text.size());
        return *this;
    }
    template <class T>
    JsonWriter& number(T v) {
        char buf[24];
        char* p = buf;
        if (!first_) *p++ = ',';
        first_ = false;
        auto r = std::to_chars(p, buf + sizeof buf, v);
        out_.append(buf, static_cast<size_t>(r.ptr - buf));
        return *this;
    }
    static bool plain(std::string_view s) {
        for (char c : s)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
        return true;
    }
    void quoted(std::string_view s) {
        if (plain(s)) {  // nothing to escape
            out_.push_back('"');
            out_.append(s.data(), s.size());
            out_.push_back('"');
            return;
        }
        out_.push_back('"');
        for (char c : s) {
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\r': out_ += "\\r"; break;
                case '\t': out_ += "\\t"; break;
                default:
                    if (static_cast<unsigned char>(c) < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        out_ += buf;
                    } else {
                        out_.push_back(c);
                    }
            }
        }
        out_.push_back('"');
    }

    std::string out_;
    bool first_ = true;
};

}  // namespace stethoscope
