#include "runtime/build/build_log.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace gantry::runtime {

std::string ContainerLine(TimePoint time, std::string_view message) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(micros / 1000000);
  long fraction = static_cast<long>(micros % 1000000);
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char stamp[64];
  int n = std::snprintf(stamp, sizeof(stamp), "[Container] %04d/%02d/%02d %02d:%02d:%02d.%06ld ", utc.tm_year + 1900,
                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, fraction);
  std::string line(stamp, static_cast<size_t>(n));
  line.append(message);
  return line;
}

void SecretMasker::Add(std::string_view value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.emplace_back(value);
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  first_byte_[static_cast<unsigned char>(value[0])] = true;
}

std::string SecretMasker::Mask(std::string_view line) const {
  std::string out;
  if (secrets_.empty()) return std::string(line);
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    bool masked = false;
    if (first_byte_[static_cast<unsigned char>(line[i])]) {
      for (const std::string& secret : secrets_) {
        if (line.compare(i, secret.size(), secret) == 0) {
          out += "***";
          i += secret.size();
          masked = true;
          break;
        }
      }
    }
    if (!masked) out += line[i++];
  }
  return out;
}

}  // namespace gantry::runtime
