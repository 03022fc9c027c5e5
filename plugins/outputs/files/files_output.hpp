// The files output, tcpflow-like: for every session a folder
//     <dir>/<client_ip>_<client_port>-<server_ip>_<server_port>/requests.bin, responses.bin
// (IPv6 in RFC 5952 compressed form with ':' written as '.'; a 4-tuple seen again in the
// same run gets "~2", "~3", ... in order of session start) and one line per closed session
// in <dir>/sessions.ndjson: the session's session_closed event. Gap bytes are not written;
// bytes are written as soon as they are in order.
//
// A folder left by an earlier run is overwritten; sessions.ndjson is started afresh at
// each run. A write error (disk full) drops the data, counts it (write_errors and the
// session's "dropped" bytes) and is logged once per session.
// Threading: session callbacks of different sessions may run concurrently; per-session
// files live in the cookie, the shared folder-name table and sessions.ndjson are locked.
#pragma once

#include "config.hpp"

#include <stethoscope/plugin.hpp>
#include <stethoscope/session_names.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace stethoscope::files {

class FilesOutput : public OutputPlugin {
public:
    using Config = files::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return files::parse_config(json, path);
    }
    FilesOutput(const Host& host, Config config);
    ~FilesOutput();

    void start();
    void stop();
    void* session_open(const sth_session_info& s);
    sth_result stream_data(void* cookie, const sth_session_info& s, const sth_stream_chunk& c);
    void stream_end(void* cookie, const sth_session_info& s, const sth_stream_end& e);
    void session_close(void* cookie, const sth_session_info& s, const sth_event& closed);


private:
    struct SessionFiles;

    Config config_;
    Counter sessions_, bytes_written_, write_errors_;
    std::mutex mutex_;
    UniqueNames names_;  // folder names, "~2", "~3" for a repeated 4-tuple
    std::FILE* index_ = nullptr;
};

}  // namespace stethoscope::files
