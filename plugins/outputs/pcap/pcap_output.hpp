// The pcap output: every session's packets — the frames as captured, not reassembled, in
// capture order with their timestamps, caplen and len — to capture files that open
// cleanly in tshark/Wireshark (format details in capture_file.hpp, link-type conversion
// in link_convert.hpp, options in config.hpp).
//
// Files:
//   per_session true   <dir>/<client_ip>_<client_port>-<server_ip>_<server_port>.<ext>,
//                      IPv6 in RFC 5952 form with ':' written as '.'; a 4-tuple seen again
//                      in the same run gets "~2", "~3", ... before the extension, in order
//                      of session start (the names of the files output).
//   per_session false  <dir>/capture.<ext>, every session's packets in arrival order.
// <ext> is "pcap" or "pcapng". A file left by an earlier run is overwritten. A packet that
// is an IPv4/IPv6 datagram the engine reassembled from fragments arrives (and is written)
// as the whole datagram, in raw-IP framing.
//
// When a session's file is closed (it is reopened in append mode should a packet of the
// session still come, so no frame is ever lost to closing):
//   - at session_close, always. The engine closes a session reassembly.fin_grace_sec after
//     the second FIN (so its last ACKs are in), at RST, idle timeout and shutdown.
//   - close_on_fin: fin_close_grace_sec after both directions have ended (stream_end of
//     both), when that comes before session_close; a grace of 0 closes at the second end.
//   - idle_close_sec: after that long without a packet of the session (0 = never).
// The single file of per_session false closes when idle and at stop; it is flushed
// whenever no session is open, so it is complete on disk between bursts of traffic.
// These times are capture time, so reading a file behaves like the live capture; when
// traffic stops, the capture clock runs on with the wall clock, so quiet files still
// close on time. A background thread checks every k_sweep_interval and also writes out
// any packet that has waited in a buffer for k_flush_after, so a live file lags by about a
// second at most.
//
// queue_size: writing happens on the engine's worker thread that delivers the packet, so
// the output never falls behind and never drops for lack of room: queue_size is the size
// of a file's write buffer in packets (also capped at k_max_buffered_bytes).
//
// Counters (pcap.<name>): files_opened (files created; a reopen is not counted),
// packets_written, bytes_written (file bytes, headers and blocks included),
// packets_dropped (packets lost to disk errors), write_errors (failed open/write/close
// calls), packets_unconvertible (packets with no representation in the configured link
// type, see link_convert.hpp). Every packet handed to the output is counted in exactly one
// of packets_written, packets_dropped and packets_unconvertible.
//
// Disk errors (disk full, unwritable dir) are counted and logged once per session (the
// single file: once until a write succeeds again); the file stays a valid capture and
// later writes are tried again. start() fails only when dir cannot be created.
//
// Threading: callbacks of different sessions run concurrently on the engine's workers.
// Each session's Writer (its cookie) has a mutex, shared only with the sweeper thread; the
// file-name table, the set of open writers and the single file have their own locks. Lock
// order: registry_mutex_ before a Writer's mutex; the sweeper never holds both.
#pragma once

#include "capture_file.hpp"
#include "config.hpp"

#include <stethoscope/plugin.hpp>
#include <stethoscope/session_names.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace stethoscope::pcap_output {

class PcapOutput : public OutputPlugin {
public:
    using Config = pcap_output::Config;
    static Config parse_config(std::string_view json, std::string_view path) {
        return pcap_output::parse_config(json, path);
    }
    PcapOutput(const Host& host, Config config);
    ~PcapOutput();

    // Creates dir (throws naming it when it cannot) and starts the sweeper thread.
    void start();
    // Stops the sweeper, then closes every file still open.
    void stop();
    void* session_open(const sth_session_info& s);
    void session_packet(void* cookie, const sth_session_info& s, const sth_packet& p,
                        const sth_segment& seg);
    void stream_end(void* cookie, const sth_session_info& s, const sth_stream_end& e);
    void session_close(void* cookie, const sth_session_info& s, const sth_event& closed);

    static constexpr std::chrono::milliseconds k_sweep_interval{200};
    static constexpr std::chrono::seconds k_flush_after{1};

private:
    struct Writer;  // one capture file, its lock and its timers

    std::shared_ptr<Writer> make_writer(const std::string& file_name, bool shared);
    void write_packet(Writer& w, const sth_packet& p);
    void close_writer(Writer& w);
    // Adds an outcome to the counters and logs its failure (once, see above).
    void account(Writer& w, const CaptureFile::Outcome& o, int packet_linktype = -1);

    // The capture clock: the newest packet time seen, run on by the wall clock.
    void note_time(int64_t ts_ns);
    int64_t capture_now() const;

    void sweep_loop();
    void sweep(Writer& w, int64_t now, std::chrono::steady_clock::time_point wall);

    Config config_;
    int64_t fin_grace_ns_, idle_ns_;
    Counter files_opened_, packets_written_, bytes_written_, packets_dropped_, write_errors_,
        packets_unconvertible_;

    UniqueNames names_;  // file stems, "~2", "~3" for a repeated 4-tuple

    std::mutex registry_mutex_;
    std::unordered_map<Writer*, std::shared_ptr<Writer>> sessions_;  // per_session: open ones
    size_t open_sessions_ = 0;         // per_session false: sessions open
    std::shared_ptr<Writer> single_;   // per_session false: the one file

    std::atomic<int64_t> latest_ts_{0};    // newest packet time seen (ns since the epoch)
    std::atomic<int64_t> latest_wall_{0};  // steady clock when it was noted (ns)

    std::thread sweeper_;
    std::mutex sweep_mutex_;
    std::condition_variable sweep_cv_;
    bool stopping_ = false;
};

}  // namespace stethoscope::pcap_output
