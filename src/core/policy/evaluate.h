// IAM policy evaluation: one request (action, resource, caller, condition context) against the
// policies that apply to it, with AWS's logic for one account:
//
//   1. an explicit Deny in any policy (identity, resource-based, permissions boundary, session)
//      denies;
//   2. an Allow in a resource-based policy that names the caller itself (its user or session ARN,
//      or the service / identity provider it acts as) allows;
//   3. otherwise an Allow is needed in an identity-based policy (or in a resource-based policy
//      that grants to the caller's role or to "*"), and then in the permissions boundary and the
//      session policies when those exist; anything else is an implicit deny.
//
// A resource-based statement naming only the account (arn:aws:iam::<acct>:root) delegates to the
// account's identity policies and does not allow by itself. Conditions support every operator,
// ...IfExists, ForAnyValue:/ForAllValues:, and policy variables (${aws:username}, ${*}, defaults)
// in Resource and condition values of "2012-10-17" documents.
//
// Pure and thread-safe: RequestContext and policies are read-only during evaluation.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy/policy.h"

namespace gantry::policy {

// Who is asking, as resource-based and trust policies name principals.
struct Caller {
  std::string arn;        // user, role session or root ARN; empty when anonymous
  std::string account;
  std::string role_arn;   // a role session's role (with its path)
  std::string service;    // an AWS service principal, e.g. "codebuild.amazonaws.com"
  std::string federated;  // a web identity's provider ARN, e.g. arn:aws:iam::<acct>:oidc-provider/host
};

// Condition keys and their values; key names compare case-insensitively, values are as given.
class ConditionContext {
 public:
  void Set(std::string_view key, std::string value);
  void Set(std::string_view key, std::vector<std::string> values);
  void Erase(std::string_view key);
  // nullptr when the key is absent from the request.
  const std::vector<std::string>* Find(std::string_view key) const;
  const std::map<std::string, std::vector<std::string>, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;  // lower-cased keys
};

struct Request {
  std::string action;    // "events:PutRule"
  std::string resource;  // an ARN, or "*" for actions without resource-level permissions
  Caller caller;
  ConditionContext context;
};

enum class Outcome { kNoMatch, kAllow, kDeny };

// How an Allow statement of a resource-based policy names the caller.
enum class Grant {
  kNone,
  kAccount,  // the caller's account: delegated to identity policies
  kShared,   // "*" or the caller's role: counts as an identity Allow
  kCaller,   // the caller itself: allows on its own
};

struct PolicyOutcome {
  Outcome outcome = Outcome::kNoMatch;
  Grant grant = Grant::kNone;            // resource-based policies: the strongest matching Allow
  const Statement* statement = nullptr;  // the deciding statement (the Deny, else the first Allow)
};

// One policy against one request. Identity policies ignore the caller.
PolicyOutcome Evaluate(const Policy& policy, const Request& request);

// Every policy that applies to a request.
struct PolicySet {
  std::vector<const Policy*> identity;
  std::vector<const Policy*> resource;
  // Role trust policies: the resource-based policy itself must allow (an identity Allow alone
  // does not let anyone assume a role).
  bool resource_required = false;
  bool has_boundary = false;
  std::vector<const Policy*> boundary;
  bool has_session = false;
  std::vector<const Policy*> session;
};

enum class DenyReason {
  kNone,
  kExplicitIdentity,
  kExplicitResource,
  kExplicitBoundary,
  kExplicitSession,
  kNoAllow,          // no identity-based (or resource-based) policy allows
  kNoBoundaryAllow,
  kNoSessionAllow,
};

struct Decision {
  bool allowed = false;
  DenyReason reason = DenyReason::kNoAllow;
  const Statement* statement = nullptr;  // the explicit Deny, or the Allow that decided
};

Decision Decide(const PolicySet& policies, const Request& request);

// AWS's tail of an AccessDenied message: "because no identity-based policy allows the s3:GetObject
// action", "with an explicit deny in a resource-based policy", ...
std::string DenyReasonText(DenyReason reason, std::string_view action);
// Test and simulation names: "allow", "explicit-identity", "no-allow", ...
std::string_view DenyReasonName(DenyReason reason);

}  // namespace gantry::policy
