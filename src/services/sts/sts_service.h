// STS: who a request runs as, and temporary credentials. GetCallerIdentity answers for any valid
// credentials; AssumeRole checks the role's trust policy (in the authorizer, with the caller's
// identity policies) and issues a session; AssumeRoleWithWebIdentity verifies an OIDC token
// against the JWKS file (--oidc-jwks), the account's OpenID Connect provider (issuer, audience)
// and the role's trust policy; GetSessionToken issues a session for the caller itself.
//
// Sessions (ASIA... key, secret, session token, expiration) are stored in "sts.session" (scope
// "<account>", key the access key id) so they survive restarts; credentials() resolves them for
// SigV4, which refuses them once expired (ExpiredToken). The record also holds what the IAM
// authorizer needs: Type (AssumedRole | WebIdentity | SessionToken), Arn, UserId, RoleArn,
// RoleName, SessionName, UserName, Policy and PolicyArns (session policies), Tags, SourceIdentity,
// IssuedAt and Expiration (epoch seconds).
//
// Roles and providers are read through the in-process client (iam:GetRole,
// iam:GetOpenIDConnectProvider), as STS reads IAM in AWS. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

#include "core/aws/service.h"
#include "core/aws/sigv4.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"

namespace gantry::services {

inline constexpr std::string_view kStsSessionTable = "sts.session";

// STS sessions (ASIA... keys) from the store; a session never changes once issued, so found ones
// are kept in memory (dropped sessions are only those expired long ago, at start).
class SessionResolver final : public aws::CredentialResolver {
 public:
  SessionResolver(store::Store* store, std::string account_id) : store_(store), account_id_(std::move(account_id)) {}
  std::optional<aws::Credential> Lookup(std::string_view access_key_id) const override;
  void Forget() const;

 private:
  store::Store* store_;
  std::string account_id_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, aws::Credential> cache_;
};

struct StsOptions {
  std::string account_id = "000000000000";
  std::string jwks_file;  // JWKS for web identity tokens; empty: AssumeRoleWithWebIdentity is refused
};

class StsService final : public aws::Service {
 public:
  // Pointers must outlive the service.
  StsService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, StsOptions options);

  std::string_view name() const override { return "sts"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  // Drops sessions that expired more than a day ago.
  Status Start() override;
  const aws::CredentialResolver* credentials() const override { return &sessions_; }

  struct Deps {
    store::Store* store;
    Clock* clock;
    IdSource* ids;
    aws::Client* client;
    StsOptions options;
  };

 private:
  Deps deps_;
  SessionResolver sessions_;
};

}  // namespace gantry::services
