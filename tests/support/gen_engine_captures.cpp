// gen_engine_captures — crafted captures that pin the TCP engine's behaviour (decoder,
// flow table, reassembler) end to end, with the exact output it must produce.
//
//   gen_engine_captures OUTDIR
//
// For each case NAME it writes OUTDIR/NAME.pcap and OUTDIR/NAME.expected/ holding
//   <client_ip>_<client_port>-<server_ip>_<server_port>[~N]/requests.bin, responses.bin
//       the bytes the `files` output must write: only the bytes actually captured, in
//       stream order (gap bytes are not in the files)
//   expect.json
//       what tests/e2e/engine_e2e.py asserts besides the stream bytes:
//       {"name", "capture",
//        "config": {"capture": {...}, "reassembly": {...}}   merged into the run's config
//        "folders_exact": true|false   false: other session folders may exist (syn_flood)
//        "session_count": N            lines in sessions.ndjson
//        "sessions": [{"folder", "client", "server" (as the events write them), "reason",
//                      "requests_bytes", "responses_bytes" (bytes delivered),
//                      "gaps": [{"direction","offset","length","reason"}],
//                      "reason_not": [...], "closed_by_us": capture time (us) or null,
//                      "analysis_min": {"overlap_conflict": 1, ...}, "analysis_max": {...},
//                      "tshark_differences": {"requests"|"responses": "why"}}]
//        "stats": {"sessions_opened": N, ...}    capture_stats fields, exact
//        "fragments": {"reassembled": N, ...}    capture_stats.fragments fields, exact
//        "decode": {"reason": N, ...}            capture_stats.decode, exact (every reason
//                                                not listed must be absent or 0) ...
//        "decode_ignore": ["ip_fragment"]        ... except these
//        "note": "..."}
//       Each session's gap list is exact: the session_closed event's gaps (and so its
//       requests/responses gaps and gap_bytes) must equal it.
//
// The expected streams come from what TcpConversation recorded while it put the bytes
// into segments, minus the ranges a case deliberately never captures. Addresses are from
// 198.18.0.0/15 and 2001:db8::/32.
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "capture_builder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sth_test;

constexpr std::uint64_t k_epoch_us = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::uint8_t k_ack = tcp_flags::ack;
constexpr std::uint8_t k_ack_psh = tcp_flags::ack | tcp_flags::psh;

// ---------------------------------------------------------------- expectations

struct Gap {
    bool requests = true;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    std::string reason;
};

struct SessionExpect {
    IpAddress client_ip;
    std::uint16_t client_port = 0;
    IpAddress server_ip;
    std::uint16_t server_port = 0;
    Bytes requests;   // bytes that must be in requests.bin
    Bytes responses;  // bytes that must be in responses.bin
    std::string reason = "fin";  // session_closed reason; empty: not checked
    std::vector<std::string> reason_not;        // reasons it must not have
    std::optional<std::uint64_t> closed_by_us;  // its session_closed ts must be <= this
    std::vector<Gap> gaps;
    std::map<std::string, std::uint64_t> analysis_min;
    std::map<std::string, std::uint64_t> analysis_max;
    std::map<std::string, std::string> tshark_differences;
};

struct CaseExpect {
    std::string name;
    std::string config_capture = "{}";     // JSON object merged into "capture"
    std::string config_reassembly = "{}";  // JSON object merged into "reassembly"
    std::vector<SessionExpect> sessions;   // in order of session start
    bool folders_exact = true;
    std::optional<std::uint64_t> session_count;  // default: sessions.size()
    std::map<std::string, std::uint64_t> stats;
    std::map<std::string, std::uint64_t> fragments;
    std::map<std::string, std::uint64_t> decode;
    std::vector<std::string> decode_ignore;
    std::string note;
};

SessionExpect expect_from(const TcpConversation& c) {
    SessionExpect s;
    s.client_ip = c.client_ip();
    s.client_port = c.client_port();
    s.server_ip = c.server_ip();
    s.server_port = c.server_port();
    s.requests = c.requests();
    s.responses = c.responses();
    return s;
}

// `stream` without the bytes [offset, offset + length) of each range (ascending, disjoint).
Bytes without(const Bytes& stream, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges) {
    Bytes out;
    std::uint64_t pos = 0;
    for (const auto& [offset, length] : ranges) {
        out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos),
                   stream.begin() + static_cast<std::ptrdiff_t>(offset));
        pos = offset + length;
    }
    out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(pos), stream.end());
    return out;
}

std::string folder_name(const SessionExpect& s) {
    return s.client_ip.file_name_form() + "_" + std::to_string(s.client_port) + "-" +
           s.server_ip.file_name_form() + "_" + std::to_string(s.server_port);
}

// "ip:port", or "[ip]:port" for IPv6, as the events write an endpoint.
std::string endpoint_text(const IpAddress& ip, std::uint16_t port) {
    const std::string a = ip.to_string();
    return (ip.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", ch);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string json_counts(const std::map<std::string, std::uint64_t>& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) {
        out += (out.size() > 1 ? ", " : "") + json_string(k) + ": " + std::to_string(v);
    }
    return out + "}";
}

std::string json_strings(const std::map<std::string, std::string>& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) {
        out += (out.size() > 1 ? ", " : "") + json_string(k) + ": " + json_string(v);
    }
    return out + "}";
}

void save_case(const fs::path& outdir, const CaptureWriter& w, const CaseExpect& e) {
    const std::string capture = e.name + (w.format() == CaptureFormat::pcap ? ".pcap" : ".pcapng");
    w.save(outdir / capture);
    const fs::path dir = outdir / (e.name + ".expected");
    fs::remove_all(dir);
    fs::create_directories(dir);

    std::map<std::string, int> seen;
    std::ostringstream j;
    j << "{\n  \"name\": " << json_string(e.name) << ",\n  \"capture\": " << json_string(capture)
      << ",\n  \"config\": {\"capture\": " << e.config_capture
      << ", \"reassembly\": " << e.config_reassembly << "},\n  \"folders_exact\": "
      << (e.folders_exact ? "true" : "false") << ",\n  \"session_count\": "
      << e.session_count.value_or(e.sessions.size()) << ",\n  \"sessions\": [";
    bool first = true;
    for (const SessionExpect& s : e.sessions) {
        const std::string base = folder_name(s);
        const int n = ++seen[base];
        const std::string folder = n == 1 ? base : base + "~" + std::to_string(n);
        fs::create_directory(dir / folder);
        write_file(dir / folder / "requests.bin", s.requests);
        write_file(dir / folder / "responses.bin", s.responses);
        j << (first ? "\n" : ",\n") << "    {\"folder\": " << json_string(folder)
          << ", \"client\": " << json_string(endpoint_text(s.client_ip, s.client_port))
          << ", \"server\": " << json_string(endpoint_text(s.server_ip, s.server_port))
          << ", \"reason\": " << (s.reason.empty() ? "null" : json_string(s.reason))
          << ", \"reason_not\": [";
        for (std::size_t i = 0; i < s.reason_not.size(); ++i) {
            j << (i ? ", " : "") << json_string(s.reason_not[i]);
        }
        j << "], \"closed_by_us\": "
          << (s.closed_by_us ? std::to_string(*s.closed_by_us) : std::string("null"))
          << ", \"requests_bytes\": " << s.requests.size()
          << ", \"responses_bytes\": " << s.responses.size() << ",\n     \"gaps\": [";
        for (std::size_t i = 0; i < s.gaps.size(); ++i) {
            const Gap& g = s.gaps[i];
            j << (i ? ", " : "") << "{\"direction\": \"" << (g.requests ? "requests" : "responses")
              << "\", \"offset\": " << g.offset << ", \"length\": " << g.length
              << ", \"reason\": " << json_string(g.reason) << "}";
        }
        j << "],\n     \"analysis_min\": " << json_counts(s.analysis_min)
          << ", \"analysis_max\": " << json_counts(s.analysis_max)
          << ",\n     \"tshark_differences\": " << json_strings(s.tshark_differences) << "}";
        first = false;
    }
    j << "\n  ],\n  \"stats\": " << json_counts(e.stats) << ",\n  \"fragments\": "
      << json_counts(e.fragments) << ",\n  \"decode\": " << json_counts(e.decode)
      << ",\n  \"decode_ignore\": [";
    for (std::size_t i = 0; i < e.decode_ignore.size(); ++i) {
        j << (i ? ", " : "") << json_string(e.decode_ignore[i]);
    }
    j << "],\n  \"note\": " << json_string(e.note) << "\n}\n";
    write_file(dir / "expect.json", to_bytes(j.str()));
    std::cout << capture << "\n";
}

// A case with one session and default stats.
CaseExpect single(const std::string& name, SessionExpect s, const std::string& note = "") {
    CaseExpect e;
    e.name = name;
    e.sessions.push_back(std::move(s));
    e.stats["sessions_opened"] = 1;
    e.stats["sessions_evicted"] = 0;
    e.note = note;
    return e;
}

// ---------------------------------------------------------------- content and helpers

Bytes http_request(const std::string& path, const std::string& host, std::size_t body = 0,
                   std::uint64_t seed = 0) {
    Bytes out = to_bytes("POST " + path + " HTTP/1.1\r\nHost: " + host +
                         "\r\nUser-Agent: stethoscope-engine-gen/1\r\nContent-Length: " +
                         std::to_string(body) + "\r\n\r\n");
    const Bytes b = pseudo_random_bytes(body, seed);
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

// An HTTP request of exactly `total` bytes (the body fills what the head leaves).
Bytes sized_request(const std::string& path, std::size_t total, std::uint64_t seed) {
    for (std::size_t body = total > 200 ? total - 200 : 0;; ++body) {
        Bytes r = http_request(path, "198.18.0.2", body, seed);
        if (r.size() == total) {
            return r;
        }
        if (r.size() > total) {
            throw std::logic_error("sized_request: " + std::to_string(total) + " is too small");
        }
    }
}

Bytes http_response(std::size_t body_size, std::uint64_t seed) {
    Bytes out = to_bytes("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(body_size) + "\r\n\r\n");
    const Bytes body = pseudo_random_bytes(body_size, seed);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

ConversationConfig conv(const std::string& client_ip, std::uint16_t client_port,
                        const std::string& server_ip, std::uint16_t server_port,
                        std::shared_ptr<PacketClock> clock = nullptr) {
    ConversationConfig c;
    c.client = {client_ip, client_port};
    c.server = {server_ip, server_port};
    c.clock = clock ? std::move(clock) : std::make_shared<PacketClock>(k_epoch_us, 100);
    return c;
}

ConversationConfig conv4(std::uint16_t client_port = 40000, std::uint16_t server_port = 80) {
    return conv("198.18.0.1", client_port, "198.18.0.2", server_port);
}

// Handshake, request, response, FIN from the client, then from the server.
void exchange(TcpConversation& c, std::uint64_t seed, std::size_t response_body = 5000) {
    c.handshake();
    c.client_send(http_request("/exchange/" + std::to_string(seed), c.server_ip().to_string(), 300,
                               seed));
    c.server_send(http_response(response_body, seed + 1));
    c.client_fin();
    c.server_fin();
}

// A piece of one side's stream, to be written with put() in any order.
struct Chunk {
    bool from_client = true;
    std::int64_t offset = 0;
    Bytes data;
};

// `data` cut in `mss`-byte chunks, starting at that side's next stream offset.
std::vector<Chunk> chunks(const TcpConversation& c, bool from_client, const Bytes& data,
                          std::size_t mss) {
    std::vector<Chunk> out;
    const auto base = static_cast<std::int64_t>(from_client ? c.client_offset() : c.server_offset());
    for (std::size_t off = 0; off < data.size(); off += mss) {
        const std::size_t n = std::min(mss, data.size() - off);
        out.push_back({from_client, base + static_cast<std::int64_t>(off),
                       Bytes(data.begin() + static_cast<std::ptrdiff_t>(off),
                             data.begin() + static_cast<std::ptrdiff_t>(off + n))});
    }
    return out;
}

void put(TcpConversation& c, const Chunk& ch, const SegmentExtras& extras = {},
         std::uint8_t flags = k_ack_psh) {
    c.write(c.segment(ch.from_client, ch.offset, ch.data, flags, extras));
}

// Records the chunks (in stream order) as sent, so the normal path continues after them.
void mark(TcpConversation& c, const std::vector<Chunk>& chs) {
    for (const Chunk& ch : chs) {
        c.mark_sent(ch.from_client, ch.data);
    }
}

SegmentExtras with_ack(std::uint32_t ack) {
    SegmentExtras e;
    e.ack = ack;
    return e;
}

// The sequence number of stream offset `offset` of a side whose ISN is `isn`.
std::uint32_t seq_at(std::uint32_t isn, std::uint64_t offset) {
    return isn + 1 + static_cast<std::uint32_t>(offset);
}

// ---------------------------------------------------------------- link types

void link_case(const fs::path& outdir, const std::string& name, LinkKind kind,
               const std::string& client_ip, const std::string& server_ip,
               std::vector<VlanTag> tags = {}) {
    CaptureWriter w(CaptureFormat::pcap, linktype_for(kind));
    ConversationConfig cfg = conv(client_ip, 40000, server_ip, 80);
    cfg.link = kind;
    cfg.vlan_tags = std::move(tags);
    TcpConversation c(w, cfg);
    exchange(c, 10, 4000);
    save_case(outdir, w, single(name, expect_from(c)));
}

void gen_link_types(const fs::path& outdir) {
    link_case(outdir, "link_sll_v4", LinkKind::linux_sll, "198.18.0.1", "198.18.0.2");
    link_case(outdir, "link_sll2_v6", LinkKind::linux_sll2, "2001:db8::1", "2001:db8::2");
    link_case(outdir, "link_null_v4", LinkKind::bsd_null, "198.18.0.1", "198.18.0.2");
    link_case(outdir, "link_null_v6", LinkKind::bsd_null, "2001:db8::1", "2001:db8::2");
    link_case(outdir, "link_loop_v4", LinkKind::bsd_loop, "198.18.0.1", "198.18.0.2");
    link_case(outdir, "link_loop_v6", LinkKind::bsd_loop, "2001:db8::1", "2001:db8::2");
    link_case(outdir, "link_raw_v4", LinkKind::raw_ip, "198.18.0.1", "198.18.0.2");
    link_case(outdir, "link_raw_v6", LinkKind::raw_ip, "2001:db8::1", "2001:db8::2");
    link_case(outdir, "link_qinq_v4", LinkKind::ethernet, "198.18.0.1", "198.18.0.2",
              {VlanTag{100, 0, ethertype::qinq}, VlanTag{200, 5, ethertype::vlan}});
}

// ---------------------------------------------------------------- IP options, extensions

void gen_ipv4_options(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv4();
    // Record Route with room for two addresses (11 bytes) and a NOP: IHL 8.
    cfg.ipv4_options = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    TcpConversation c(w, cfg);
    exchange(c, 20, 6000);
    save_case(outdir, w, single("ipv4_options", expect_from(c), "IPv4 header of 32 bytes (IHL 8)"));
}

void gen_ipv6_ext_headers(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv("2001:db8::1", 40000, "2001:db8::2", 80);
    // Hop-by-hop with a Router Alert and PadN; destination options with a 12-byte PadN.
    cfg.ipv6_extensions = {
        {ipv6_ext::hop_by_hop, {5, 2, 0, 0, 1, 0}},
        {ipv6_ext::destination_options, {1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
    };
    TcpConversation c(w, cfg);
    exchange(c, 30, 6000);
    save_case(outdir, w,
              single("ipv6_ext_headers", expect_from(c),
                     "hop-by-hop (8 bytes) and destination options (16 bytes) before TCP"));
}

// ---------------------------------------------------------------- reordering, overlaps

void gen_out_of_order(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    const auto req = chunks(c, true, sized_request("/ooo", 5000, 40), 1000);
    for (const int i : {0, 2, 1, 4, 3}) {
        put(c, req[static_cast<std::size_t>(i)]);
    }
    mark(c, req);
    c.server_ack();
    const auto resp = chunks(c, false, http_response(5000, 41), 1200);
    for (const int i : {1, 0, 3, 2, 4}) {
        put(c, resp[static_cast<std::size_t>(i)]);
    }
    mark(c, resp);
    c.client_ack();
    c.client_fin();
    c.server_fin();
    CaseExpect e = single("out_of_order", expect_from(c),
                          "requests in order 0 2 1 4 3, responses 1 0 3 2 4");
    save_case(outdir, w, e);
}

void gen_retransmission_overlap(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    const Bytes data = sized_request("/retx", 6000, 50);
    const auto seg = chunks(c, true, data, 1000);  // [0,1000) ... [5000,6000)
    const auto piece = [&](std::int64_t from, std::int64_t to) {
        return Chunk{true, from, Bytes(data.begin() + from, data.begin() + to)};
    };
    put(c, seg[0]);
    put(c, seg[1]);
    put(c, seg[2]);
    put(c, piece(500, 1500));   // retransmissions overlapping delivered bytes, same bytes
    put(c, piece(1500, 2500));
    put(c, seg[4]);             // [4000,5000) ahead: buffered
    put(c, piece(3500, 4500));  // overlaps the buffered segment with the same bytes
    put(c, piece(4200, 4800));  // entirely inside the buffered data
    put(c, piece(3000, 3500));  // fills the hole
    put(c, seg[5]);
    put(c, piece(5000, 6000));  // full duplicate
    mark(c, seg);
    c.server_ack();
    c.server_send(http_response(2000, 51));
    c.client_fin();
    c.server_fin();
    SessionExpect s = expect_from(c);
    s.analysis_max["overlap_conflict"] = 0;
    CaseExpect e = single("retransmission_overlap", s,
                          "overlapping retransmissions carry the same bytes: no gap, no conflict");
    save_case(outdir, w, e);
}

void gen_conflicting_overlap(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    const Bytes data = sized_request("/conflict", 4000, 60);
    const auto seg = chunks(c, true, data, 1000);  // 4 segments
    put(c, seg[0]);
    put(c, seg[2]);  // [2000,3000) buffered out of order
    // [1500,2500): the real bytes where nothing was seen yet, different bytes over the
    // buffered [2000,2500): first-seen bytes must win.
    Bytes x(data.begin() + 1500, data.begin() + 2500);
    for (std::size_t i = 500; i < x.size(); ++i) {
        x[i] = static_cast<std::uint8_t>(x[i] ^ 0xFF);
    }
    put(c, Chunk{true, 1500, x});
    put(c, seg[1]);
    put(c, seg[3]);
    mark(c, seg);
    c.server_ack();
    c.server_send(http_response(1500, 61));
    c.client_fin();
    c.server_fin();
    SessionExpect s = expect_from(c);
    s.analysis_min["overlap_conflict"] = 1;
    save_case(outdir, w,
              single("conflicting_overlap", s,
                     "a segment overlapping buffered out-of-order data with different bytes: "
                     "first-seen bytes win"));
}

// ---------------------------------------------------------------- loss

void gen_lost_segment(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    const Bytes data = sized_request("/lost", 4000, 70);
    const auto seg = chunks(c, true, data, 1000);
    put(c, seg[0]);
    mark(c, {seg[0]});
    c.server_ack();
    mark(c, {seg[1]});  // never captured, but the receiver got it:
    c.server_ack();     // its ACK covers [1000,2000)
    put(c, seg[2]);
    put(c, seg[3]);
    mark(c, {seg[2], seg[3]});
    c.server_ack();
    c.server_send(http_response(2500, 71));
    c.client_fin();
    c.server_fin();
    SessionExpect s = expect_from(c);
    s.requests = without(c.requests(), {{1000, 1000}});
    s.gaps = {{true, 1000, 1000, "ack_past_hole"}};
    save_case(outdir, w, single("lost_segment", s, "request bytes [1000,2000) never captured"));
}

void gen_hole_at_close(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv4();
    TcpConversation c(w, cfg);
    c.handshake();
    c.server_send(to_bytes("220 ready\r\n"));
    const Bytes data = sized_request("/hole", 3000, 80);
    const auto seg = chunks(c, true, data, 1000);
    put(c, seg[0]);
    mark(c, {seg[0]});
    c.server_ack();  // ack 1000
    const std::uint32_t ack_1000 = seq_at(cfg.client_isn, 1000);
    put(c, seg[2]);  // [1000,2000) is lost and never acknowledged
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {}, k_ack,
                      with_ack(ack_1000)));  // duplicate ACK
    // The client's FIN after [2000,3000); the server still acks 1000, then resets.
    c.write(c.segment(true, 3000, {}, tcp_flags::fin | tcp_flags::ack));
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {}, k_ack,
                      with_ack(ack_1000)));
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {},
                      tcp_flags::rst | tcp_flags::ack, with_ack(ack_1000)));
    SessionExpect s = expect_from(c);
    s.requests = without(data, {{1000, 1000}});
    s.reason = "rst";
    s.gaps = {{true, 1000, 1000, "close"}};
    s.tshark_differences["requests"] =
        "tshark's follow never delivers data held behind a hole that is never filled or "
        "acknowledged; we deliver it at close, after a `close` gap";
    save_case(outdir, w,
              single("hole_at_close", s,
                     "request bytes [1000,2000) never captured nor acknowledged; server RST"));
}

// ---------------------------------------------------------------- snaplen

void gen_snaplen(const fs::path& outdir) {
    constexpr std::size_t k_snaplen = 96;
    CaptureWriter w(CaptureFormat::pcap, linktype::ethernet, k_snaplen);
    TcpConversation c(w, conv4());
    c.handshake();
    SessionExpect s;
    Bytes captured[2];
    std::uint64_t offset[2] = {0, 0};
    const auto send = [&](bool from_client, const Bytes& data, std::size_t mss) {
        for (const Chunk& ch : chunks(c, from_client, data, mss)) {
            const Bytes frame = c.segment(from_client, ch.offset, ch.data);
            c.write(frame);  // the writer cuts it to the snaplen, orig_len = full size
            c.mark_sent(from_client, ch.data);
            const std::size_t header = frame.size() - ch.data.size();
            const std::size_t got = k_snaplen > header ? std::min(ch.data.size(), k_snaplen - header) : 0;
            Bytes& out = captured[from_client ? 0 : 1];
            out.insert(out.end(), ch.data.begin(), ch.data.begin() + static_cast<std::ptrdiff_t>(got));
            if (got < ch.data.size()) {
                s.gaps.push_back({from_client, offset[from_client ? 0 : 1] + got, ch.data.size() - got,
                                  "truncated"});
            }
            offset[from_client ? 0 : 1] += ch.data.size();
            if (from_client) {
                c.server_ack();
            } else {
                c.client_ack();
            }
        }
    };
    send(true, http_request("/snap", "198.18.0.2", 1200, 90), 500);
    send(true, to_bytes("tiny"), 500);  // fits in the snaplen
    send(false, http_response(2800, 91), 1000);
    c.client_fin();
    c.server_fin();
    const SessionExpect full = expect_from(c);
    s.client_ip = full.client_ip;
    s.client_port = full.client_port;
    s.server_ip = full.server_ip;
    s.server_port = full.server_port;
    s.requests = captured[0];
    s.responses = captured[1];
    std::stable_sort(s.gaps.begin(), s.gaps.end(),
                     [](const Gap& a, const Gap& b) { return a.requests > b.requests; });
    save_case(outdir, w,
              single("snaplen", s, "snaplen 96: 30 payload bytes of each data segment captured"));
}

// ---------------------------------------------------------------- IP fragments

// Datagrams of the client, each one TCP segment of 200 payload bytes:
//   D1 fragments in order, D2 in reverse order, D3 in order plus an overlapping duplicate
//   fragment (same bytes), D4 with its second fragment missing forever (the server's ACK
//   covers it), then an unfragmented segment. The server ACKs after each datagram.
void fragments_case(const fs::path& outdir, bool v6) {
    const std::string name = v6 ? "ipv6_fragments" : "ipv4_fragments";
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg =
        v6 ? conv("2001:db8::1", 40000, "2001:db8::2", 80) : conv4();
    TcpConversation c(w, cfg);
    c.handshake();
    const Bytes data = pseudo_random_bytes(900, v6 ? 101 : 100);
    const auto seg = chunks(c, true, data, 200);  // 4 x 200 + 100
    std::uint32_t id = v6 ? 0x10000001 : 0x4001;
    std::size_t fragments_written = 0;
    // Fragments of one TCP segment: 64 bytes of TCP each (the header is 32 bytes).
    const auto fragments_of = [&](const Chunk& ch, std::uint32_t ident) {
        const Bytes tcp = c.tcp_bytes(true, ch.offset, ch.data);
        if (v6) {
            // D2 and D4 (even identifications) carry a hop-by-hop header in the
            // unfragmentable part.
            std::vector<Ipv6ExtensionHeader> unfrag;
            if (ident % 2 == 0) {
                unfrag.push_back({ipv6_ext::hop_by_hop, {1, 4, 0, 0, 0, 0}});
            }
            return std::make_pair(
                ipv6_fragments(c.client_ip(), c.server_ip(), ip_protocol::tcp, tcp, 64, ident, {},
                               unfrag),
                tcp);
        }
        Ipv4Fields f;
        f.id = static_cast<std::uint16_t>(ident);
        return std::make_pair(
            ipv4_fragments(c.client_ip(), c.server_ip(), ip_protocol::tcp, tcp, 64, f), tcp);
    };
    const auto write_ip = [&](const Bytes& ip) {
        c.write(c.link_frame_from(true, ip));
        ++fragments_written;
    };
    // D1 in order.
    {
        auto [frags, tcp] = fragments_of(seg[0], id++);
        for (const Bytes& f : frags) write_ip(f);
        mark(c, {seg[0]});
        c.server_ack();
    }
    // D2 reversed.
    {
        auto [frags, tcp] = fragments_of(seg[1], id++);
        for (auto it = frags.rbegin(); it != frags.rend(); ++it) write_ip(*it);
        mark(c, {seg[1]});
        c.server_ack();
    }
    // D3 with an overlapping duplicate of bytes [32,96) after its first two fragments
    // (so that only the duplicate overlaps earlier bytes).
    {
        const std::uint32_t ident = id++;
        auto [frags, tcp] = fragments_of(seg[2], ident);
        const ByteView dup(tcp.data() + 32, 64);
        Bytes overlap;
        if (v6) {
            std::vector<Ipv6ExtensionHeader> unfrag;
            if (ident % 2 == 0) unfrag.push_back({ipv6_ext::hop_by_hop, {1, 4, 0, 0, 0, 0}});
            overlap = ipv6_fragment(c.client_ip(), c.server_ip(), ip_protocol::tcp, dup, 32, true,
                                    ident, {}, unfrag);
        } else {
            Ipv4Fields f;
            f.id = static_cast<std::uint16_t>(ident);
            f.dont_fragment = false;
            f.more_fragments = true;
            f.fragment_offset = 32;
            overlap = ipv4_packet(c.client_ip(), c.server_ip(), ip_protocol::tcp, dup, f);
        }
        write_ip(frags[0]);
        write_ip(frags[1]);
        write_ip(overlap);
        for (std::size_t i = 2; i < frags.size(); ++i) write_ip(frags[i]);
        mark(c, {seg[2]});
        c.server_ack();
    }
    // D4: the second fragment never arrives; the receiver got the segment anyway.
    {
        auto [frags, tcp] = fragments_of(seg[3], id++);
        for (std::size_t i = 0; i < frags.size(); ++i) {
            if (i != 1) write_ip(frags[i]);
        }
        mark(c, {seg[3]});
        c.server_ack();
    }
    c.client_send(seg[4].data);
    c.server_send(http_response(1000, 102));
    c.client_fin();
    c.server_fin();

    SessionExpect s = expect_from(c);
    s.requests = without(c.requests(), {{600, 200}});
    s.gaps = {{true, 600, 200, "ack_past_hole"}};
    CaseExpect e = single(name, s,
                          "D1 in order, D2 reversed, D3 with an overlapping duplicate fragment, "
                          "D4 missing a fragment forever (its 200 bytes become a gap)");
    e.fragments["received"] = fragments_written;
    e.fragments["reassembled"] = 3;
    e.fragments["overlaps"] = 1;
    e.decode_ignore = {"ip_fragment"};
    save_case(outdir, w, e);
}

// ---------------------------------------------------------------- malformed packets

void gen_malformed(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv4();
    TcpConversation c(w, cfg);
    c.handshake();
    const Bytes data = sized_request("/malformed", 3000, 110);
    const auto seg = chunks(c, true, data, 500);
    const Bytes garbage = pseudo_random_bytes(500, 111);
    constexpr std::size_t k_ip = 14;  // Ethernet header
    std::size_t next = 0;
    const auto real = [&]() {
        put(c, seg[next]);
        mark(c, {seg[next]});
        c.server_ack();
        ++next;
    };
    // Each malformed packet carries garbage exactly where the next real segment goes.
    const auto bogus = [&]() {
        return c.segment(true, static_cast<std::int64_t>(c.client_offset()), garbage);
    };
    real();
    {  // IHL 4
        Bytes f = bogus();
        f[k_ip] = 0x44;
        c.write(f);
    }
    real();
    {  // TCP data offset 3
        Bytes f = bogus();
        f[k_ip + 20 + 12] = static_cast<std::uint8_t>(3 << 4 | (f[k_ip + 20 + 12] & 0x0F));
        c.write(f);
    }
    real();
    {  // IP total length 200 bytes beyond the frame, not cut by the snaplen
        Bytes f = bogus();
        const std::size_t total = (std::size_t{f[k_ip + 2]} << 8 | f[k_ip + 3]) + 200;
        f[k_ip + 2] = static_cast<std::uint8_t>(total >> 8);
        f[k_ip + 3] = static_cast<std::uint8_t>(total);
        c.write(f);
    }
    {  // a TCP option (MSS) whose length (48) runs past the 4-byte option area
        SegmentExtras x;
        x.options = TcpOptions{};
        x.options->raw = {2, 48, 0x05, 0xb4};
        c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()), garbage, k_ack_psh, x));
    }
    real();
    {  // IPv6: a hop-by-hop header claiming 2048 bytes in a 100-byte packet
        const IpAddress a = IpAddress::parse("2001:db8::1");
        const IpAddress b = IpAddress::parse("2001:db8::2");
        TcpFields t;
        t.src_port = 40000;
        t.dst_port = 80;
        t.seq = 12345;
        Bytes body = {ip_protocol::tcp, 255, 1, 4, 0, 0, 0, 0};
        const Bytes tcp = tcp_segment(a, b, t, ByteView(garbage.data(), 52));
        body.insert(body.end(), tcp.begin(), tcp.end());
        c.write(ethernet_frame({}, ethertype::ipv6, ipv6_packet(a, b, ipv6_ext::hop_by_hop, body)));
    }
    real();
    {  // a frame that ends inside the Ethernet header (caplen = len = 10)
        const Bytes f = bogus();
        c.write(ByteView(f.data(), 10));
    }
    while (next < seg.size()) real();
    c.server_send(http_response(1200, 112));
    c.client_fin();
    c.server_fin();
    SessionExpect s = expect_from(c);
    s.tshark_differences["requests"] =
        "tshark still follows the TCP payload of the packet whose IPv4 total length runs past "
        "the frame (and of the one whose TCP option overflows the header), so their garbage "
        "wins at offset 1500; we skip both as malformed";
    CaseExpect e = single("malformed", s,
                          "six malformed packets, each carrying garbage at the next offset");
    e.decode = {{"ip_bad_header_length", 1}, {"tcp_bad_data_offset", 1},
                {"ip_length_past_packet", 1}, {"tcp_bad_options", 1},
                {"ipv6_bad_extension", 1},   {"link_truncated", 1}};
    save_case(outdir, w, e);
}

// ---------------------------------------------------------------- hostile volume

// 4999 SYNs from distinct ports, never answered, plus one real session whose SYN is the
// 5000th opening and whose packets are spread over the last tenth of the flood. With
// max_sessions 1000 the table evicts the 4000 least recently active sessions; the real
// session is always among the recently active ones.
void gen_syn_flood(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 10);
    ConversationConfig cfg = conv("198.18.0.1", 40000, "198.18.0.2", 80, clock);
    TcpConversation real(w, cfg);
    const IpAddress attacker = IpAddress::parse("198.18.1.1");
    const IpAddress victim = IpAddress::parse("198.18.0.2");
    const Bytes request = http_request("/flood", "198.18.0.2", 1500, 120);
    const Bytes response = http_response(3000, 121);
    std::vector<std::function<void()>> steps;
    steps.push_back([&] { real.handshake(); });
    for (std::size_t off = 0; off < request.size(); off += 400) {
        steps.push_back([&, off] {
            real.client_send(Bytes(request.begin() + static_cast<std::ptrdiff_t>(off),
                                   request.begin() + static_cast<std::ptrdiff_t>(
                                                         std::min(off + 400, request.size()))));
        });
    }
    for (std::size_t off = 0; off < response.size(); off += 500) {
        steps.push_back([&, off] {
            real.server_send(Bytes(response.begin() + static_cast<std::ptrdiff_t>(off),
                                   response.begin() + static_cast<std::ptrdiff_t>(
                                                          std::min(off + 500, response.size()))));
        });
    }
    steps.push_back([&] { real.client_fin(); });
    steps.push_back([&] { real.server_fin(); });

    constexpr int k_flood = 4999;
    constexpr int k_real_start = 4500;
    constexpr int k_every = 20;
    std::size_t step = 0;
    for (int i = 0; i < k_flood; ++i) {
        if (i >= k_real_start && (i - k_real_start) % k_every == 0 && step < steps.size()) {
            steps[step++]();
        }
        TcpFields t;
        t.src_port = static_cast<std::uint16_t>(10000 + i);
        t.dst_port = 80;
        t.seq = 0x10000000u + static_cast<std::uint32_t>(i) * 7919u;
        t.flags = tcp_flags::syn;
        t.options.mss = 1460;
        Ipv4Fields f;
        f.id = static_cast<std::uint16_t>(i);
        const Bytes ip = ipv4_packet(attacker, victim, ip_protocol::tcp,
                                     tcp_segment(attacker, victim, t, {}), f);
        w.write(clock->next(), link_frame(LinkKind::ethernet, {}, ip));
    }
    while (step < steps.size()) {
        steps[step++]();
    }
    CaseExpect e;
    e.name = "syn_flood";
    e.config_reassembly = R"({"max_sessions": 1000})";
    e.sessions.push_back(expect_from(real));
    e.folders_exact = false;
    e.session_count = 5000;
    e.stats["sessions_opened"] = 5000;
    e.stats["sessions_evicted"] = 4000;
    e.note = "4999 unanswered SYNs + 1 real session, max_sessions 1000";
    save_case(outdir, w, e);
}

void gen_one_byte_segments(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv4();
    cfg.clock = std::make_shared<PacketClock>(k_epoch_us, 10);
    cfg.ack_every = 100;
    TcpConversation c(w, cfg);
    c.handshake();
    c.client_send(pseudo_random_bytes(100'000, 130), 1);
    c.server_send(http_response(500, 131));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w, single("one_byte_segments", expect_from(c), "100,000 1-byte segments"));
}

// ---------------------------------------------------------------- sequence space

void gen_wraparound_ooo(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    ConversationConfig cfg = conv4();
    cfg.client_isn = 0xFFFFFFFFu - 2499;  // offset 2499 is sequence number 0
    cfg.server_isn = 0xFFFFFFFFu - 99;    // offset 99 is sequence number 0
    TcpConversation c(w, cfg);
    c.handshake();
    const auto req = chunks(c, true, sized_request("/wrap", 5000, 140), 500);
    // Segment 4 ([2000,2500)) spans the wrap; 5 and 6 (past it) come first.
    for (const int i : {0, 1, 2, 3, 5, 6, 4, 7, 9, 8}) {
        put(c, req[static_cast<std::size_t>(i)]);
    }
    mark(c, req);
    c.server_ack();
    const auto resp = chunks(c, false, http_response(1500, 141), 300);
    // Segment 0 ([0,300)) spans the wrap and comes after 1 and 2.
    for (std::size_t k = 0; k < resp.size(); ++k) {
        const std::size_t i = k == 0 ? 1 : k == 1 ? 2 : k == 2 ? 0 : k;
        put(c, resp[i]);
    }
    mark(c, resp);
    c.client_ack();
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("wraparound_ooo", expect_from(c),
                     "out-of-order segments on both sides of the 2^32 boundary"));
}

void gen_huge_seq_jump(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    c.client_send(http_request("/jump", "198.18.0.2", 700, 150));
    // Garbage 2^31 away from the next expected sequence number, both directions.
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) + (std::int64_t{1} << 31),
                      pseudo_random_bytes(300, 151)));
    c.client_send(pseudo_random_bytes(1500, 152));
    c.server_send(http_response(1000, 153));
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()) + (std::int64_t{1} << 31),
                      pseudo_random_bytes(300, 154)));
    c.server_send(pseudo_random_bytes(2000, 155));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("huge_seq_jump", expect_from(c),
                     "a 300-byte garbage segment 2^31 away from the next sequence number, "
                     "each direction"));
}

void gen_far_outside_window(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());  // receive window 262144 bytes (2048 << 7)
    c.handshake();
    c.client_send(http_request("/far", "198.18.0.2", 700, 160));
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) + (std::int64_t{1} << 30),
                      pseudo_random_bytes(300, 161)));
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) + 1'000'000,
                      pseudo_random_bytes(300, 162)));
    c.client_send(pseudo_random_bytes(1500, 163));
    c.server_send(http_response(1000, 164));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("far_outside_window", expect_from(c),
                     "garbage 2^30 and 10^6 bytes ahead: far beyond the 256 KiB window, never "
                     "acknowledged"));
}

// ---------------------------------------------------------------- RST, probes

void gen_rst_injection(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    c.client_send(http_request("/rst", "198.18.0.2", 500, 170));
    c.server_send(http_response(1500, 171));
    // Spoofed RSTs far outside the receiver's window: ignored by the endpoint.
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()) + 1'000'000, {},
                      tcp_flags::rst | tcp_flags::ack));
    c.server_send(pseudo_random_bytes(1500, 172));
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) - 1'000'000, {},
                      tcp_flags::rst));
    c.client_send(http_request("/rst2", "198.18.0.2", 200, 173));
    c.server_send(pseudo_random_bytes(700, 174));
    // A valid RST (exactly at the next sequence number) with a payload that is no stream
    // data.
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()),
                      to_bytes("connection reset by peer"), tcp_flags::rst | tcp_flags::ack));
    SessionExpect s = expect_from(c);
    s.reason = "rst";
    s.tshark_differences["requests"] =
        "tshark's follow includes the payload of the final RST; RST payloads are no stream "
        "data (DESIGN: Reassembly semantics)";
    save_case(outdir, w,
              single("rst_injection", s,
                     "RSTs 10^6 outside the window from both sides are ignored; the final "
                     "in-window RST (with a payload) closes the session"));
}

void gen_keepalive_zero_window(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    c.handshake();
    c.client_send(http_request("/ka", "198.18.0.2", 500, 180));
    c.server_send(http_response(2000, 181));
    // Keep-alives: seq = next - 1 with one garbage byte, and with no byte; from both sides.
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) - 1, to_bytes("\x5a"), k_ack));
    c.server_ack();
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) - 1, {}, k_ack));
    c.server_ack();
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()) - 1, to_bytes("\xa5"), k_ack));
    c.client_ack();
    // The server's window closes; the client probes it (0 bytes at next - 1, then the next
    // byte itself), the server drops the probes and reopens its window.
    const Bytes more = pseudo_random_bytes(1200, 182);
    SegmentExtras zero;
    zero.window = 0;
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {}, k_ack, zero));
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()) - 1, {}, k_ack));
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {}, k_ack, zero));
    c.write(c.segment(true, static_cast<std::int64_t>(c.client_offset()), ByteView(more.data(), 1), k_ack));
    c.write(c.segment(false, static_cast<std::int64_t>(c.server_offset()), {}, k_ack, zero));
    c.server_ack();  // window update
    c.client_send(more);
    c.server_send(http_response(300, 183));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("keepalive_zero_window", expect_from(c),
                     "keep-alives (1 garbage byte and 0 bytes at next-1) and zero-window probes"));
}

void gen_tfo(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4());
    HandshakeOptions h;
    h.client_syn.raw = {34, 10, 0xC0, 0x0C, 0x1E, 0x5E, 0xED, 0x00, 0x11, 0x22};  // TFO cookie
    h.server_syn_ack.raw = {};
    h.syn_payload = to_bytes("GET /fast-open HTTP/1.1\r\nHost: 198.18.0.2\r\n\r\n");
    c.handshake(h);
    c.server_send(http_response(2000, 190));
    c.client_send(http_request("/after-tfo", "198.18.0.2", 100, 191));
    c.server_send(http_response(500, 192));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("tfo", expect_from(c),
                     std::to_string(h.syn_payload.size()) + " bytes of data on the SYN (Fast Open)"));
}

// Nine SYNs that are never answered and a SYN + SYN-ACK without the third ACK, then 10 s
// of silence, then a real session. With handshake_timeout_sec 2 (idle timeout 300 s) the
// ten half-open sessions must be closed by the timeout when the real session's first
// packet moves the capture clock on, not at the end of the input. Ten of them, so that
// with two workers some almost surely sit on the shard that gets no later packet: its
// clock must move too (the file's time is one time).
void gen_handshake_timeout(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 1000);
    CaseExpect e;
    e.name = "handshake_timeout";
    e.config_reassembly = R"({"handshake_timeout_sec": 2})";
    constexpr std::uint16_t k_half_open = 10;
    std::vector<TcpConversation> half;
    half.reserve(k_half_open);
    for (std::uint16_t i = 0; i < k_half_open; ++i) {
        half.emplace_back(w, conv("198.18.0.1", static_cast<std::uint16_t>(41000 + i), "198.18.0.2",
                                  80, clock));
    }
    HandshakeOptions syn_ack_only;
    syn_ack_only.final_ack = false;
    for (std::size_t i = 0; i + 1 < half.size(); ++i) {
        half[i].write(half[i].segment(true, -1, {}, tcp_flags::syn));
    }
    half.back().handshake(syn_ack_only);
    clock->advance(10'000'000);
    TcpConversation real(w, conv("198.18.0.1", 40000, "198.18.0.2", 80, clock));
    const std::uint64_t real_start = clock->now();
    exchange(real, 240, 2000);
    for (const TcpConversation& c : half) {
        SessionExpect s = expect_from(c);
        s.reason.clear();
        s.reason_not = {"end_of_input", "evicted", "fin", "rst"};
        s.closed_by_us = real_start;
        e.sessions.push_back(s);
    }
    e.sessions.push_back(expect_from(real));
    e.stats["sessions_opened"] = k_half_open + 1;
    e.stats["sessions_evicted"] = 0;
    e.note = "half-open sessions closed by reassembly.handshake_timeout_sec (2 s) during a 10 s "
             "silence";
    save_case(outdir, w, e);
}

// Ten sessions exchange data and go silent (no FIN), then 30 s of silence, then a real
// session. With idle_timeout_sec 5 the ten are closed as idle when the real session's
// first packet moves the capture clock on, on whichever shard they live.
void gen_idle_timeout(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 1000);
    CaseExpect e;
    e.name = "idle_timeout";
    e.config_reassembly = R"({"idle_timeout_sec": 5})";
    constexpr std::uint16_t k_silent = 10;
    std::vector<TcpConversation> silent;
    silent.reserve(k_silent);
    for (std::uint16_t i = 0; i < k_silent; ++i) {
        silent.emplace_back(w, conv("198.18.0.1", static_cast<std::uint16_t>(42000 + i),
                                    "198.18.0.2", 80, clock));
        TcpConversation& c = silent.back();
        c.handshake();
        c.client_send(http_request("/idle", "198.18.0.2", 50, 250u + i));
        c.server_send(http_response(300, 260u + i));
    }
    clock->advance(30'000'000);
    TcpConversation real(w, conv("198.18.0.1", 40000, "198.18.0.2", 80, clock));
    const std::uint64_t real_start = clock->now();
    exchange(real, 270, 2000);
    for (const TcpConversation& c : silent) {
        SessionExpect s = expect_from(c);
        s.reason = "idle";
        s.closed_by_us = real_start;
        e.sessions.push_back(s);
    }
    e.sessions.push_back(expect_from(real));
    e.stats["sessions_opened"] = k_silent + 1;
    e.stats["sessions_evicted"] = 0;
    e.note = "silent sessions closed by reassembly.idle_timeout_sec (5 s) during a 30 s silence";
    save_case(outdir, w, e);
}

// ---------------------------------------------------------------- pickup

void gen_pickup(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4(40000, 80));
    // The capture starts in the middle of a response: the first packet is the server's.
    c.server_send(pseudo_random_bytes(2500, 200));
    c.client_send(http_request("/next", "198.18.0.2", 100, 201));
    c.server_send(http_response(1000, 202));
    c.client_fin();
    c.server_fin();
    save_case(outdir, w,
              single("pickup", expect_from(c),
                     "no SYN; first packet from the server (port 80); offset 0 is the first "
                     "captured byte"));
}

void gen_pickup_server_ports(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    TcpConversation c(w, conv4(5000, 8080));  // the client's port is the lower one
    c.client_send(http_request("/sp", "198.18.0.2", 100, 210));
    c.server_send(http_response(1500, 211));
    c.client_fin();
    c.server_fin();
    CaseExpect e = single("pickup_server_ports", expect_from(c),
                          "no SYN; capture.server_ports [8080] names the server although its "
                          "port is the higher one");
    e.config_capture = R"({"server_ports": [8080]})";
    save_case(outdir, w, e);
}

// ---------------------------------------------------------------- checksums

void gen_bad_checksum(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 100);
    CaseExpect e;
    e.name = "bad_checksum";
    e.note = "40001: corrupt copy then valid copy (same bytes); 40002: every client packet "
             "with an offloaded (pseudo-header only) checksum, ACKed; 40003: corrupt copy with "
             "different bytes, then the valid copy";

    {  // 40001: a corrupted copy, then a valid retransmission of the same bytes
        TcpConversation c(w, conv("198.18.0.1", 40001, "198.18.0.2", 80, clock));
        c.handshake();
        const auto seg = chunks(c, true, http_request("/cksum1", "198.18.0.2", 1400, 220), 500);
        put(c, seg[0]);
        mark(c, {seg[0]});
        c.server_ack();
        SegmentExtras bad;
        bad.checksum = TcpChecksum::corrupt;
        put(c, seg[1], bad);
        c.server_ack();  // duplicate ACK: the receiver dropped it
        put(c, seg[1]);
        put(c, seg[2]);
        mark(c, {seg[1], seg[2]});
        c.server_ack();
        c.server_send(http_response(1000, 221));
        c.client_fin();
        c.server_fin();
        e.sessions.push_back(expect_from(c));
    }
    {  // 40002: checksum offload on the client's host: all its packets carry the
       // pseudo-header sum only; nothing is retransmitted, the server ACKs everything.
        ConversationConfig cfg = conv("198.18.0.1", 40002, "198.18.0.2", 80, clock);
        cfg.client_checksum = TcpChecksum::pseudo_header_only;
        TcpConversation c(w, cfg);
        c.handshake();
        c.client_send(http_request("/cksum2", "198.18.0.2", 2500, 222), 1000);
        c.server_send(http_response(1500, 223));
        c.client_fin();
        c.server_fin();
        e.sessions.push_back(expect_from(c));
    }
    {  // 40003: a corrupted copy with different bytes, then the valid copy
        TcpConversation c(w, conv("198.18.0.1", 40003, "198.18.0.2", 80, clock));
        c.handshake();
        const auto seg = chunks(c, true, http_request("/cksum3", "198.18.0.2", 1400, 224), 500);
        put(c, seg[0]);
        mark(c, {seg[0]});
        c.server_ack();
        Chunk corrupted = seg[1];
        for (std::uint8_t& b : corrupted.data) b = static_cast<std::uint8_t>(b ^ 0x20);
        SegmentExtras bad;
        bad.checksum = TcpChecksum::corrupt;
        put(c, corrupted, bad);
        c.server_ack();  // duplicate ACK
        put(c, seg[1]);
        put(c, seg[2]);
        mark(c, {seg[1], seg[2]});
        c.server_ack();
        c.server_send(http_response(1000, 225));
        c.client_fin();
        c.server_fin();
        SessionExpect s = expect_from(c);
        s.tshark_differences["requests"] =
            "tshark does not verify TCP checksums (tcp.check_checksum is off) and keeps the "
            "first copy: it shows the corrupted bytes, the receiver dropped them";
        e.sessions.push_back(s);
    }
    e.stats["sessions_opened"] = 3;
    e.stats["sessions_evicted"] = 0;
    save_case(outdir, w, e);
}

// ---------------------------------------------------------------- port reuse

void gen_port_reuse(const fs::path& outdir) {
    CaptureWriter w(CaptureFormat::pcap);
    auto clock = std::make_shared<PacketClock>(k_epoch_us, 100);
    ConversationConfig cfg = conv("198.18.0.1", 40000, "198.18.0.2", 80, clock);
    TcpConversation first(w, cfg);
    exchange(first, 230, 2000);
    cfg.client_isn = 0x5EED0000;
    cfg.server_isn = 0x00C0FFEE;
    TcpConversation second(w, cfg);  // the next SYN follows the last ACK immediately
    exchange(second, 232, 3000);
    CaseExpect e;
    e.name = "port_reuse";
    e.sessions = {expect_from(first), expect_from(second)};
    e.stats["sessions_opened"] = 2;
    e.stats["sessions_evicted"] = 0;
    e.note = "the same 4-tuple reused 100 us after FIN/FIN/ACK, new ISNs";
    save_case(outdir, w, e);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: gen_engine_captures OUTDIR\n";
        return 2;
    }
    try {
        const fs::path outdir = argv[1];
        fs::create_directories(outdir);
        gen_link_types(outdir);
        gen_ipv4_options(outdir);
        gen_ipv6_ext_headers(outdir);
        gen_out_of_order(outdir);
        gen_retransmission_overlap(outdir);
        gen_conflicting_overlap(outdir);
        gen_lost_segment(outdir);
        gen_hole_at_close(outdir);
        gen_snaplen(outdir);
        fragments_case(outdir, false);
        fragments_case(outdir, true);
        gen_malformed(outdir);
        gen_syn_flood(outdir);
        gen_one_byte_segments(outdir);
        gen_wraparound_ooo(outdir);
        gen_huge_seq_jump(outdir);
        gen_far_outside_window(outdir);
        gen_rst_injection(outdir);
        gen_keepalive_zero_window(outdir);
        gen_tfo(outdir);
        gen_handshake_timeout(outdir);
        gen_idle_timeout(outdir);
        gen_pickup(outdir);
        gen_pickup_server_ports(outdir);
        gen_bad_checksum(outdir);
        gen_port_reuse(outdir);
    } catch (const std::exception& e) {
        std::cerr << "gen_engine_captures: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
