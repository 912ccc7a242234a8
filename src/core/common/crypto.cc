#include "core/common/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <array>

namespace gantry {

namespace {

const EVP_MD* Md(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kMd5: return EVP_md5();
    case DigestAlgorithm::kSha1: return EVP_sha1();
    case DigestAlgorithm::kSha256: return EVP_sha256();
  }
  return EVP_sha256();
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

template <typename T, T kPoly>
std::array<T, 256> ReflectedTable() {
  std::array<T, 256> table{};
  for (T i = 0; i < 256; ++i) {
    T c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    table[i] = c;
  }
  return table;
}

}  // namespace

std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }
std::string Sha1(std::string_view data) { return Digest(EVP_sha1(), data); }
std::string Md5(std::string_view data) { return Digest(EVP_md5(), data); }
std::string HmacSha256(std::string_view key, std::string_view data) { return Hmac(EVP_sha256(), key, data); }
std::string HmacSha1(std::string_view key, std::string_view data) { return Hmac(EVP_sha1(), key, data); }

uint32_t Crc32(std::string_view data, uint32_t crc) {
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  static const auto table = ReflectedTable<uint32_t, 0x82F63B78u>();
  crc = ~crc;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

uint64_t Crc64Nvme(std::string_view data, uint64_t crc) {
  static const auto table = ReflectedTable<uint64_t, 0x9A6C9329AC4BC9B5ull>();
  crc = ~crc;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(DigestAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
  EVP_DigestInit_ex(impl_->ctx, Md(algorithm), nullptr);
}
Hasher::~Hasher() = default;

void Hasher::Update(std::string_view data) { EVP_DigestUpdate(impl_->ctx, data.data(), data.size()); }

std::string Hasher::Final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace gantry
