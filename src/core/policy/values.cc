#include "core/policy/values.h"

#include <arpa/inet.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "core/common/time_format.h"

namespace gantry::policy {

namespace {

char Fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// The six parts of an ARN: arn, partition, service, region, account, resource (which keeps its
// colons). Fewer than six when s is not an ARN.
std::vector<std::string_view> ArnParts(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = s.find(':', start);
    if (colon == std::string_view::npos) return {};
    parts.push_back(s.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case, bool escapes) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      bool literal = false;
      size_t width = 1;
      if (escapes && pc == '\\' && p + 1 < pattern.size()) {
        pc = pattern[p + 1];
        literal = true;
        width = 2;
      }
      if ((!literal && pc == '?') || Fold(pc, ignore_case) == Fold(text[t], ignore_case)) {
        p += width;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool ArnMatch(std::string_view pattern, std::string_view value, bool escapes) {
  std::vector<std::string_view> pp = ArnParts(pattern);
  std::vector<std::string_view> vp = ArnParts(value);
  if (pp.size() != vp.size()) return false;
  if (pp.size() != 6) return WildcardMatch(pattern, value, false, escapes);
  for (size_t i = 0; i < 6; ++i) {
    if (!WildcardMatch(pp[i], vp[i], false, escapes)) return false;
  }
  return true;
}

std::optional<TimePoint> ParseDateValue(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (text.size() > 15) return std::nullopt;
    return FromEpochSeconds(static_cast<double>(std::strtoll(std::string(text).c_str(), nullptr, 10)));
  }
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') return ParseIso8601(std::string(text) + "T00:00:00Z");
  // "2024-01-02T03:04Z" and the like: fill in seconds.
  if (text.size() == 17 && text[10] == 'T' && text[16] == 'Z') {
    return ParseIso8601(std::string(text.substr(0, 16)) + ":00Z");
  }
  return ParseIso8601(text);
}

std::optional<double> ParseNumberValue(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E') {
      return std::nullopt;
    }
  }
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<IpRange> ParseIpRange(std::string_view text) {
  IpRange range;
  std::string address(text);
  int prefix = -1;
  if (size_t slash = address.find('/'); slash != std::string::npos) {
    std::string bits = address.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    prefix = std::atoi(bits.c_str());
    address.resize(slash);
  }
  if (address.find(':') != std::string::npos) {
    range.v6 = true;
    if (inet_pton(AF_INET6, address.c_str(), range.bytes) != 1) return std::nullopt;
    if (prefix > 128) return std::nullopt;
    range.prefix = prefix < 0 ? 128 : prefix;
  } else {
    if (inet_pton(AF_INET, address.c_str(), range.bytes) != 1) return std::nullopt;
    if (prefix > 32) return std::nullopt;
    range.prefix = prefix < 0 ? 32 : prefix;
  }
  return range;
}

bool IpInRange(const IpRange& range, std::string_view address) {
  std::optional<IpRange> ip = ParseIpRange(address);
  if (!ip || ip->prefix != (ip->v6 ? 128 : 32)) return false;
  unsigned char bytes[16];
  std::copy(std::begin(ip->bytes), std::end(ip->bytes), bytes);
  if (ip->v6 != range.v6) {
    // An IPv4 address given as IPv4-mapped IPv6 (::ffff:a.b.c.d) matches IPv4 ranges.
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip->v6 && !range.v6 && std::equal(kMapped, kMapped + 12, bytes)) {
      std::copy(bytes + 12, bytes + 16, bytes);
    } else {
      return false;
    }
  }
  int bits = range.prefix;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    unsigned char mask = bits >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - bits));
    if ((bytes[i] & mask) != (range.bytes[i] & mask)) return false;
  }
  return true;
}

}  // namespace gantry::policy
