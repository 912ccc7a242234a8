// The regular expressions of CloudWatch Logs filter patterns (%...%): the dialect AWS documents —
// literals, '.', character classes [a-z] [^0-9], escapes (\d \w \s \D \W \S and escaped
// operators), the quantifiers * + ? {m} {m,} {m,n}, the anchors ^ and $, and alternation with |.
// Parentheses (sub-patterns) and multi-byte characters are not part of the dialect and are refused.
//
// Matching is a search (the expression may match anywhere unless anchored) run as a Thompson NFA
// simulation: time linear in the message length times the expression size, no backtracking, no
// recursion, so untrusted expressions cannot blow up on large messages.
//
// Thread-safety: a compiled FilterRegex is immutable and may be used from many threads.
#pragma once

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::telemetry::logs {

// One position of a compiled expression: a byte class, or an anchor (internal to FilterRegex).
struct FilterRegexNode {
  enum class Kind { kClass, kBegin, kEnd, kAccept } kind = Kind::kClass;
  std::bitset<256> bytes;
  bool optional = false;  // may be skipped (from ?, *, or {m,n} beyond m)
  bool repeat = false;    // may match again (from * and +)
};

class FilterRegex {
 public:
  // `source` is the text between the two '%'. Errors are InvalidArgument with a message for the user.
  static StatusOr<FilterRegex> Compile(std::string_view source);

  bool Search(std::string_view text) const;
  const std::string& source() const { return source_; }

 private:
  using Node = FilterRegexNode;

  std::string source_;
  // Nodes of every alternative, each alternative ending with a kAccept node.
  std::vector<Node> nodes_;
  std::vector<size_t> starts_;  // index of each alternative's first node
};

}  // namespace gantry::telemetry::logs
