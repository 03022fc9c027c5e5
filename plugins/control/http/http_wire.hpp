// HTTP/1.1 on the wire: an incremental request reader over Boost.Beast's parser with the
// plane's limits, and the response and chunk framing the server writes. No sockets: the
// fuzz target feeds it bytes directly. Beast stays inside http_wire.cpp.
#pragma once

#include "routes.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace stethoscope::control {

struct RequestLimits {
    size_t request_line = 8192;
    size_t header_bytes = 16384;
    uint64_t body_bytes = 65536;
};

// Reads one request after another from a byte stream. feed() takes the unconsumed bytes
// received so far (the caller keeps what it did not consume and appends to it):
//   need_more: a request is incomplete (keep the bytes, read more);
//   done:      take() holds the request;
//   error:     `status` (400, 413, 414, 431) and `message`; the connection must close.
class RequestReader {
public:
    enum class State { need_more, done, error };
    struct Result {
        State state = State::need_more;
        size_t consumed = 0;
        unsigned status = 0;
        std::string message;
    };

    explicit RequestReader(RequestLimits limits);
    ~RequestReader();
    RequestReader(const RequestReader&) = delete;
    RequestReader& operator=(const RequestReader&) = delete;

    Result feed(std::string_view bytes);
    // The finished request; the reader is ready for the next one.
    Request take();
    // Whether the finished request lets the connection stay open (HTTP/1.1 default).
    bool keep_alive() const { return keep_alive_; }
    // True while a request is partly read.
    bool in_progress() const;

private:
    struct Parser;
    RequestLimits limits_;
    std::unique_ptr<Parser> parser_;
    bool keep_alive_ = false;
    bool line_seen_ = false;  // the current request's line is complete and within bounds
};

// A whole response with Content-Length; "Connection: close" unless keep_alive.
std::string serialize_response(const Response& r, bool keep_alive);
// The head of an event stream: chunked, or for an HTTP/1.0 client delimited by the
// connection's close; no-cache.
std::string stream_head(const Response& r, bool chunked);
// One event as an HTTP chunk's pieces: head (chunk size line and the SSE prefix) and
// tail (the framing's end and the chunk's CRLF); the event JSON goes between them.
struct Framed {
    std::string head, tail;
};
Framed frame_event(Framing framing, bool chunked, std::string_view type, size_t json_size);
// The chunked stream's last chunk.
inline constexpr std::string_view k_last_chunk = "0\r\n\r\n";

}  // namespace stethoscope::control
