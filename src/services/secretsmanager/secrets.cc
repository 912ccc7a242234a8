#include "services/secretsmanager/secrets.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/common/arn.h"
#include "core/common/strings.h"

namespace gantry::services::secretsmanager {

namespace {

std::string Padded(int64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%016lld", static_cast<long long>(n < 0 ? 0 : n));
  return buffer;
}

std::string ValueContext(const Secret& secret, std::string_view version_id) {
  return secret.arn() + "|" + std::string(version_id);
}

Document& StagesOf(Document& versions, const std::string& version_id) {
  return versions[version_id]["Stages"];
}

void EraseLabel(Document& stages, std::string_view label) {
  for (auto it = stages.begin(); it != stages.end(); ++it) {
    if (it->is_string() && it->get_ref<const std::string&>() == label) {
      stages.erase(it);
      return;
    }
  }
}

bool HasLabel(const Document& stages, std::string_view label) {
  for (const auto& s : stages) {
    if (s.is_string() && s.get_ref<const std::string&>() == label) return true;
  }
  return false;
}

StatusOr<std::optional<Secret>> LoadByName(store::RecordOperations& ops, const std::string& scope,
                                           std::string_view name) {
  if (name.find('|') != std::string_view::npos) return std::optional<Secret>();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kSecretTable, scope, name));
  if (!record) return std::optional<Secret>();
  return std::optional<Secret>(Secret{std::string(name), std::move(record->doc), record->version});
}

}  // namespace

std::string SecretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix) {
  Arn arn;
  arn.service = "secretsmanager";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = "secret:" + std::string(name) + "-" + std::string(suffix);
  return arn.ToString();
}

std::string ValueKey(std::string_view name, std::string_view version_id) {
  return std::string(name) + "|" + std::string(version_id);
}

std::string DeletionKey(TimePoint when, std::string_view scope, std::string_view name) {
  return Padded(ToEpochMillis(when)) + "/" + std::string(scope) + "/" + std::string(name);
}

Status SecretNotFound() {
  return Status::NotFound("Secrets Manager can't find the specified secret.", "ResourceNotFoundException");
}

Status MarkedForDeletion() {
  return Status::FailedPrecondition(
      "You can't perform this operation on the secret because it was marked for deletion.", "InvalidRequestException");
}

Status ValidateSecretName(std::string_view name) {
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("/_+=.@-").find(c) != std::string_view::npos;
    if (!ok) {
      return Status::InvalidArgument(
          "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
          "InvalidParameterException");
    }
  }
  return Status::Ok();
}

bool DeletionDue(const Document& secret, TimePoint now) {
  auto it = secret.find("DeletionDate");
  return it != secret.end() && it->is_number() && it->get<double>() <= ToEpochSeconds(now);
}

StatusOr<Secret> FindSecret(store::RecordOperations& ops, const std::string& scope, std::string_view secret_id,
                            TimePoint now) {
  std::optional<Secret> found;
  if (secret_id.rfind("arn:", 0) == 0) {
    std::optional<Arn> arn = Arn::Parse(secret_id);
    constexpr std::string_view kPrefix = "secret:";
    if (!arn || arn->service != "secretsmanager" || arn->resource.rfind(kPrefix, 0) != 0) return SecretNotFound();
    std::string rest = arn->resource.substr(kPrefix.size());
    // A full ARN ends with "-" and six random characters.
    if (rest.size() > 7 && rest[rest.size() - 7] == '-') {
      GANTRY_ASSIGN_OR_RETURN(found, LoadByName(ops, scope, rest.substr(0, rest.size() - 7)));
      if (found && found->arn() != secret_id) found.reset();
    }
    if (!found) {
      // A partial ARN: everything but the suffix.
      GANTRY_ASSIGN_OR_RETURN(found, LoadByName(ops, scope, rest));
      if (found && found->arn().substr(0, found->arn().size() - 7) != secret_id) found.reset();
    }
  } else {
    GANTRY_ASSIGN_OR_RETURN(found, LoadByName(ops, scope, secret_id));
  }
  if (!found || DeletionDue(found->doc, now)) return SecretNotFound();
  return std::move(*found);
}

StatusOr<Secret> FindLiveSecret(store::RecordOperations& ops, const std::string& scope, std::string_view secret_id,
                                TimePoint now) {
  GANTRY_ASSIGN_OR_RETURN(Secret secret, FindSecret(ops, scope, secret_id, now));
  if (secret.deleted()) return MarkedForDeletion();
  return secret;
}

StatusOr<std::optional<SecretValue>> ValueOf(const Document& input) {
  auto s = input.find("SecretString");
  auto b = input.find("SecretBinary");
  bool has_string = s != input.end() && s->is_string();
  bool has_binary = b != input.end() && b->is_binary();
  if (has_string && has_binary) {
    return Status::InvalidArgument(
        "You can't specify both a binary secret value and a string secret value in the same secret.",
        "InvalidParameterException");
  }
  if (has_string) return std::optional<SecretValue>(SecretValue{false, s->get<std::string>()});
  if (has_binary) {
    const auto& bytes = b->get_binary();
    return std::optional<SecretValue>(SecretValue{true, std::string(bytes.begin(), bytes.end())});
  }
  return std::optional<SecretValue>();
}

std::string VersionWithStage(const Document& versions, std::string_view label) {
  for (const auto& [id, version] : versions.items()) {
    auto stages = version.find("Stages");
    if (stages != version.end() && HasLabel(*stages, label)) return id;
  }
  return {};
}

void AttachStage(Document& versions, const std::string& label, const std::string& version_id) {
  std::string holder = VersionWithStage(versions, label);
  if (holder == version_id) return;
  if (!holder.empty()) EraseLabel(StagesOf(versions, holder), label);
  StagesOf(versions, version_id).push_back(label);
  if (label == kCurrent && !holder.empty()) AttachStage(versions, std::string(kPrevious), holder);
}

void DetachStage(Document& versions, const std::string& label, const std::string& version_id) {
  if (versions.contains(version_id)) EraseLabel(StagesOf(versions, version_id), label);
}

Status PruneVersions(store::Transaction& tx, const std::string& scope, Secret& secret) {
  Document& versions = secret.doc["Versions"];
  if (versions.size() <= kMaxVersions) return Status::Ok();
  std::vector<std::pair<int64_t, std::string>> deprecated;
  for (const auto& [id, version] : versions.items()) {
    if (version.value("Stages", Document::array()).empty()) deprecated.emplace_back(version.value("Seq", 0), id);
  }
  std::sort(deprecated.begin(), deprecated.end());
  for (const auto& [seq, id] : deprecated) {
    if (versions.size() <= kMaxVersions) break;
    versions.erase(id);
    GANTRY_RETURN_IF_ERROR(tx.Delete(kValueTable, scope, ValueKey(secret.name, id)).status());
  }
  return Status::Ok();
}

StatusOr<SecretValue> ReadValue(const SecretsDeps& deps, store::RecordOperations& ops, const std::string& scope,
                                const Secret& secret, const std::string& version_id) {
  if (deps.box == nullptr) return Status::Unavailable("Secrets Manager has not started yet.");
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record,
                          ops.Get(kValueTable, scope, ValueKey(secret.name, version_id)));
  if (!record) return Status::Internal("The value of a secret version is missing.", "InternalServiceError");
  std::optional<std::string> sealed = Base64Decode(record->doc.value("Sealed", ""));
  if (!sealed) return Status::Internal("A stored secret value is malformed.", "InternalServiceError");
  auto opened = deps.box->Open(*sealed, ValueContext(secret, version_id));
  if (!opened.ok()) {
    return Status::Internal("Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
                            "DecryptionFailure");
  }
  return SecretValue{record->doc.value("Kind", "string") == "binary", std::move(*opened)};
}

StatusOr<std::string> PutVersion(const SecretsDeps& deps, store::Transaction& tx, const std::string& scope,
                                 Secret& secret, const std::string& token, const SecretValue& value,
                                 const std::vector<std::string>& stages, TimePoint now) {
  if (deps.box == nullptr) return Status::Unavailable("Secrets Manager has not started yet.");
  Document& versions = secret.doc["Versions"];
  if (!versions.is_object()) versions = Document::object();
  if (versions.contains(token)) {
    GANTRY_ASSIGN_OR_RETURN(SecretValue existing, ReadValue(deps, tx, scope, secret, token));
    if (existing.binary == value.binary && ConstantTimeEquals(existing.bytes, value.bytes)) return token;
    return Status::AlreadyExists("You can't modify an existing version, you can only create a new version.",
                                 "ResourceExistsException");
  }
  bool first = versions.empty();
  GANTRY_ASSIGN_OR_RETURN(std::string sealed, deps.box->Seal(value.bytes, ValueContext(secret, token)));
  Document record = {{"Kind", value.binary ? "binary" : "string"}, {"Sealed", Base64Encode(sealed)}};
  GANTRY_RETURN_IF_ERROR(tx.Put(kValueTable, scope, ValueKey(secret.name, token), record).status());
  int64_t seq = secret.doc.value("NextSeq", int64_t{1});
  secret.doc["NextSeq"] = seq + 1;
  versions[token] = {{"Stages", Document::array()}, {"CreatedDate", ToEpochSeconds(now)}, {"Seq", seq}};
  std::vector<std::string> labels = stages;
  if (labels.empty()) labels.emplace_back(kCurrent);
  if (first && std::find(labels.begin(), labels.end(), kCurrent) == labels.end()) labels.emplace_back(kCurrent);
  for (const std::string& label : labels) AttachStage(versions, label, token);
  secret.doc["LastChangedDate"] = ToEpochSeconds(now);
  GANTRY_RETURN_IF_ERROR(PruneVersions(tx, scope, secret));
  return token;
}

Status DeleteSecretRecords(store::Transaction& tx, const std::string& scope, const Secret& secret) {
  GANTRY_RETURN_IF_ERROR(tx.Delete(kSecretTable, scope, secret.name).status());
  store::ListOptions options;
  options.prefix = secret.name + "|";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage values, tx.List(kValueTable, scope, options));
  for (const auto& record : values.records) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kValueTable, scope, record.key).status());
  }
  if (auto key = secret.doc.find("DeletionKey"); key != secret.doc.end() && key->is_string()) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kDeletionTable, "", key->get<std::string>()).status());
  }
  return Status::Ok();
}

Document VersionIdsToStages(const Document& versions) {
  Document out = Document::object();
  if (!versions.is_object()) return out;
  for (const auto& [id, version] : versions.items()) {
    Document stages = version.value("Stages", Document::array());
    if (!stages.empty()) out[id] = stages;
  }
  return out;
}

namespace {

Document CommonEntry(const Document& secret) {
  Document out = {{"ARN", secret["ARN"]}, {"Name", secret["Name"]}};
  for (const char* member : {"Type", "Description", "KmsKeyId", "RotationEnabled", "LastChangedDate",
                             "LastAccessedDate", "DeletedDate", "CreatedDate"}) {
    if (auto it = secret.find(member); it != secret.end() && !it->is_null()) out[member] = *it;
  }
  if (auto tags = secret.find("Tags"); tags != secret.end() && tags->is_array() && !tags->empty()) {
    out["Tags"] = *tags;
  }
  return out;
}

}  // namespace

Document DescribeEntry(const Document& secret) {
  Document out = CommonEntry(secret);
  out["VersionIdsToStages"] = VersionIdsToStages(secret.value("Versions", Document::object()));
  return out;
}

Document ListEntry(const Document& secret) {
  Document out = CommonEntry(secret);
  out["SecretVersionsToStages"] = VersionIdsToStages(secret.value("Versions", Document::object()));
  return out;
}

void MergeTags(Document& tags, const Document& more) {
  if (!tags.is_array()) tags = Document::array();
  if (!more.is_array()) return;
  for (const auto& tag : more) {
    std::string key = tag.value("Key", "");
    bool replaced = false;
    for (auto& existing : tags) {
      if (existing.value("Key", "") == key) {
        existing["Value"] = tag.value("Value", "");
        replaced = true;
        break;
      }
    }
    if (!replaced) tags.push_back({{"Key", key}, {"Value", tag.value("Value", "")}});
  }
}

void RemoveTags(Document& tags, const Document& keys) {
  if (!tags.is_array() || !keys.is_array()) return;
  Document kept = Document::array();
  for (const auto& tag : tags) {
    bool drop = false;
    for (const auto& key : keys) drop = drop || (key.is_string() && key.get<std::string>() == tag.value("Key", ""));
    if (!drop) kept.push_back(tag);
  }
  tags = std::move(kept);
}

double DayOf(TimePoint now) {
  double seconds = ToEpochSeconds(now);
  return std::floor(seconds / 86400.0) * 86400.0;
}

StatusOr<int> SweepDeletedSecrets(const SecretsDeps& deps, TimePoint now) {
  int removed = 0;
  std::string due_prefix_limit = Padded(ToEpochMillis(now));
  store::ListOptions options;
  options.limit = 100;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kDeletionTable, "", options));
    for (const auto& entry : page.records) {
      if (entry.key.substr(0, due_prefix_limit.size()) > due_prefix_limit) return removed;
      std::string scope = entry.doc.value("Scope", "");
      std::string name = entry.doc.value("Name", "");
      std::string arn = entry.doc.value("ARN", "");
      Status swept = deps.store->Transact([&](store::Transaction& tx) -> Status {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kSecretTable, scope, name));
        if (record && record->doc.value("ARN", "") == arn && DeletionDue(record->doc, now)) {
          ++removed;
          GANTRY_RETURN_IF_ERROR(DeleteSecretRecords(tx, scope, Secret{name, record->doc, record->version}));
        }
        return tx.Delete(kDeletionTable, "", entry.key).status();
      });
      GANTRY_RETURN_IF_ERROR(swept);
    }
    if (page.next_token.empty()) return removed;
    options.start_after = page.next_token;
  }
}

}  // namespace gantry::services::secretsmanager
