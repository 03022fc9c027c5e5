// Names for per-session files, the same for every output plugin that writes them:
//     <client_ip>_<client_port>-<server_ip>_<server_port>
// IPv6 in RFC 5952 compressed form (inet_ntop) with ':' written as '.', so the name is
// valid on every file system; a name used again in the same run gets "~2", "~3", ... in
// the order sessions start (UniqueNames). Header-only, POSIX (inet_ntop).
#pragma once

#include <stethoscope/abi.h>

#include <arpa/inet.h>

#include <map>
#include <mutex>
#include <string>

namespace stethoscope {

// An endpoint's address as a file-name part: "198.18.0.1", "2001.db8..1".
inline std::string file_name_address(const sth_endpoint& e) {
    char buf[INET6_ADDRSTRLEN] = {0};
    inet_ntop(e.family == 6 ? AF_INET6 : AF_INET, e.addr, buf, sizeof buf);
    std::string s = buf;
    for (char& c : s)
        if (c == ':') c = '.';
    return s;
}

// "<client_ip>_<client_port>-<server_ip>_<server_port>", without the ~N suffix.
inline std::string session_file_stem(const sth_session_info& s) {
    return file_name_address(s.client) + "_" + std::to_string(s.client.port) + "-" +
           file_name_address(s.server) + "_" + std::to_string(s.server.port);
}

// Hands out "stem", "stem~2", "stem~3", ... per stem, in call order. Thread-safe (session
// callbacks of different sessions run on different workers).
class UniqueNames {
public:
    std::string next(const std::string& stem) {
        std::lock_guard<std::mutex> lock(mutex_);
        unsigned n = ++uses_[stem];
        return n == 1 ? stem : stem + "~" + std::to_string(n);
    }

private:
    std::mutex mutex_;
    std::map<std::string, unsigned> uses_;
};

}  // namespace stethoscope
