// The rule language of composite alarms: ALARM(x), OK(x), INSUFFICIENT_DATA(x) on an alarm name or
// ARN (in double quotes when it holds spaces or parentheses), TRUE, FALSE, AND, OR, NOT and
// parentheses; NOT binds tightest, then AND, then OR. A parsed rule lists the alarms it names and
// evaluates against their states. Value type; thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "services/cloudwatch/alarm_evaluation.h"

namespace gantry::services::cloudwatch {

class AlarmRule {
 public:
  struct Node;

  // kInvalidArgument with the position of the first error.
  static StatusOr<AlarmRule> Parse(std::string_view text);

  // The alarms the rule names, as written, in order of first appearance.
  const std::vector<std::string>& references() const { return references_; }

  // Whether the rule holds; state_of gives the state of a named alarm (empty: the alarm does not
  // exist, and every state function on it is false).
  bool Evaluate(const std::function<std::optional<AlarmState>(const std::string&)>& state_of) const;

 private:
  std::shared_ptr<const Node> root_;
  std::vector<std::string> references_;
};

}  // namespace gantry::services::cloudwatch
