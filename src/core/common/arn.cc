#include "core/common/arn.h"

namespace gantry {

std::string Arn::ToString() const {
  return "arn:" + partition + ":" + service + ":" + region + ":" + account + ":" + resource;
}

std::optional<Arn> Arn::Parse(std::string_view s) {
  Arn arn;
  std::string_view rest = s;
  std::string* fields[] = {nullptr, &arn.partition, &arn.service, &arn.region, &arn.account};
  for (int i = 0; i < 5; ++i) {
    size_t pos = rest.find(':');
    if (pos == std::string_view::npos) return std::nullopt;
    if (i == 0 && rest.substr(0, pos) != "arn") return std::nullopt;
    if (fields[i]) *fields[i] = std::string(rest.substr(0, pos));
    rest.remove_prefix(pos + 1);
  }
  if (arn.partition.empty() || arn.service.empty() || rest.empty()) return std::nullopt;
  arn.resource = std::string(rest);
  return arn;
}

}  // namespace gantry
