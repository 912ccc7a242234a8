// Logging to stderr, one line per event: "2024-01-02T03:04:05.678Z LEVEL message". The level is set
// once at start (--log-level / GANTRY_LOG_LEVEL). Thread-safe: each line is written with one write(2).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace gantry::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);
// Parses "debug", "info", "warn", "error".
bool ParseLevel(std::string_view text, Level& out);
void Write(Level level, std::string_view message);

}  // namespace gantry::log

#define GANTRY_LOG(level, expr)                                              \
  do {                                                                       \
    if (::gantry::log::Enabled(::gantry::log::Level::level)) {               \
      std::ostringstream _gantry_log_stream;                                 \
      _gantry_log_stream << expr;                                            \
      ::gantry::log::Write(::gantry::log::Level::level, _gantry_log_stream.str()); \
    }                                                                        \
  } while (0)
