#include "services/iam/records.h"

#include <algorithm>
#include <cctype>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "services/iam/aws_managed.h"

namespace gantry::services::iam {

namespace {

constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t NonWhitespaceSize(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](unsigned char c) { return !std::isspace(c); });
}

}  // namespace

std::string Key(std::string_view name) { return ToLower(name); }

std::string UniqueId(IdSource& ids, std::string_view prefix) {
  return std::string(prefix) + ids.FromAlphabet(17, kIdAlphabet);
}

std::string NewAccessKeyId(IdSource& ids, std::string_view prefix) {
  return std::string(prefix) + ids.FromAlphabet(16, kIdAlphabet);
}

std::string NewSecretAccessKey(IdSource& ids) { return ids.FromAlphabet(40, kSecretAlphabet); }

std::string IamArn(std::string_view account, std::string_view kind, std::string_view path, std::string_view name) {
  return "arn:aws:iam::" + std::string(account) + ":" + std::string(kind) + std::string(path) + std::string(name);
}

StatusOr<std::string> PathOf(const Document& input, const char* member) {
  std::string path = input.value(member, std::string("/"));
  bool ok = path.size() <= 512 && !path.empty() && path.front() == '/' && path.back() == '/' &&
            std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
  if (!ok) {
    return Status::InvalidArgument(
        "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric "
        "characters and/or / characters.",
        "ValidationError");
  }
  return path;
}

std::optional<PolicyRef> ParsePolicyArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (arn.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = arn.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  PolicyRef ref;
  ref.account = std::string(rest.substr(0, colon));
  std::string_view resource = rest.substr(colon + 1);
  if (resource.substr(0, 7) != "policy/") return std::nullopt;
  resource.remove_prefix(6);  // keep the leading '/'
  size_t slash = resource.rfind('/');
  ref.path = std::string(resource.substr(0, slash + 1));
  ref.name = std::string(resource.substr(slash + 1));
  if (ref.name.empty()) return std::nullopt;
  return ref;
}

std::optional<std::string> RoleNameOfArn(std::string_view arn) {
  size_t at = arn.find(":role/");
  if (arn.substr(0, 13) != "arn:aws:iam::" || at == std::string_view::npos) return std::nullopt;
  std::string_view rest = arn.substr(at + 6);
  std::string name(rest.substr(rest.rfind('/') == std::string_view::npos ? 0 : rest.rfind('/') + 1));
  if (name.empty()) return std::nullopt;
  return name;
}

bool ServicePasswordMatches(std::string_view stored_hash, std::string_view password) {
  std::vector<std::string_view> parts = Split(stored_hash, '$');
  if (parts.size() != 3 || parts[0] != "sha256") return false;
  return ConstantTimeEquals(HexEncode(Sha256(std::string(parts[1]) + std::string(password))), parts[2]);
}

double Now(const IamDeps& deps) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                 deps.clock->Now().time_since_epoch()).count());
}

StatusOr<Page> PageOf(const Document& input) {
  Page page;
  if (input.contains("MaxItems")) page.max_items = static_cast<size_t>(input["MaxItems"].get<int64_t>());
  if (input.contains("Marker")) {
    auto decoded = Base64Decode(input["Marker"].get<std::string>());
    if (!decoded || decoded->empty() || decoded->size() > 9 ||
        decoded->find_first_not_of("0123456789") != std::string::npos) {
      return InvalidInput("Invalid Marker.");
    }
    page.start = std::stoul(*decoded);
  }
  return page;
}

Document PageSlice(const Document& items, const Page& page, Document& out) {
  Document slice = Document::array();
  for (size_t i = page.start; i < items.size() && slice.size() < page.max_items; ++i) slice.push_back(items[i]);
  bool truncated = page.start + slice.size() < items.size();
  out["IsTruncated"] = truncated;
  if (truncated) out["Marker"] = Base64Encode(std::to_string(page.start + slice.size()));
  return slice;
}

StatusOr<std::vector<store::Record>> ListAll(store::RecordOperations& ops, std::string_view table,
                                             std::string_view scope) {
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, ops.List(table, scope));
  return std::move(page.records);
}

StatusOr<policy::Policy> CheckPolicyDocument(const std::string& text, policy::PolicyKind kind, bool managed,
                                             size_t max_size, std::string_view quota_name) {
  if (NonWhitespaceSize(text) > max_size) {
    return LimitExceeded("Cannot exceed quota for " + std::string(quota_name) + ": " + std::to_string(max_size));
  }
  policy::ParseOptions options;
  options.kind = kind;
  options.require_current_version = managed;
  return policy::Policy::Parse(text, options);
}

std::string EncodeDocument(const std::string& text) { return UriEncode(text); }

Status MergeTags(Document& tags, const Document& add) {
  if (!tags.is_array()) tags = Document::array();
  for (const Document& tag : add) {
    const std::string key = tag.value("Key", "");
    auto same = std::find_if(tags.begin(), tags.end(), [&](const Document& t) { return t.value("Key", "") == key; });
    if (same != tags.end()) {
      (*same)["Value"] = tag.value("Value", "");
    } else {
      tags.push_back({{"Key", key}, {"Value", tag.value("Value", "")}});
    }
  }
  if (tags.size() > 50) return LimitExceeded("The number of tags has reached the maximum limit.");
  return Status::Ok();
}

void RemoveTags(Document& tags, const Document& keys) {
  if (!tags.is_array()) return;
  Document kept = Document::array();
  for (const Document& t : tags) {
    bool drop = std::any_of(keys.begin(), keys.end(), [&](const Document& k) { return k == t["Key"]; });
    if (!drop) kept.push_back(t);
  }
  tags = std::move(kept);
}

Status NoSuchEntity(std::string message) { return Status::NotFound(std::move(message), "NoSuchEntity"); }
Status NoSuchUser(std::string_view name) {
  return NoSuchEntity("The user with name " + std::string(name) + " cannot be found.");
}
Status NoSuchGroup(std::string_view name) {
  return NoSuchEntity("The group with name " + std::string(name) + " cannot be found.");
}
Status NoSuchRole(std::string_view name) {
  return NoSuchEntity("The role with name " + std::string(name) + " cannot be found.");
}
Status NoSuchPolicy(std::string_view arn) {
  return NoSuchEntity("Policy " + std::string(arn) + " does not exist or is not attachable.");
}
Status AlreadyExists(std::string message) { return Status::AlreadyExists(std::move(message), "EntityAlreadyExists"); }
Status DeleteConflict(std::string message) { return Status::Conflict(std::move(message), "DeleteConflict"); }
Status LimitExceeded(std::string message) { return Status::ResourceExhausted(std::move(message), "LimitExceeded"); }
Status InvalidInput(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidInput"); }

StatusOr<store::Record> Require(store::RecordOperations& ops, std::string_view table, std::string_view scope,
                                std::string_view name, const std::function<Status()>& missing) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(table, scope, Key(name)));
  if (!record) return missing();
  return std::move(*record);
}

StatusOr<Document> LoadManagedPolicy(store::RecordOperations& ops, std::string_view account, std::string_view arn) {
  std::optional<PolicyRef> ref = ParsePolicyArn(arn);
  if (!ref) return InvalidInput("ARN " + std::string(arn) + " is not valid.");
  if (ref->aws_managed()) {
    const Document* builtin = FindAwsManagedPolicy(ref->name);
    if (builtin == nullptr || (*builtin)["Arn"] != arn) return NoSuchPolicy(arn);
    Document policy = *builtin;
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> usage, ops.Get(kAwsPolicyTable, account, ref->name));
    policy["AttachmentCount"] = usage ? usage->doc.value("AttachmentCount", 0) : 0;
    policy["PermissionsBoundaryUsageCount"] = usage ? usage->doc.value("PermissionsBoundaryUsageCount", 0) : 0;
    return policy;
  }
  if (ref->account != account) return NoSuchPolicy(arn);
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kPolicyTable, account, Key(ref->name)));
  if (!record || record->doc["Arn"] != arn) return NoSuchPolicy(arn);
  return std::move(record->doc);
}

std::string DefaultDocument(const Document& policy) {
  const std::string id = policy.value("DefaultVersionId", "v1");
  for (const Document& v : policy.value("Versions", Document::array())) {
    if (v.value("VersionId", "") == id) return v.value("Document", "");
  }
  return "";
}

Status AdjustPolicyUsage(store::RecordOperations& ops, std::string_view account, std::string_view arn,
                         int attachments, int boundaries) {
  std::optional<PolicyRef> ref = ParsePolicyArn(arn);
  if (!ref) return Status::Ok();
  std::string_view table = ref->aws_managed() ? kAwsPolicyTable : kPolicyTable;
  std::string key = ref->aws_managed() ? ref->name : Key(ref->name);
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(table, account, key));
  Document doc = record ? record->doc : Document::object();
  if (!record && !ref->aws_managed()) return Status::Ok();
  doc["AttachmentCount"] = std::max(0, doc.value("AttachmentCount", 0) + attachments);
  doc["PermissionsBoundaryUsageCount"] = std::max(0, doc.value("PermissionsBoundaryUsageCount", 0) + boundaries);
  return ops.Put(table, account, key, doc).status();
}

StatusOr<Document> BoundaryOf(store::RecordOperations& ops, std::string_view account, std::string_view arn) {
  auto policy = LoadManagedPolicy(ops, account, arn);
  if (!policy.ok()) {
    if (policy.status().code() == StatusCode::kNotFound) {
      return NoSuchEntity("Scope ARN: " + std::string(arn) + " does not exist or is not attachable.");
    }
    return policy.status();
  }
  return Document{{"PermissionsBoundaryType", "Policy"}, {"PermissionsBoundaryArn", std::string(arn)}};
}

StatusOr<Document> TagEntity(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                             std::string_view table, const char* name_member, RequireFn require) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record,
                            require(txn, ctx.account_id, input.value(name_member, std::string())));
    GANTRY_RETURN_IF_ERROR(MergeTags(record.doc["Tags"], input["Tags"]));
    return txn.Put(table, ctx.account_id, record.key, record.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> UntagEntity(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                               std::string_view table, const char* name_member, RequireFn require) {
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record,
                            require(txn, ctx.account_id, input.value(name_member, std::string())));
    RemoveTags(record.doc["Tags"], input["TagKeys"]);
    return txn.Put(table, ctx.account_id, record.key, record.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> ListEntityTags(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                                  const char* name_member, RequireFn require) {
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(input));
  GANTRY_ASSIGN_OR_RETURN(store::Record record,
                          require(*deps.store, ctx.account_id, input.value(name_member, std::string())));
  Document out = Document::object();
  out["Tags"] = PageSlice(record.doc.value("Tags", Document::array()), page, out);
  return out;
}

}  // namespace gantry::services::iam
