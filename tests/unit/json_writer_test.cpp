// The SDK's JsonWriter (include/stethoscope/json_writer.hpp): exact text for every token
// kind, escaping, reuse after str()/take()/clear(), NDJSON lines, growth past the first
// buffer, and a randomized round trip through Boost.JSON's parser.
#define BOOST_TEST_MODULE json_writer
#include <boost/test/unit_test.hpp>

#include <stethoscope/json_writer.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using stethoscope::JsonWriter;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(every_token_kind_has_its_exact_text) {
    JsonWriter w;
    w.begin_object();
    w.key("u").value(uint64_t{18446744073709551615ULL});
    w.key("i").value(int64_t{std::numeric_limits<int64_t>::min()});
    w.key("u32").value(uint32_t{7});
    w.key("int").value(-3);
    w.key("d").value(0.25);
    w.key("big").value(1234567.0);
    w.key("nan").value(std::numeric_limits<double>::quiet_NaN());
    w.key("inf").value(std::numeric_limits<double>::infinity());
    w.key("t").value(true);
    w.key("f").value(false);
    w.key("n").null();
    w.key("s").value("text");
    w.key("empty").value("");
    w.key("a").begin_array().value(uint64_t{1}).value("x").begin_object().end_object().end_array();
    w.key("o").begin_object().key("k").value(uint64_t{0}).end_object();
    w.end_object();
    BOOST_TEST(w.str() ==
               R"({"u":18446744073709551615,"i":-9223372036854775808,"u32":7,"int":-3,)"
               R"("d":0.25,"big":1.23457e+06,"nan":null,"inf":null,"t":true,"f":false,)"
               R"("n":null,"s":"text","empty":"","a":[1,"x",{}],"o":{"k":0}})");
    BOOST_TEST(w.size() == w.str().size());
}

BOOST_AUTO_TEST_CASE(strings_and_keys_are_escaped) {
    JsonWriter w;
    w.begin_object();
    w.key("q\"k").value(std::string_view("a\"b\\c\nd\re\tf\x01g\x1f", 14));
    w.key(std::string(100, 'k')).value(std::string(100, 'v'));
    w.end_object();
    BOOST_TEST(w.str() == "{\"q\\\"k\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\",\"" +
                              std::string(100, 'k') + "\":\"" + std::string(100, 'v') + "\"}");
    // Bytes >= 0x80 (UTF-8) pass through.
    w.clear();
    w.value("h\xc3\xa9");
    BOOST_TEST(w.str() == "\"h\xc3\xa9\"");
}

BOOST_AUTO_TEST_CASE(raw_and_members_of_splice_serialized_json) {
    JsonWriter w;
    w.begin_object().key("a").value(uint64_t{1});
    w.raw(R"("b":2)");
    w.members_of(R"( { "c": 3 } )");
    w.members_of("{ }");  // nothing to splice: no stray comma
    w.key("d").raw("[4]");
    w.end_object();
    BOOST_TEST(w.str() == R"({"a":1,"b":2, "c": 3 ,"d":[4]})");
}

BOOST_AUTO_TEST_CASE(the_writer_is_reused_after_str_take_and_clear) {
    JsonWriter w(0);  // no room at all to start with
    w.begin_object().key("a").value(uint64_t{1});
    const std::string& first = w.str();
    BOOST_TEST(first == R"({"a":1)");
    w.key("b").value(uint64_t{2}).end_object();  // writing on after str()
    BOOST_TEST(w.str() == R"({"a":1,"b":2})");
    std::string taken = w.take();
    BOOST_TEST(taken == R"({"a":1,"b":2})");
    BOOST_TEST(w.empty());
    BOOST_TEST(w.str().empty());
    w.begin_array().value(uint64_t{3}).end_array();  // after take(): a fresh document
    BOOST_TEST(w.str() == "[3]");
    w.clear();
    BOOST_TEST(w.empty());
    w.begin_object().end_object();
    BOOST_TEST(w.str() == "{}");
}

BOOST_AUTO_TEST_CASE(end_line_separates_ndjson_documents) {
    JsonWriter w;
    w.begin_object().key("n").value(uint64_t{1}).end_object().end_line();
    w.begin_object().key("n").value(uint64_t{2}).end_object().end_line();
    w.raw(R"({"n":3})").end_line();
    BOOST_TEST(w.str() == "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
}

BOOST_AUTO_TEST_CASE(a_document_larger_than_the_first_buffer_grows_intact) {
    JsonWriter w(16);
    w.begin_array();
    std::string want = "[";
    for (uint64_t i = 0; i < 100000; ++i) {
        w.value(i);
        want += (i ? "," : "") + std::to_string(i);
    }
    w.end_array();
    want += "]";
    BOOST_TEST(w.str() == want);
}

namespace {
// A random JSON value, written to `w` and built as a Boost.JSON value alike.
json::value random_value(std::mt19937_64& rng, JsonWriter& w, int depth) {
    auto random_string = [&] {
        std::string s(rng() % (rng() % 8 == 0 ? 200 : 20), ' ');
        for (char& c : s) c = static_cast<char>(rng() % 8 == 0 ? rng() % 0x20 : 0x20 + rng() % 0x5f);
        return s;
    };
    switch (depth > 3 ? rng() % 4 : rng() % 6) {
        case 0: {
            uint64_t v = rng() >> (rng() % 64);
            w.value(v);
            return v;
        }
        case 1: {
            int64_t v = static_cast<int64_t>(rng()) >> (rng() % 64);
            w.value(v);
            return v;
        }
        case 2: {
            bool b = rng() % 2 == 0;
            w.value(b);
            return b;
        }
        case 3: {
            std::string s = random_string();
            w.value(s);
            return json::string(s);
        }
        case 4: {
            json::array a;
            w.begin_array();
            for (uint64_t n = rng() % 6; n > 0; --n) a.push_back(random_value(rng, w, depth + 1));
            w.end_array();
            return a;
        }
        default: {
            json::object o;
            w.begin_object();
            for (uint64_t n = rng() % 6; n > 0; --n) {
                std::string k = random_string() + std::to_string(n);  // keys unique
                w.key(k);
                o[k] = random_value(rng, w, depth + 1);
            }
            w.end_object();
            return o;
        }
    }
}
}  // namespace

BOOST_AUTO_TEST_CASE(random_documents_parse_back_to_what_was_written) {
    std::mt19937_64 rng(20261202);
    JsonWriter w(0);
    for (int i = 0; i < 3000; ++i) {
        w.clear();
        json::value want = random_value(rng, w, 0);
        json::error_code ec;
        json::value got = json::parse(w.str(), ec);
        BOOST_TEST_REQUIRE(!ec, "document " << i << ": " << ec.message() << ": " << w.str());
        BOOST_TEST_REQUIRE(got == want, "document " << i << ": " << w.str());
    }
}

// The escape check reads keys and strings eight bytes at a time: every length up to past
// two words, with the character that needs escaping at every position.
BOOST_AUTO_TEST_CASE(an_escape_is_found_at_every_position_of_every_length) {
    for (size_t n = 1; n <= 40; ++n) {
        for (size_t at = 0; at < n; ++at) {
            for (char c : {'"', '\\', '\n', '\x00', '\x1f'}) {
                std::string s(n, 'a');
                s[at] = c;
                JsonWriter w;
                w.begin_object().key(s).value(s).end_object();
                json::error_code ec;
                json::value got = json::parse(w.str(), ec);
                BOOST_TEST_REQUIRE(!ec, "length " << n << " at " << at << ": " << w.str());
                BOOST_TEST_REQUIRE(got.as_object().at(s).as_string() == s,
                                   "length " << n << " at " << at);
            }
            // Bytes just above the escaped ones are written as they are.
            for (char c : {' ', '!', '#', '[', ']', '\x7f', '\x80', '\xff'}) {
                std::string s(n, 'a');
                s[at] = c;
                JsonWriter w;
                w.value(s);
                BOOST_TEST_REQUIRE(w.str() == "\"" + s + "\"", "length " << n << " at " << at);
            }
        }
    }
}
