#include "services/s3/digests.h"

#include <algorithm>
#include <thread>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::s3 {

namespace {

// Blocks at least this large are digested on two threads.
constexpr size_t kParallelBlock = 256 * 1024;
constexpr uint64_t kCrc32Poly = 0xEDB88320ull;
constexpr uint64_t kCrc32cPoly = 0x82F63B78ull;
constexpr uint64_t kCrc64NvmePoly = 0x9A6C9329AC4BC9B5ull;

size_t DigestSize(std::string_view algorithm) {
  if (algorithm == "CRC32" || algorithm == "CRC32C") return 4;
  if (algorithm == "CRC64NVME") return 8;
  if (algorithm == "SHA1") return 20;
  if (algorithm == "SHA256") return 32;
  return 0;
}

std::string BigEndian(uint64_t v, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = bytes; i-- > 0;) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t FromBigEndian(std::string_view raw) {
  uint64_t v = 0;
  for (unsigned char c : raw) v = (v << 8) | c;
  return v;
}

uint64_t MatrixTimes(const uint64_t* matrix, uint64_t vector) {
  uint64_t sum = 0;
  for (; vector != 0; vector >>= 1, ++matrix) {
    if (vector & 1) sum ^= *matrix;
  }
  return sum;
}

void MatrixSquare(uint64_t* square, const uint64_t* matrix, int width) {
  for (int n = 0; n < width; ++n) square[n] = MatrixTimes(matrix, matrix[n]);
}

}  // namespace

bool IsSupportedChecksumAlgorithm(std::string_view algorithm) { return DigestSize(algorithm) != 0; }

std::string ChecksumHeader(std::string_view algorithm) { return "x-amz-checksum-" + ToLower(algorithm); }

std::string ChecksumMember(std::string_view algorithm) { return "Checksum" + std::string(algorithm); }

bool SupportsFullObject(std::string_view algorithm) {
  return algorithm == "CRC32" || algorithm == "CRC32C" || algorithm == "CRC64NVME";
}

bool IsWellFormedChecksum(std::string_view algorithm, std::string_view value) {
  auto raw = Base64Decode(value);
  return raw && raw->size() == DigestSize(algorithm);
}

struct BodyDigester::State {
  Hasher md5{DigestAlgorithm::kMd5};
  uint64_t size = 0;
  std::vector<aws::PayloadChecksum> checksums;
};

BodyDigester::BodyDigester(const std::vector<std::string>& algorithms) : state_(std::make_unique<State>()) {
  std::vector<std::string> seen;
  for (const std::string& algorithm : algorithms) {
    if (!IsSupportedChecksumAlgorithm(algorithm) ||
        std::find(seen.begin(), seen.end(), algorithm) != seen.end()) {
      continue;
    }
    seen.push_back(algorithm);
    if (auto checksum = aws::PayloadChecksum::ForHeader(ChecksumHeader(algorithm))) {
      state_->checksums.push_back(std::move(*checksum));
    }
  }
}

BodyDigester::BodyDigester(BodyDigester&&) noexcept = default;
BodyDigester::~BodyDigester() = default;

void BodyDigester::Update(std::string_view data) {
  state_->size += data.size();
  if (state_->checksums.empty() || data.size() < kParallelBlock) {
    state_->md5.Update(data);
    for (aws::PayloadChecksum& checksum : state_->checksums) checksum.Update(data);
    return;
  }
  // Two cores: MD5 (the slowest digest) on a helper thread, the checksums on this one.
  std::thread md5([this, data] { state_->md5.Update(data); });
  for (aws::PayloadChecksum& checksum : state_->checksums) checksum.Update(data);
  md5.join();
}

BodyDigests BodyDigester::Finish() {
  BodyDigests out;
  out.size = state_->size;
  out.md5 = state_->md5.Final();
  for (aws::PayloadChecksum& checksum : state_->checksums) out.checksums[checksum.algorithm()] = checksum.Base64Value();
  return out;
}

std::string MultipartETag(const std::vector<std::string>& part_md5_hex) {
  std::string concatenated;
  concatenated.reserve(part_md5_hex.size() * 16);
  for (const std::string& hex : part_md5_hex) {
    auto raw = HexDecode(hex);
    if (raw) concatenated += *raw;
  }
  return HexEncode(Md5(concatenated)) + "-" + std::to_string(part_md5_hex.size());
}

StatusOr<std::string> CompositeChecksum(std::string_view algorithm, const std::vector<std::string>& part_values) {
  std::string concatenated;
  for (const std::string& value : part_values) {
    auto raw = Base64Decode(value);
    if (!raw || raw->size() != DigestSize(algorithm)) {
      return Status::InvalidArgument("A part's " + std::string(algorithm) + " checksum is malformed.", "InvalidPart");
    }
    concatenated += *raw;
  }
  auto checksum = aws::PayloadChecksum::ForHeader(ChecksumHeader(algorithm));
  if (!checksum) return Status::InvalidArgument("Unsupported checksum algorithm " + std::string(algorithm), "InvalidRequest");
  checksum->Update(concatenated);
  return checksum->Base64Value() + "-" + std::to_string(part_values.size());
}

uint64_t CombineCrc(uint64_t crc_a, uint64_t crc_b, uint64_t length_b, uint64_t polynomial, int width) {
  if (length_b == 0) return crc_a;
  uint64_t even[64], odd[64];
  // The operator for one zero bit, then squared to two and four zero bits.
  odd[0] = polynomial;
  uint64_t row = 1;
  for (int n = 1; n < width; ++n) {
    odd[n] = row;
    row <<= 1;
  }
  MatrixSquare(even, odd, width);
  MatrixSquare(odd, even, width);
  // Apply length_b zero bytes to crc_a, one bit of the length at a time.
  do {
    MatrixSquare(even, odd, width);
    if (length_b & 1) crc_a = MatrixTimes(even, crc_a);
    length_b >>= 1;
    if (length_b == 0) break;
    MatrixSquare(odd, even, width);
    if (length_b & 1) crc_a = MatrixTimes(odd, crc_a);
    length_b >>= 1;
  } while (length_b != 0);
  return crc_a ^ crc_b;
}

StatusOr<std::string> CombineCrcs(std::string_view algorithm,
                                  const std::vector<std::pair<std::string, uint64_t>>& parts) {
  uint64_t polynomial = 0;
  int width = 32;
  if (algorithm == "CRC32") {
    polynomial = kCrc32Poly;
  } else if (algorithm == "CRC32C") {
    polynomial = kCrc32cPoly;
  } else if (algorithm == "CRC64NVME") {
    polynomial = kCrc64NvmePoly;
    width = 64;
  } else {
    return Status::InvalidArgument("The " + std::string(algorithm) + " checksum cannot be a full object checksum.",
                                   "InvalidRequest");
  }
  const size_t bytes = static_cast<size_t>(width / 8);
  uint64_t crc = 0;
  bool first = true;
  for (const auto& [value, size] : parts) {
    auto raw = Base64Decode(value);
    if (!raw || raw->size() != bytes) {
      return Status::InvalidArgument("A part's " + std::string(algorithm) + " checksum is malformed.", "InvalidPart");
    }
    uint64_t part_crc = FromBigEndian(*raw);
    crc = first ? part_crc : CombineCrc(crc, part_crc, size, polynomial, width);
    first = false;
  }
  return Base64Encode(BigEndian(crc, bytes));
}

}  // namespace gantry::services::s3
