// ARNs: arn:partition:service:region:account-id:resource, formatted and parsed in one place so every
// service spells them exactly as AWS does. Value type; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gantry {

struct Arn {
  std::string partition = "aws";
  std::string service;
  std::string region;
  std::string account;
  std::string resource;  // everything after the account, e.g. "rule/my-rule" or "role/path/name"

  std::string ToString() const;
  static std::optional<Arn> Parse(std::string_view s);
};

}  // namespace gantry
