#include "services/s3/conditions.h"

#include <algorithm>

#include "core/common/strings.h"

namespace gantry::services::s3 {

namespace {

bool ParseNumber(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

std::string_view Unquote(std::string_view tag) {
  tag = Trim(tag);
  if (tag.size() >= 2 && (tag[0] == 'W' || tag[0] == 'w') && tag[1] == '/') tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') tag = tag.substr(1, tag.size() - 2);
  return tag;
}

}  // namespace

RangeResult EvaluateRange(std::string_view header, uint64_t size) {
  RangeResult whole;
  std::string_view spec = Trim(header);
  if (spec.size() < 6 || ToLower(spec.substr(0, 6)) != "bytes=") return whole;
  spec = Trim(spec.substr(6));
  if (spec.find(',') != std::string_view::npos) return whole;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view a = Trim(spec.substr(0, dash));
  std::string_view b = Trim(spec.substr(dash + 1));
  uint64_t first = 0, last = 0;
  RangeResult out;
  if (a.empty()) {  // suffix: the last n bytes
    uint64_t n = 0;
    if (!ParseNumber(b, n)) return whole;
    if (n == 0 || size == 0) return {RangeResult::Kind::kUnsatisfiable};
    n = std::min(n, size);
    return {RangeResult::Kind::kPartial, size - n, n};
  }
  if (!ParseNumber(a, first)) return whole;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else {
    if (!ParseNumber(b, last) || last < first) return whole;
    if (size > 0) last = std::min(last, size - 1);
  }
  if (first >= size) return {RangeResult::Kind::kUnsatisfiable};
  out.kind = RangeResult::Kind::kPartial;
  out.first = first;
  out.length = last - first + 1;
  return out;
}

std::string ContentRange(uint64_t first, uint64_t length, uint64_t size) {
  return "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" + std::to_string(size);
}

bool ETagListMatches(std::string_view list, std::string_view etag) {
  for (std::string_view item : Split(list, ',')) {
    std::string_view tag = Trim(item);
    if (tag == "*") return true;
    if (Unquote(tag) == etag) return true;
  }
  return false;
}

PreconditionResult EvaluatePreconditions(const Preconditions& p, std::string_view etag, int64_t last_modified_ms) {
  const int64_t modified = last_modified_ms / 1000;
  if (p.if_match) {
    if (!ETagListMatches(*p.if_match, etag)) return PreconditionResult::kFailed;
  } else if (p.if_unmodified_since && modified > *p.if_unmodified_since) {
    return PreconditionResult::kFailed;
  }
  if (p.if_none_match) {
    if (ETagListMatches(*p.if_none_match, etag)) return PreconditionResult::kNotModified;
  } else if (p.if_modified_since && modified <= *p.if_modified_since) {
    return PreconditionResult::kNotModified;
  }
  return PreconditionResult::kProceed;
}

}  // namespace gantry::services::s3
