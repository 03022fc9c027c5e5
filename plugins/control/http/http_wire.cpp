#include "http_wire.hpp"

#include <boost/beast/http.hpp>

#include <cstdio>
#include <optional>

namespace stethoscope::control {

namespace http = boost::beast::http;

struct RequestReader::Parser {
    std::optional<http::request_parser<http::string_body>> p;
};

RequestReader::RequestReader(RequestLimits limits)
    : limits_(limits), parser_(std::make_unique<Parser>()) {}

RequestReader::~RequestReader() = default;

namespace {

RequestReader::Result failure(unsigned status, std::string message) {
    RequestReader::Result r;
    r.state = RequestReader::State::error;
    r.status = status;
    r.message = std::move(message);
    return r;
}

}  // namespace

RequestReader::Result RequestReader::feed(std::string_view bytes) {
    if (!parser_->p) {
        parser_->p.emplace();
        parser_->p->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
        parser_->p->body_limit(limits_.body_bytes);
        parser_->p->eager(true);
    }
    auto& p = *parser_->p;
    if (!line_seen_) {
        // Beast bounds the header as a whole; the request line gets its own, smaller bound.
        size_t eol = bytes.find('\n');
        if ((eol == std::string_view::npos && bytes.size() > limits_.request_line) ||
            (eol != std::string_view::npos && eol > limits_.request_line))
            return failure(414, "request line longer than " + std::to_string(limits_.request_line) +
                                    " bytes");
        line_seen_ = eol != std::string_view::npos;
    }
    Result r;
    while (!bytes.empty() && !p.is_done()) {
        boost::system::error_code ec;
        size_t n = p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
        r.consumed += n;
        bytes.remove_prefix(n);
        if (ec == http::error::need_more) break;
        if (ec == http::error::header_limit)
            return failure(431, "request header larger than " +
                                    std::to_string(limits_.header_bytes) + " bytes");
        if (ec == http::error::body_limit)
            return failure(413, "request body larger than " + std::to_string(limits_.body_bytes) +
                                    " bytes");
        if (ec) return failure(400, "malformed request: " + ec.message());
        if (n == 0) break;
    }
    r.state = p.is_done() ? State::done : State::need_more;
    return r;
}

bool RequestReader::in_progress() const { return parser_->p.has_value(); }

Request RequestReader::take() {
    auto& p = *parser_->p;
    const auto& m = p.get();
    Request req;
    req.method = std::string(m.method_string());
    req.target = std::string(m.target());
    if (auto it = m.find(http::field::authorization); it != m.end())
        req.authorization = std::string(it->value());
    if (auto it = m.find(http::field::accept); it != m.end()) req.accept = std::string(it->value());
    req.body = m.body();
    req.http10 = m.version() < 11;
    keep_alive_ = m.keep_alive();
    parser_->p.reset();
    line_seen_ = false;
    return req;
}

std::string serialize_response(const Response& r, bool keep_alive) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " +
                      std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                      "\r\n";
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    out += r.body;
    return out;
}

std::string stream_head(const Response& r, bool chunked) {
    std::string out = "HTTP/1.1 200 OK\r\nContent-Type: " + r.content_type + "\r\n";
    out += chunked ? "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
                   : "Cache-Control: no-cache\r\nConnection: close\r\n";
    if (r.framing == Framing::sse) out += "X-Accel-Buffering: no\r\n";
    out += "\r\n";
    return out;
}

Framed frame_event(Framing framing, bool chunked, std::string_view type, size_t json_size) {
    Framed f;
    if (framing == Framing::sse) {
        f.head = "event: " + std::string(type) + "\ndata: ";
        f.tail = "\n\n";
    } else {
        f.tail = "\n";
    }
    if (chunked) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", f.head.size() + json_size + f.tail.size());
        f.head.insert(0, size);
        f.tail += "\r\n";
    }
    return f;
}

}  // namespace stethoscope::control
