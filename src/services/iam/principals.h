// Who a credential or principal ARN is in IAM terms, and the policies that apply to it: a user's
// inline, attached and groups' policies and its permissions boundary; a role session's role
// policies, the role's boundary and the session policies STS recorded. Used by the authorizer
// (cached per principal) and by SimulatePrincipalPolicy. Stateless functions; thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/aws/service.h"
#include "core/policy/evaluate.h"
#include "core/policy/policy.h"
#include "services/iam/records.h"

namespace gantry::services::iam {

// A parsed policy and where it came from (for SimulatePrincipalPolicy's MatchedStatements).
struct SourcedPolicy {
  std::string id;    // inline policy name or managed policy ARN
  std::string type;  // "user", "group", "role", "aws-managed", "user-managed", "resource", "none"
  std::shared_ptr<const policy::Policy> policy;
};

struct PrincipalPolicies {
  std::vector<SourcedPolicy> identity;
  bool has_boundary = false;
  std::vector<SourcedPolicy> boundary;
  bool has_session = false;
  std::vector<SourcedPolicy> session;
};

struct ResolvedPrincipal {
  bool found = false;
  std::string arn;            // the caller as it signs: user ARN or assumed-role session ARN
  std::string account;
  std::string principal_arn;  // aws:PrincipalArn: the user's or the role's ARN
  std::string principal_type; // aws:PrincipalType: "User" or "AssumedRole"
  std::string username;       // users only
  std::string userid;         // AIDA... or AROA...:session
  std::string role_arn;       // role sessions
  std::vector<std::pair<std::string, std::string>> tags;  // aws:PrincipalTag/*
  std::optional<TimePoint> expiration;
  std::optional<TimePoint> issued;
  std::string source_identity;
  bool session_token = false;  // GetSessionToken credentials (no IAM API calls)
  PrincipalPolicies policies;
};

StatusOr<PrincipalPolicies> UserPolicies(store::RecordOperations& ops, std::string_view account, const Document& user);
StatusOr<PrincipalPolicies> GroupPolicies(store::RecordOperations& ops, std::string_view account,
                                          const Document& group);
StatusOr<PrincipalPolicies> RolePolicies(store::RecordOperations& ops, std::string_view account, const Document& role);

// The principal behind a request: by its access key (IAM key or STS session), else by its ARN
// (in-process calls as a user or a role session). found is false for unknown principals.
StatusOr<ResolvedPrincipal> ResolvePrincipal(store::RecordOperations& ops, const aws::Principal& principal);

// Parses a stored (already validated) document; nullptr if it no longer parses.
std::shared_ptr<const policy::Policy> ParseStored(const std::string& text, policy::PolicyKind kind);

// PrincipalPolicies as the evaluator takes them (pointers into `policies`).
policy::PolicySet ToPolicySet(const PrincipalPolicies& policies);

}  // namespace gantry::services::iam
