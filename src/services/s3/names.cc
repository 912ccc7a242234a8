#include "services/s3/names.h"

#include <algorithm>
#include <set>

#include "core/common/strings.h"

namespace gantry::services::s3 {

namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool LooksLikeIpv4(std::string_view name) {
  std::vector<std::string_view> parts = Split(name, '.');
  if (parts.size() != 4) return false;
  for (std::string_view p : parts) {
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status InvalidTag(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidTag"); }

}  // namespace

Status ValidateBucketName(std::string_view name) {
  auto invalid = [] { return Status::InvalidArgument("The specified bucket is not valid.", "InvalidBucketName"); };
  if (name.size() < 3 || name.size() > 63) return invalid();
  if (!IsLowerAlnum(name.front()) || !IsLowerAlnum(name.back())) return invalid();
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '.' && c != '-') return invalid();
  }
  if (name.find("..") != std::string_view::npos || LooksLikeIpv4(name)) return invalid();
  if (name.rfind("xn--", 0) == 0 || name.rfind("sthree-", 0) == 0 || EndsWith(name, "-s3alias") ||
      EndsWith(name, "--ol-s3") || EndsWith(name, "--x-s3")) {
    return invalid();
  }
  return Status::Ok();
}

Status ValidateObjectKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("The object key must not be empty.", "InvalidArgument");
  if (key.size() > 1024) {
    return Status::InvalidArgument("Your key is too long", "KeyTooLongError");
  }
  if (!IsValidUtf8(key) || key.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("Object key names must be UTF-8 without NUL characters.", "InvalidArgument");
  }
  return Status::Ok();
}

Status ValidateTags(const TagSet& tags, size_t max_tags) {
  if (tags.size() > max_tags) {
    return max_tags == 10 ? Status::InvalidArgument("Object tags cannot be greater than 10", "BadRequest")
                          : InvalidTag("Bucket tag count cannot be greater than " + std::to_string(max_tags));
  }
  std::set<std::string> seen;
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.size() > 128) return InvalidTag("The TagKey you have provided is invalid");
    if (value.size() > 256) return InvalidTag("The TagValue you have provided is invalid");
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) return InvalidTag("The TagKey you have provided is invalid");
    if (key.rfind("aws:", 0) == 0) return InvalidTag("Your TagKey cannot be prefixed with aws:");
    if (!seen.insert(key).second) return InvalidTag("Cannot provide multiple Tags with the same key");
  }
  return Status::Ok();
}

StatusOr<TagSet> ParseTaggingHeader(std::string_view header) {
  TagSet tags;
  if (Trim(header).empty()) return tags;
  for (std::string_view pair : Split(header, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = UriDecode(pair.substr(0, eq), true);
    auto value = UriDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) {
      return Status::InvalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
                                     "parameters without tag name duplicates.",
                                     "InvalidArgument");
    }
    tags.emplace_back(std::move(*key), std::move(*value));
  }
  return tags;
}

StatusOr<CopySource> ParseCopySource(std::string_view header) {
  std::string_view raw = Trim(header);
  std::string_view version;
  if (size_t q = raw.find("?versionId="); q != std::string_view::npos) {
    version = raw.substr(q + 11);
    raw = raw.substr(0, q);
  }
  auto decoded = UriDecode(raw, false);
  std::string source = decoded ? *decoded : std::string(raw);
  if (!source.empty() && source[0] == '/') source.erase(0, 1);
  size_t slash = source.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == source.size()) {
    return Status::InvalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                                   "InvalidArgument");
  }
  CopySource out;
  out.bucket = source.substr(0, slash);
  out.key = source.substr(slash + 1);
  auto v = UriDecode(version, false);
  out.version_id = v ? *v : std::string(version);
  return out;
}

std::string UrlEncodeKey(std::string_view key) { return UriEncode(key, /*encode_slash=*/false); }

}  // namespace gantry::services::s3
