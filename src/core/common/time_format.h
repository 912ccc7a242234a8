// Timestamp text forms used on the AWS wire: ISO 8601 (query/XML/rest-json bodies), the compact
// SigV4 X-Amz-Date form, and RFC 1123 (HTTP headers). All UTC. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/common/clock.h"

namespace gantry {

// 2024-01-02T03:04:05Z, or with millis 2024-01-02T03:04:05.678Z.
std::string FormatIso8601(TimePoint t, bool with_millis = false);
// 20240102T030405Z
std::string FormatAmzDate(TimePoint t);
// Tue, 02 Jan 2024 03:04:05 GMT
std::string FormatRfc1123(TimePoint t);

// Accepts 2024-01-02T03:04:05Z, fractional seconds, and +hh:mm offsets.
std::optional<TimePoint> ParseIso8601(std::string_view s);
std::optional<TimePoint> ParseAmzDate(std::string_view s);
std::optional<TimePoint> ParseRfc1123(std::string_view s);

}  // namespace gantry
