// IAM policy documents: the grammar (Version, Statement, Sid, Effect, Principal/NotPrincipal,
// Action/NotAction, Resource/NotResource, Condition) parsed into an immutable Policy, with the
// MalformedPolicyDocument messages AWS gives for identity, resource-based and role trust policies.
// Evaluation lives in evaluate.h. Pure: no store, no AWS wire shapes.
// A parsed Policy is immutable and safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::policy {

// What a document is for; it decides which elements are required or prohibited.
enum class PolicyKind {
  kIdentity,  // inline, managed, permissions boundary and session policies: no Principal
  kResource,  // bucket, secret, ... policies: Principal and Resource required
  kTrust,     // a role's trust policy: Principal required, no Resource, only sts:AssumeRole* actions
};

struct ParseOptions {
  PolicyKind kind = PolicyKind::kIdentity;
  // Managed policies (CreatePolicy, CreatePolicyVersion) must say "Version": "2012-10-17".
  bool require_current_version = false;
};

enum class Effect { kAllow, kDeny };

enum class ConditionOperator {
  kStringEquals, kStringNotEquals, kStringEqualsIgnoreCase, kStringNotEqualsIgnoreCase, kStringLike,
  kStringNotLike, kNumericEquals, kNumericNotEquals, kNumericLessThan, kNumericLessThanEquals,
  kNumericGreaterThan, kNumericGreaterThanEquals, kDateEquals, kDateNotEquals, kDateLessThan,
  kDateLessThanEquals, kDateGreaterThan, kDateGreaterThanEquals, kBool, kBinaryEquals, kIpAddress,
  kNotIpAddress, kArnEquals, kArnLike, kArnNotEquals, kArnNotLike, kNull,
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

// One key of one operator block: {"StringEquals": {"aws:username": ["a", "b"]}}.
struct Condition {
  std::string op_name;  // as written, e.g. "ForAnyValue:StringLikeIfExists"
  ConditionOperator op = ConditionOperator::kStringEquals;
  SetQualifier set = SetQualifier::kNone;
  bool if_exists = false;
  bool negated = false;  // StringNotEquals, NotIpAddress, ArnNotLike, ...
  std::string key;       // as written; keys match case-insensitively
  std::vector<std::string> values;
};

// Who a resource-based or trust statement is about: "*" or typed entries.
struct PrincipalEntry {
  std::string type;  // "AWS", "Service", "Federated", "CanonicalUser"
  std::string value;
};

struct Statement {
  std::string sid;
  Effect effect = Effect::kAllow;
  bool has_principal = false;  // Principal or NotPrincipal present
  bool not_principal = false;
  bool any_principal = false;  // "Principal": "*" (or {"AWS": "*"})
  std::vector<PrincipalEntry> principals;
  bool not_action = false;
  std::vector<std::string> actions;
  bool has_resources = false;
  bool not_resource = false;
  std::vector<std::string> resources;
  std::vector<Condition> conditions;
};

class Policy {
 public:
  // Parses a policy document. Errors are kInvalidArgument with code MalformedPolicyDocument and
  // AWS's message ("Syntax errors in policy.", "Policy statement must contain actions.", ...).
  static StatusOr<Policy> Parse(std::string_view text, const ParseOptions& options = {});

  const std::string& version() const { return version_; }  // "2012-10-17", "2008-10-17" or ""
  const std::string& id() const { return id_; }
  const std::vector<Statement>& statements() const { return statements_; }
  // Policy variables (${aws:username}) are substituted only in "2012-10-17" documents.
  bool has_variables() const { return version_ == "2012-10-17"; }

 private:
  std::string version_;
  std::string id_;
  std::vector<Statement> statements_;
};

// The condition keys a policy's conditions name (as written, first spelling wins), sorted.
std::vector<std::string> ConditionKeysOf(const Policy& policy);

}  // namespace gantry::policy
