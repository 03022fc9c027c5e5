#include "pcap_output.hpp"

#include "link_convert.hpp"


#include <filesystem>
#include <stdexcept>
#include <vector>

namespace stethoscope::pcap_output {
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct PcapOutput::Writer {
    Writer(std::string path, CaptureFile::Options options, bool shared)
        : file(std::move(path), std::move(options)), shared(shared) {}

    std::mutex mutex;  // guards everything below
    CaptureFile file;
    const bool shared;                    // the single file of per_session false
    bool closed = false;                  // session_close is done: nothing more to do
    int64_t last_packet_ts = 0;           // capture time of its last packet
    SteadyClock::time_point pending_since;  // when the buffer got its oldest packet
    int ends = 0;                         // directions that have ended
    int64_t ended_ts = 0;                 // capture time of the second end
    bool error_logged = false;
    bool unconvertible_logged = false;
};

namespace {

constexpr int64_t k_ns_per_sec = 1'000'000'000;
constexpr int64_t k_never = INT64_MAX / 4;

int64_t seconds_to_ns(double sec) {
    return sec >= static_cast<double>(k_never / k_ns_per_sec)
               ? k_never
               : static_cast<int64_t>(sec * static_cast<double>(k_ns_per_sec));
}

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
}

}  // namespace

PcapOutput::PcapOutput(const Host& host, Config config)
    : OutputPlugin(host),
      config_(std::move(config)),
      fin_grace_ns_(seconds_to_ns(config_.fin_close_grace_sec)),
      idle_ns_(config_.idle_close_sec > 0 ? seconds_to_ns(config_.idle_close_sec) : k_never),
      files_opened_(host.counter("files_opened")),
      packets_written_(host.counter("packets_written")),
      bytes_written_(host.counter("bytes_written")),
      packets_dropped_(host.counter("packets_dropped")),
      write_errors_(host.counter("write_errors")),
      packets_unconvertible_(host.counter("packets_unconvertible")) {}

PcapOutput::~PcapOutput() { stop(); }

void PcapOutput::start() {
    std::error_code ec;
    fs::create_directories(config_.dir, ec);
    if (!ec && !fs::is_directory(config_.dir, ec) && !ec)
        ec = std::make_error_code(std::errc::not_a_directory);
    if (ec) throw std::runtime_error("cannot create directory " + config_.dir + ": " + ec.message());
    if (!config_.per_session)
        single_ = make_writer("capture." + std::string(extension(config_.format)), true);
    sweeper_ = std::thread([this] { sweep_loop(); });
}

void PcapOutput::stop() {
    {
        std::lock_guard<std::mutex> lock(sweep_mutex_);
        stopping_ = true;
    }
    sweep_cv_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
    // The engine closes every session before stopping its outputs; whatever is still
    // open (a session the engine never closed) is closed here.
    std::unordered_map<Writer*, std::shared_ptr<Writer>> left;
    {
        std::lock_guard<std::mutex> lock(registry_mutex_);
        left.swap(sessions_);
    }
    for (auto& [raw, writer] : left) close_writer(*writer);
    if (single_) close_writer(*single_);
}

std::shared_ptr<PcapOutput::Writer> PcapOutput::make_writer(const std::string& file_name,
                                                            bool shared) {
    CaptureFile::Options o;
    o.format = config_.format;
    if (config_.linktype) o.linktype = file_linktype(*config_.linktype);
    o.max_packets = config_.queue_size;
    o.max_bytes = k_max_buffered_bytes;
    return std::make_shared<Writer>((fs::path(config_.dir) / file_name).string(), std::move(o),
                                    shared);
}

void* PcapOutput::session_open(const sth_session_info& s) {
    if (!config_.per_session) {
        std::lock_guard<std::mutex> lock(registry_mutex_);
        ++open_sessions_;
        return nullptr;
    }
    auto writer = make_writer(
        names_.next(session_file_stem(s)) + "." + std::string(extension(config_.format)), false);
    Writer* cookie = writer.get();
    std::lock_guard<std::mutex> lock(registry_mutex_);
    sessions_.emplace(cookie, std::move(writer));
    return cookie;
}

void PcapOutput::session_packet(void* cookie, const sth_session_info&, const sth_packet& p,
                                const sth_segment&) {
    note_time(p.ts_ns);
    Writer* w = config_.per_session ? static_cast<Writer*>(cookie) : single_.get();
    if (w != nullptr) write_packet(*w, p);
}

void PcapOutput::write_packet(Writer& w, const sth_packet& p) {
    std::lock_guard<std::mutex> lock(w.mutex);
    if (!w.file.has_pending()) w.pending_since = SteadyClock::now();
    w.last_packet_ts = p.ts_ns;
    account(w, w.file.add(p), p.linktype);
}

void PcapOutput::stream_end(void* cookie, const sth_session_info&, const sth_stream_end& e) {
    auto* w = static_cast<Writer*>(cookie);
    if (w == nullptr) return;
    std::lock_guard<std::mutex> lock(w->mutex);
    if (++w->ends != 2) return;
    w->ended_ts = e.ts_ns;
    if (config_.close_on_fin && fin_grace_ns_ == 0) account(*w, w->file.close());
}

void PcapOutput::session_close(void* cookie, const sth_session_info&, const sth_event&) {
    if (!config_.per_session) {
        bool last = false;
        {
            std::lock_guard<std::mutex> lock(registry_mutex_);
            last = --open_sessions_ == 0;
        }
        if (last && single_) {
            std::lock_guard<std::mutex> lock(single_->mutex);
            account(*single_, single_->file.flush());
        }
        return;
    }
    auto* w = static_cast<Writer*>(cookie);
    if (w == nullptr) return;
    std::shared_ptr<Writer> owned;  // keeps the writer alive should the sweeper hold it too
    {
        std::lock_guard<std::mutex> lock(registry_mutex_);
        auto it = sessions_.find(w);
        if (it == sessions_.end()) return;
        owned = std::move(it->second);
        sessions_.erase(it);
    }
    close_writer(*owned);
}

void PcapOutput::close_writer(Writer& w) {
    std::lock_guard<std::mutex> lock(w.mutex);
    if (w.closed) return;
    w.closed = true;
    account(w, w.file.close());
}

void PcapOutput::account(Writer& w, const CaptureFile::Outcome& o, int packet_linktype) {
    if (o.file_created) files_opened_.add();
    if (o.packets_written > 0) packets_written_.add(o.packets_written);
    if (o.bytes_written > 0) bytes_written_.add(o.bytes_written);
    if (o.packets_dropped > 0) packets_dropped_.add(o.packets_dropped);
    if (o.write_errors > 0) write_errors_.add(o.write_errors);
    if (o.unconvertible) {
        packets_unconvertible_.add();
        if (!w.unconvertible_logged) {
            w.unconvertible_logged = true;
            host_.warn(w.file.path() + ": a packet of link type " +
                       std::to_string(packet_linktype) +
                       " cannot be converted to the file's link type; such packets are "
                       "dropped and counted (packets_unconvertible)");
        }
    }
    if (!o.error.empty() && !w.error_logged) {
        w.error_logged = true;
        host_.error(o.error + "; packets that cannot be written are dropped and counted");
    } else if (w.shared && o.error.empty() && o.packets_written > 0) {
        w.error_logged = false;  // the single file logs again after it has recovered
    }
}

void PcapOutput::note_time(int64_t ts_ns) {
    // Only a step of a millisecond or more is stored: workers rarely write the shared line.
    if (ts_ns < latest_ts_.load(std::memory_order_relaxed) + 1'000'000) return;
    latest_ts_.store(ts_ns, std::memory_order_relaxed);
    latest_wall_.store(steady_ns(), std::memory_order_relaxed);
}

int64_t PcapOutput::capture_now() const {
    return latest_ts_.load(std::memory_order_relaxed) +
           (steady_ns() - latest_wall_.load(std::memory_order_relaxed));
}

void PcapOutput::sweep_loop() {
    std::unique_lock<std::mutex> lock(sweep_mutex_);
    while (!sweep_cv_.wait_for(lock, k_sweep_interval, [this] { return stopping_; })) {
        lock.unlock();
        std::vector<std::shared_ptr<Writer>> writers;
        {
            std::lock_guard<std::mutex> reg(registry_mutex_);
            writers.reserve(sessions_.size() + 1);
            for (auto& kv : sessions_) writers.push_back(kv.second);
        }
        if (single_) writers.push_back(single_);
        const int64_t now = capture_now();
        const auto wall = SteadyClock::now();
        for (auto& w : writers) sweep(*w, now, wall);
        lock.lock();
    }
}

void PcapOutput::sweep(Writer& w, int64_t now, SteadyClock::time_point wall) {
    std::unique_lock<std::mutex> lock(w.mutex, std::try_to_lock);
    if (!lock.owns_lock() || w.closed) return;  // busy: next round
    if (!w.file.is_open() && !w.file.has_pending()) return;
    const bool fin_done = config_.close_on_fin && !w.shared && w.ends >= 2 &&
                          now - w.ended_ts >= fin_grace_ns_;
    const bool idle = now - w.last_packet_ts >= idle_ns_;
    if (fin_done || idle)
        account(w, w.file.close());
    else if (w.file.has_pending() && wall - w.pending_since >= k_flush_after)
        account(w, w.file.flush());
}

}  // namespace stethoscope::pcap_output
