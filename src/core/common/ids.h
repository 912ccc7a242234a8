// IdSource: the injected source of randomness for request ids, resource ids and keys.
// RandomIdSource reads the OS CSPRNG and is thread-safe; SequentialIdSource is deterministic for tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace gantry {

class IdSource {
 public:
  virtual ~IdSource() = default;
  // n random bytes.
  virtual std::string Bytes(size_t n) = 0;

  std::string Hex(size_t n_chars);
  // RFC 4122 version-4 UUID, lower case.
  std::string Uuid();
  // Characters drawn from alphabet (uniformly, by rejection sampling).
  std::string FromAlphabet(size_t n, std::string_view alphabet);
};

class RandomIdSource final : public IdSource {
 public:
  std::string Bytes(size_t n) override;
  static RandomIdSource* Instance();
};

class SequentialIdSource final : public IdSource {
 public:
  std::string Bytes(size_t n) override;

 private:
  std::atomic<uint64_t> next_{1};
};

}  // namespace gantry
