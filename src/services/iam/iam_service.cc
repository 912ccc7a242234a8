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

std::optional<aws::Principal> ServiceCredentialVerifier::VerifyServicePassword(std::string_view service_name,
                                                                               std::string_view user_name,
                                                                               std::string_view password) const {
  auto user = store_->Get(kServiceUserTable, account_id_, user_name);
  if (!user.ok() || !*user) return std::nullopt;
  auto credential = store_->Get(kServiceCredentialTable, account_id_, (**user).doc.value("Id", ""));
  if (!credential.ok() || !*credential) return std::nullopt;
  const Document& c = (**credential).doc;
  if (c.value("ServiceName", "") != service_name || c.value("Status", "") != "Active" ||
      c.value("ServiceUserName", "") != user_name || !ServicePasswordMatches(c.value("ServicePasswordHash", ""), password)) {
    return std::nullopt;
  }
  auto owner = store_->Get(kUserTable, account_id_, Key(c.value("UserName", "")));
  if (!owner.ok() || !*owner) return std::nullopt;
  aws::Principal principal;
  principal.account_id = account_id_;
  principal.arn = (**owner).doc.value("Arn", "");
  principal.user_id = (**owner).doc.value("UserId", "");
  return principal;
}

IamService::IamService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, std::string account_id)
    : deps_{store, clock, ids, &generation_},
      credentials_(store, account_id, &generation_),
      authorizer_(deps_, client),
      service_passwords_(store, std::move(account_id)) {}

void IamService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterUserHandlers(table, deps_);
  RegisterRoleHandlers(table, deps_);
  RegisterPolicyHandlers(table, deps_);
}

}  // namespace gantry::services::iam
