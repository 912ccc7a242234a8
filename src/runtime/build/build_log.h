// The lines of a build's log: the engine's own lines in CodeBuild's form ("[Container]
// 2026/11/26 09:00:00.123456 Running command make", UTC) and the masking of secret values, which
// is applied to every line before it leaves the engine. Pure functions and a value type;
// SecretMasker is immutable once filled (const methods are thread-safe).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/clock.h"

namespace gantry::runtime {

// "[Container] 2026/11/26 09:00:00.123456 <message>"
std::string ContainerLine(TimePoint time, std::string_view message);

class SecretMasker {
 public:
  // Every later occurrence of value is shown as "***". Empty values are ignored.
  void Add(std::string_view value);
  std::string Mask(std::string_view line) const;
  bool empty() const { return secrets_.empty(); }

 private:
  std::vector<std::string> secrets_;  // longest first, so that a secret containing another wins
  bool first_byte_[256] = {};
};

}  // namespace gantry::runtime
