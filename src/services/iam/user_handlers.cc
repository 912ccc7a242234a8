// Users, groups, access keys and service-specific credentials.
#include <algorithm>

#include "core/common/crypto.h"
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

Status UserMissing(const std::string& name) { return NoSuchUser(name); }

StatusOr<store::Record> RequireUser(store::RecordOperations& ops, const std::string& account, const std::string& name) {
  return Require(ops, kUserTable, account, name, [&] { return UserMissing(name); });
}

StatusOr<store::Record> RequireGroup(store::RecordOperations& ops, const std::string& account,
                                     const std::string& name) {
  return Require(ops, kGroupTable, account, name, [&] { return NoSuchGroup(name); });
}

bool ArrayHas(const Document& list, const std::string& value) {
  return list.is_array() && std::find(list.begin(), list.end(), value) != list.end();
}

void ArrayRemove(Document& list, const std::string& value) {
  if (!list.is_array()) return;
  list.erase(std::remove(list.begin(), list.end(), Document(value)), list.end());
}

// ---- Users ----

StatusOr<Document> CreateUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "UserName");
  GANTRY_ASSIGN_OR_RETURN(std::string path, PathOf(input));
  Document user = {
      {"UserName", name},
      {"UserId", UniqueId(*deps.ids, "AIDA")},
      {"Arn", IamArn(ctx.account_id, "user", path, name)},
      {"Path", path},
      {"CreateDate", Now(deps)},
      {"Tags", Document::array()},
      {"InlinePolicies", Document::object()},
      {"AttachedPolicies", Document::array()},
      {"Groups", Document::array()},
      {"AccessKeys", Document::array()},
  };
  if (input.contains("Tags")) GANTRY_RETURN_IF_ERROR(MergeTags(user["Tags"], input["Tags"]));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    if (input.contains("PermissionsBoundary")) {
      GANTRY_ASSIGN_OR_RETURN(user["PermissionsBoundary"], BoundaryOf(txn, Scope(ctx), Str(input, "PermissionsBoundary")));
      GANTRY_RETURN_IF_ERROR(AdjustPolicyUsage(txn, Scope(ctx), Str(input, "PermissionsBoundary"), 0, 1));
    }
    auto created = txn.Create(kUserTable, Scope(ctx), Key(name), user);
    if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("User with name " + name + " already exists.");
    }
    return created.status();
  }));
  return Document{{"User", UserOut(user, true)}};
}

StatusOr<Document> GetUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (!input.contains("UserName") && ctx.principal.is_root) {
    return Document{{"User",
                     {{"UserId", ctx.account_id},
                      {"Arn", "arn:aws:iam::" + ctx.account_id + ":root"},
                      {"CreateDate", 0.0}}}};
  }
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(*deps.store, Scope(ctx), name));
  return Document{{"User", UserOut(user.doc, true)}};
}

StatusOr<Document> ListUsers(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> users, ListAll(*deps.store, kUserTable, Scope(ctx)));
  Document all = Document::array();
  for (const auto& u : users) {
    if (HasPathPrefix(u.doc, input)) all.push_back(UserOut(u.doc, false));
  }
  Document out = Document::object();
  out["Users"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> UpdateUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "UserName");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireUser(txn, Scope(ctx), name));
    Document user = record.doc;
    std::string new_name = input.value("NewUserName", user["UserName"].get<std::string>());
    std::string path = user["Path"];
    if (input.contains("NewPath")) {
      GANTRY_ASSIGN_OR_RETURN(path, PathOf(input, "NewPath"));
    }
    user["UserName"] = new_name;
    user["Path"] = path;
    user["Arn"] = IamArn(ctx.account_id, "user", path, new_name);
    if (Key(new_name) != record.key) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> taken, txn.Get(kUserTable, Scope(ctx), Key(new_name)));
      if (taken) return AlreadyExists("User with name " + new_name + " already exists.");
      GANTRY_RETURN_IF_ERROR(txn.Delete(kUserTable, Scope(ctx), record.key).status());
      for (const Document& g : user.value("Groups", Document::array())) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group, txn.Get(kGroupTable, Scope(ctx), g.get<std::string>()));
        if (!group) continue;
        Document gd = group->doc;
        ArrayRemove(gd["Users"], record.key);
        gd["Users"].push_back(Key(new_name));
        GANTRY_RETURN_IF_ERROR(txn.Put(kGroupTable, Scope(ctx), group->key, gd).status());
      }
    }
    for (const Document& id : user.value("AccessKeys", Document::array())) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> key, txn.Get(kAccessKeyTable, Scope(ctx), id.get<std::string>()));
      if (!key) continue;
      Document kd = key->doc;
      kd["UserName"] = new_name;
      kd["UserArn"] = user["Arn"];
      GANTRY_RETURN_IF_ERROR(txn.Put(kAccessKeyTable, Scope(ctx), key->key, kd).status());
    }
    return txn.Put(kUserTable, Scope(ctx), Key(new_name), user).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "UserName");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireUser(txn, Scope(ctx), name));
    const Document& u = record.doc;
    if (!u.value("AccessKeys", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must delete access keys first.");
    }
    if (!u.value("InlinePolicies", Document::object()).empty()) {
      return DeleteConflict("Cannot delete entity, must delete policies first.");
    }
    if (!u.value("AttachedPolicies", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must detach all policies first.");
    }
    if (!u.value("Groups", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must remove user from all groups first.");
    }
    if (!u.value("ServiceCredentials", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must remove referenced objects first.");
    }
    if (u.contains("PermissionsBoundary")) {
      GANTRY_RETURN_IF_ERROR(
          AdjustPolicyUsage(txn, Scope(ctx), u["PermissionsBoundary"].value("PermissionsBoundaryArn", ""), 0, -1));
    }
    return txn.Delete(kUserTable, Scope(ctx), record.key).status();
  }));
  return Document::object();
}

StatusOr<Document> TagUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return TagEntity(deps, ctx, input, kUserTable, "UserName", RequireUser);
}

StatusOr<Document> UntagUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return UntagEntity(deps, ctx, input, kUserTable, "UserName", RequireUser);
}

StatusOr<Document> ListUserTags(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ListEntityTags(deps, ctx, input, "UserName", RequireUser);
}

// ---- Groups ----

StatusOr<Document> CreateGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "GroupName");
  GANTRY_ASSIGN_OR_RETURN(std::string path, PathOf(input));
  Document group = {
      {"GroupName", name},
      {"GroupId", UniqueId(*deps.ids, "AGPA")},
      {"Arn", IamArn(ctx.account_id, "group", path, name)},
      {"Path", path},
      {"CreateDate", Now(deps)},
      {"InlinePolicies", Document::object()},
      {"AttachedPolicies", Document::array()},
      {"Users", Document::array()},
  };
  auto created = deps.store->Create(kGroupTable, Scope(ctx), Key(name), group);
  if (!created.ok()) {
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("Group with name " + name + " already exists.");
    }
    return created.status();
  }
  return Document{{"Group", GroupOut(group)}};
}

StatusOr<Document> GetGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record group, RequireGroup(*deps.store, Scope(ctx), Str(input, "GroupName")));
  Document users = Document::array();
  for (const Document& key : group.doc.value("Users", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> user, deps.store->Get(kUserTable, Scope(ctx), key.get<std::string>()));
    if (user) users.push_back(UserOut(user->doc, false));
  }
  Document out = {{"Group", GroupOut(group.doc)}};
  out["Users"] = PageSlice(users, page, out);
  return out;
}

StatusOr<Document> ListGroups(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> groups, ListAll(*deps.store, kGroupTable, Scope(ctx)));
  Document all = Document::array();
  for (const auto& g : groups) {
    if (HasPathPrefix(g.doc, input)) all.push_back(GroupOut(g.doc));
  }
  Document out = Document::object();
  out["Groups"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> ListGroupsForUser(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(*deps.store, Scope(ctx), Str(input, "UserName")));
  Document all = Document::array();
  for (const Document& key : user.doc.value("Groups", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> group, deps.store->Get(kGroupTable, Scope(ctx), key.get<std::string>()));
    if (group) all.push_back(GroupOut(group->doc));
  }
  Document out = Document::object();
  out["Groups"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> UpdateGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "GroupName");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireGroup(txn, Scope(ctx), name));
    Document group = record.doc;
    std::string new_name = input.value("NewGroupName", group["GroupName"].get<std::string>());
    std::string path = group["Path"];
    if (input.contains("NewPath")) {
      GANTRY_ASSIGN_OR_RETURN(path, PathOf(input, "NewPath"));
    }
    group["GroupName"] = new_name;
    group["Path"] = path;
    group["Arn"] = IamArn(ctx.account_id, "group", path, new_name);
    if (Key(new_name) != record.key) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> taken, txn.Get(kGroupTable, Scope(ctx), Key(new_name)));
      if (taken) return AlreadyExists("Group with name " + new_name + " already exists.");
      GANTRY_RETURN_IF_ERROR(txn.Delete(kGroupTable, Scope(ctx), record.key).status());
      for (const Document& u : group.value("Users", Document::array())) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> user, txn.Get(kUserTable, Scope(ctx), u.get<std::string>()));
        if (!user) continue;
        Document ud = user->doc;
        ArrayRemove(ud["Groups"], record.key);
        ud["Groups"].push_back(Key(new_name));
        GANTRY_RETURN_IF_ERROR(txn.Put(kUserTable, Scope(ctx), user->key, ud).status());
      }
    }
    return txn.Put(kGroupTable, Scope(ctx), Key(new_name), group).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireGroup(txn, Scope(ctx), Str(input, "GroupName")));
    if (!record.doc.value("Users", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must remove users from group first.");
    }
    if (!record.doc.value("InlinePolicies", Document::object()).empty()) {
      return DeleteConflict("Cannot delete entity, must delete policies first.");
    }
    if (!record.doc.value("AttachedPolicies", Document::array()).empty()) {
      return DeleteConflict("Cannot delete entity, must detach all policies first.");
    }
    return txn.Delete(kGroupTable, Scope(ctx), record.key).status();
  }));
  return Document::object();
}

StatusOr<Document> AddUserToGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record group, RequireGroup(txn, Scope(ctx), Str(input, "GroupName")));
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), Str(input, "UserName")));
    if (ArrayHas(group.doc["Users"], user.key)) return Status::Ok();
    if (user.doc.value("Groups", Document::array()).size() >= 10) {
      return LimitExceeded("Cannot exceed quota for GroupsPerUser: 10");
    }
    group.doc["Users"].push_back(user.key);
    user.doc["Groups"].push_back(group.key);
    GANTRY_RETURN_IF_ERROR(txn.Put(kGroupTable, Scope(ctx), group.key, group.doc).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> RemoveUserFromGroup(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record group, RequireGroup(txn, Scope(ctx), Str(input, "GroupName")));
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), Str(input, "UserName")));
    if (!ArrayHas(group.doc["Users"], user.key)) {
      return NoSuchEntity("User " + user.doc["UserName"].get<std::string>() + " is not in group " +
                          group.doc["GroupName"].get<std::string>() + ".");
    }
    ArrayRemove(group.doc["Users"], user.key);
    ArrayRemove(user.doc["Groups"], group.key);
    GANTRY_RETURN_IF_ERROR(txn.Put(kGroupTable, Scope(ctx), group.key, group.doc).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  return Document::object();
}

// ---- Access keys ----

Document AccessKeyMetadata(const Document& key) {
  return {{"UserName", key["UserName"]},
          {"AccessKeyId", key["AccessKeyId"]},
          {"Status", key["Status"]},
          {"CreateDate", key["CreateDate"]}};
}

StatusOr<store::Record> RequireAccessKey(store::RecordOperations& ops, const std::string& account,
                                         const std::string& id, const std::string& user_name) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> key, ops.Get(kAccessKeyTable, account, id));
  if (!key || Key(key->doc.value("UserName", "")) != Key(user_name)) {
    return NoSuchEntity("The Access Key with id " + id + " cannot be found.");
  }
  return std::move(*key);
}

StatusOr<Document> CreateAccessKey(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  Document key;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), name));
    if (user.doc.value("AccessKeys", Document::array()).size() >= kMaxAccessKeysPerUser) {
      return LimitExceeded("Cannot exceed quota for AccessKeysPerUser: " + std::to_string(kMaxAccessKeysPerUser));
    }
    key = {{"UserName", user.doc["UserName"]},
           {"UserArn", user.doc["Arn"]},
           {"UserId", user.doc["UserId"]},
           {"AccessKeyId", NewAccessKeyId(*deps.ids)},
           {"SecretAccessKey", NewSecretAccessKey(*deps.ids)},
           {"Status", "Active"},
           {"CreateDate", Now(deps)}};
    user.doc["AccessKeys"].push_back(key["AccessKeyId"]);
    GANTRY_RETURN_IF_ERROR(txn.Create(kAccessKeyTable, Scope(ctx), key["AccessKeyId"].get<std::string>(), key).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  Document out = AccessKeyMetadata(key);
  out["SecretAccessKey"] = key["SecretAccessKey"];
  return Document{{"AccessKey", out}};
}

StatusOr<Document> ListAccessKeys(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(*deps.store, Scope(ctx), name));
  Document all = Document::array();
  for (const Document& id : user.doc.value("AccessKeys", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> key, deps.store->Get(kAccessKeyTable, Scope(ctx), id.get<std::string>()));
    if (key) all.push_back(AccessKeyMetadata(key->doc));
  }
  Document out = Document::object();
  out["AccessKeyMetadata"] = PageSlice(all, page, out);
  return out;
}

StatusOr<Document> UpdateAccessKey(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(RequireUser(txn, Scope(ctx), name).status());
    GANTRY_ASSIGN_OR_RETURN(store::Record key, RequireAccessKey(txn, Scope(ctx), Str(input, "AccessKeyId"), name));
    key.doc["Status"] = Str(input, "Status");
    return txn.Put(kAccessKeyTable, Scope(ctx), key.key, key.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> DeleteAccessKey(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), name));
    GANTRY_ASSIGN_OR_RETURN(store::Record key, RequireAccessKey(txn, Scope(ctx), Str(input, "AccessKeyId"), name));
    ArrayRemove(user.doc["AccessKeys"], key.key);
    GANTRY_RETURN_IF_ERROR(txn.Delete(kAccessKeyTable, Scope(ctx), key.key).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> GetAccessKeyLastUsed(const IamDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string id = Str(input, "AccessKeyId");
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> key, deps.store->Get(kAccessKeyTable, Scope(ctx), id));
  if (!key) return Status::PermissionDenied("The Access Key with id " + id + " cannot be found.", "AccessDenied");
  return Document{{"UserName", key->doc["UserName"]},
                  {"AccessKeyLastUsed", {{"ServiceName", "N/A"}, {"Region", "N/A"}}}};
}

// ---- Service-specific credentials ----

bool SupportedService(const std::string& service) {
  return service == "codecommit.amazonaws.com" || service == "cassandra.amazonaws.com" ||
         service == "bedrock.amazonaws.com";
}

// A random password shaped like AWS's (44 characters, base64 alphabet).
std::string NewServicePassword(IdSource& ids) {
  return ids.FromAlphabet(44, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

// The password as stored: "sha256$<salt hex>$<hex of SHA-256(salt + password)>". CodeCommit checks
// HTTPS Git passwords against this.
std::string HashServicePassword(IdSource& ids, const std::string& password) {
  std::string salt = ids.Hex(32);
  return "sha256$" + salt + "$" + HexEncode(Sha256(salt + password));
}

Document CredentialMetadata(const Document& c) {
  return {{"UserName", c["UserName"]},
          {"Status", c["Status"]},
          {"ServiceUserName", c["ServiceUserName"]},
          {"CreateDate", c["CreateDate"]},
          {"ServiceSpecificCredentialId", c["ServiceSpecificCredentialId"]},
          {"ServiceName", c["ServiceName"]}};
}

StatusOr<store::Record> RequireCredential(store::RecordOperations& ops, const std::string& account,
                                          const std::string& id, const std::string& user_name) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> c, ops.Get(kServiceCredentialTable, account, id));
  if (!c || Key(c->doc.value("UserName", "")) != Key(user_name)) {
    return NoSuchEntity("No such credential " + id + " exists");
  }
  return std::move(*c);
}

StatusOr<Document> CreateServiceSpecificCredential(const IamDeps& deps, aws::RequestContext& ctx,
                                                   const Document& input) {
  std::string name = Str(input, "UserName");
  std::string service = Str(input, "ServiceName");
  if (!SupportedService(service)) {
    return Status::NotFound("No such service " + service + " is supported for Service Specific Credentials",
                            "NotSupportedService");
  }
  std::string password = NewServicePassword(*deps.ids);
  Document credential;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), name));
    int same_service = 0;
    for (const Document& id : user.doc.value("ServiceCredentials", Document::array())) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> c, txn.Get(kServiceCredentialTable, Scope(ctx), id.get<std::string>()));
      if (c && c->doc.value("ServiceName", "") == service) ++same_service;
    }
    if (same_service >= 2) return LimitExceeded("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2");
    std::string service_user = user.doc["UserName"].get<std::string>() + "-at-" + ctx.account_id;
    if (same_service > 0) service_user += "-" + std::to_string(same_service);
    credential = {{"UserName", user.doc["UserName"]},
                  {"UserArn", user.doc["Arn"]},
                  {"ServiceName", service},
                  {"ServiceUserName", service_user},
                  {"ServicePasswordHash", HashServicePassword(*deps.ids, password)},
                  {"ServiceSpecificCredentialId", UniqueId(*deps.ids, "ACCA")},
                  {"Status", "Active"},
                  {"CreateDate", Now(deps)}};
    std::string id = credential["ServiceSpecificCredentialId"];
    if (!user.doc.contains("ServiceCredentials")) user.doc["ServiceCredentials"] = Document::array();
    user.doc["ServiceCredentials"].push_back(id);
    GANTRY_RETURN_IF_ERROR(txn.Create(kServiceCredentialTable, Scope(ctx), id, credential).status());
    GANTRY_RETURN_IF_ERROR(txn.Put(kServiceUserTable, Scope(ctx), service_user, Document{{"Id", id}}).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  Document out = CredentialMetadata(credential);
  out["ServicePassword"] = password;
  return Document{{"ServiceSpecificCredential", out}};
}

StatusOr<Document> ListServiceSpecificCredentials(const IamDeps& deps, aws::RequestContext& ctx,
                                                  const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(*deps.store, Scope(ctx), name));
  Document out = Document::array();
  for (const Document& id : user.doc.value("ServiceCredentials", Document::array())) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> c,
                            deps.store->Get(kServiceCredentialTable, Scope(ctx), id.get<std::string>()));
    if (!c) continue;
    if (input.contains("ServiceName") && c->doc.value("ServiceName", "") != Str(input, "ServiceName")) continue;
    out.push_back(CredentialMetadata(c->doc));
  }
  return Document{{"ServiceSpecificCredentials", out}};
}

StatusOr<Document> UpdateServiceSpecificCredential(const IamDeps& deps, aws::RequestContext& ctx,
                                                   const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record c,
                            RequireCredential(txn, Scope(ctx), Str(input, "ServiceSpecificCredentialId"), name));
    c.doc["Status"] = Str(input, "Status");
    return txn.Put(kServiceCredentialTable, Scope(ctx), c.key, c.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> ResetServiceSpecificCredential(const IamDeps& deps, aws::RequestContext& ctx,
                                                  const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  std::string password = NewServicePassword(*deps.ids);
  Document credential;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record c,
                            RequireCredential(txn, Scope(ctx), Str(input, "ServiceSpecificCredentialId"), name));
    c.doc["ServicePasswordHash"] = HashServicePassword(*deps.ids, password);
    credential = c.doc;
    return txn.Put(kServiceCredentialTable, Scope(ctx), c.key, c.doc).status();
  }));
  Document out = CredentialMetadata(credential);
  out["ServicePassword"] = password;
  return Document{{"ServiceSpecificCredential", out}};
}

StatusOr<Document> DeleteServiceSpecificCredential(const IamDeps& deps, aws::RequestContext& ctx,
                                                   const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(ctx, input));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record c,
                            RequireCredential(txn, Scope(ctx), Str(input, "ServiceSpecificCredentialId"), name));
    GANTRY_ASSIGN_OR_RETURN(store::Record user, RequireUser(txn, Scope(ctx), name));
    ArrayRemove(user.doc["ServiceCredentials"], c.key);
    GANTRY_RETURN_IF_ERROR(txn.Delete(kServiceUserTable, Scope(ctx), c.doc.value("ServiceUserName", "")).status());
    GANTRY_RETURN_IF_ERROR(txn.Delete(kServiceCredentialTable, Scope(ctx), c.key).status());
    return txn.Put(kUserTable, Scope(ctx), user.key, user.doc).status();
  }));
  return Document::object();
}

}  // namespace

StatusOr<std::string> UserNameOrCaller(const aws::RequestContext& ctx, const Document& input) {
  if (input.contains("UserName")) return input["UserName"].get<std::string>();
  const std::string prefix = "arn:aws:iam::" + ctx.account_id + ":user/";
  if (ctx.principal.arn.rfind(prefix, 0) == 0) {
    const std::string& arn = ctx.principal.arn;
    return arn.substr(arn.rfind('/') + 1);
  }
  return Status::InvalidArgument("Must specify userName when calling with non-User credentials", "ValidationError");
}

Document UserOut(const Document& user, bool full) {
  Document out = {{"Path", user["Path"]},
                  {"UserName", user["UserName"]},
                  {"UserId", user["UserId"]},
                  {"Arn", user["Arn"]},
                  {"CreateDate", user["CreateDate"]}};
  if (full) {
    if (user.contains("PermissionsBoundary")) out["PermissionsBoundary"] = user["PermissionsBoundary"];
    if (!user.value("Tags", Document::array()).empty()) out["Tags"] = user["Tags"];
  }
  return out;
}

Document GroupOut(const Document& group) {
  return {{"Path", group["Path"]},
          {"GroupName", group["GroupName"]},
          {"GroupId", group["GroupId"]},
          {"Arn", group["Arn"]},
          {"CreateDate", group["CreateDate"]}};
}

void AddHandler(aws::HandlerTable& table, const IamDeps& deps, std::string_view operation, Handler fn) {
  bool writes = !(operation.rfind("Get", 0) == 0 || operation.rfind("List", 0) == 0 ||
                  operation.rfind("Simulate", 0) == 0);
  table.Add("iam", operation, [deps, fn, writes](aws::RequestContext& ctx, const Document& input) -> StatusOr<Document> {
    StatusOr<Document> out = fn(deps, ctx, input);
    if (writes && out.ok()) deps.generation->fetch_add(1);
    return out;
  });
}

void RegisterUserHandlers(aws::HandlerTable& table, const IamDeps& deps) {
  AddHandler(table, deps, "CreateUser", CreateUser);
  AddHandler(table, deps, "GetUser", GetUser);
  AddHandler(table, deps, "ListUsers", ListUsers);
  AddHandler(table, deps, "UpdateUser", UpdateUser);
  AddHandler(table, deps, "DeleteUser", DeleteUser);
  AddHandler(table, deps, "TagUser", TagUser);
  AddHandler(table, deps, "UntagUser", UntagUser);
  AddHandler(table, deps, "ListUserTags", ListUserTags);
  AddHandler(table, deps, "CreateGroup", CreateGroup);
  AddHandler(table, deps, "GetGroup", GetGroup);
  AddHandler(table, deps, "ListGroups", ListGroups);
  AddHandler(table, deps, "ListGroupsForUser", ListGroupsForUser);
  AddHandler(table, deps, "UpdateGroup", UpdateGroup);
  AddHandler(table, deps, "DeleteGroup", DeleteGroup);
  AddHandler(table, deps, "AddUserToGroup", AddUserToGroup);
  AddHandler(table, deps, "RemoveUserFromGroup", RemoveUserFromGroup);
  AddHandler(table, deps, "CreateAccessKey", CreateAccessKey);
  AddHandler(table, deps, "ListAccessKeys", ListAccessKeys);
  AddHandler(table, deps, "UpdateAccessKey", UpdateAccessKey);
  AddHandler(table, deps, "DeleteAccessKey", DeleteAccessKey);
  AddHandler(table, deps, "GetAccessKeyLastUsed", GetAccessKeyLastUsed);
  AddHandler(table, deps, "CreateServiceSpecificCredential", CreateServiceSpecificCredential);
  AddHandler(table, deps, "ListServiceSpecificCredentials", ListServiceSpecificCredentials);
  AddHandler(table, deps, "UpdateServiceSpecificCredential", UpdateServiceSpecificCredential);
  AddHandler(table, deps, "ResetServiceSpecificCredential", ResetServiceSpecificCredential);
  AddHandler(table, deps, "DeleteServiceSpecificCredential", DeleteServiceSpecificCredential);
}

}  // namespace gantry::services::iam
