// Digests, HMAC and checksums over OpenSSL and zlib, returning raw bytes (HexEncode/Base64Encode them).
// Incremental hashers for streaming bodies. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace gantry {

std::string Sha256(std::string_view data);
std::string Sha1(std::string_view data);
std::string Md5(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSha1(std::string_view key, std::string_view data);
uint32_t Crc32(std::string_view data, uint32_t crc = 0);
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);
uint64_t Crc64Nvme(std::string_view data, uint64_t crc = 0);

enum class DigestAlgorithm { kMd5, kSha1, kSha256 };

// Incremental digest for bodies that stream (Update many times, Final once).
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(std::string_view data);
  std::string Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry
