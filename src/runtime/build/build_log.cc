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
  AddOne(value);
  if (value.find('\n') == std::string_view::npos) return;
  size_t start = 0;
  while (start < value.size()) {
    size_t end = value.find('\n', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view line = value.substr(start, end - start);
    size_t first = line.find_first_not_of(" \t\r");
    size_t last = line.find_last_not_of(" \t\r");
    if (first != std::string_view::npos && last + 1 - first >= kMinLinePart) {
      AddOne(line.substr(first, last + 1 - first));
    }
    start = end + 1;
  }
}

void SecretMasker::AddOne(std::string_view value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.emplace_back(value);
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  first_byte_[static_cast<unsigned char>(value[0])] = true;
}

size_t SecretMasker::MatchAt(std::string_view text, size_t i) const {
  if (!first_byte_[static_cast<unsigned char>(text[i])]) return 0;
  for (const std::string& secret : secrets_) {
    if (text.compare(i, secret.size(), secret) == 0) return secret.size();
  }
  return 0;
}

std::string SecretMasker::Mask(std::string_view line) const {
  if (secrets_.empty()) return std::string(line);
  std::string out;
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    size_t length = MatchAt(line, i);
    if (length > 0) {
      out += "***";
      i += length;
    } else {
      out += line[i++];
    }
  }
  return out;
}

size_t SecretMasker::SplitPoint(std::string_view text, size_t at) const {
  if (secrets_.empty()) return at;
  size_t i = 0;
  while (i < at) {
    size_t length = MatchAt(text, i);
    if (length == 0) {
      ++i;
      continue;
    }
    if (i + length > at) return i > 0 ? i : i + length;
    i += length;
  }
  return at;
}

}  // namespace gantry::runtime
