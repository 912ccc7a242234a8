#include "core/common/log.h"

#include <unistd.h>

#include <atomic>

#include "core/common/time_format.h"

namespace gantry::log {

namespace {
std::atomic<Level> g_level{Level::kInfo};
constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }
bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool ParseLevel(std::string_view text, Level& out) {
  if (text == "debug") out = Level::kDebug;
  else if (text == "info") out = Level::kInfo;
  else if (text == "warn" || text == "warning") out = Level::kWarn;
  else if (text == "error") out = Level::kError;
  else return false;
  return true;
}

void Write(Level level, std::string_view message) {
  std::string line = FormatIso8601(SystemClock::Instance()->Now(), true);
  line += ' ';
  line += kNames[static_cast<int>(level)];
  line += ' ';
  line += message;
  line += '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace gantry::log
