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

// Masks secret values in log lines. A value spanning several lines (a PEM key, pretty-printed JSON)
// never appears whole in one line, so each of its lines is masked on its own too, trimmed of
// surrounding blanks; lines shorter than kMinLinePart characters are left alone ("{", "}", "").
class SecretMasker {
 public:
  static constexpr size_t kMinLinePart = 4;

  // Every later occurrence of value (and of each of its lines) is shown as "***". Empty values
  // are ignored.
  void Add(std::string_view value);
  std::string Mask(std::string_view line) const;
  bool empty() const { return secrets_.empty(); }
  // The length of the longest masked text (0 when empty).
  size_t longest() const { return secrets_.empty() ? 0 : secrets_.front().size(); }
  // Where text may be cut near at (at <= text.size()) without cutting a masked text in two, as
  // Mask would find it: at itself, or the start of the occurrence that spans it (its end when it
  // starts at 0). Occurrences spanning at are only seen when text holds at + longest() - 1 bytes.
  size_t SplitPoint(std::string_view text, size_t at) const;

 private:
  void AddOne(std::string_view value);
  // The length of the masked text that begins at text[i], or 0.
  size_t MatchAt(std::string_view text, size_t i) const;

  std::vector<std::string> secrets_;  // longest first, so that a secret containing another wins
  bool first_byte_[256] = {};
};

}  // namespace gantry::runtime
