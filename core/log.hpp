// Logging for the core and, through the host API, for plugins. Boost.Log lives in
// log.cpp only (it is heavy to compile); everything else sees these few functions.
// Log lines go to stderr: "2026-11-26T14:36:17.123456Z warning [files] message".
// Events (NDJSON) go to stdout separately, see event_bus.hpp.
#pragma once

#include <stethoscope/abi.h>

#include <optional>
#include <string>
#include <string_view>

namespace stethoscope::core {

// Parses "trace", "debug", "info", "warning" (or "warn"), "error".
std::optional<sth_log_level> parse_log_level(std::string_view name);
const char* log_level_name(sth_log_level level);

// Sets up the console sink; safe to call again to change the level.
void init_logging(sth_log_level level);
bool log_enabled(sth_log_level level);

// `scope` names the origin: "core", or a plugin instance name.
void log_message(sth_log_level level, std::string_view scope, std::string_view message);

inline void log_info(std::string_view m) { log_message(STH_LOG_INFO, "core", m); }
inline void log_warn(std::string_view m) { log_message(STH_LOG_WARNING, "core", m); }
inline void log_debug(std::string_view m) { log_message(STH_LOG_DEBUG, "core", m); }

}  // namespace stethoscope::core
