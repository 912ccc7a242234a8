// Roles (with trust policies), instance profiles and OpenID Connect providers.
#include <algorithm>

#include "core/common/strings.h"
#include "services/iam/handlers.h"

namespace gantry::services::iam {

namespace {

const std::string& Scope(const aws::RequestContext& ctx) { return ctx.account_id; }

std::string Str(const Document& input, const char* member) { return input.value(member, std::string()); }

bool HasPathPrefix(const Document& entity, const Document& input) {
  std::string prefix = input.value("PathPrefix", std::string("/"));
  return entity.value("Path", "/").rfind(prefix, 0) == 0;
}

StatusOr<store::Record> RequireRole(store::RecordOperations& ops, const std::string& account,
                                    const std::string& name) {
  return Require(ops, kRoleTable, account, name, [&] { return NoSuchRole(name); });
}

StatusOr<store::Record> RequireProfile(store::RecordOperations& ops, const std::string& account,
                                       const std::string& name) {
  return Require(ops, kInstanceProfileTable, account, name,
                 [&] { return NoSuchEntity("Instance Profile " + name + " cannot be found."); });
}

void ArrayRemove(Document& list, const std::string& value) {
  if (!list.is_array()) return;
  list.erase(std::remove(list.begin(), list.end(), Document(value)), list.end());
}

// A trust policy: valid, and every IAM user or role of this account it names exists (AWS turns
// principals into unique ids when it stores them, so it refuses unknown ones).
Status CheckTrustPolicy(store::RecordOperations& ops, const std::string& account, const std::string& text) {
  GANTRY_ASSIGN_OR_RETURN(policy::Policy trust, CheckPolicyDocument(text, policy::PolicyKind::kTrust, false,
                                                                    kMaxTrustPolicySize, "ACLSizePerRole"));
  for (const policy::Statement& st : trust.statements()) {
    for (const policy::PrincipalEntry& p : st.principals) {
      if (p.type != "AWS") continue;
      std::string prefix = "arn:aws:iam::" + account + ":";
      if (p.value.rfind(prefix, 0) != 0) continue;
      std::string resource = p.value.substr(prefix.size());
      std::string_view table;
      if (resource.rfind("user/", 0) == 0) table = kUserTable;
      else if (resource.rfind("role/", 0) == 0) table = kRoleTable;
      else continue;
      std::string name = resource.substr(resource.rfind('/') + 1);
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> entity, ops.Get(table, account, Key(name)));
      if (!entity || entity->doc.value("Arn", "") != p.value) {
        return Status::InvalidArgument("Invalid principal in policy: \"AWS\":\"" + p.value + "\"",
                                       "MalformedPolicyDocument");
      }
    }
  }
  return Status::Ok();
}

// ---- Roles ----

StatusOr<Document> CreateRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "RoleName");
  GANTRY_ASSIGN_OR_RETURN(std::string path, PathOf(input));
  Document role = {
      {"RoleName", name},
      {"RoleId", UniqueId(*deps.ids, "AROA")},
      {"Arn", IamArn(ctx.account_id, "role", path, name)},
      {"Path", path},
      {"CreateDate", Now(deps)},
      {"AssumeRolePolicyDocument", Str(input, "AssumeRolePolicyDocument")},
      {"MaxSessionDuration", input.value("MaxSessionDuration", kDefaultRoleMaxSession)},
      {"Tags", Document::array()},
      {"InlinePolicies", Document::object()},
      {"AttachedPolicies", Document::array()},
      {"InstanceProfiles", Document::array()},
  };
  if (input.contains("Description")) role["Description"] = input["Description"];
  if (input.contains("Tags")) GANTRY_RETURN_IF_ERROR(MergeTags(role["Tags"], input["Tags"]));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, txn.Get(kRoleTable, Scope(ctx), Key(name)));
    if (existing) return AlreadyExists("Role with name " + name + " already exists.");
    GANTRY_RETURN_IF_ERROR(CheckTrustPolicy(txn, ctx.account_id, role["AssumeRolePolicyDocument"]));
    if (input.contains("PermissionsBoundary")) {
      GANTRY_ASSIGN_OR_RETURN(role["PermissionsBoundary"], BoundaryOf(txn, Scope(ctx), Str(input, "PermissionsBoundary")));
      GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(txn, Scope(ctx), Str(input, "PermissionsBoundary"), 0, 1));
    }
    return txn.Create(kRoleTable, Scope(ctx), Key(name), role).status();
  }));
  Document out = RoleOut(role, false);
  out.erase("MaxSessionDuration");
  if (!role["Tags"].empty()) out["Tags"] = role["Tags"];
  return Document{{"Role", out}};
}

StatusOr<Document> GetRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(*deps.store, Scope(ctx), Str(input, "RoleName")));
  return Document{{"Role", RoleOut(role.doc, true)}};
}

StatusOr<Document> ListRoles(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> roles, ListAll(*deps.store, kRoleTable, Scope(ctx)));
  Document all = Document::array();
  for (const auto& r : roles) {
    if (HasPathPrefix(r.doc, input)) all.push_back(RoleOut(r.doc, false));
  }
  Document out = Document::object();
  out["Roles"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> UpdateRoleFields(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                                    Document* updated) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(txn, Scope(ctx), Str(input, "RoleName")));
    if (input.contains("Description")) role.doc["Description"] = input["Description"];
    if (input.contains("MaxSessionDuration")) role.doc["MaxSessionDuration"] = input["MaxSessionDuration"];
    if (updated) *updated = role.doc;
    return txn.Put(kRoleTable, Scope(ctx), role.key, role.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> UpdateRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return UpdateRoleFields(deps, ctx, input, nullptr);
}

StatusOr<Document> UpdateRoleDescription(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Document role;
  GANTRY_RETURN_IF_ERROR(UpdateRoleFields(deps, ctx, input, &role).status());
  return Document{{"Role", RoleOut(role, true)}};
}

StatusOr<Document> UpdateAssumeRolePolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(txn, Scope(ctx), Str(input, "RoleName")));
    GANTRY_RETURN_IF_ERROR(CheckTrustPolicy(txn, ctx.account_id, Str(input, "PolicyDocument")));
    role.doc["AssumeRolePolicyDocument"] = Str(input, "PolicyDocument");
    return txn.Put(kRoleTable, Scope(ctx), role.key, role.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(txn, Scope(ctx), Str(input, "RoleName")));
    if (!role.doc.value("InlinePolicies", Document::object()).empty()) {
      return DeleteConflict("Cannot delete entity, must delete policies first.");
    }
    if (!role.doc.value("AttachedPolicies", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must detach all policies first.");
    }
    if (!role.doc.value("InstanceProfiles", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must remove roles from instance profile first.");
    }
    if (role.doc.contains("PermissionsBoundary")) {
      GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(
          txn, Scope(ctx), role.doc["PermissionsBoundary"].value("PermissionsBoundaryArn", ""), 0, -1));
    }
    return txn.Delete(kRoleTable, Scope(ctx), role.key).status();
  }));
  return Document::object();
}

StatusOr<Document> TagRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return TagEntity(deps, ctx, input, kRoleTable, "RoleName", RequireRole);
}

StatusOr<Document> UntagRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return UntagEntity(deps, ctx, input, kRoleTable, "RoleName", RequireRole);
}

StatusOr<Document> ListRoleTags(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ListEntityTags(deps, ctx, input, "RoleName", RequireRole);
}

// ---- Instance profiles ----

StatusOr<Document> CreateInstanceProfile(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "InstanceProfileName");
  GANTRY_ASSIGN_OR_RETURN(std::string path, PathOf(input));
  Document profile = {
      {"InstanceProfileName", name},
      {"InstanceProfileId", UniqueId(*deps.ids, "AIPA")},
      {"Arn", IamArn(ctx.account_id, "instance-profile", path, name)},
      {"Path", path},
      {"CreateDate", Now(deps)},
      {"Roles", Document::array()},
      {"Tags", Document::array()},
  };
  if (input.contains("Tags")) GANTRY_RETURN_IF_ERROR(MergeTags(profile["Tags"], input["Tags"]));
  auto created = deps.store->Create(kInstanceProfileTable, Scope(ctx), Key(name), profile);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("Instance Profile " + name + " already exists.");
    }
    return created.status();
  }
  return Document{{"InstanceProfile", InstanceProfileOut(*deps.store, Scope(ctx), profile)}};
}

StatusOr<Document> GetInstanceProfile(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireProfile(*deps.store, Scope(ctx), Str(input, "InstanceProfileName")));
  return Document{{"InstanceProfile", InstanceProfileOut(*deps.store, Scope(ctx), p.doc)}};
}

StatusOr<Document> ListInstanceProfiles(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> profiles, ListAll(*deps.store, kInstanceProfileTable, Scope(ctx)));
  Document all = Document::array();
  for (const auto& p : profiles) {
    if (HasPathPrefix(p.doc, input)) all.push_back(InstanceProfileOut(*deps.store, Scope(ctx), p.doc));
  }
  Document out = Document::object();
  out["InstanceProfiles"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> ListInstanceProfilesForRole(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(*deps.store, Scope(ctx), Str(input, "RoleName")));
  Document all = Document::array();
  for (const Document& key : role.doc.value("InstanceProfiles", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> p,
                            deps.store->Get(kInstanceProfileTable, Scope(ctx), key.get<std::string>()));
    if (p) all.push_back(InstanceProfileOut(*deps.store, Scope(ctx), p->doc));
  }
  Document out = Document::object();
  out["InstanceProfiles"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> DeleteInstanceProfile(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireProfile(txn, Scope(ctx), Str(input, "InstanceProfileName")));
    if (!p.doc.value("Roles", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must remove roles from instance profile first.");
    }
    return txn.Delete(kInstanceProfileTable, Scope(ctx), p.key).status();
  }));
  return Document::object();
}

StatusOr<Document> AddRoleToInstanceProfile(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireProfile(txn, Scope(ctx), Str(input, "InstanceProfileName")));
    GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(txn, Scope(ctx), Str(input, "RoleName")));
    if (!p.doc.value("Roles", Document::array()).empty()) {
      return LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1");
    }
    p.doc["Roles"].push_back(role.key);
    if (!role.doc.contains("InstanceProfiles")) role.doc["InstanceProfiles"] = Document::array();
    role.doc["InstanceProfiles"].push_back(p.key);
    GANTRY_RETURN_IF_ERROR(txn.Put(kInstanceProfileTable, Scope(ctx), p.key, p.doc).status());
    return txn.Put(kRoleTable, Scope(ctx), role.key, role.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> RemoveRoleFromInstanceProfile(const IamDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireProfile(txn, Scope(ctx), Str(input, "InstanceProfileName")));
    GANTRY_ASSIGN_OR_RETURN(store::Record role, RequireRole(txn, Scope(ctx), Str(input, "RoleName")));
    const Document roles = p.doc.value("Roles", Document::array());
    if (std::find(roles.begin(), roles.end(), Document(role.key)) == roles.end()) {
      return NoSuchEntity("The role with name " + role.doc["RoleName"].get<std::string>() +
                          " cannot be found in instance profile " + p.doc["InstanceProfileName"].get<std::string>() + ".");
    }
    ArrayRemove(p.doc["Roles"], role.key);
    ArrayRemove(role.doc["InstanceProfiles"], p.key);
    GANTRY_RETURN_IF_ERROR(txn.Put(kInstanceProfileTable, Scope(ctx), p.key, p.doc).status());
    return txn.Put(kRoleTable, Scope(ctx), role.key, role.doc).status();
  }));
  return Document::object();
}

// ---- OpenID Connect providers ----

// "https://token.actions.githubusercontent.com/" → "token.actions.githubusercontent.com".
StatusOr<std::string> ProviderKey(const std::string& url) {
  if (url.rfind("https://", 0) != 0 || url.size() <= 8) {
    return InvalidInput("Invalid Open ID Connect Provider URL");
  }
  std::string key = url.substr(8);
  while (!key.empty() && key.back() == '/') key.pop_back();
  if (key.empty() || key.find_first_of(" ?#") != std::string::npos) return InvalidInput("Invalid Open ID Connect Provider URL");
  return key;
}

StatusOr<std::string> ProviderKeyOfArn(const std::string& account, const std::string& arn) {
  std::string prefix = "arn:aws:iam::" + account + ":oidc-provider/";
  if (arn.rfind(prefix, 0) != 0 || arn.size() == prefix.size()) {
    return InvalidInput("ARN " + arn + " is not valid.");
  }
  return arn.substr(prefix.size());
}

StatusOr<store::Record> RequireProvider(store::RecordOperations& ops, const std::string& account,
                                        const std::string& arn) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, ProviderKeyOfArn(account, arn));
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> p, ops.Get(kOidcProviderTable, account, key));
  if (!p) return NoSuchEntity("OpenIDConnect Provider not found for arn " + arn);
  return std::move(*p);
}

StatusOr<Document> CreateOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, ProviderKey(Str(input, "Url")));
  Document provider = {
      {"Url", key},
      {"Arn", "arn:aws:iam::" + ctx.account_id + ":oidc-provider/" + key},
      {"ClientIDList", input.value("ClientIDList", Document::array())},
      {"ThumbprintList", input.value("ThumbprintList", Document::array())},
      {"CreateDate", Now(deps)},
      {"Tags", Document::array()},
  };
  if (input.contains("Tags")) GANTRY_RETURN_IF_ERROR(MergeTags(provider["Tags"], input["Tags"]));
  auto created = deps.store->Create(kOidcProviderTable, Scope(ctx), key, provider);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("Provider with url " + Str(input, "Url") + " already exists.");
    }
    return created.status();
  }
  Document out = {{"OpenIDConnectProviderArn", provider["Arn"]}};
  if (!provider["Tags"].empty()) out["Tags"] = provider["Tags"];
  return out;
}

StatusOr<Document> GetOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record p,
                          RequireProvider(*deps.store, ctx.account_id, Str(input, "OpenIDConnectProviderArn")));
  Document out = {{"Url", p.doc["Url"]},
                  {"ClientIDList", p.doc["ClientIDList"]},
                  {"ThumbprintList", p.doc["ThumbprintList"]},
                  {"CreateDate", p.doc["CreateDate"]}};
  if (!p.doc.value("Tags", Document::array()).empty()) out["Tags"] = p.doc["Tags"];
  return out;
}

StatusOr<Document> ListOpenIDConnectProviders(const IamDeps& deps, aws::RequestContext& ctx, const Document&) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> providers, ListAll(*deps.store, kOidcProviderTable, Scope(ctx)));
  Document list = Document::array();
  for (const auto& p : providers) list.push_back({{"Arn", p.doc["Arn"]}});
  return Document{{"OpenIDConnectProviderList", list}};
}

StatusOr<Document> DeleteOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, ProviderKeyOfArn(ctx.account_id, Str(input, "OpenIDConnectProviderArn")));
  GANTRY_RETURN_IF_ERROR(deps.store->Delete(kOidcProviderTable, Scope(ctx), key).status());
  return Document::object();
}

using ProviderChange = std::function<Status(Document&)>;

StatusOr<Document> ChangeProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                                  const ProviderChange& change) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireProvider(txn, ctx.account_id, Str(input, "OpenIDConnectProviderArn")));
    GANTRY_RETURN_IF_ERROR(change(p.doc));
    return txn.Put(kOidcProviderTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> AddClientIDToOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx,
                                                      const Document& input) {
  return ChangeProvider(deps, ctx, input, [&](Document& p) {
    Document& ids = p["ClientIDList"];
    if (std::find(ids.begin(), ids.end(), input["ClientID"]) == ids.end()) {
      if (ids.size() >= 100) return LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100");
      ids.push_back(input["ClientID"]);
    }
    return Status::Ok();
  });
}

StatusOr<Document> RemoveClientIDFromOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx,
                                                           const Document& input) {
  return ChangeProvider(deps, ctx, input, [&](Document& p) {
    ArrayRemove(p["ClientIDList"], Str(input, "ClientID"));
    return Status::Ok();
  });
}

StatusOr<Document> UpdateOpenIDConnectProviderThumbprint(const IamDeps& deps, aws::RequestContext& ctx,
                                                         const Document& input) {
  return ChangeProvider(deps, ctx, input, [&](Document& p) {
    p["ThumbprintList"] = input["ThumbprintList"];
    return Status::Ok();
  });
}

StatusOr<Document> TagOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ChangeProvider(deps, ctx, input, [&](Document& p) { return MergeTags(p["Tags"], input["Tags"]); });
}

StatusOr<Document> UntagOpenIDConnectProvider(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ChangeProvider(deps, ctx, input, [&](Document& p) {
    RemoveTags(p["Tags"], input["TagKeys"]);
    return Status::Ok();
  });
}

StatusOr<Document> ListOpenIDConnectProviderTags(const IamDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record p,
                          RequireProvider(*deps.store, ctx.account_id, Str(input, "OpenIDConnectProviderArn")));
  Document out = Document::object();
  out["Tags"] = PageSlice(p.doc.value("Tags", Document::array()), page, out);
  return out;
}

}  // namespace

Document RoleOut(const Document& role, bool full) {
  Document out = {{"Path", role["Path"]},
                  {"RoleName", role["RoleName"]},
                  {"RoleId", role["RoleId"]},
                  {"Arn", role["Arn"]},
                  {"CreateDate", role["CreateDate"]},
                  {"AssumeRolePolicyDocument", EncodeDocument(role.value("AssumeRolePolicyDocument", ""))},
                  {"MaxSessionDuration", role.value("MaxSessionDuration", kDefaultRoleMaxSession)}};
  if (role.contains("Description")) out["Description"] = role["Description"];
  if (full) {
    if (role.contains("PermissionsBoundary")) out["PermissionsBoundary"] = role["PermissionsBoundary"];
    if (!role.value("Tags", Document::array()).empty()) out["Tags"] = role["Tags"];
    out["RoleLastUsed"] = Document::object();
  }
  return out;
}

Document InstanceProfileOut(store::RecordOperations& ops, std::string_view account, const Document& profile) {
  Document roles = Document::array();
  for (const Document& key : profile.value("Roles", Document::array())) {
    auto role = ops.Get(kRoleTable, account, key.get<std::string>());
    if (role.ok() && *role) roles.push_back(RoleOut((**role).doc, false));
  }
  Document out = {{"Path", profile["Path"]},
                  {"InstanceProfileName", profile["InstanceProfileName"]},
                  {"InstanceProfileId", profile["InstanceProfileId"]},
                  {"Arn", profile["Arn"]},
                  {"CreateDate", profile["CreateDate"]},
                  {"Roles", roles}};
  if (!profile.value("Tags", Document::array()).empty()) out["Tags"] = profile["Tags"];
  return out;
}

void RegisterRoleHandlers(aws::HandlerTable& table, const IamDeps& deps) {
  AddHandler(table, deps, "CreateRole", CreateRole);
  AddHandler(table, deps, "GetRole", GetRole);
  AddHandler(table, deps, "ListRoles", ListRoles);
  AddHandler(table, deps, "UpdateRole", UpdateRole);
  AddHandler(table, deps, "UpdateRoleDescription", UpdateRoleDescription);
  AddHandler(table, deps, "UpdateAssumeRolePolicy", UpdateAssumeRolePolicy);
  AddHandler(table, deps, "DeleteRole", DeleteRole);
  AddHandler(table, deps, "TagRole", TagRole);
  AddHandler(table, deps, "UntagRole", UntagRole);
  AddHandler(table, deps, "ListRoleTags", ListRoleTags);
  AddHandler(table, deps, "CreateInstanceProfile", CreateInstanceProfile);
  AddHandler(table, deps, "GetInstanceProfile", GetInstanceProfile);
  AddHandler(table, deps, "ListInstanceProfiles", ListInstanceProfiles);
  AddHandler(table, deps, "ListInstanceProfilesForRole", ListInstanceProfilesForRole);
  AddHandler(table, deps, "DeleteInstanceProfile", DeleteInstanceProfile);
  AddHandler(table, deps, "AddRoleToInstanceProfile", AddRoleToInstanceProfile);
  AddHandler(table, deps, "RemoveRoleFromInstanceProfile", RemoveRoleFromInstanceProfile);
  AddHandler(table, deps, "CreateOpenIDConnectProvider", CreateOpenIDConnectProvider);
  AddHandler(table, deps, "GetOpenIDConnectProvider", GetOpenIDConnectProvider);
  AddHandler(table, deps, "ListOpenIDConnectProviders", ListOpenIDConnectProviders);
  AddHandler(table, deps, "DeleteOpenIDConnectProvider", DeleteOpenIDConnectProvider);
  AddHandler(table, deps, "AddClientIDToOpenIDConnectProvider", AddClientIDToOpenIDConnectProvider);
  AddHandler(table, deps, "RemoveClientIDFromOpenIDConnectProvider", RemoveClientIDFromOpenIDConnectProvider);
  AddHandler(table, deps, "UpdateOpenIDConnectProviderThumbprint", UpdateOpenIDConnectProviderThumbprint);
  AddHandler(table, deps, "TagOpenIDConnectProvider", TagOpenIDConnectProvider);
  AddHandler(table, deps, "UntagOpenIDConnectProvider", UntagOpenIDConnectProvider);
  AddHandler(table, deps, "ListOpenIDConnectProviderTags", ListOpenIDConnectProviderTags);
}

}  // namespace gantry::services::iam
