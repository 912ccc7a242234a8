// EventPattern: EventBridge event patterns — parsing (with AWS's InvalidEventPatternException
// messages) and matching events against them.
//
// The language is the one EventBridge documents and runs (the event-ruler semantics):
//   - a pattern is a JSON object whose leaves are arrays; every field must match (AND), any value
//     of an array may match (OR); nested objects address nested fields, and keys are joined with
//     '.' so {"a.b": [...]} and {"a": {"b": [...]}} address the same field;
//   - values: strings, numbers (compared as numbers), true, false, null, and IP literals;
//   - operators: prefix, suffix (each also {"equals-ignore-case": ...}), equals-ignore-case,
//     wildcard (* and \* / \\ escapes), anything-but (value, list, prefix, suffix,
//     equals-ignore-case, wildcard), numeric (=, <, <=, >, >= and two-sided ranges), exists,
//     cidr, exactly; "$or" combines alternative sub-patterns;
//   - arrays in events: a field inside an array matches if any element matches, and all fields
//     of one match must come from the same element of an array (array consistency);
//   - exists applies to leaf values: a field that holds an object or an empty array "does not
//     exist".
//
// An EventPattern is immutable after Parse; copies share the compiled form. Matches() is const
// and safe to call from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/common/status.h"

namespace gantry::events {

struct CompiledPattern;

class EventPattern {
 public:
  // Parses and validates a pattern. Errors are InvalidArgument with aws_code
  // "InvalidEventPatternException" and AWS's message, e.g.
  //   Event pattern is not valid. Reason: "source" must be an object or an array
  //    at [Source: (String)"{"source": "aws.ec2"}"; line: 1, column: 13]
  static StatusOr<EventPattern> Parse(std::string_view json);

  // Whether the event (a parsed JSON document, normally an object) matches. Never throws.
  bool Matches(const nlohmann::json& event) const;

  // Parses the event text and matches it; malformed event JSON is InvalidArgument
  // ("Parameter Event is not valid.", ValidationException) as TestEventPattern reports it.
  StatusOr<bool> MatchesJson(std::string_view event_json) const;

  // The pattern text as given.
  const std::string& source() const;

 private:
  explicit EventPattern(std::shared_ptr<const CompiledPattern> compiled)
      : compiled_(std::move(compiled)) {}

  std::shared_ptr<const CompiledPattern> compiled_;
};

}  // namespace gantry::events
