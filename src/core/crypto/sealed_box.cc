#include "core/crypto/sealed_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace gantry::crypto {

namespace {

constexpr unsigned char kVersion = 0x01;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

struct CipherContext {
  CipherContext() : ctx(EVP_CIPHER_CTX_new()) {}
  ~CipherContext() { EVP_CIPHER_CTX_free(ctx); }
  EVP_CIPHER_CTX* ctx;
};

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Internal(Errno("cannot write the master key"));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// Writes a fresh key beside path and links it into place; EEXIST means another starter won.
Status CreateKeyFile(const std::string& path) {
  std::array<unsigned char, kMasterKeyBytes> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return Status::Internal("cannot draw random bytes for the master key");
  }
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Status::Internal(Errno("cannot create " + tmp));
  Status written = ::fchmod(fd, 0600) == 0 ? Status::Ok() : Status::Internal(Errno("cannot chmod " + tmp));
  if (written.ok()) written = WriteAll(fd, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  if (written.ok() && ::fsync(fd) != 0) written = Status::Internal(Errno("cannot fsync " + tmp));
  ::close(fd);
  OPENSSL_cleanse(key.data(), key.size());
  if (written.ok() && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    written = Status::Internal(Errno("cannot create " + path));
  }
  ::unlink(tmp.c_str());
  if (!written.ok()) return written;
  int dir = ::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

StatusOr<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::Internal(Errno("cannot open " + path));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition(path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::FailedPrecondition(path + " is accessible by group or others; run `chmod 600 " + path +
                                      "` (it holds the key of every secret Gantry stores)");
  }
  std::string key(kMasterKeyBytes + 1, '\0');
  size_t got = 0;
  while (got < key.size()) {
    ssize_t n = ::read(fd, key.data() + got, key.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != kMasterKeyBytes) {
    OPENSSL_cleanse(key.data(), key.size());
    return Status::FailedPrecondition(path + " is not a Gantry master key (expected " +
                                      std::to_string(kMasterKeyBytes) + " bytes)");
  }
  key.resize(kMasterKeyBytes);
  return key;
}

}  // namespace

struct SealedBox::Key {
  std::array<unsigned char, kMasterKeyBytes> bytes{};
  ~Key() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

std::string MasterKeyPath(const std::string& state_dir) { return state_dir + "/master.key"; }

StatusOr<SealedBox> SealedBox::OpenOrCreate(const std::string& key_path) {
  struct stat st;
  if (::lstat(key_path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::Internal(Errno("cannot stat " + key_path));
    GANTRY_RETURN_IF_ERROR(CreateKeyFile(key_path));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string key, ReadKeyFile(key_path));
  StatusOr<SealedBox> box = FromKey(key);
  OPENSSL_cleanse(key.data(), key.size());
  return box;
}

StatusOr<SealedBox> SealedBox::FromKey(std::string_view key) {
  if (key.size() != kMasterKeyBytes) return Status::InvalidArgument("a master key has 32 bytes");
  auto k = std::make_shared<Key>();
  std::memcpy(k->bytes.data(), key.data(), kMasterKeyBytes);
  return SealedBox(std::move(k));
}

StatusOr<std::string> SealedBox::Seal(std::string_view plaintext, std::string_view context) const {
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  bytes[0] = kVersion;
  unsigned char* nonce = bytes + 1;
  unsigned char* ciphertext = nonce + kNonceBytes;
  if (RAND_bytes(nonce, kNonceBytes) != 1) return Status::Internal("cannot draw a nonce");
  CipherContext c;
  int len = 0;
  bool ok = c.ctx != nullptr && EVP_EncryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
            EVP_EncryptInit_ex(c.ctx, nullptr, nullptr, key_->bytes.data(), nonce) == 1 &&
            EVP_EncryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                              static_cast<int>(context.size())) == 1 &&
            EVP_EncryptUpdate(c.ctx, ciphertext, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(c.ctx, ciphertext + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, ciphertext + plaintext.size()) == 1;
  if (!ok) return Status::Internal("encryption failed");
  return out;
}

StatusOr<std::string> SealedBox::Open(std::string_view sealed, std::string_view context) const {
  if (sealed.size() < 1 + kNonceBytes + kTagBytes || static_cast<unsigned char>(sealed[0]) != kVersion) {
    return Status::Internal("a stored encrypted value is malformed");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char* nonce = bytes + 1;
  const unsigned char* ciphertext = nonce + kNonceBytes;
  size_t size = sealed.size() - 1 - kNonceBytes - kTagBytes;
  std::string plaintext(size, '\0');
  std::array<unsigned char, kTagBytes> tag{};
  std::memcpy(tag.data(), ciphertext + size, kTagBytes);
  CipherContext c;
  int len = 0;
  bool ok = c.ctx != nullptr && EVP_DecryptInit_ex(c.ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
            EVP_DecryptInit_ex(c.ctx, nullptr, nullptr, key_->bytes.data(), nonce) == 1 &&
            EVP_DecryptUpdate(c.ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(context.data()),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(c.ctx, reinterpret_cast<unsigned char*>(plaintext.data()), &len, ciphertext,
                              static_cast<int>(size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(c.ctx, reinterpret_cast<unsigned char*>(plaintext.data()) + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return Status::Internal("a stored encrypted value failed authentication (wrong master key or tampered data)");
  }
  return plaintext;
}

}  // namespace gantry::crypto
