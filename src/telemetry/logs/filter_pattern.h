// Filter patterns: the language CloudWatch Logs uses to select log events in FilterLogEvents,
// metric filters, subscription filters and live tail. Four forms, chosen by the first character:
//
//   terms        ERROR "bad request" ?WARN ?FATAL -healthcheck
//                Terms are substrings of the message, case-sensitive. Plain terms must all occur;
//                ?terms: at least one of them must occur; -terms: none may occur. A term that
//                holds anything but letters, digits and '_' must be quoted ("a.b", "ERROR 401").
//   regex        %ERROR|WARN [0-9]{3}%          (filter_regex.h), anywhere in the message
//   JSON         { $.a.b[0] = "x*" && ($.latency > 100 || $.error IS TRUE) }
//                Selectors $.name / [index] walk a JSON message. Comparisons = != < > <= >=;
//                strings and unquoted words may start and/or end with the wildcard '*'; numbers
//                compare numerically; %regex% values; IS NULL, IS TRUE, IS FALSE, NOT EXISTS;
//                && binds tighter than ||; parentheses group. A comparison whose selector does
//                not reach a string, number or boolean is false (also for !=).
//   delimited    [ip, user, ..., status = 4* || status = 5*, bytes > 1000]
//                The message is split at spaces; text in "..." or [...] is one field (without the
//                quotes or brackets). Fields are named left to right; "..." stands for any number
//                of fields; a field may carry conditions (= != < > <= >= as above) joined by && and
//                || that refer to any field by name.
//
// An empty (or blank) pattern matches every message.
//
// Thread-safety: a FilterPattern is an immutable value (copies share the compiled form); Match
// may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace gantry::telemetry::logs {

class FilterPattern {
 public:
  enum class Kind { kAll, kTerms, kRegex, kJson, kDelimited };

  // What a space-delimited pattern extracted: "$name" for named fields, "$N" (1-based position in
  // the message) for the others, in message order.
  using Fields = std::vector<std::pair<std::string, std::string>>;

  // Matches every message.
  FilterPattern();

  // Errors are InvalidArgument with a message for the user (e.g. "Invalid character(s) in term 'a.b'").
  static StatusOr<FilterPattern> Parse(std::string_view text);

  Kind kind() const;
  bool Matches(std::string_view message) const;
  // Matches and, for delimited patterns, fills fields (cleared first; left empty for other kinds).
  bool Match(std::string_view message, Fields* fields) const;

  // A byte string that every matching message contains (empty when there is none), so that a scan
  // can look for it across a whole block of messages with one substring search.
  const std::string& required_literal() const;
  // Literals that matching messages contain, in groups: a matching message contains at least one
  // literal of every group (no groups: nothing is known). Lets a scan skip blocks whose trigram
  // filter rules a whole group out.
  const std::vector<std::vector<std::string>>& literal_groups() const;
  // Whether only messages whose first non-blank byte is '{' or '[' can match.
  bool json_only() const;

  struct Impl;

 private:
  explicit FilterPattern(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace gantry::telemetry::logs
