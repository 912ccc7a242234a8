// The value grammar shared by policy parsing and evaluation: wildcard patterns ('*' and '?'),
// ARNs compared part by part, dates, numbers and IP ranges as condition operators read them.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/common/clock.h"

namespace gantry::policy {

// Whether text matches pattern, where '*' matches any run of characters and '?' any one. With
// escapes, a backslash makes the next pattern character literal (how substituted policy variables
// are kept literal). Linear in practice, O(n·m) worst case, no recursion.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case = false, bool escapes = false);

// ARN matching as IAM does it for Resource and ArnLike/ArnEquals: the five colon-separated parts
// and the resource part are matched separately, so a wildcard never spans a part boundary. A
// pattern or value that is not an ARN is matched as a whole string.
bool ArnMatch(std::string_view pattern, std::string_view value, bool escapes = false);

// ISO 8601 (date, date-time, fractional seconds, offsets) or epoch seconds.
std::optional<TimePoint> ParseDateValue(std::string_view text);
// A decimal number, optionally signed, with optional fraction and exponent.
std::optional<double> ParseNumberValue(std::string_view text);

// An IPv4 or IPv6 address or CIDR range.
struct IpRange {
  bool v6 = false;
  unsigned char bytes[16] = {};
  int prefix = 0;  // bits that must match
};
std::optional<IpRange> ParseIpRange(std::string_view text);
bool IpInRange(const IpRange& range, std::string_view address);

}  // namespace gantry::policy
