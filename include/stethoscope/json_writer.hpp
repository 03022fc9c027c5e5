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
    JsonWriter& begin_object() { comma(); out_ += '{'; first_ = true; return *this; }
    JsonWriter& end_object() { out_ += '}'; first_ = false; return *this; }
    JsonWriter& begin_array() { comma(); out_ += '['; first_ = true; return *this; }
    JsonWriter& end_array() { out_ += ']'; first_ = false; return *this; }
    JsonWriter& key(std::string_view k) {
        if (!plain(k)) {
            comma();
            quoted(k);
            out_ += ':';
            first_ = true;
            return *this;
        }
        // The common case in one append: [,]"key":
        const size_t n = out_.size();
        out_.resize(n + k.size() + 4);
        char* p = out_.data() + n;
        if (!first_) *p++ = ',';
        *p++ = '"';
        std::memcpy(p, k.data(), k.size());
        p += k.size();
        *p++ = '"';
        *p++ = ':';
        out_.resize(static_cast<size_t>(p - out_.data()));
        first_ = true;  // the value follows without a comma
        return *this;
    }
    // Reserves room for a typical event (or `reserve` bytes).
    explicit JsonWriter(size_t reserve = 512) { out_.reserve(reserve); }
    JsonWriter& value(std::string_view s) { comma(); quoted(s); return *this; }
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b) { comma(); out_ += b ? "true" : "false"; return *this; }
    JsonWriter& value(uint64_t v) { comma(); number(v); return *this; }
    JsonWriter& value(int64_t v) { comma(); number(v); return *this; }
    JsonWriter& value(uint32_t v) { return value(static_cast<uint64_t>(v)); }
    JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
    JsonWriter& value(double v) {
        comma();
        if (!(v == v) || v > 1.7e308 || v < -1.7e308) {  // NaN or infinite: not JSON
            out_ += "null";
            return *this;
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", v);
        out_ += buf;
        return *this;
    }
    // Inserts already-serialized JSON (an object from a plugin, say).
    JsonWriter& raw(std::string_view json) { comma(); out_ += json; return *this; }
    // Splices the members of a serialized object ("{...}") into the current object.
    JsonWriter& members_of(std::string_view object_json) {
        size_t b = object_json.find('{'), e = object_json.rfind('}');
        if (b == std::string_view::npos || e == std::string_view::npos || e <= b) return *this;
        std::string_view inner = object_json.substr(b + 1, e - b - 1);
        if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
        comma();
        out_ += inner;
        return *this;
    }

    JsonWriter& null() { comma(); out_ += "null"; return *this; }

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }
    // Empties the writer for reuse, keeping its capacity.
    void clear() { out_.clear(); first_ = true; }
    bool empty() const { return out_.empty(); }

private:
    void comma() {
        if (!first_) out_ += ',';
        first_ = false;
    }
    template <class T>
    void number(T v) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, static_cast<size_t>(r.ptr - buf));
    }
    static bool plain(std::string_view s) {
        for (char c : s)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
        return true;
    }
    void quoted(std::string_view s) {
        out_ += '"';
        if (plain(s)) {  // the common case: nothing to escape
            out_.append(s.data(), s.size());
            out_ += '"';
            return;
        }
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
                        out_ += c;
                    }
            }
        }
        out_ += '"';
    }

    std::string out_;
    bool first_ = true;
};

}  // namespace stethoscope
