// Target input shaping: what EventBridge sends to a rule's target — the whole event, a constant
// Input, the part selected by an InputPath, or an InputTransformer's template filled in from the
// event (InputPathsMap variables and the predefined <aws.events.*> variables).
//
// Template rules, as EventBridge applies them:
//   - a template whose first non-blank character is '{' or '[' is a JSON template; anything
//     else (e.g. "\"instance <instance> is in <state>\"" or "<id> started") is a text template;
//   - inside a JSON string literal, and anywhere in a text template, a variable is inserted as
//     text: strings without quotes and without escaping, other values as compact JSON;
//   - outside string literals in a JSON template, a variable is inserted as JSON (strings quoted);
//   - a variable whose path selects nothing is empty ("" in JSON position);
//   - a JSON template whose result is valid JSON is sent minified.
//
// Pure functions over immutable inputs; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/clock.h"
#include "core/common/status.h"

namespace gantry::events {

// The JSONPath subset EventBridge uses for InputPath and InputPathsMap: "$", "$.a.b",
// "$.a[0]", "$['a b']". Immutable; thread-safe.
class JsonPath {
 public:
  static StatusOr<JsonPath> Parse(std::string_view path);

  // The selected value, or nullptr if the path selects nothing.
  const nlohmann::json* Select(const nlohmann::json& document) const;
  const std::string& text() const { return text_; }

 private:
  struct Step {
    std::string name;   // object member (when index < 0)
    int64_t index = -1; // array element
  };

  std::string text_;
  std::vector<Step> steps_;
};

struct InputTransformer {
  std::map<std::string, std::string> input_paths_map;  // variable name -> JSONPath
  std::string input_template;
};

// A target's input settings; at most one is set (none: the target receives the whole event).
struct TargetInput {
  std::optional<std::string> input;  // constant JSON text
  std::optional<std::string> input_path;
  std::optional<InputTransformer> input_transformer;
};

// What the predefined template variables refer to.
struct RuleContext {
  std::string rule_arn;
  std::string rule_name;
  // When EventBridge received the event; if unset, the event's "time".
  std::optional<TimePoint> ingestion_time;
};

inline constexpr size_t kMaxInputPathsMapEntries = 100;

// PutTargets-time validation of one target's input settings. Errors are InvalidArgument with
// aws_code "ValidationException", e.g. "InputTemplate for target t1 contains invalid placeholder
// foo.".
Status ValidateTargetInput(const TargetInput& spec, std::string_view target_id);

// The payload delivered to the target for this event. An InputPath that selects nothing yields
// an empty string: there is nothing to deliver. Errors only for settings that ValidateTargetInput
// rejects.
StatusOr<std::string> ShapeTargetInput(const TargetInput& spec, const nlohmann::json& event,
                                       const RuleContext& context);

}  // namespace gantry::events
