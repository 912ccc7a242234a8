// S3's rules for names and small textual values: bucket names, object keys, tag sets (in bodies and
// in the x-amz-tagging header), copy sources, and the encoding-type=url form of listed keys.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "services/s3/records.h"

namespace gantry::services::s3 {

// InvalidBucketName unless 3-63 characters of a-z, 0-9, '.', '-', starting and ending with a letter
// or digit, without "..", not an IPv4 address, without the reserved prefixes and suffixes.
Status ValidateBucketName(std::string_view name);

// KeyTooLongError past 1024 bytes; InvalidArgument for an empty key or one that is not UTF-8.
Status ValidateObjectKey(std::string_view key);

// Validates a tag set as S3 does: at most `max_tags` (10 for objects, 50 for buckets), keys of
// 1-128 and values of 0-256 characters, no duplicate keys, no "aws:" prefix.
Status ValidateTags(const TagSet& tags, size_t max_tags);

// "k1=v1&k2=v2" (URL-encoded) → tags; InvalidArgument when malformed.
StatusOr<TagSet> ParseTaggingHeader(std::string_view header);

struct CopySource {
  std::string bucket;
  std::string key;
  std::string version_id;  // empty: the current version
};

// x-amz-copy-source: "bucket/key" or "/bucket/key", URL-encoded, optionally "?versionId=...".
StatusOr<CopySource> ParseCopySource(std::string_view header);

// A key or prefix as listed with encoding-type=url (what botocore's unquote_plus reverses).
std::string UrlEncodeKey(std::string_view key);

}  // namespace gantry::services::s3
