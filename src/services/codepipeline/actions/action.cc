#include "services/codepipeline/action.h"

namespace gantry::services::codepipeline {

const aws::Document& ActionContext::configuration() const {
  static const aws::Document kEmpty = aws::Document::object();
  auto it = declaration.find("configuration");
  return it != declaration.end() && it->is_object() ? *it : kEmpty;
}

ActionResult ActionResult::Failed(std::string code, std::string message) {
  ActionResult result;
  result.status = ActionStatus::kFailed;
  result.error_code = std::move(code);
  result.summary = std::move(message);
  return result;
}

void ActionRegistry::Add(std::unique_ptr<ActionProvider> provider) { providers_.push_back(std::move(provider)); }

ActionProvider* ActionRegistry::Find(const aws::Document& action_type_id) const {
  for (const auto& provider : providers_) {
    const ActionTypeInfo& type = provider->type();
    if (action_type_id.value("category", "") == type.category && action_type_id.value("owner", "") == type.owner &&
        action_type_id.value("provider", "") == type.provider && action_type_id.value("version", "") == type.version) {
      return provider.get();
    }
  }
  return nullptr;
}

std::vector<ActionProvider*> ActionRegistry::All() const {
  std::vector<ActionProvider*> all;
  for (const auto& provider : providers_) all.push_back(provider.get());
  return all;
}

}  // namespace gantry::services::codepipeline
