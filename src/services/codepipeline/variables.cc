#include "services/codepipeline/variables.h"

namespace gantry::services::codepipeline {

StatusOr<std::string> ResolveVariables(const std::string& text, const aws::Document& values) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t start = text.find("#{", pos);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    out += text.substr(pos, start - pos);
    std::string reference = text.substr(start + 2, end - start - 2);
    size_t dot = reference.find('.');
    std::string ns = dot == std::string::npos ? "" : reference.substr(0, dot);
    std::string name = dot == std::string::npos ? reference : reference.substr(dot + 1);
    auto group = values.find(ns);
    if (dot == std::string::npos || group == values.end() || !group->is_object() || !group->contains(name)) {
      return Status::InvalidArgument("Unable to resolve variable reference #{" + reference + "}: " +
                                     (group == values.end() ? "no namespace " + ns + " is available"
                                                            : "namespace " + ns + " has no variable " + name));
    }
    const aws::Document& value = (*group)[name];
    out += value.is_string() ? value.get<std::string>() : value.dump();
    pos = end + 1;
  }
  out += text.substr(pos);
  return out;
}

StatusOr<aws::Document> ResolveConfiguration(const aws::Document& configuration, const aws::Document& values) {
  aws::Document out = aws::Document::object();
  for (auto it = configuration.begin(); it != configuration.end(); ++it) {
    std::string text = it->is_string() ? it->get<std::string>() : it->dump();
    GANTRY_ASSIGN_OR_RETURN(std::string resolved, ResolveVariables(text, values));
    out[it.key()] = resolved;
  }
  return out;
}

}  // namespace gantry::services::codepipeline
