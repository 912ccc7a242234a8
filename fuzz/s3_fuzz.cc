// libFuzzer target for the S3 service's parsers of untrusted request values (services/s3): Range and
// x-amz-copy-source headers, the x-amz-tagging header, If-Match/If-None-Match lists and
// preconditions, bucket names and object keys, multipart checksum values, listing key encoding.
// Nothing may crash on any input, and the answers must be consistent: a partial range lies inside the
// object, a parsed copy source names a bucket and a key, an encoded key decodes back to itself.
//
// Input layout: byte 0 and 1 give the object size (little-endian, 16 bits); then newline-separated
// fields: range, copy source, tagging header, etag list, bucket name, key, checksum values
// (comma-separated).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/strings.h"
#include "services/s3/conditions.h"
#include "services/s3/digests.h"
#include "services/s3/names.h"

namespace {

using namespace gantry;
using namespace gantry::services::s3;

std::string_view NextField(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view field = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return field;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint64_t object_size = static_cast<uint64_t>(data[0]) | (static_cast<uint64_t>(data[1]) << 8);
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  std::string_view range = NextField(rest);
  std::string_view copy_source = NextField(rest);
  std::string_view tagging = NextField(rest);
  std::string_view etags = NextField(rest);
  std::string_view bucket = NextField(rest);
  std::string_view key = NextField(rest);
  std::string_view checksums = NextField(rest);

  RangeResult r = EvaluateRange(range, object_size);
  if (r.kind == RangeResult::Kind::kPartial &&
      (r.length == 0 || r.first >= object_size || r.first + r.length > object_size)) {
    __builtin_trap();
  }

  auto source = ParseCopySource(copy_source);
  if (source.ok() && (source->bucket.empty() || source->key.empty())) __builtin_trap();

  auto tags = ParseTaggingHeader(tagging);
  if (tags.ok()) (void)ValidateTags(*tags, 10);

  Preconditions p;
  p.if_match = std::string(etags);
  p.if_none_match = std::string(etags);
  p.if_modified_since = static_cast<int64_t>(object_size);
  (void)EvaluatePreconditions(p, "d41d8cd98f00b204e9800998ecf8427e", static_cast<int64_t>(object_size) * 1000);
  (void)ETagListMatches(etags, key);

  (void)ValidateBucketName(bucket);
  if (ValidateObjectKey(key).ok()) {
    auto decoded = UriDecode(UrlEncodeKey(key), /*plus_is_space=*/true);
    if (!decoded || *decoded != key) __builtin_trap();
  }

  std::vector<std::string> values;
  std::vector<std::pair<std::string, uint64_t>> parts;
  for (std::string_view v : Split(checksums, ',')) {
    values.emplace_back(v);
    parts.emplace_back(std::string(v), object_size);
  }
  for (std::string_view algorithm : kChecksumAlgorithms) {
    (void)CompositeChecksum(algorithm, values);
    (void)CombineCrcs(algorithm, parts);
    for (const std::string& v : values) (void)IsWellFormedChecksum(algorithm, v);
  }
  (void)MultipartETag(values);
  return 0;
}
