// What a request asks IAM for: the IAM action(s) ("<prefix>:<Operation>", with S3's own action
// names), the resource ARN each is checked against, the resource-based policy that applies, and
// the request's own condition keys (s3:prefix, sts:ExternalId, aws:RequestTag/..., ...). One table
// per service Gantry serves; every other operation is checked as "<prefix>:<Operation>" on "*",
// which is what AWS does for actions without resource-level permissions.
// Pure apart from the lookup callbacks; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/policy/evaluate.h"

namespace gantry::services::iam {

struct ActionCheck {
  std::string action;    // "events:PutRule"
  std::string resource;  // ARN or "*"
};

enum class ResourcePolicySource {
  kNone,
  kRoleTrust,     // sts:AssumeRole*: the role's trust policy (id: role ARN)
  kBucketPolicy,  // s3: the bucket policy (id: bucket name)
  kSecretPolicy,  // secretsmanager: the secret's resource policy (id: secret id)
};

struct ActionTargets {
  // Every one must be allowed. Empty when the resource is known only to the operation's handler,
  // which checks it with RequestContext::Authorize (CodeCommit operations naming only a pull
  // request or a comment act on its repository).
  std::vector<ActionCheck> checks;
  ResourcePolicySource policy_source = ResourcePolicySource::kNone;
  std::string policy_id;
  policy::ConditionContext context;  // request-specific keys; the authorizer adds the global ones
  bool quote_resource = false;       // S3 quotes the resource in its AccessDenied message
};

// Looks up an IAM entity's ARN (with its path) and tags, for IAM actions on users, groups, roles,
// instance profiles. kind: "user", "group", "role", "instance-profile".
struct IamEntity {
  std::string arn;
  aws::Document tags = aws::Document::array();
};
using IamEntityLookup = std::function<std::optional<IamEntity>(std::string_view kind, std::string_view name)>;
// Resolves a Secrets Manager secret id (name or ARN) to its ARN and resource policy, if it exists.
struct SecretInfo {
  std::string arn;
  std::string policy;
};
using SecretLookup = std::function<std::optional<SecretInfo>(std::string_view secret_id)>;

struct TargetLookups {
  IamEntityLookup iam;
  SecretLookup secret;
};

// The IAM action prefix of a service (its model name, except appconfigdata → appconfig).
std::string ActionPrefix(const aws::ServiceModel& model);

ActionTargets TargetsFor(const aws::RequestContext& ctx, const aws::Document& input, const TargetLookups& lookups);

}  // namespace gantry::services::iam
