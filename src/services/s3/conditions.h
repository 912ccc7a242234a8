// HTTP semantics S3 applies to reads and copies: byte ranges (Range, x-amz-copy-source-range) and
// preconditions (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and their
// x-amz-copy-source-if-* twins), with S3's precedence rules. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gantry::services::s3 {

struct RangeResult {
  enum class Kind { kWhole, kPartial, kUnsatisfiable };
  Kind kind = Kind::kWhole;
  uint64_t first = 0;   // kPartial: first byte
  uint64_t length = 0;  // kPartial: bytes from first
};

// A Range header against an object of `size` bytes, as S3 answers it: "bytes=a-b", "bytes=a-" and
// "bytes=-n" select bytes; a range starting at or past the end (or any range of an empty object) is
// unsatisfiable (416 InvalidRange); a header that is not a single byte range is ignored (whole object).
RangeResult EvaluateRange(std::string_view header, uint64_t size);

// "bytes 0-9/100".
std::string ContentRange(uint64_t first, uint64_t length, uint64_t size);

struct Preconditions {
  std::optional<std::string> if_match{};
  std::optional<std::string> if_none_match{};
  std::optional<int64_t> if_modified_since{};    // epoch seconds
  std::optional<int64_t> if_unmodified_since{};  // epoch seconds
};

enum class PreconditionResult { kProceed, kNotModified, kFailed };

// S3's rules (RFC 7232 order): If-Match decides over If-Unmodified-Since, If-None-Match over
// If-Modified-Since; a failed If-Match/If-Unmodified-Since is 412, a matching If-None-Match or an
// unmodified If-Modified-Since is 304 for reads (a copy fails with 412 instead). Times compare at
// one-second resolution, as HTTP dates carry them.
PreconditionResult EvaluatePreconditions(const Preconditions& p, std::string_view etag, int64_t last_modified_ms);

// Whether an If-Match/If-None-Match list ("*", "\"a\"", "W/\"b\", c") names `etag` (unquoted).
bool ETagListMatches(std::string_view list, std::string_view etag);

}  // namespace gantry::services::s3
