// Encryption at rest for values Gantry must keep but never store in the clear (Secrets Manager
// secret values, SSM SecureString parameters): AES-256-GCM through OpenSSL EVP with one master key.
//
// The master key is 32 random bytes in <state-dir>/master.key, created 0600 at first start (atomically:
// written to a temporary file, fsynced, then hard-linked into place, so two starters racing agree
// on one key). A key file readable or writable by group or others is refused.
//
// A sealed value is: version byte 0x01 | 12-byte random nonce | ciphertext | 16-byte GCM tag. Each
// value is bound to a context string (the AAD: e.g. the secret's ARN and version id), so a sealed
// value copied onto another record fails to open instead of decrypting there. Nonces come from the
// OS CSPRNG for every seal, never from an injected id source.
//
// Thread-safety: a SealedBox is immutable after construction; Seal and Open are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace gantry::crypto {

inline constexpr size_t kMasterKeyBytes = 32;

class SealedBox {
 public:
  // Reads the key at key_path, creating it (mode 0600) when the file does not exist.
  static StatusOr<SealedBox> OpenOrCreate(const std::string& key_path);
  // A box over a given 32-byte key (tests).
  static StatusOr<SealedBox> FromKey(std::string_view key);

  // The sealed bytes of plaintext, bound to context.
  StatusOr<std::string> Seal(std::string_view plaintext, std::string_view context) const;
  // The plaintext; kInternal when the value was not sealed by this key for this context (tampered,
  // truncated, moved, or another master key).
  StatusOr<std::string> Open(std::string_view sealed, std::string_view context) const;

 private:
  struct Key;
  explicit SealedBox(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
  std::shared_ptr<const Key> key_;
};

// <state-dir>/master.key
std::string MasterKeyPath(const std::string& state_dir);

}  // namespace gantry::crypto
