// Declarative validation of a JSON config section (Boost.JSON), shared by the core and
// the plugins that use Boost.JSON. Optional for third-party plugins: a plugin only has to
// throw stethoscope::ConfigError with the JSON path from its parse_config.
//
// Usage, inside parse_config(json, path):
//     auto root = stethoscope::config::parse_section(json, path);
//     stethoscope::config::Section s(root, path);
//     Config c;
//     c.dir = s.string("dir", "streams/");
//     c.port = s.integer("port", 7001, 1, 65535);
//     s.finish();   // any key not read above is an error: "<path>.<key>: unknown key"
//
// Every error message starts with the full JSON path and says what was expected and what
// was found: `io.output.listener.requests_port: expected integer 1..65535, got "abc"`.
// Absent keys take the given default; a present key with a bad value is always an error.
#pragma once

#include <stethoscope/plugin.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stethoscope::config {

namespace json = boost::json;

// A short rendering of a value for messages: strings quoted, long values cut.
inline std::string describe(const json::value& v) {
    std::string s;
    switch (v.kind()) {
        case json::kind::object: return "an object";
        case json::kind::array: return "an array";
        case json::kind::null: return "null";
        default: s = json::serialize(v);
    }
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
}

inline std::string join_path(std::string_view path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return std::string(path) + "." + std::string(key);
}

// Parses a plugin's section text (as handed over by the host) into a value.
inline json::value parse_section(std::string_view text, std::string_view path) {
    if (text.empty()) return json::object();
    boost::system::error_code ec;
    json::parse_options opt;
    opt.allow_comments = true;
    opt.allow_trailing_commas = true;
    json::value v = json::parse(text, ec, {}, opt);
    if (ec) throw ConfigError(std::string(path) + ": invalid JSON: " + ec.message());
    return v;
}

class Section {
public:
    // `value` may be null (section absent: every key takes its default).
    Section(const json::value* value, std::string path) : path_(std::move(path)) {
        if (value == nullptr || value->is_null()) return;
        obj_ = value->if_object();
        if (obj_ == nullptr) fail_at(path_, "expected object", *value);
    }
    Section(const json::value& value, std::string path) : Section(&value, std::move(path)) {}

    const std::string& path() const { return path_; }
    std::string path(std::string_view key) const { return join_path(path_, key); }

    bool has(std::string_view key) const { return find(key) != nullptr; }

    // The raw value of a key (marked as read), or nullptr when absent.
    const json::value* raw(std::string_view key) { return take(key); }

    bool boolean(std::string_view key, bool def) {
        const json::value* v = take(key);
        if (v == nullptr) return def;
        if (!v->is_bool()) fail(key, "expected true or false", *v);
        return v->get_bool();
    }

    int64_t integer(std::string_view key, int64_t def, int64_t min, int64_t max) {
        const json::value* v = take(key);
        if (v == nullptr) return def;
        auto r = json::try_value_to<int64_t>(*v);
        if (!r || v->is_double() || v->is_bool() || *r < min || *r > max)
            fail(key, "expected integer " + range(min, max), *v);
        return *r;
    }

    double number(std::string_view key, double def, double min, double max) {
        const json::value* v = take(key);
        if (v == nullptr) return def;
        double d = 0;
        if (v->is_double()) d = v->get_double();
        else if (v->is_int64()) d = static_cast<double>(v->get_int64());
        else if (v->is_uint64()) d = static_cast<double>(v->get_uint64());
        else fail(key, "expected number " + range(min, max), *v);
        if (d < min || d > max) fail(key, "expected number " + range(min, max), *v);
        return d;
    }

    std::string string(std::string_view key, std::string_view def, bool allow_empty = true) {
        const json::value* v = take(key);
        if (v == nullptr) return std::string(def);
        if (!v->is_string()) fail(key, "expected string", *v);
        if (!allow_empty && v->get_string().empty()) fail(key, "expected non-empty string", *v);
        return std::string(v->get_string());
    }

    std::string one_of(std::string_view key, std::string_view def,
                       std::initializer_list<std::string_view> choices) {
        const json::value* v = take(key);
        if (v == nullptr) return std::string(def);
        std::string expected = "expected one of";
        for (auto c : choices) expected += std::string(" \"") + std::string(c) + "\"";
        if (!v->is_string()) fail(key, expected, *v);
        for (auto c : choices)
            if (v->get_string() == c) return std::string(c);
        fail(key, expected, *v);
    }

    std::vector<std::string> strings(std::string_view key) {
        std::vector<std::string> out;
        const json::value* v = take(key);
        if (v == nullptr) return out;
        if (!v->is_array()) fail(key, "expected array of strings", *v);
        size_t i = 0;
        for (const auto& e : v->get_array()) {
            std::string p = path(key) + "[" + std::to_string(i++) + "]";
            if (!e.is_string()) fail_at(p, "expected string", e);
            out.emplace_back(e.get_string());
        }
        return out;
    }

    std::vector<int64_t> integers(std::string_view key, int64_t min, int64_t max) {
        std::vector<int64_t> out;
        const json::value* v = take(key);
        if (v == nullptr) return out;
        if (!v->is_array()) fail(key, "expected array of integers " + range(min, max), *v);
        size_t i = 0;
        for (const auto& e : v->get_array()) {
            std::string p = path(key) + "[" + std::to_string(i++) + "]";
            auto r = json::try_value_to<int64_t>(e);
            if (!r || e.is_double() || e.is_bool() || *r < min || *r > max)
                fail_at(p, "expected integer " + range(min, max), e);
            out.push_back(*r);
        }
        return out;
    }

    // A nested object section (absent: an empty section with defaults).
    Section object(std::string_view key) { return Section(take(key), path(key)); }

    // Marks a key as handled elsewhere (e.g. a section passed on to a plugin).
    void skip(std::string_view key) { seen_.insert(std::string(key)); }

    // Every key present but not read is an error naming it.
    void finish() const {
        if (obj_ == nullptr) return;
        for (const auto& kv : *obj_)
            if (seen_.count(std::string(kv.key())) == 0)
                throw ConfigError(path(kv.key()) + ": unknown key");
    }

    [[noreturn]] void fail(std::string_view key, const std::string& expected,
                           const json::value& got) const {
        fail_at(path(key), expected, got);
    }
    [[noreturn]] static void fail_at(const std::string& path, const std::string& expected,
                                     const json::value& got) {
        throw ConfigError(path + ": " + expected + ", got " + describe(got));
    }

private:
    const json::value* find(std::string_view key) const {
        if (obj_ == nullptr) return nullptr;
        return obj_->if_contains(key);
    }
    const json::value* take(std::string_view key) {
        seen_.insert(std::string(key));
        
        return find(key);
    }
    static std::string range(int64_t min, int64_t max) {
        return std::to_string(min) + ".." + std::to_string(max);
    }
    static std::string range(double min, double max) {
        auto f = [](double d) {
            if (d >= 1e15) return std::string("inf");
            std::string s = std::to_string(d);
            s.erase(s.find_last_not_of('0') + 1);
            if (!s.empty() && s.back() == '.') s.pop_back();
            return s;
        };
        return f(min) + ".." + f(max);
    }

    const json::object* obj_ = nullptr;
    std::string path_;
    std::set<std::string> seen_;
};

}  // namespace stethoscope::config
