#include "log.hpp"

#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_logger.hpp>
#include <boost/core/null_deleter.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>

namespace stethoscope::core {
namespace logging = boost::log;

namespace {
std::atomic<int> g_level{STH_LOG_INFO};
std::once_flag g_sink_once;

using Sink = logging::sinks::synchronous_sink<logging::sinks::text_ostream_backend>;

std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us % 1000000));
    return buf;
}

void add_sink() {
    auto backend = boost::make_shared<logging::sinks::text_ostream_backend>();
    backend->add_stream(boost::shared_ptr<std::ostream>(&std::clog, boost::null_deleter()));
    backend->auto_flush(true);
    auto sink = boost::make_shared<Sink>(backend);
    sink->set_formatter(logging::expressions::stream << logging::expressions::smessage);
    logging::core::get()->add_sink(sink);
}
}  // namespace

std::optional<sth_log_level> parse_log_level(std::string_view name) {
    if (name == "trace") return STH_LOG_TRACE;
    if (name == "debug") return STH_LOG_DEBUG;
    if (name == "info") return STH_LOG_INFO;
    if (name == "warning" || name == "warn") return STH_LOG_WARNING;
    if (name == "error") return STH_LOG_ERROR;
    return std::nullopt;
}

const char* log_level_name(sth_log_level level) {
    switch (level) {
        case STH_LOG_TRACE: return "trace";
        case STH_LOG_DEBUG: return "debug";
        case STH_LOG_INFO: return "info";
        case STH_LOG_WARNING: return "warning";
        case STH_LOG_ERROR: return "error";
    }
    return "info";
}

void init_logging(sth_log_level level) {
    g_level.store(level);
    std::call_once(g_sink_once, add_sink);
}

bool log_enabled(sth_log_level level) { return static_cast<int>(level) >= g_level.load(); }

void log_message(sth_log_level level, std::string_view scope, std::string_view message) {
    if (!log_enabled(level)) return;
    std::call_once(g_sink_once, add_sink);
    static logging::sources::severity_logger_mt<int> logger;
    auto rec = logger.open_record(logging::keywords::severity = static_cast<int>(level));
    if (!rec) return;
    logging::record_ostream out(rec);
    out << utc_now() << ' ' << log_level_name(level) << " [" << scope << "] " << message;
    out.flush();
    logger.push_record(std::move(rec));
}

}  // namespace stethoscope::core
