// IAM: users, groups, roles with trust policies, access keys, service-specific credentials
// (HTTPS Git for CodeCommit), OpenID Connect providers, customer managed policies with versions,
// AWS managed policies, inline policies, attachments, permissions boundaries, instance profiles
// and the policy simulator — all global to the account (store scope "<account>").
//
// The service also plugs into the request chain: credentials() resolves the access keys it
// issues (inactive keys are not found), authorizer() enforces IAM policies on every request of a
// non-root principal (authorizer.h).
//
// Handlers, the resolver and the authorizer are thread-safe.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/aws/service.h"
#include "core/aws/sigv4.h"
#include "services/iam/authorizer.h"
#include "services/iam/records.h"

namespace gantry::services::iam {

// Access keys (AKIA...) of IAM users, from the store, cached until the next IAM write.
class AccessKeyResolver final : public aws::CredentialResolver {
 public:
  AccessKeyResolver(store::Store* store, std::string account_id, const std::atomic<uint64_t>* generation)
      : store_(store), account_id_(std::move(account_id)), generation_(generation) {}
  std::optional<aws::Credential> Lookup(std::string_view access_key_id) const override;

 private:
  store::Store* store_;
  std::string account_id_;
  const std::atomic<uint64_t>* generation_;
  mutable std::mutex mu_;
  mutable uint64_t cached_generation_ = 0;
  mutable std::unordered_map<std::string, aws::Credential> cache_;
};

// HTTPS Git credentials (CreateServiceSpecificCredential) of the account's IAM users, for
// CodeCommit's git smart HTTP: an active credential of the service with the user name and password.
class ServiceCredentialVerifier final : public aws::ServicePasswordVerifier {
 public:
  ServiceCredentialVerifier(store::Store* store, std::string account_id)
      : store_(store), account_id_(std::move(account_id)) {}
  std::optional<aws::Principal> VerifyServicePassword(std::string_view service_name, std::string_view user_name,
                                                      std::string_view password) const override;

 private:
  store::Store* store_;
  std::string account_id_;
};

class IamService final : public aws::Service {
 public:
  // Pointers must outlive the service; client is used for resource-based policies of other
  // services (may be null); account_id is the account whose keys credentials() resolves.
  IamService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, std::string account_id);

  std::string_view name() const override { return "iam"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  const aws::CredentialResolver* credentials() const override { return &credentials_; }
  aws::Authorizer* authorizer() override { return &authorizer_; }
  const aws::ServicePasswordVerifier* service_passwords() const override { return &service_passwords_; }

 private:
  std::atomic<uint64_t> generation_{0};
  IamDeps deps_;
  AccessKeyResolver credentials_;
  IamAuthorizer authorizer_;
  ServiceCredentialVerifier service_passwords_;
};

}  // namespace gantry::services::iam
