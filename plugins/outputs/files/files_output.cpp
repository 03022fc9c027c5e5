#include "files_output.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace stethoscope::files {
namespace fs = std::filesystem;

struct FilesOutput::SessionFiles {
    std::FILE* stream[2] = {nullptr, nullptr};
    bool error_logged = false;
};

FilesOutput::FilesOutput(const Host& host, Config config)
    : OutputPlugin(host),
      config_(std::move(config)),
      sessions_(host.counter("sessions")),
      bytes_written_(host.counter("bytes_written")),
      write_errors_(host.counter("write_errors")) {}

FilesOutput::~FilesOutput() { stop(); }

void FilesOutput::start() {
    std::error_code ec;
    fs::create_directories(config_.dir, ec);
    if (ec) throw std::runtime_error("cannot create " + config_.dir + ": " + ec.message());
    std::string index = (fs::path(config_.dir) / "sessions.ndjson").string();
    index_ = std::fopen(index.c_str(), "w");
    if (index_ == nullptr) throw std::runtime_error("cannot write " + index + ": " + std::strerror(errno));
}

void FilesOutput::stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_ != nullptr) {
        if (std::fclose(index_) != 0) write_errors_.add();
        index_ = nullptr;
    }
}

void* FilesOutput::session_open(const sth_session_info& s) {
    fs::path folder = fs::path(config_.dir) / names_.next(session_file_stem(s));
    auto* files = new SessionFiles;
    std::error_code ec;
    fs::create_directories(folder, ec);
    const char* names[2] = {"requests.bin", "responses.bin"};
    for (int d = 0; d < 2; ++d) {
        files->stream[d] = ec ? nullptr : std::fopen((folder / names[d]).string().c_str(), "wb");
        // 32 KiB instead of stdio's 4 KiB: an eighth of the write calls on bulk streams;
        // stdio allocates it only once the first byte is written.
        if (files->stream[d] != nullptr) std::setvbuf(files->stream[d], nullptr, _IOFBF, 32 << 10);
        if (files->stream[d] == nullptr && !files->error_logged) {
            files->error_logged = true;
            write_errors_.add();
            host_.error("cannot create " + (folder / names[d]).string() + ": " +
                        (ec ? ec.message() : std::strerror(errno)));
        }
    }
    sessions_.add();
    return files;
}

sth_result FilesOutput::stream_data(void* cookie, const sth_session_info&, const sth_stream_chunk& c) {
    auto* files = static_cast<SessionFiles*>(cookie);
    std::FILE* f = files->stream[c.direction];
    if (f != nullptr && std::fwrite(c.data, 1, c.size, f) == c.size) {
        bytes_written_.add(c.size);
        return STH_OK;
    }
    write_errors_.add();
    if (!files->error_logged) {
        files->error_logged = true;
        host_.error(std::string("write failed: ") + std::strerror(errno) + "; data of this session is dropped and counted");
    }
    return STH_DROPPED;
}

void FilesOutput::stream_end(void* cookie, const sth_session_info&, const sth_stream_end& e) {
    auto* files = static_cast<SessionFiles*>(cookie);
    std::FILE*& f = files->stream[e.direction];
    if (f != nullptr && std::fclose(f) != 0) write_errors_.add();
    f = nullptr;
}

void FilesOutput::session_close(void* cookie, const sth_session_info&, const sth_event& closed) {
    auto* files = static_cast<SessionFiles*>(cookie);
    for (std::FILE*& f : files->stream) {
        if (f != nullptr && std::fclose(f) != 0) write_errors_.add();
        f = nullptr;
    }
    delete files;
    std::lock_guard<std::mutex> lock(mutex_);
    if (index_ == nullptr) return;
    // Flushed per line: a reader tailing sessions.ndjson sees each session as it closes.
    if (std::fwrite(closed.json.data, 1, closed.json.size, index_) != closed.json.size ||
        std::fputc('\n', index_) == EOF || std::fflush(index_) != 0)
        write_errors_.add();
}

}  // namespace stethoscope::files
