// The digests S3 keeps about object bytes: the MD5 behind ETags (and multipart ETags, the MD5 of
// the parts' MD5s with "-<parts>"), and the flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1,
// SHA256) with their multipart forms: COMPOSITE (the checksum of the parts' checksums, "-<parts>")
// and FULL_OBJECT (the CRC of the whole object, combined from the parts' CRCs without reading the
// bytes again). Computed while bytes stream, in one pass. Pure; a BodyDigester is single-threaded.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aws/aws_chunked.h"
#include "core/common/status.h"

namespace gantry::services::s3 {

// The algorithms Gantry computes, in the order S3 prefers them when a request names several.
inline constexpr std::string_view kChecksumAlgorithms[] = {"CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256"};

bool IsSupportedChecksumAlgorithm(std::string_view algorithm);
// "CRC32" → "x-amz-checksum-crc32".
std::string ChecksumHeader(std::string_view algorithm);
// "CRC32" → "ChecksumCRC32" (the member name in the model's shapes).
std::string ChecksumMember(std::string_view algorithm);
// Whether the algorithm can be a FULL_OBJECT multipart checksum (the CRCs).
bool SupportsFullObject(std::string_view algorithm);

struct BodyDigests {
  uint64_t size = 0;
  std::string md5;                              // raw 16 bytes
  std::map<std::string, std::string> checksums;  // algorithm → base64
};

// Feeds bytes to MD5 and to each requested checksum at once; large blocks are hashed on two threads.
class BodyDigester {
 public:
  // algorithms: supported names (unknown ones are ignored); duplicates are computed once.
  explicit BodyDigester(const std::vector<std::string>& algorithms);
  BodyDigester(BodyDigester&&) noexcept;
  ~BodyDigester();
  void Update(std::string_view data);
  BodyDigests Finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Hex MD5 of the parts' raw MD5s, "-" and the part count: the ETag of a multipart object.
std::string MultipartETag(const std::vector<std::string>& part_md5_hex);

// The COMPOSITE checksum of parts (base64 values in part order): base64 of the algorithm over the
// concatenated raw part checksums, "-" and the part count.
StatusOr<std::string> CompositeChecksum(std::string_view algorithm, const std::vector<std::string>& part_values);

// The FULL_OBJECT CRC of parts given as (base64 CRC, size) in part order, combined arithmetically.
StatusOr<std::string> CombineCrcs(std::string_view algorithm,
                                  const std::vector<std::pair<std::string, uint64_t>>& parts);

// CRC combination for reflected CRCs with all-ones init and final xor (CRC32, CRC32C, CRC64NVME):
// the CRC of A||B from crc(A), crc(B) and |B|. `width` is 32 or 64; `polynomial` is reflected.
uint64_t CombineCrc(uint64_t crc_a, uint64_t crc_b, uint64_t length_b, uint64_t polynomial, int width);

// Whether `value` is the base64 form of a digest of the algorithm's size.
bool IsWellFormedChecksum(std::string_view algorithm, std::string_view value);

}  // namespace gantry::services::s3
