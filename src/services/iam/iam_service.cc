#include "services/iam/iam_service.h"

#include "services/iam/handlers.h"

namespace gantry::services::iam {

std::optional<aws::Credential> AccessKeyResolver::Lookup(std::string_view access_key_id) const {
  if (access_key_id.substr(0, 4) != "AKIA") return std::nullopt;
  uint64_t generation = generation_->load();
  {
    std::lock_guard lock(mu_);
    if (cached_generation_ != generation) {
      cache_.clear();
      cached_generation_ = generation;
    }
    if (auto it = cache_.find(std::string(access_key_id)); it != cache_.end()) return it->second;
  }
  auto record = store_->Get(kAccessKeyTable, account_id_, access_key_id);
  if (!record.ok() || !*record) return std::nullopt;
  const Document& key = (**record).doc;
  if (key.value("Status", "") != "Active") return std::nullopt;
  aws::Credential credential;
  credential.access_key_id = std::string(access_key_id);
  credential.secret_access_key = key.value("SecretAccessKey", "");
  credential.principal_arn = key.value("UserArn", "");
  credential.user_id = key.value("UserId", "");
  credential.account_id = account_id_;
  std::lock_guard lock(mu_);
  if (cached_generation_ == generation) {
    if (cache_.size() > 10000) cache_.clear();
    cache_[credential.access_key_id] = credential;
  }
  return credential;
}

IamService::IamService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, std::string account_id)
    : deps_{store, clock, ids, &generation_},
      credentials_(store, std::move(account_id), &generation_),
      authorizer_(deps_, client) {}

void IamService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterUserHandlers(table, deps_);
  RegisterRoleHandlers(table, deps_);
  RegisterPolicyHandlers(table, deps_);
}

}  // namespace gantry::services::iam
