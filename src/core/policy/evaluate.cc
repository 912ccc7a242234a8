#include "core/policy/evaluate.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/common/strings.h"
#include "core/policy/values.h"

namespace gantry::policy {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A policy value with its variables substituted. As a wildcard pattern (`pattern`), substituted
// text is escaped so that a '*' in a user name stays literal. nullopt when a variable has no value
// in the request and no default: the value then matches nothing.
std::optional<std::string> Substitute(std::string_view value, const ConditionContext& ctx, bool variables,
                                      bool pattern) {
  bool plain = value.find("${") == std::string_view::npos || !variables;
  if (plain && (!pattern || value.find('\\') == std::string_view::npos)) return std::string(value);
  auto append_literal = [&](std::string& out, std::string_view text) {
    for (char c : text) {
      if (pattern && (c == '*' || c == '?' || c == '\\')) out.push_back('\\');
      out.push_back(c);
    }
  };
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (!plain && value.compare(i, 2, "${") == 0) {
      size_t close = value.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view inner = Trim(value.substr(i + 2, close - i - 2));
        i = close + 1;
        if (inner == "*" || inner == "?" || inner == "$") {
          append_literal(out, inner);
          continue;
        }
        std::optional<std::string_view> fallback;
        if (size_t comma = inner.find(','); comma != std::string_view::npos) {
          std::string_view d = Trim(inner.substr(comma + 1));
          inner = Trim(inner.substr(0, comma));
          if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'') fallback = d.substr(1, d.size() - 2);
        }
        const std::vector<std::string>* v = ctx.Find(inner);
        if (v && v->size() == 1) {
          append_literal(out, (*v)[0]);
        } else if (fallback) {
          append_literal(out, *fallback);
        } else {
          return std::nullopt;
        }
        continue;
      }
    }
    char c = value[i++];
    if (pattern && c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool ActionMatches(const Statement& st, std::string_view action) {
  bool any = std::any_of(st.actions.begin(), st.actions.end(),
                         [&](const std::string& a) { return WildcardMatch(a, action, /*ignore_case=*/true); });
  return st.not_action ? !any : any;
}

bool ResourceMatches(const Statement& st, const Request& request, bool variables) {
  if (!st.has_resources) return true;  // trust policies: the role itself
  bool any = false;
  for (const std::string& r : st.resources) {
    if (r == "*") {
      any = true;
      break;
    }
    std::optional<std::string> pattern = Substitute(r, request.context, variables, /*pattern=*/true);
    if (pattern && ArnMatch(*pattern, request.resource, /*escapes=*/true)) {
      any = true;
      break;
    }
  }
  return st.not_resource ? !any : any;
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// How one principal entry names the caller.
Grant EntryGrant(const PrincipalEntry& e, const Caller& caller) {
  if (e.type == "AWS") {
    if (e.value == "*") return Grant::kShared;
    if (caller.arn.empty() && caller.account.empty()) return Grant::kNone;
    if (IsAccountId(e.value)) return e.value == caller.account ? Grant::kAccount : Grant::kNone;
    if (e.value == "arn:aws:iam::" + caller.account + ":root") return Grant::kAccount;
    if (!caller.arn.empty() && e.value == caller.arn) return Grant::kCaller;
    if (!caller.role_arn.empty() && e.value == caller.role_arn) return Grant::kShared;
    return Grant::kNone;
  }
  if (e.type == "Service") {
    if (e.value == "*") return caller.service.empty() ? Grant::kNone : Grant::kCaller;
    return !caller.service.empty() && EqualsIgnoreCase(e.value, caller.service) ? Grant::kCaller : Grant::kNone;
  }
  if (e.type == "Federated") {
    return !caller.federated.empty() && e.value == caller.federated ? Grant::kCaller : Grant::kNone;
  }
  return Grant::kNone;
}

Grant PrincipalGrant(const Statement& st, const Caller& caller) {
  if (!st.has_principal) return Grant::kCaller;
  Grant best = Grant::kNone;
  if (st.any_principal && !st.not_principal) best = Grant::kShared;
  for (const PrincipalEntry& e : st.principals) best = std::max(best, EntryGrant(e, caller));
  if (st.not_principal) return best == Grant::kNone ? Grant::kShared : Grant::kNone;
  return best;
}

bool Compare(ConditionOperator op, const std::string& ctx_value, const std::string& policy_value,
             const ConditionContext& ctx, bool variables) {
  switch (op) {
    case ConditionOperator::kStringEquals:
    case ConditionOperator::kStringNotEquals: {
      auto v = Substitute(policy_value, ctx, variables, false);
      return v && *v == ctx_value;
    }
    case ConditionOperator::kStringEqualsIgnoreCase:
    case ConditionOperator::kStringNotEqualsIgnoreCase: {
      auto v = Substitute(policy_value, ctx, variables, false);
      return v && EqualsIgnoreCase(*v, ctx_value);
    }
    case ConditionOperator::kStringLike:
    case ConditionOperator::kStringNotLike: {
      auto v = Substitute(policy_value, ctx, variables, true);
      return v && WildcardMatch(*v, ctx_value, false, true);
    }
    case ConditionOperator::kArnEquals:
    case ConditionOperator::kArnLike:
    case ConditionOperator::kArnNotEquals:
    case ConditionOperator::kArnNotLike: {
      auto v = Substitute(policy_value, ctx, variables, true);
      if (!v || ctx_value.rfind("arn:", 0) != 0) return false;
      return ArnMatch(*v, ctx_value, true);
    }
    case ConditionOperator::kNumericEquals:
    case ConditionOperator::kNumericNotEquals:
    case ConditionOperator::kNumericLessThan:
    case ConditionOperator::kNumericLessThanEquals:
    case ConditionOperator::kNumericGreaterThan:
    case ConditionOperator::kNumericGreaterThanEquals: {
      auto a = ParseNumberValue(ctx_value);
      auto b = ParseNumberValue(policy_value);
      if (!a || !b) return false;
      switch (op) {
        case ConditionOperator::kNumericLessThan: return *a < *b;
        case ConditionOperator::kNumericLessThanEquals: return *a <= *b;
        case ConditionOperator::kNumericGreaterThan: return *a > *b;
        case ConditionOperator::kNumericGreaterThanEquals: return *a >= *b;
        default: return *a == *b;
      }
    }
    case ConditionOperator::kDateEquals:
    case ConditionOperator::kDateNotEquals:
    case ConditionOperator::kDateLessThan:
    case ConditionOperator::kDateLessThanEquals:
    case ConditionOperator::kDateGreaterThan:
    case ConditionOperator::kDateGreaterThanEquals: {
      auto pv = Substitute(policy_value, ctx, variables, false);
      if (!pv) return false;
      auto a = ParseDateValue(ctx_value);
      auto b = ParseDateValue(*pv);
      if (!a || !b) return false;
      switch (op) {
        case ConditionOperator::kDateLessThan: return *a < *b;
        case ConditionOperator::kDateLessThanEquals: return *a <= *b;
        case ConditionOperator::kDateGreaterThan: return *a > *b;
        case ConditionOperator::kDateGreaterThanEquals: return *a >= *b;
        default: return *a == *b;
      }
    }
    case ConditionOperator::kBool: {
      auto v = Substitute(policy_value, ctx, variables, false);
      return v && EqualsIgnoreCase(*v, ctx_value);
    }
    case ConditionOperator::kBinaryEquals: return policy_value == ctx_value;
    case ConditionOperator::kIpAddress:
    case ConditionOperator::kNotIpAddress: {
      auto range = ParseIpRange(policy_value);
      return range && IpInRange(*range, ctx_value);
    }
    case ConditionOperator::kNull: return false;
  }
  return false;
}

// Whether one context value satisfies the condition: for positive operators it matches some
// policy value, for negated operators it matches none.
bool ValueSatisfies(const Condition& c, const std::string& ctx_value, const ConditionContext& ctx, bool variables) {
  bool any = std::any_of(c.values.begin(), c.values.end(), [&](const std::string& pv) {
    return Compare(c.op, ctx_value, pv, ctx, variables);
  });
  return c.negated ? !any : any;
}

bool ConditionHolds(const Condition& c, const ConditionContext& ctx, bool variables) {
  const std::vector<std::string>* values = ctx.Find(c.key);
  bool present = values != nullptr && !values->empty();
  if (c.op == ConditionOperator::kNull) {
    return std::any_of(c.values.begin(), c.values.end(),
                       [&](const std::string& v) { return EqualsIgnoreCase(v, "true") ? !present : present; });
  }
  switch (c.set) {
    case SetQualifier::kForAllValues:
      if (!present) return true;
      return std::all_of(values->begin(), values->end(),
                         [&](const std::string& v) { return ValueSatisfies(c, v, ctx, variables); });
    case SetQualifier::kForAnyValue:
      if (!present) return c.if_exists;
      return std::any_of(values->begin(), values->end(),
                         [&](const std::string& v) { return ValueSatisfies(c, v, ctx, variables); });
    case SetQualifier::kNone:
      break;
  }
  if (!present) return c.if_exists || c.negated;
  // A single-valued operator over a multivalued key: positive operators need one match,
  // negated operators need every value to match none of the policy's.
  if (c.negated) {
    return std::all_of(values->begin(), values->end(),
                       [&](const std::string& v) { return ValueSatisfies(c, v, ctx, variables); });
  }
  return std::any_of(values->begin(), values->end(),
                     [&](const std::string& v) { return ValueSatisfies(c, v, ctx, variables); });
}

bool ConditionsHold(const Statement& st, const ConditionContext& ctx, bool variables) {
  return std::all_of(st.conditions.begin(), st.conditions.end(),
                     [&](const Condition& c) { return ConditionHolds(c, ctx, variables); });
}

struct SetOutcome {
  bool deny = false;
  bool allow = false;
  Grant grant = Grant::kNone;
  const Statement* deny_statement = nullptr;
  const Statement* allow_statement = nullptr;
};

SetOutcome EvaluateAll(const std::vector<const Policy*>& policies, const Request& request) {
  SetOutcome out;
  for (const Policy* p : policies) {
    PolicyOutcome o = Evaluate(*p, request);
    if (o.outcome == Outcome::kDeny && !out.deny) {
      out.deny = true;
      out.deny_statement = o.statement;
    } else if (o.outcome == Outcome::kAllow) {
      if (!out.allow) out.allow_statement = o.statement;
      out.allow = true;
      out.grant = std::max(out.grant, o.grant);
    }
  }
  return out;
}

}  // namespace

void ConditionContext::Set(std::string_view key, std::string value) { values_[Lower(key)] = {std::move(value)}; }

void ConditionContext::Set(std::string_view key, std::vector<std::string> values) {
  values_[Lower(key)] = std::move(values);
}

void ConditionContext::Erase(std::string_view key) { values_.erase(Lower(key)); }

const std::vector<std::string>* ConditionContext::Find(std::string_view key) const {
  auto it = values_.find(Lower(key));
  return it == values_.end() ? nullptr : &it->second;
}

PolicyOutcome Evaluate(const Policy& policy, const Request& request) {
  PolicyOutcome out;
  bool variables = policy.has_variables();
  for (const Statement& st : policy.statements()) {
    if (!ActionMatches(st, request.action)) continue;
    Grant grant = PrincipalGrant(st, request.caller);
    if (grant == Grant::kNone) continue;
    if (!ResourceMatches(st, request, variables)) continue;
    if (!ConditionsHold(st, request.context, variables)) continue;
    if (st.effect == Effect::kDeny) {
      out.outcome = Outcome::kDeny;
      out.statement = &st;
      out.grant = Grant::kNone;
      return out;
    }
    if (out.outcome == Outcome::kNoMatch) {
      out.outcome = Outcome::kAllow;
      out.statement = &st;
    }
    out.grant = std::max(out.grant, grant);
  }
  return out;
}

Decision Decide(const PolicySet& policies, const Request& request) {
  Decision d;
  SetOutcome identity = EvaluateAll(policies.identity, request);
  SetOutcome resource = EvaluateAll(policies.resource, request);
  SetOutcome boundary = policies.has_boundary ? EvaluateAll(policies.boundary, request) : SetOutcome{};
  SetOutcome session = policies.has_session ? EvaluateAll(policies.session, request) : SetOutcome{};
  const std::pair<const SetOutcome*, DenyReason> denies[] = {
      {&identity, DenyReason::kExplicitIdentity},
      {&resource, DenyReason::kExplicitResource},
      {&boundary, DenyReason::kExplicitBoundary},
      {&session, DenyReason::kExplicitSession},
  };
  for (const auto& [set, reason] : denies) {
    if (set->deny) {
      d.reason = reason;
      d.statement = set->deny_statement;
      return d;
    }
  }
  if (policies.resource_required && !resource.allow) {
    d.reason = DenyReason::kNoAllow;
    return d;
  }
  if (resource.allow && resource.grant == Grant::kCaller) {
    d.allowed = true;
    d.reason = DenyReason::kNone;
    d.statement = resource.allow_statement;
    return d;
  }
  bool resource_shared = resource.allow && resource.grant == Grant::kShared;
  if (!identity.allow && !resource_shared) {
    d.reason = DenyReason::kNoAllow;
    return d;
  }
  if (policies.has_boundary && !boundary.allow) {
    d.reason = DenyReason::kNoBoundaryAllow;
    return d;
  }
  if (policies.has_session && !session.allow) {
    d.reason = DenyReason::kNoSessionAllow;
    return d;
  }
  d.allowed = true;
  d.reason = DenyReason::kNone;
  d.statement = identity.allow ? identity.allow_statement : resource.allow_statement;
  return d;
}

std::string DenyReasonText(DenyReason reason, std::string_view action) {
  std::string a(action);
  switch (reason) {
    case DenyReason::kNone: return "";
    case DenyReason::kExplicitIdentity: return "with an explicit deny in an identity-based policy";
    case DenyReason::kExplicitResource: return "with an explicit deny in a resource-based policy";
    case DenyReason::kExplicitBoundary: return "with an explicit deny in a permissions boundary";
    case DenyReason::kExplicitSession: return "with an explicit deny in a session policy";
    case DenyReason::kNoAllow: return "because no identity-based policy allows the " + a + " action";
    case DenyReason::kNoBoundaryAllow: return "because no permissions boundary allows the " + a + " action";
    case DenyReason::kNoSessionAllow: return "because no session policy allows the " + a + " action";
  }
  return "";
}

std::string_view DenyReasonName(DenyReason reason) {
  switch (reason) {
    case DenyReason::kNone: return "allow";
    case DenyReason::kExplicitIdentity: return "explicit-identity";
    case DenyReason::kExplicitResource: return "explicit-resource";
    case DenyReason::kExplicitBoundary: return "explicit-boundary";
    case DenyReason::kExplicitSession: return "explicit-session";
    case DenyReason::kNoAllow: return "no-allow";
    case DenyReason::kNoBoundaryAllow: return "no-boundary-allow";
    case DenyReason::kNoSessionAllow: return "no-session-allow";
  }
  return "?";
}

}  // namespace gantry::policy
