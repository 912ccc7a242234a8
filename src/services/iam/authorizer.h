// IAM policy enforcement for every request: the root principal may do anything; every other
// principal needs an Allow from its identity-based policies (or a resource-based policy) for each
// action the request performs, within its permissions boundary and session policies, and no
// explicit Deny anywhere (core/policy/evaluate.h has the logic). Denials are AccessDenied /
// AccessDeniedException with AWS's message naming the principal, action and resource.
//
// Resource-based policies come from their owners through the in-process client (S3 bucket
// policies, Secrets Manager resource policies; services that do not exist yet simply have none)
// and, for sts:AssumeRole*, from the role's trust policy. AWS services acting in-process as
// themselves (Principal::service) are trusted, except that assuming a role still needs the role's
// trust policy to name the service.
//
// Resolved principals and their parsed policies are cached per credential; the cache is dropped
// after every IAM write (IamDeps::generation) and entries expire after a short time so that
// servers sharing one store converge. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/aws/service.h"
#include "services/iam/action_targets.h"
#include "services/iam/principals.h"
#include "services/iam/records.h"

namespace gantry::services::iam {

class IamAuthorizer final : public aws::Authorizer {
 public:
  // client may be null (no resource-based policies from other services).
  IamAuthorizer(IamDeps deps, aws::Client* client) : deps_(deps), client_(client) {}

  Status Authorize(const aws::RequestContext& ctx, const Document& input) override;
  Status AuthorizeAction(const aws::RequestContext& ctx, std::string_view action, std::string_view resource) override;

 private:
  struct CacheEntry {
    uint64_t generation = 0;
    TimePoint built;
    std::shared_ptr<const ResolvedPrincipal> principal;
  };

  StatusOr<std::shared_ptr<const ResolvedPrincipal>> Resolve(const aws::Principal& principal);
  std::shared_ptr<const policy::Policy> ParseResourcePolicy(const std::string& text, policy::PolicyKind kind);
  std::optional<std::string> BucketPolicy(const aws::RequestContext& ctx, const std::string& bucket);
  std::optional<SecretInfo> Secret(const aws::RequestContext& ctx, std::string_view secret_id);
  std::optional<std::string> TrustPolicy(const std::string& account, const std::string& role_arn);
  Status CheckAll(const aws::RequestContext& ctx, const ActionTargets& targets, const ResolvedPrincipal* principal,
                  const policy::Caller& caller, const std::vector<std::shared_ptr<const policy::Policy>>& resource);

  IamDeps deps_;
  aws::Client* client_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> principals_;
  std::unordered_map<std::string, std::shared_ptr<const policy::Policy>> resource_policies_;
};

// The condition keys every request carries (time, source IP, region, principal keys and tags).
void AddGlobalContext(const aws::RequestContext& ctx, const ResolvedPrincipal* principal,
                      policy::ConditionContext& context);

// "User: <arn> is not authorized to perform: <action> on resource: <resource> <reason>".
std::string AccessDeniedMessage(std::string_view principal_arn, std::string_view action, std::string_view resource,
                                policy::DenyReason reason, bool quote_resource);

}  // namespace gantry::services::iam
