#include "services/iam/principals.h"

#include <algorithm>

#include "core/common/strings.h"

namespace gantry::services::iam {

namespace {

Status AddManaged(store::RecordOperations& ops, std::string_view account, const Document& arns,
                  std::vector<SourcedPolicy>& into) {
  if (!arns.is_array()) return Status::Ok();
  for (const Document& arn : arns) {
    auto managed = LoadManagedPolicy(ops, account, arn.get<std::string>());
    if (!managed.ok()) {
      if (managed.status().code() == StatusCode::kNotFound) continue;  // deleted since
      return managed.status();
    }
    std::optional<PolicyRef> ref = ParsePolicyArn(arn.get<std::string>());
    auto parsed = ParseStored(DefaultDocument(*managed), policy::PolicyKind::kIdentity);
    if (parsed) into.push_back({arn.get<std::string>(), ref && ref->aws_managed() ? "aws-managed" : "user-managed", parsed});
  }
  return Status::Ok();
}

void AddInline(const Document& inline_policies, const char* type, std::vector<SourcedPolicy>& into) {
  if (!inline_policies.is_object()) return;
  for (auto it = inline_policies.begin(); it != inline_policies.end(); ++it) {
    auto parsed = ParseStored(it.value().get<std::string>(), policy::PolicyKind::kIdentity);
    if (parsed) into.push_back({it.key(), type, parsed});
  }
}

Status AddBoundary(store::RecordOperations& ops, std::string_view account, const Document& entity,
                   PrincipalPolicies& out) {
  if (!entity.contains("PermissionsBoundary")) return Status::Ok();
  out.has_boundary = true;
  Document arn = Document::array({entity["PermissionsBoundary"].value("PermissionsBoundaryArn", "")});
  return AddManaged(ops, account, arn, out.boundary);
}

std::vector<std::pair<std::string, std::string>> TagPairs(const Document& tags) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!tags.is_array()) return out;
  for (const Document& t : tags) out.emplace_back(t.value("Key", ""), t.value("Value", ""));
  return out;
}

// The last path segment of an IAM ARN's resource ("user/a/b/name" → "name").
std::string LastSegment(std::string_view arn) {
  size_t slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

StatusOr<ResolvedPrincipal> FromUser(store::RecordOperations& ops, std::string_view account, std::string_view name) {
  ResolvedPrincipal out;
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> user, ops.Get(kUserTable, account, Key(name)));
  if (!user) return out;
  const Document& u = user->doc;
  out.found = true;
  out.arn = u["Arn"].get<std::string>();
  out.account = std::string(account);
  out.principal_arn = out.arn;
  out.principal_type = "User";
  out.username = u["UserName"].get<std::string>();
  out.userid = u["UserId"].get<std::string>();
  out.tags = TagPairs(u.value("Tags", Document::array()));
  GANTRY_ASSIGN_OR_RETURN(out.policies, UserPolicies(ops, account, u));
  return out;
}

StatusOr<ResolvedPrincipal> FromRole(store::RecordOperations& ops, std::string_view account, std::string_view name,
                                     std::string_view session_name) {
  ResolvedPrincipal out;
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> role, ops.Get(kRoleTable, account, Key(name)));
  if (!role) return out;
  const Document& r = role->doc;
  out.found = true;
  out.account = std::string(account);
  out.role_arn = r["Arn"].get<std::string>();
  out.principal_arn = out.role_arn;
  out.principal_type = "AssumedRole";
  out.arn = "arn:aws:sts::" + std::string(account) + ":assumed-role/" + r["RoleName"].get<std::string>() + "/" +
            std::string(session_name);
  out.userid = r["RoleId"].get<std::string>() + ":" + std::string(session_name);
  out.tags = TagPairs(r.value("Tags", Document::array()));
  GANTRY_ASSIGN_OR_RETURN(out.policies, RolePolicies(ops, account, r));
  return out;
}

}  // namespace

std::shared_ptr<const policy::Policy> ParseStored(const std::string& text, policy::PolicyKind kind) {
  policy::ParseOptions options;
  options.kind = kind;
  auto parsed = policy::Policy::Parse(text, options);
  if (!parsed.ok()) return nullptr;
  return std::make_shared<const policy::Policy>(std::move(*parsed));
}

StatusOr<PrincipalPolicies> UserPolicies(store::RecordOperations& ops, std::string_view account, const Document& user) {
  PrincipalPolicies out;
  AddInline(user.value("InlinePolicies", Document::object()), "user", out.identity);
  GANTRY_RETURN_IF_ERROR(AddManaged(ops, account, user.value("AttachedPolicies", Document::array()), out.identity));
  for (const Document& group_key : user.value("Groups", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group,
                            ops.Get(kGroupTable, account, group_key.get<std::string>()));
    if (!group) continue;
    AddInline(group->doc.value("InlinePolicies", Document::object()), "group", out.identity);
    GANTRY_RETURN_IF_ERROR(
        AddManaged(ops, account, group->doc.value("AttachedPolicies", Document::array()), out.identity));
  }
  GANTRY_RETURN_IF_ERROR(AddBoundary(ops, account, user, out));
  return out;
}

StatusOr<PrincipalPolicies> GroupPolicies(store::RecordOperations& ops, std::string_view account,
                                          const Document& group) {
  PrincipalPolicies out;
  AddInline(group.value("InlinePolicies", Document::object()), "group", out.identity);
  GANTRY_RETURN_IF_ERROR(AddManaged(ops, account, group.value("AttachedPolicies", Document::array()), out.identity));
  return out;
}

StatusOr<PrincipalPolicies> RolePolicies(store::RecordOperations& ops, std::string_view account, const Document& role) {
  PrincipalPolicies out;
  AddInline(role.value("InlinePolicies", Document::object()), "role", out.identity);
  GANTRY_RETURN_IF_ERROR(AddManaged(ops, account, role.value("AttachedPolicies", Document::array()), out.identity));
  GANTRY_RETURN_IF_ERROR(AddBoundary(ops, account, role, out));
  return out;
}

StatusOr<ResolvedPrincipal> ResolvePrincipal(store::RecordOperations& ops, const aws::Principal& principal) {
  const std::string& account = principal.account_id;
  const std::string& key = principal.access_key_id;
  if (key.rfind("ASIA", 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> session, ops.Get(kSessionTable, account, key));
    if (!session) return ResolvedPrincipal{};
    const Document& s = session->doc;
    ResolvedPrincipal out;
    if (s.value("Type", "") == "SessionToken") {
      GANTRY_ASSIGN_OR_RETURN(out, FromUser(ops, account, s.value("UserName", "")));
      out.session_token = true;
    } else {
      GANTRY_ASSIGN_OR_RETURN(out, FromRole(ops, account, s.value("RoleName", ""), s.value("SessionName", "")));
      if (!out.found) return out;
      std::string text = s.value("Policy", "");
      if (!text.empty()) {
        out.policies.has_session = true;
        if (auto parsed = ParseStored(text, policy::PolicyKind::kIdentity)) {
          out.policies.session.push_back({"session", "none", parsed});
        }
      }
      const Document arns = s.value("PolicyArns", Document::array());
      if (!arns.empty()) {
        out.policies.has_session = true;
        GANTRY_RETURN_IF_ERROR(AddManaged(ops, account, arns, out.policies.session));
      }
      for (const Document& t : s.value("Tags", Document::array())) {
        auto same = std::find_if(out.tags.begin(), out.tags.end(),
                                 [&](const auto& p) { return EqualsIgnoreCase(p.first, t.value("Key", "")); });
        if (same != out.tags.end()) {
          same->second = t.value("Value", "");
        } else {
          out.tags.emplace_back(t.value("Key", ""), t.value("Value", ""));
        }
      }
    }
    if (!out.found) return out;
    out.arn = s.value("Arn", out.arn);
    out.userid = s.value("UserId", out.userid);
    out.source_identity = s.value("SourceIdentity", "");
    if (s.contains("Expiration")) out.expiration = FromEpochSeconds(s["Expiration"].get<double>());
    if (s.contains("IssuedAt")) out.issued = FromEpochSeconds(s["IssuedAt"].get<double>());
    return out;
  }
  if (!key.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> access_key, ops.Get(kAccessKeyTable, account, key));
    if (!access_key || access_key->doc.value("Status", "") != "Active") return ResolvedPrincipal{};
    return FromUser(ops, account, access_key->doc.value("UserName", ""));
  }
  // In-process principals carry only their ARN.
  const std::string& arn = principal.arn;
  if (arn.rfind("arn:aws:iam::" + account + ":user/", 0) == 0) return FromUser(ops, account, LastSegment(arn));
  std::string assumed = "arn:aws:sts::" + account + ":assumed-role/";
  if (arn.rfind(assumed, 0) == 0) {
    std::string rest = arn.substr(assumed.size());
    size_t slash = rest.find('/');
    if (slash == std::string::npos) return ResolvedPrincipal{};
    return FromRole(ops, account, rest.substr(0, slash), rest.substr(slash + 1));
  }
  return ResolvedPrincipal{};
}

policy::PolicySet ToPolicySet(const PrincipalPolicies& policies) {
  policy::PolicySet set;
  for (const auto& p : policies.identity) set.identity.push_back(p.policy.get());
  set.has_boundary = policies.has_boundary;
  for (const auto& p : policies.boundary) set.boundary.push_back(p.policy.get());
  set.has_session = policies.has_session;
  for (const auto& p : policies.session) set.session.push_back(p.policy.get());
  return set;
}

}  // namespace gantry::services::iam
