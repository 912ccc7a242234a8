// Managed policies and their versions, attachments, inline policies, permissions boundaries, the
// policy simulator and the account summary.
#include <algorithm>
#include <cctype>
#include <map>

#include "core/common/strings.h"
#include "services/iam/authorizer.h"
#include "services/iam/aws_managed.h"
#include "services/iam/handlers.h"
#include "services/iam/principals.h"

namespace gantry::services::iam {

namespace {

const std::string& Scope(const aws::RequestContext& ctx) { return ctx.account_id; }

std::string Str(const Document& input, const char* member) { return input.value(member, std::string()); }

// The three kinds of entities policies attach to.
struct EntityKind {
  std::string_view table;
  const char* name_member;   // "UserName"
  const char* label;         // "user", for messages
  const char* quota;         // "PoliciesPerUser"
  size_t inline_limit;
  const char* inline_quota;  // "UserPolicySize"
};

constexpr EntityKind kUser{kUserTable, "UserName", "user", "PoliciesPerUser", kMaxUserInlineSize, "UserPolicySize"};
constexpr EntityKind kGroup{kGroupTable, "GroupName", "group", "PoliciesPerGroup", kMaxGroupInlineSize,
                            "GroupPolicySize"};
constexpr EntityKind kRole{kRoleTable, "RoleName", "role", "PoliciesPerRole", kMaxRoleInlineSize, "RolePolicySize"};

StatusOr<store::Record> RequireEntity(store::RecordOperations& ops, const std::string& account, const EntityKind& kind,
                                      const std::string& name) {
  return Require(ops, kind.table, account, name, [&]() -> Status {
    if (kind.table == kUserTable) return NoSuchUser(name);
    if (kind.table == kGroupTable) return NoSuchGroup(name);
    return NoSuchRole(name);
  });
}

Document PolicyOut(const Document& p) {
  Document out = {{"PolicyName", p["PolicyName"]},
                  {"PolicyId", p["PolicyId"]},
                  {"Arn", p["Arn"]},
                  {"Path", p["Path"]},
                  {"DefaultVersionId", p["DefaultVersionId"]},
                  {"AttachmentCount", p.value("AttachmentCount", 0)},
                  {"PermissionsBoundaryUsageCount", p.value("PermissionsBoundaryUsageCount", 0)},
                  {"IsAttachable", true},
                  {"CreateDate", p["CreateDate"]},
                  {"UpdateDate", p.value("UpdateDate", p["CreateDate"])}};
  if (p.contains("Description")) out["Description"] = p["Description"];
  if (!p.value("Tags", Document::array()).empty()) out["Tags"] = p["Tags"];
  return out;
}

Document VersionOut(const Document& policy, const Document& version, bool with_document) {
  Document out = {{"VersionId", version["VersionId"]},
                  {"IsDefaultVersion", version["VersionId"] == policy["DefaultVersionId"]},
                  {"CreateDate", version["CreateDate"]}};
  if (with_document) out["Document"] = EncodeDocument(version.value("Document", ""));
  return out;
}

StatusOr<store::Record> RequireCustomerPolicy(store::RecordOperations& ops, const std::string& account,
                                              const std::string& arn) {
  std::optional<PolicyRef> ref = ParsePolicyArn(arn);
  if (!ref) return InvalidInput("ARN " + arn + " is not valid.");
  if (ref->aws_managed()) {
    if (FindAwsManagedPolicy(ref->name)) {
      return Status::InvalidArgument("Cannot modify an AWS managed policy.", "UnmodifiableEntity");
    }
    return NoSuchPolicy(arn);
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kPolicyTable, account, Key(ref->name)));
  if (!record || record->doc["Arn"] != arn) return NoSuchPolicy(arn);
  return std::move(*record);
}

// ---- Managed policies ----

StatusOr<Document> CreatePolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "PolicyName");
  GANTRY_ASSIGN_OR_RETURN(std::string path, PathOf(input));
  std::string text = Str(input, "PolicyDocument");
  GANTRY_RETURN_IF_ERROR(
      CheckPolicyDocument(text, policy::PolicyKind::kIdentity, true, kMaxManagedPolicySize, "PolicySize").status());
  double now = Now(deps);
  Document p = {
      {"PolicyName", name},
      {"PolicyId", UniqueId(*deps.ids, "ANPA")},
      {"Arn", "arn:aws:iam::" + ctx.account_id + ":policy" + path + name},
      {"Path", path},
      {"DefaultVersionId", "v1"},
      {"AttachmentCount", 0},
      {"PermissionsBoundaryUsageCount", 0},
      {"CreateDate", now},
      {"UpdateDate", now},
      {"Tags", Document::array()},
      {"NextVersion", 2},
      {"Versions", Document::array({{{"VersionId", "v1"}, {"Document", text}, {"CreateDate", now}}})},
  };
  if (input.contains("Description")) p["Description"] = input["Description"];
  if (input.contains("Tags")) GANTRY_RETURN_IF_ERROR(MergeTags(p["Tags"], input["Tags"]));
  auto created = deps.store->Create(kPolicyTable, Scope(ctx), Key(name), p);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("A policy called " + name + " already exists. Duplicate names are not allowed.");
    }
    return created.status();
  }
  return Document{{"Policy", PolicyOut(p)}};
}

StatusOr<Document> GetPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Document p, LoadManagedPolicy(*deps.store, Scope(ctx), Str(input, "PolicyArn")));
  return Document{{"Policy", PolicyOut(p)}};
}

StatusOr<Document> ListPolicies(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  std::string scope = input.value("Scope", std::string("All"));
  std::string prefix = input.value("PathPrefix", std::string("/"));
  bool only_attached = input.value("OnlyAttached", false);
  Document all = Document::array();
  auto consider = [&](const Document& p) {
    if (p.value("Path", "/").rfind(prefix, 0) != 0) return;
    if (only_attached && p.value("AttachmentCount", 0) == 0) return;
    all.push_back(PolicyOut(p));
  };
  if (scope == "All" || scope == "AWS") {
    for (const Document& builtin : AwsManagedPolicies()) {
      GANTRY_ASSIGN_OR_RETURN(Document p, LoadManagedPolicy(*deps.store, Scope(ctx), builtin["Arn"].get<std::string>()));
      consider(p);
    }
  }
  if (scope == "All" || scope == "Local") {
    GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> policies, ListAll(*deps.store, kPolicyTable, Scope(ctx)));
    for (const auto& r : policies) consider(r.doc);
  }
  Document out = Document::object();
  out["Policies"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> DeletePolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), Str(input, "PolicyArn")));
    if (p.doc.value("AttachmentCount", 0) > 0 || p.doc.value("PermissionsBoundaryUsageCount", 0) > 0) {
      return DeleteConflict("Cannot delete a policy attached to entities.");
    }
    if (p.doc["Versions"].size() > 1) {
      return DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete "
                            "the policy's versions. The default version is deleted with the policy.");
    }
    return txn.Delete(kPolicyTable, Scope(ctx), p.key).status();
  }));
  return Document::object();
}

StatusOr<Document> CreatePolicyVersion(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string text = Str(input, "PolicyDocument");
  GANTRY_RETURN_IF_ERROR(
      CheckPolicyDocument(text, policy::PolicyKind::kIdentity, true, kMaxManagedPolicySize, "PolicySize").status());
  Document policy, version;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), Str(input, "PolicyArn")));
    if (p.doc["Versions"].size() >= kMaxPolicyVersions) {
      return LimitExceeded("A managed policy can have up to 5 versions. Before you create a new version, you must "
                           "delete an existing version.");
    }
    int next = p.doc.value("NextVersion", static_cast<int>(p.doc["Versions"].size()) + 1);
    version = {{"VersionId", "v" + std::to_string(next)}, {"Document", text}, {"CreateDate", Now(deps)}};
    p.doc["Versions"].push_back(version);
    p.doc["NextVersion"] = next + 1;
    if (input.value("SetAsDefault", false)) p.doc["DefaultVersionId"] = version["VersionId"];
    p.doc["UpdateDate"] = Now(deps);
    policy = p.doc;
    return txn.Put(kPolicyTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document{{"PolicyVersion", VersionOut(policy, version, false)}};
}

StatusOr<Document> GetPolicyVersion(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = Str(input, "PolicyArn");
  GANTRY_ASSIGN_OR_RETURN(Document p, LoadManagedPolicy(*deps.store, Scope(ctx), arn));
  for (const Document& v : p["Versions"]) {
    if (v["VersionId"] == input["VersionId"]) return Document{{"PolicyVersion", VersionOut(p, v, true)}};
  }
  return NoSuchEntity("Policy " + arn + " version " + Str(input, "VersionId") + " does not exist or is not attachable.");
}

StatusOr<Document> ListPolicyVersions(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(Document p, LoadManagedPolicy(*deps.store, Scope(ctx), Str(input, "PolicyArn")));
  Document all = Document::array();
  for (auto it = p["Versions"].rbegin(); it != p["Versions"].rend(); ++it) all.push_back(VersionOut(p, *it, false));
  Document out = Document::object();
  out["Versions"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> DeletePolicyVersion(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = Str(input, "PolicyArn");
  std::string id = Str(input, "VersionId");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), arn));
    if (p.doc["DefaultVersionId"] == id) return DeleteConflict("Cannot delete the default version of a policy.");
    Document& versions = p.doc["Versions"];
    auto it = std::find_if(versions.begin(), versions.end(), [&](const Document& v) { return v["VersionId"] == id; });
    if (it == versions.end()) {
      return NoSuchEntity("Policy " + arn + " version " + id + " does not exist or is not attachable.");
    }
    versions.erase(it);
    return txn.Put(kPolicyTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> SetDefaultPolicyVersion(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = Str(input, "PolicyArn");
  std::string id = Str(input, "VersionId");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), arn));
    const Document& versions = p.doc["Versions"];
    if (std::none_of(versions.begin(), versions.end(), [&](const Document& v) { return v["VersionId"] == id; })) {
      return NoSuchEntity("Policy " + arn + " version " + id + " does not exist or is not attachable.");
    }
    p.doc["DefaultVersionId"] = id;
    p.doc["UpdateDate"] = Now(deps);
    return txn.Put(kPolicyTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> TagPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), Str(input, "PolicyArn")));
    GANTRY_RETURN_IF_ERROR(MergeTags(p.doc["Tags"], input["Tags"]));
    return txn.Put(kPolicyTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> UntagPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record p, RequireCustomerPolicy(txn, Scope(ctx), Str(input, "PolicyArn")));
    RemoveTags(p.doc["Tags"], input["TagKeys"]);
    return txn.Put(kPolicyTable, Scope(ctx), p.key, p.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> ListPolicyTags(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(Document p, LoadManagedPolicy(*deps.store, Scope(ctx), Str(input, "PolicyArn")));
  Document out = Document::object();
  out["Tags"] = PageSlice(p.value("Tags", Document::array()), page, out);
  return out;
}

// ---- Attachments ----

StatusOr<Document> Attach(const IamDeps& deps, aws::RequestContext& ctx, const Document& input, const EntityKind& kind) {
  std::string arn = Str(input, "PolicyArn");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    GANTRY_RETURN_IF_ERROR(LoadManagedPolicy(txn, Scope(ctx), arn).status());
    Document& attached = e.doc["AttachedPolicies"];
    if (!attached.is_array()) attached = Document::array();
    if (std::find(attached.begin(), attached.end(), Document(arn)) != attached.end()) return Status::Ok();
    if (attached.size() >= static_cast<size_t>(kMaxManagedPoliciesPerEntity)) {
      return LimitExceeded("Cannot exceed quota for " + std::string(kind.quota) + ": " +
                           std::to_string(kMaxManagedPoliciesPerEntity));
    }
    attached.push_back(arn);
    GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(txn, Scope(ctx), arn, 1, 0));
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> Detach(const IamDeps& deps, aws::RequestContext& ctx, const Document& input, const EntityKind& kind) {
  std::string arn = Str(input, "PolicyArn");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    Document& attached = e.doc["AttachedPolicies"];
    auto it = attached.is_array() ? std::find(attached.begin(), attached.end(), Document(arn)) : attached.end();
    if (!attached.is_array() || it == attached.end()) return NoSuchEntity("Policy " + arn + " was not found.");
    attached.erase(it);
    GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(txn, Scope(ctx), arn, -1, 0));
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> ListAttached(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                                const EntityKind& kind) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(*deps.store, Scope(ctx), kind, Str(input, kind.name_member)));
  std::string prefix = input.value("PathPrefix", std::string("/"));
  Document all = Document::array();
  for (const Document& arn : e.doc.value("AttachedPolicies", Document::array())) {
    std::optional<PolicyRef> ref = ParsePolicyArn(arn.get<std::string>());
    if (!ref || ref->path.rfind(prefix, 0) != 0) continue;
    all.push_back({{"PolicyName", ref->name}, {"PolicyArn", arn}});
  }
  Document out = Document::object();
  out["AttachedPolicies"] = PageSlice(all, page, out);
  return out;
}

#define GANTRY_IAM_ENTITY_OPS(Entity, kind)                                                                  \
  StatusOr<Document> Attach##Entity##Policy(const IamDeps& d, aws::RequestContext& c, const Document& i) {   \
    return Attach(d, c, i, kind);                                                                           \
  }                                                                                                         \
  StatusOr<Document> Detach##Entity##Policy(const IamDeps& d, aws::RequestContext& c, const Document& i) {   \
    return Detach(d, c, i, kind);                                                                           \
  }                                                                                                         \
  StatusOr<Document> ListAttached##Entity##Policies(const IamDeps& d, aws::RequestContext& c,               \
                                                    const Document& i) {                                    \
    return ListAttached(d, c, i, kind);                                                                     \
  }                                                                                                         \
  StatusOr<Document> Put##Entity##Policy(const IamDeps& d, aws::RequestContext& c, const Document& i) {      \
    return PutInline(d, c, i, kind);                                                                        \
  }                                                                                                         \
  StatusOr<Document> Get##Entity##Policy(const IamDeps& d, aws::RequestContext& c, const Document& i) {      \
    return GetInline(d, c, i, kind);                                                                        \
  }                                                                                                         \
  StatusOr<Document> Delete##Entity##Policy(const IamDeps& d, aws::RequestContext& c, const Document& i) {   \
    return DeleteInline(d, c, i, kind);                                                                     \
  }                                                                                                         \
  StatusOr<Document> List##Entity##Policies(const IamDeps& d, aws::RequestContext& c, const Document& i) {   \
    return ListInline(d, c, i, kind);                                                                       \
  }

// ---- Inline policies ----

size_t InlineTotal(const Document& inline_policies, const std::string& except) {
  size_t total = 0;
  for (auto it = inline_policies.begin(); it != inline_policies.end(); ++it) {
    if (it.key() == except) continue;
    const std::string text = it.value().get<std::string>();
    total += std::count_if(text.begin(), text.end(), [](unsigned char c) { return !std::isspace(c); });
  }
  return total;
}

StatusOr<Document> PutInline(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                             const EntityKind& kind) {
  std::string name = Str(input, "PolicyName");
  std::string text = Str(input, "PolicyDocument");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    Document& inline_policies = e.doc["InlinePolicies"];
    if (!inline_policies.is_object()) inline_policies = Document::object();
    size_t total = InlineTotal(inline_policies, name) +
                   std::count_if(text.begin(), text.end(), [](unsigned char c) { return !std::isspace(c); });
    if (total > kind.inline_limit) {
      return LimitExceeded("Maximum policy size of " + std::to_string(kind.inline_limit) + " bytes exceeded for " +
                           kind.label + " " + e.doc[kind.name_member].get<std::string>());
    }
    GANTRY_RETURN_IF_ERROR(
        CheckPolicyDocument(text, policy::PolicyKind::kIdentity, false, kind.inline_limit, kind.inline_quota).status());
    inline_policies[name] = text;
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> GetInline(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                             const EntityKind& kind) {
  std::string name = Str(input, "PolicyName");
  GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(*deps.store, Scope(ctx), kind, Str(input, kind.name_member)));
  const Document inline_policies = e.doc.value("InlinePolicies", Document::object());
  if (!inline_policies.contains(name)) {
    return NoSuchEntity("The " + std::string(kind.label) + " policy with name " + name + " cannot be found.");
  }
  Document out = {{"PolicyName", name}, {"PolicyDocument", EncodeDocument(inline_policies[name])}};
  std::string entity_name = e.doc[kind.name_member];
  out[kind.name_member] = entity_name;
  return out;
}

StatusOr<Document> DeleteInline(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                                const EntityKind& kind) {
  std::string name = Str(input, "PolicyName");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    Document& inline_policies = e.doc["InlinePolicies"];
    if (!inline_policies.is_object() || !inline_policies.contains(name)) {
      return NoSuchEntity("The " + std::string(kind.label) + " policy with name " + name + " cannot be found.");
    }
    inline_policies.erase(name);
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> ListInline(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                              const EntityKind& kind) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(*deps.store, Scope(ctx), kind, Str(input, kind.name_member)));
  Document names = Document::array();
  for (auto it = e.doc.value("InlinePolicies", Document::object()).begin();
       it != e.doc.value("InlinePolicies", Document::object()).end(); ++it) {
    names.push_back(it.key());
  }
  Document out = Document::object();
  out["PolicyNames"] = PageSlice(names, page, out);
  return out;
}

GANTRY_IAM_ENTITY_OPS(User, kUser)
GANTRY_IAM_ENTITY_OPS(Group, kGroup)
GANTRY_IAM_ENTITY_OPS(Role, kRole)

StatusOr<Document> ListEntitiesForPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = Str(input, "PolicyArn");
  GANTRY_RETURN_IF_ERROR(LoadManagedPolicy(*deps.store, Scope(ctx), arn).status());
  std::string filter = input.value("EntityFilter", std::string());
  std::string usage = input.value("PolicyUsageFilter", std::string());
  std::string prefix = input.value("PathPrefix", std::string("/"));
  auto uses = [&](const Document& e, bool can_have_boundary) {
    bool attached = false;
    for (const Document& a : e.value("AttachedPolicies", Document::array())) attached = attached || a == arn;
    bool boundary = can_have_boundary && e.contains("PermissionsBoundary") &&
                    e["PermissionsBoundary"].value("PermissionsBoundaryArn", "") == arn;
    if (e.value("Path", "/").rfind(prefix, 0) != 0) return false;
    if (usage == "PermissionsPolicy") return attached;
    if (usage == "PermissionsBoundary") return boundary;
    return attached || boundary;
  };
  Document users = Document::array(), groups = Document::array(), roles = Document::array();
  if (filter.empty() || filter == "User") {
    GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, ListAll(*deps.store, kUserTable, Scope(ctx)));
    for (const auto& u : all) {
      if (uses(u.doc, true)) users.push_back({{"UserName", u.doc["UserName"]}, {"UserId", u.doc["UserId"]}});
    }
  }
  if (filter.empty() || filter == "Group") {
    GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, ListAll(*deps.store, kGroupTable, Scope(ctx)));
    for (const auto& g : all) {
      if (uses(g.doc, false)) groups.push_back({{"GroupName", g.doc["GroupName"]}, {"GroupId", g.doc["GroupId"]}});
    }
  }
  if (filter.empty() || filter == "Role") {
    GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, ListAll(*deps.store, kRoleTable, Scope(ctx)));
    for (const auto& r : all) {
      if (uses(r.doc, true)) roles.push_back({{"RoleName", r.doc["RoleName"]}, {"RoleId", r.doc["RoleId"]}});
    }
  }
  return Document{{"PolicyGroups", groups}, {"PolicyUsers", users}, {"PolicyRoles", roles}, {"IsTruncated", false}};
}

// ---- Permissions boundaries ----

StatusOr<Document> PutBoundary(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                               const EntityKind& kind) {
  std::string arn = Str(input, "PermissionsBoundary");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    GANTRY_ASSIGN_OR_RETURN(Document boundary, BoundaryOf(txn, Scope(ctx), arn));
    if (e.doc.contains("PermissionsBoundary")) {
      GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(
          txn, Scope(ctx), e.doc["PermissionsBoundary"].value("PermissionsBoundaryArn", ""), 0, -1));
    }
    GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(txn, Scope(ctx), arn, 0, 1));
    e.doc["PermissionsBoundary"] = boundary;
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteBoundary(const IamDeps& deps, aws::RequestContext& ctx, const Document& input,
                                  const EntityKind& kind) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record e, RequireEntity(txn, Scope(ctx), kind, Str(input, kind.name_member)));
    if (!e.doc.contains("PermissionsBoundary")) return Status::Ok();
    GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(
        txn, Scope(ctx), e.doc["PermissionsBoundary"].value("PermissionsBoundaryArn", ""), 0, -1));
    e.doc.erase("PermissionsBoundary");
    return txn.Put(kind.table, Scope(ctx), e.key, e.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> PutUserPermissionsBoundary(const IamDeps& d, aws::RequestContext& c, const Document& i) {
  return PutBoundary(d, c, i, kUser);
}
StatusOr<Document> PutRolePermissionsBoundary(const IamDeps& d, aws::RequestContext& c, const Document& i) {
  return PutBoundary(d, c, i, kRole);
}
StatusOr<Document> DeleteUserPermissionsBoundary(const IamDeps& d, aws::RequestContext& c, const Document& i) {
  return DeleteBoundary(d, c, i, kUser);
}
StatusOr<Document> DeleteRolePermissionsBoundary(const IamDeps& d, aws::RequestContext& c, const Document& i) {
  return DeleteBoundary(d, c, i, kRole);
}

// ---- Simulation ----

policy::ConditionContext ContextOf(const Document& input) {
  policy::ConditionContext context;
  for (const Document& e : input.value("ContextEntries", Document::array())) {
    std::vector<std::string> values;
    for (const Document& v : e.value("ContextKeyValues", Document::array())) values.push_back(v.get<std::string>());
    context.Set(e.value("ContextKeyName", ""), std::move(values));
  }
  return context;
}

StatusOr<std::vector<SourcedPolicy>> ParseInputPolicies(const Document& list, const char* type) {
  std::vector<SourcedPolicy> out;
  int n = 0;
  for (const Document& text : list) {
    ++n;
    auto parsed = policy::Policy::Parse(text.get<std::string>(), {policy::PolicyKind::kIdentity});
    if (!parsed.ok()) return parsed.status();
    out.push_back({std::string(type) + "." + std::to_string(n), "none",
                   std::make_shared<const policy::Policy>(std::move(*parsed))});
  }
  return out;
}

const SourcedPolicy* SourceOf(const PrincipalPolicies& policies, const std::vector<SourcedPolicy>& resource,
                              const policy::Statement* statement) {
  for (const auto* list : {&policies.identity, &policies.boundary, &policies.session, &resource}) {
    for (const SourcedPolicy& p : *list) {
      for (const policy::Statement& st : p.policy->statements()) {
        if (&st == statement) return &p;
      }
    }
  }
  return nullptr;
}

StatusOr<Document> Simulate(const aws::RequestContext& ctx, const Document& input, PrincipalPolicies policies,
                            const policy::Caller& caller) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::vector<SourcedPolicy> extra, ParseInputPolicies(input.value("PolicyInputList", Document::array()), "PolicyInputList"));
  for (auto& p : extra) policies.identity.push_back(std::move(p));
  GANTRY_ASSIGN_OR_RETURN(std::vector<SourcedPolicy> boundaries,
                          ParseInputPolicies(input.value("PermissionsBoundaryPolicyInputList", Document::array()),
                                             "PermissionsBoundaryPolicyInputList"));
  if (!boundaries.empty()) {
    policies.has_boundary = true;
    policies.boundary = std::move(boundaries);
  }
  std::vector<SourcedPolicy> resource;
  if (input.contains("ResourcePolicy")) {
    auto parsed = policy::Policy::Parse(input["ResourcePolicy"].get<std::string>(), {policy::PolicyKind::kResource});
    if (!parsed.ok()) return parsed.status();
    resource.push_back({"ResourcePolicy", "resource", std::make_shared<const policy::Policy>(std::move(*parsed))});
  }
  policy::PolicySet set = ToPolicySet(policies);
  for (const auto& p : resource) set.resource.push_back(p.policy.get());
  policy::ConditionContext context = ContextOf(input);
  std::vector<std::string> resources;
  for (const Document& r : input.value("ResourceArns", Document::array())) resources.push_back(r.get<std::string>());
  if (resources.empty()) resources.push_back("*");

  Document results = Document::array();
  for (const Document& action : input["ActionNames"]) {
    for (const std::string& resource_arn : resources) {
      policy::Request request;
      request.action = action.get<std::string>();
      request.resource = resource_arn;
      request.caller = caller;
      request.context = context;
      policy::Decision d = policy::Decide(set, request);
      std::string decision = d.allowed ? "allowed"
                             : (d.reason == policy::DenyReason::kExplicitIdentity ||
                                d.reason == policy::DenyReason::kExplicitResource ||
                                d.reason == policy::DenyReason::kExplicitBoundary ||
                                d.reason == policy::DenyReason::kExplicitSession)
                                 ? "explicitDeny"
                                 : "implicitDeny";
      Document matched = Document::array();
      if (d.statement != nullptr) {
        if (const SourcedPolicy* source = SourceOf(policies, resource, d.statement)) {
          matched.push_back({{"SourcePolicyId", source->id}, {"SourcePolicyType", source->type}});
        }
      }
      Document result = {{"EvalActionName", request.action},
                         {"EvalResourceName", resource_arn},
                         {"EvalDecision", decision},
                         {"MatchedStatements", matched},
                         {"MissingContextValues", Document::array()}};
      if (policies.has_boundary) {
        result["PermissionsBoundaryDecisionDetail"] = {
            {"AllowedByPermissionsBoundary", d.reason != policy::DenyReason::kNoBoundaryAllow &&
                                                 d.reason != policy::DenyReason::kExplicitBoundary}};
      }
      results.push_back(std::move(result));
    }
  }
  Document out = Document::object();
  out["EvaluationResults"] = PageSlice(results, page, out);
  return out;
}

StatusOr<Document> SimulatePrincipalPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string arn = Str(input, "PolicySourceArn");
  std::string prefix = "arn:aws:iam::" + ctx.account_id + ":";
  std::string resource = arn.rfind(prefix, 0) == 0 ? arn.substr(prefix.size()) : "";
  std::string name = resource.substr(resource.rfind('/') == std::string::npos ? 0 : resource.rfind('/') + 1);
  PrincipalPolicies policies;
  policy::Caller caller;
  caller.account = ctx.account_id;
  caller.arn = arn;
  if (resource.rfind("user/", 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> u, deps.store->Get(kUserTable, Scope(ctx), Key(name)));
    if (!u || u->doc["Arn"] != arn) return NoSuchUser(name);
    GANTRY_ASSIGN_OR_RETURN(policies, UserPolicies(*deps.store, Scope(ctx), u->doc));
  } else if (resource.rfind("role/", 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> r, deps.store->Get(kRoleTable, Scope(ctx), Key(name)));
    if (!r || r->doc["Arn"] != arn) return NoSuchRole(name);
    GANTRY_ASSIGN_OR_RETURN(policies, RolePolicies(*deps.store, Scope(ctx), r->doc));
    caller.role_arn = arn;
  } else if (resource.rfind("group/", 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> g, deps.store->Get(kGroupTable, Scope(ctx), Key(name)));
    if (!g || g->doc["Arn"] != arn) return NoSuchGroup(name);
    GANTRY_ASSIGN_OR_RETURN(policies, GroupPolicies(*deps.store, Scope(ctx), g->doc));
  } else {
    return InvalidInput("Invalid ARN: " + arn + ". The ARN must be that of a user, group, or role.");
  }
  if (input.contains("CallerArn")) caller.arn = Str(input, "CallerArn");
  return Simulate(ctx, input, std::move(policies), caller);
}

StatusOr<Document> SimulateCustomPolicy(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  policy::Caller caller;
  caller.account = ctx.account_id;
  caller.arn = input.value("CallerArn", std::string());
  return Simulate(ctx, input, PrincipalPolicies{}, caller);
}

Document KeysOf(const std::vector<std::shared_ptr<const policy::Policy>>& policies) {
  std::map<std::string, std::string> keys;
  for (const auto& p : policies) {
    for (const std::string& k : policy::ConditionKeysOf(*p)) keys.emplace(ToLower(k), k);
  }
  Document out = Document::array();
  for (const auto& [_, k] : keys) out.push_back(k);
  return out;
}

StatusOr<Document> GetContextKeysForCustomPolicy(const IamDeps&, aws::RequestContext&, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<SourcedPolicy> parsed, ParseInputPolicies(input["PolicyInputList"], "p"));
  std::vector<std::shared_ptr<const policy::Policy>> policies;
  for (const auto& p : parsed) policies.push_back(p.policy);
  return Document{{"ContextKeyNames", KeysOf(policies)}};
}

StatusOr<Document> GetAccountSummary(const IamDeps& deps, aws::RequestContext& ctx, const Document&) {
  auto count = [&](std::string_view table) -> int64_t {
    auto n = deps.store->Count(table, Scope(ctx));
    return n.ok() ? *n : 0;
  };
  return Document{{"SummaryMap",
                   {{"Users", count(kUserTable)},
                    {"UsersQuota", 5000},
                    {"Groups", count(kGroupTable)},
                    {"GroupsQuota", 300},
                    {"Roles", count(kRoleTable)},
                    {"RolesQuota", 1000},
                    {"Policies", count(kPolicyTable)},
                    {"PoliciesQuota", 1500},
                    {"InstanceProfiles", count(kInstanceProfileTable)},
                    {"InstanceProfilesQuota", 1000},
                    {"Providers", count(kOidcProviderTable)},
                    {"AccessKeysPerUserQuota", kMaxAccessKeysPerUser},
                    {"AttachedPoliciesPerUserQuota", kMaxManagedPoliciesPerEntity},
                    {"AttachedPoliciesPerGroupQuota", kMaxManagedPoliciesPerEntity},
                    {"AttachedPoliciesPerRoleQuota", kMaxManagedPoliciesPerEntity},
                    {"PolicyVersionsInUseQuota", 10000},
                    {"VersionsPerPolicyQuota", kMaxPolicyVersions},
                    {"PolicySizeQuota", static_cast<int64_t>(kMaxManagedPolicySize)},
                    {"UserPolicySizeQuota", static_cast<int64_t>(kMaxUserInlineSize)},
                    {"GroupPolicySizeQuota", static_cast<int64_t>(kMaxGroupInlineSize)},
                    {"RolePolicySizeQuota", static_cast<int64_t>(kMaxRoleInlineSize)},
                    {"AccountMFAEnabled", 0}}}};
}

}  // namespace

void RegisterPolicyHandlers(aws::HandlerTable& table, const IamDeps& deps) {
  AddHandler(table, deps, "CreatePolicy", CreatePolicy);
  AddHandler(table, deps, "GetPolicy", GetPolicy);
  AddHandler(table, deps, "ListPolicies", ListPolicies);
  AddHandler(table, deps, "DeletePolicy", DeletePolicy);
  AddHandler(table, deps, "CreatePolicyVersion", CreatePolicyVersion);
  AddHandler(table, deps, "GetPolicyVersion", GetPolicyVersion);
  AddHandler(table, deps, "ListPolicyVersions", ListPolicyVersions);
  AddHandler(table, deps, "DeletePolicyVersion", DeletePolicyVersion);
  AddHandler(table, deps, "SetDefaultPolicyVersion", SetDefaultPolicyVersion);
  AddHandler(table, deps, "TagPolicy", TagPolicy);
  AddHandler(table, deps, "UntagPolicy", UntagPolicy);
  AddHandler(table, deps, "ListPolicyTags", ListPolicyTags);
  AddHandler(table, deps, "ListEntitiesForPolicy", ListEntitiesForPolicy);
  AddHandler(table, deps, "AttachUserPolicy", AttachUserPolicy);
  AddHandler(table, deps, "DetachUserPolicy", DetachUserPolicy);
  AddHandler(table, deps, "ListAttachedUserPolicies", ListAttachedUserPolicies);
  AddHandler(table, deps, "PutUserPolicy", PutUserPolicy);
  AddHandler(table, deps, "GetUserPolicy", GetUserPolicy);
  AddHandler(table, deps, "DeleteUserPolicy", DeleteUserPolicy);
  AddHandler(table, deps, "ListUserPolicies", ListUserPolicies);
  AddHandler(table, deps, "AttachGroupPolicy", AttachGroupPolicy);
  AddHandler(table, deps, "DetachGroupPolicy", DetachGroupPolicy);
  AddHandler(table, deps, "ListAttachedGroupPolicies", ListAttachedGroupPolicies);
  AddHandler(table, deps, "PutGroupPolicy", PutGroupPolicy);
  AddHandler(table, deps, "GetGroupPolicy", GetGroupPolicy);
  AddHandler(table, deps, "DeleteGroupPolicy", DeleteGroupPolicy);
  AddHandler(table, deps, "ListGroupPolicies", ListGroupPolicies);
  AddHandler(table, deps, "AttachRolePolicy", AttachRolePolicy);
  AddHandler(table, deps, "DetachRolePolicy", DetachRolePolicy);
  AddHandler(table, deps, "ListAttachedRolePolicies", ListAttachedRolePolicies);
  AddHandler(table, deps, "PutRolePolicy", PutRolePolicy);
  AddHandler(table, deps, "GetRolePolicy", GetRolePolicy);
  AddHandler(table, deps, "DeleteRolePolicy", DeleteRolePolicy);
  AddHandler(table, deps, "ListRolePolicies", ListRolePolicies);
  AddHandler(table, deps, "PutUserPermissionsBoundary", PutUserPermissionsBoundary);
  AddHandler(table, deps, "PutRolePermissionsBoundary", PutRolePermissionsBoundary);
  AddHandler(table, deps, "DeleteUserPermissionsBoundary", DeleteUserPermissionsBoundary);
  AddHandler(table, deps, "DeleteRolePermissionsBoundary", DeleteRolePermissionsBoundary);
  AddHandler(table, deps, "SimulatePrincipalPolicy", SimulatePrincipalPolicy);
  AddHandler(table, deps, "SimulateCustomPolicy", SimulateCustomPolicy);
  AddHandler(table, deps, "GetContextKeysForCustomPolicy", GetContextKeysForCustomPolicy);
  AddHandler(table, deps, "GetAccountSummary", GetAccountSummary);
}

}  // namespace gantry::services::iam
