// The Secrets Manager operations, one handler per model operation. Each change is one store
// transaction that re-reads the secret inside it, so concurrent writers never lose an update.
#include <algorithm>
#include <cctype>

#include "core/common/strings.h"
#include "services/secretsmanager/random_password.h"
#include "services/secretsmanager/secrets.h"

namespace gantry::services::secretsmanager {

namespace {

using Handler = StatusOr<Document> (*)(const SecretsDeps&, aws::RequestContext&, const Document&);

constexpr std::string_view kArnSuffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

std::string Str(const Document& input, const char* member) { return input.value(member, std::string()); }

std::vector<std::string> Strings(const Document& input, const char* member) {
  std::vector<std::string> out;
  if (auto it = input.find(member); it != input.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Status InvalidParameter(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterException");
}

Status InvalidNextToken() {
  return Status::InvalidArgument("The NextToken value is invalid.", "InvalidNextTokenException");
}

Status Save(store::Transaction& tx, const std::string& scope, const Secret& secret) {
  return tx.Update(kSecretTable, scope, secret.name, secret.doc, secret.version).status();
}

Document NameAndArn(const Secret& secret) { return {{"ARN", secret.arn()}, {"Name", secret.name}}; }

// Page tokens are opaque offsets into a listing.
StatusOr<size_t> OffsetOf(const Document& input) {
  std::string token = Str(input, "NextToken");
  if (token.empty()) return size_t{0};
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("o:", 0) != 0) return InvalidNextToken();
  try {
    return static_cast<size_t>(std::stoull(decoded->substr(2)));
  } catch (const std::exception&) {
    return InvalidNextToken();
  }
}

std::string TokenFor(size_t offset) { return Base64Encode("o:" + std::to_string(offset)); }

// The current version's value as a GetSecretValue-shaped entry.
StatusOr<Document> ValueEntry(const SecretsDeps& deps, store::RecordOperations& ops, const std::string& scope,
                              const Secret& secret, const std::string& version_id) {
  GANTRY_ASSIGN_OR_RETURN(SecretValue value, ReadValue(deps, ops, scope, secret, version_id));
  const Document& version = secret.doc["Versions"][version_id];
  Document out = NameAndArn(secret);
  out["VersionId"] = version_id;
  if (value.binary) {
    out["SecretBinary"] = Document::binary(std::vector<uint8_t>(value.bytes.begin(), value.bytes.end()));
  } else {
    out["SecretString"] = std::move(value.bytes);
  }
  out["VersionStages"] = version.value("Stages", Document::array());
  out["CreatedDate"] = version.value("CreatedDate", 0.0);
  return out;
}

// Records the day of access on the secret and the version. LastAccessedDate has date resolution,
// so this writes at most once a day per version; other accesses only compare.
void TouchAccessed(const SecretsDeps& deps, const std::string& scope, const Secret& secret,
                   const std::string& version_id, TimePoint now) {
  double day = DayOf(now);
  auto current = [&](const Document& doc) {
    return doc.value("LastAccessedDate", 0.0) == day &&
           doc["Versions"][version_id].value("LastAccessedDate", 0.0) == day;
  };
  if (!secret.doc["Versions"].contains(version_id) || current(secret.doc)) return;
  (void)deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kSecretTable, scope, secret.name));
    if (!record || !record->doc["Versions"].contains(version_id) || current(record->doc)) return Status::Ok();
    Document& doc = record->doc;
    doc["LastAccessedDate"] = day;
    doc["Versions"][version_id]["LastAccessedDate"] = day;
    return tx.Update(kSecretTable, scope, secret.name, doc, record->version).status();
  });
}

// --- secrets ----------------------------------------------------------------------------------

StatusOr<Document> CreateSecret(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "Name");
  GANTRY_RETURN_IF_ERROR(ValidateSecretName(name));
  GANTRY_ASSIGN_OR_RETURN(std::optional<SecretValue> value, ValueOf(input));
  if (input.contains("AddReplicaRegions")) {
    return Status::Unimplemented("Gantry does not replicate secrets to other Regions.");
  }
  std::string token = input.contains("ClientRequestToken") ? Str(input, "ClientRequestToken") : deps.ids->Uuid();
  const std::string scope = ctx.Scope();
  Document out;
  Status status = deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, tx.Get(kSecretTable, scope, name));
    if (existing) {
      Secret old{name, existing->doc, existing->version};
      if (DeletionDue(old.doc, ctx.time)) {
        GANTRY_RETURN_IF_ERROR(DeleteSecretRecords(tx, scope, old));
      } else if (old.deleted()) {
        return Status::FailedPrecondition(
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
            "InvalidRequestException");
      } else {
        // A retry of the same request (same token, same value) succeeds without a change.
        if (value && old.doc["Versions"].contains(token)) {
          auto same = ReadValue(deps, tx, scope, old, token);
          if (same.ok() && same->binary == value->binary && ConstantTimeEquals(same->bytes, value->bytes)) {
            out = NameAndArn(old);
            out["VersionId"] = token;
            return Status::Ok();
          }
        }
        return Status::AlreadyExists("The operation failed because the secret " + name + " already exists.",
                                     "ResourceExistsException");
      }
    }
    double now = ToEpochSeconds(ctx.time);
    Secret secret{name,
                  {{"Name", name},
                   {"ARN", SecretArn(ctx.region, ctx.account_id, name, deps.ids->FromAlphabet(6, kArnSuffixAlphabet))},
                   {"CreatedDate", now},
                   {"LastChangedDate", now},
                   {"Versions", Document::object()},
                   {"Tags", Document::array()},
                   {"NextSeq", 1}},
                  0};
    for (const char* member : {"Description", "KmsKeyId", "Type"}) {
      if (input.contains(member)) secret.doc[member] = input[member];
    }
    MergeTags(secret.doc["Tags"], input.value("Tags", Document::array()));
    out = NameAndArn(secret);
    if (value) {
      GANTRY_ASSIGN_OR_RETURN(std::string version_id, PutVersion(deps, tx, scope, secret, token, *value, {}, ctx.time));
      out["VersionId"] = version_id;
    }
    return tx.Create(kSecretTable, scope, name, secret.doc).status();
  });
  GANTRY_RETURN_IF_ERROR(status);
  return out;
}

StatusOr<Document> GetSecretValue(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(*deps.store, scope, Str(input, "SecretId"), ctx.time));
  const Document& versions = secret.doc["Versions"];
  std::string version_id = Str(input, "VersionId");
  std::string stage = Str(input, "VersionStage");
  if (!version_id.empty()) {
    if (!versions.contains(version_id)) {
      return Status::NotFound("Secrets Manager can't find the specified secret value for VersionId: " + version_id,
                              "ResourceNotFoundException");
    }
    if (!stage.empty() && VersionWithStage(versions, stage) != version_id) {
      return Status::InvalidArgument("You provided a VersionStage that is not associated to the provided VersionId.",
                                     "InvalidRequestException");
    }
  } else {
    if (stage.empty()) stage = kCurrent;
    version_id = VersionWithStage(versions, stage);
    if (version_id.empty()) {
      return Status::NotFound("Secrets Manager can't find the specified secret value for staging label: " + stage,
                              "ResourceNotFoundException");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(Document out, ValueEntry(deps, *deps.store, scope, secret, version_id));
  TouchAccessed(deps, scope, secret, version_id, ctx.time);
  return out;
}

StatusOr<Document> PutSecretValue(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<SecretValue> value, ValueOf(input));
  if (!value) return InvalidParameter("You must provide either SecretString or SecretBinary.");
  std::string token = input.contains("ClientRequestToken") ? Str(input, "ClientRequestToken") : deps.ids->Uuid();
  std::vector<std::string> stages = Strings(input, "VersionStages");
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    bool existed = secret.doc["Versions"].contains(token);
    GANTRY_ASSIGN_OR_RETURN(std::string version_id,
                            PutVersion(deps, tx, scope, secret, token, *value, stages, ctx.time));
    if (!existed) GANTRY_RETURN_IF_ERROR(Save(tx, scope, secret));
    out = NameAndArn(secret);
    out["VersionId"] = version_id;
    out["VersionStages"] = secret.doc["Versions"][version_id].value("Stages", Document::array());
    return Status::Ok();
  }));
  return out;
}

StatusOr<Document> UpdateSecret(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<SecretValue> value, ValueOf(input));
  std::string token = input.contains("ClientRequestToken") ? Str(input, "ClientRequestToken") : deps.ids->Uuid();
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    for (const char* member : {"Description", "KmsKeyId", "Type"}) {
      if (input.contains(member)) secret.doc[member] = input[member];
    }
    secret.doc["LastChangedDate"] = ToEpochSeconds(ctx.time);
    out = NameAndArn(secret);
    if (value) {
      GANTRY_ASSIGN_OR_RETURN(std::string version_id,
                              PutVersion(deps, tx, scope, secret, token, *value, {}, ctx.time));
      out["VersionId"] = version_id;
    }
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> UpdateSecretVersionStage(const SecretsDeps& deps, aws::RequestContext& ctx,
                                            const Document& input) {
  std::string label = Str(input, "VersionStage");
  std::string move_to = Str(input, "MoveToVersionId");
  std::string remove_from = Str(input, "RemoveFromVersionId");
  if (move_to.empty() && remove_from.empty()) {
    return InvalidParameter("You must specify MoveToVersionId, RemoveFromVersionId, or both.");
  }
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    Document& versions = secret.doc["Versions"];
    for (const std::string& id : {move_to, remove_from}) {
      if (!id.empty() && !versions.contains(id)) {
        return InvalidParameter("The version " + id + " doesn't exist for the secret " + secret.name + ".");
      }
    }
    std::string holder = VersionWithStage(versions, label);
    if (!move_to.empty()) {
      if (!holder.empty() && holder != move_to && remove_from != holder) {
        if (remove_from.empty()) {
          return InvalidParameter("The parameter RemoveFromVersionId can't be empty. Staging label " + label +
                                  " is currently attached to version " + holder +
                                  ", so you must explicitly reference that version in RemoveFromVersionId.");
        }
        return InvalidParameter("The staging label " + label + " is currently attached to version " + holder +
                                ", not to version " + remove_from + ".");
      }
      if (holder.empty() && !remove_from.empty() && remove_from != move_to) {
        return InvalidParameter("The staging label " + label + " isn't attached to version " + remove_from + ".");
      }
      if (versions[move_to]["Stages"].size() >= 20 && holder != move_to) {
        return Status::ResourceExhausted("A version of a secret can have at most 20 staging labels.",
                                         "LimitExceededException");
      }
      AttachStage(versions, label, move_to);
    } else {
      if (holder != remove_from) {
        return InvalidParameter("The staging label " + label + " isn't attached to version " + remove_from + ".");
      }
      if (label == kCurrent) {
        return InvalidParameter(
            "You can't remove the staging label AWSCURRENT from a version without attaching it to another "
            "version: specify MoveToVersionId.");
      }
      DetachStage(versions, label, remove_from);
    }
    secret.doc["LastChangedDate"] = ToEpochSeconds(ctx.time);
    out = NameAndArn(secret);
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> DeleteSecret(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  bool force = input.value("ForceDeleteWithoutRecovery", false);
  bool has_window = input.contains("RecoveryWindowInDays");
  if (force && has_window) {
    return InvalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  int64_t window = input.value("RecoveryWindowInDays", int64_t{30});
  if (window < 7 || window > 30) {
    return InvalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  const std::string scope = ctx.Scope();
  std::string secret_id = Str(input, "SecretId");
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    StatusOr<Secret> found = FindSecret(tx, scope, secret_id, ctx.time);
    if (!found.ok()) {
      // Forcibly deleting a secret that does not exist (any more) is not an error.
      if (!force || found.status().code() != StatusCode::kNotFound) return found.status();
      out = {{"Name", secret_id}, {"DeletionDate", ToEpochSeconds(ctx.time)}};
      return Status::Ok();
    }
    Secret& secret = *found;
    out = NameAndArn(secret);
    if (force) {
      out["DeletionDate"] = ToEpochSeconds(ctx.time);
      return DeleteSecretRecords(tx, scope, secret);
    }
    if (secret.deleted()) return MarkedForDeletion();
    TimePoint due = ctx.time + std::chrono::hours(24 * window);
    std::string key = DeletionKey(due, scope, secret.name);
    secret.doc["DeletedDate"] = ToEpochSeconds(ctx.time);
    secret.doc["DeletionDate"] = ToEpochSeconds(due);
    secret.doc["DeletionKey"] = key;
    GANTRY_RETURN_IF_ERROR(
        tx.Put(kDeletionTable, "", key, {{"Scope", scope}, {"Name", secret.name}, {"ARN", secret.arn()}}).status());
    out["DeletionDate"] = ToEpochSeconds(due);
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> RestoreSecret(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    out = NameAndArn(secret);
    if (!secret.deleted()) return Status::Ok();
    if (auto key = secret.doc.find("DeletionKey"); key != secret.doc.end() && key->is_string()) {
      GANTRY_RETURN_IF_ERROR(tx.Delete(kDeletionTable, "", key->get<std::string>()).status());
    }
    for (const char* member : {"DeletedDate", "DeletionDate", "DeletionKey"}) secret.doc.erase(member);
    secret.doc["LastChangedDate"] = ToEpochSeconds(ctx.time);
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> DescribeSecret(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Secret secret, FindSecret(*deps.store, ctx.Scope(), Str(input, "SecretId"), ctx.time));
  return DescribeEntry(secret.doc);
}

// --- listing ----------------------------------------------------------------------------------

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool MatchesValue(const Document& secret, const std::string& key, std::string_view value, std::string_view region) {
  std::vector<std::string> candidates;
  bool ignore_case = key == "description" || key == "all";
  if (key == "name" || key == "all") candidates.push_back(secret.value("Name", ""));
  if (key == "description" || key == "all") candidates.push_back(secret.value("Description", ""));
  if (key == "primary-region" || key == "all") candidates.emplace_back(region);
  if (key == "owning-service" || key == "all") candidates.push_back(secret.value("OwningService", ""));
  for (const auto& tag : secret.value("Tags", Document::array())) {
    if (key == "tag-key" || key == "all") candidates.push_back(tag.value("Key", ""));
    if (key == "tag-value" || key == "all") candidates.push_back(tag.value("Value", ""));
  }
  std::string needle = ignore_case ? ToLower(value) : std::string(value);
  for (std::string candidate : candidates) {
    if (ignore_case) candidate = ToLower(candidate);
    if (key == "all") {
      // Words of the value are searched in every attribute.
      for (std::string_view word : Split(candidate, ' ')) {
        if (!word.empty() && StartsWith(word, needle)) return true;
      }
      if (candidate.find(needle) != std::string::npos) return true;
    } else if (StartsWith(candidate, needle)) {
      return true;
    }
  }
  return false;
}

// Filters AND together; a filter's values OR together; a value starting with "!" negates.
bool MatchesFilters(const Document& secret, const Document& filters, std::string_view region) {
  if (!filters.is_array()) return true;
  for (const auto& filter : filters) {
    std::string key = filter.value("Key", "");
    bool any_positive = false, matched_positive = false;
    for (const auto& v : filter.value("Values", Document::array())) {
      if (!v.is_string()) continue;
      std::string value = v.get<std::string>();
      if (!value.empty() && value[0] == '!') {
        if (MatchesValue(secret, key, std::string_view(value).substr(1), region)) return false;
      } else {
        any_positive = true;
        matched_positive = matched_positive || MatchesValue(secret, key, value, region);
      }
    }
    if (any_positive && !matched_positive) return false;
  }
  return true;
}

Status ValidateFilters(const Document& filters) {
  if (!filters.is_array()) return Status::Ok();
  for (const auto& filter : filters) {
    for (const auto& v : filter.value("Values", Document::array())) {
      std::string value = v.is_string() ? v.get<std::string>() : std::string();
      for (char c : value) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view(" /_+=.@-!").find(c) == std::string_view::npos) {
          return InvalidParameter("Invalid filter values: filter values can contain letters, digits, spaces and "
                                  "the characters /_+=.@- (with a leading ! to negate).");
        }
      }
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<Document>> AllSecrets(const SecretsDeps& deps, const std::string& scope, TimePoint now) {
  std::vector<Document> out;
  store::ListOptions options;
  options.limit = 1000;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kSecretTable, scope, options));
    for (auto& record : page.records) {
      if (!DeletionDue(record.doc, now)) out.push_back(std::move(record.doc));
    }
    if (page.next_token.empty()) return out;
    options.start_after = page.next_token;
  }
}

StatusOr<Document> ListSecrets(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Document filters = input.value("Filters", Document::array());
  GANTRY_RETURN_IF_ERROR(ValidateFilters(filters));
  GANTRY_ASSIGN_OR_RETURN(size_t offset, OffsetOf(input));
  size_t limit = static_cast<size_t>(input.value("MaxResults", 100));
  bool include_deleted = input.value("IncludePlannedDeletion", false);
  GANTRY_ASSIGN_OR_RETURN(std::vector<Document> secrets, AllSecrets(deps, ctx.Scope(), ctx.time));
  std::vector<Document> kept;
  for (auto& secret : secrets) {
    if (!include_deleted && secret.contains("DeletedDate")) continue;
    if (MatchesFilters(secret, filters, ctx.region)) kept.push_back(std::move(secret));
  }
  std::string sort_by = input.value("SortBy", "created-date");
  bool descending = input.value("SortOrder", "asc") == "desc";
  const char* member = sort_by == "name"                 ? "Name"
                       : sort_by == "last-changed-date"  ? "LastChangedDate"
                       : sort_by == "last-accessed-date" ? "LastAccessedDate"
                                                         : "CreatedDate";
  std::stable_sort(kept.begin(), kept.end(), [&](const Document& a, const Document& b) {
    auto key = [&](const Document& d) { return d.contains(member) ? d[member] : Document(0); };
    Document ka = key(a), kb = key(b);
    if (ka != kb) return descending ? kb < ka : ka < kb;
    return a.value("Name", "") < b.value("Name", "");
  });
  Document list = Document::array();
  for (size_t i = offset; i < kept.size() && list.size() < limit; ++i) list.push_back(ListEntry(kept[i]));
  Document out = {{"SecretList", list}};
  if (offset + list.size() < kept.size()) out["NextToken"] = TokenFor(offset + list.size());
  return out;
}

StatusOr<Document> ListSecretVersionIds(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Secret secret, FindSecret(*deps.store, ctx.Scope(), Str(input, "SecretId"), ctx.time));
  GANTRY_ASSIGN_OR_RETURN(size_t offset, OffsetOf(input));
  size_t limit = static_cast<size_t>(input.value("MaxResults", 100));
  bool include_deprecated = input.value("IncludeDeprecated", false);
  std::vector<std::pair<int64_t, std::string>> order;
  for (const auto& [id, version] : secret.doc["Versions"].items()) {
    if (!include_deprecated && version.value("Stages", Document::array()).empty()) continue;
    order.emplace_back(version.value("Seq", int64_t{0}), id);
  }
  std::sort(order.rbegin(), order.rend());
  Document versions = Document::array();
  for (size_t i = offset; i < order.size() && versions.size() < limit; ++i) {
    const Document& v = secret.doc["Versions"][order[i].second];
    Document entry = {{"VersionId", order[i].second},
                      {"VersionStages", v.value("Stages", Document::array())},
                      {"CreatedDate", v.value("CreatedDate", 0.0)},
                      {"KmsKeyIds", Document::array({secret.doc.value("KmsKeyId", "DefaultEncryptionKey")})}};
    if (v.contains("LastAccessedDate")) entry["LastAccessedDate"] = v["LastAccessedDate"];
    versions.push_back(std::move(entry));
  }
  Document out = NameAndArn(secret);
  out["Versions"] = versions;
  if (offset + versions.size() < order.size()) out["NextToken"] = TokenFor(offset + versions.size());
  return out;
}

StatusOr<Document> BatchGetSecretValue(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  bool by_ids = input.contains("SecretIdList");
  bool by_filters = input.contains("Filters");
  if (by_ids == by_filters) return InvalidParameter("Either SecretIdList or Filters must be provided, but not both.");
  if (by_ids && input.contains("MaxResults")) {
    return InvalidParameter("MaxResults can't be used with SecretIdList; use it with Filters.");
  }
  const std::string scope = ctx.Scope();
  Document values = Document::array();
  Document errors = Document::array();
  auto add = [&](const std::string& id, StatusOr<Secret> secret) {
    StatusOr<Document> entry = secret.status();
    if (secret.ok()) {
      std::string current = VersionWithStage(secret->doc["Versions"], kCurrent);
      if (current.empty()) {
        entry = Status::NotFound("Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
                                 "ResourceNotFoundException");
      } else {
        entry = ValueEntry(deps, *deps.store, scope, *secret, current);
        if (entry.ok()) TouchAccessed(deps, scope, *secret, current, ctx.time);
      }
    }
    if (entry.ok()) {
      values.push_back(std::move(*entry));
    } else {
      errors.push_back({{"SecretId", id},
                        {"ErrorCode", entry.status().aws_code()},
                        {"Message", entry.status().message()}});
    }
  };
  Document out;
  if (by_ids) {
    for (const std::string& id : Strings(input, "SecretIdList")) add(id, FindLiveSecret(*deps.store, scope, id, ctx.time));
  } else {
    Document filters = input["Filters"];
    GANTRY_RETURN_IF_ERROR(ValidateFilters(filters));
    GANTRY_ASSIGN_OR_RETURN(size_t offset, OffsetOf(input));
    size_t limit = static_cast<size_t>(input.value("MaxResults", 20));
    GANTRY_ASSIGN_OR_RETURN(std::vector<Document> secrets, AllSecrets(deps, scope, ctx.time));
    std::vector<Document> kept;
    for (auto& secret : secrets) {
      if (!secret.contains("DeletedDate") && MatchesFilters(secret, filters, ctx.region)) kept.push_back(std::move(secret));
    }
    for (size_t i = offset; i < kept.size() && i < offset + limit; ++i) {
      std::string name = kept[i].value("Name", "");
      add(name, FindLiveSecret(*deps.store, scope, name, ctx.time));
    }
    if (offset + limit < kept.size()) out["NextToken"] = TokenFor(offset + limit);
  }
  out["SecretValues"] = values;
  out["Errors"] = errors;
  return out;
}

StatusOr<Document> GetRandomPassword(const SecretsDeps& deps, aws::RequestContext&, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string password, RandomPassword(input, *deps.ids));
  return Document{{"RandomPassword", password}};
}

// --- resource policies and tags ---------------------------------------------------------------

Status MalformedPolicy(const std::string& why) {
  return Status::InvalidArgument("This resource policy contains a syntax error: " + why,
                                 "MalformedPolicyDocumentException");
}

// Structural checks of a resource policy; returns the parsed document.
StatusOr<Document> ParsePolicy(const std::string& text) {
  Document policy = Document::parse(text, nullptr, false);
  if (policy.is_discarded() || !policy.is_object()) return MalformedPolicy("the policy is not a JSON object.");
  auto statements = policy.find("Statement");
  if (statements == policy.end()) return MalformedPolicy("the policy has no Statement.");
  Document list = statements->is_array() ? *statements : Document::array({*statements});
  if (list.empty()) return MalformedPolicy("the policy has no Statement.");
  for (const auto& s : list) {
    if (!s.is_object()) return MalformedPolicy("a Statement is not an object.");
    std::string effect = s.value("Effect", "");
    if (effect != "Allow" && effect != "Deny") return MalformedPolicy("Effect must be Allow or Deny.");
    if (!s.contains("Action") && !s.contains("NotAction")) return MalformedPolicy("a Statement has no Action.");
    if (!s.contains("Principal") && !s.contains("NotPrincipal")) {
      return MalformedPolicy("a resource policy Statement needs a Principal.");
    }
  }
  return policy;
}

// Whether an Allow statement grants every principal access without a condition.
bool IsPublic(const Document& policy) {
  const Document& statements = policy["Statement"];
  Document list = statements.is_array() ? statements : Document::array({statements});
  for (const auto& s : list) {
    if (s.value("Effect", "") != "Allow" || s.contains("Condition")) continue;
    if (s.contains("NotPrincipal")) return true;
    const Document& principal = s["Principal"];
    auto wildcard = [](const Document& v) {
      if (v.is_string()) return v.get<std::string>() == "*";
      if (v.is_array()) {
        for (const auto& e : v) {
          if (e.is_string() && e.get<std::string>() == "*") return true;
        }
      }
      return false;
    };
    if (wildcard(principal)) return true;
    if (principal.is_object() && principal.contains("AWS") && wildcard(principal["AWS"])) return true;
  }
  return false;
}

StatusOr<Document> PutResourcePolicy(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string text = Str(input, "ResourcePolicy");
  GANTRY_ASSIGN_OR_RETURN(Document policy, ParsePolicy(text));
  if (input.value("BlockPublicPolicy", false) && IsPublic(policy)) {
    return Status::InvalidArgument(
        "This resource policy grants broad access to the secret, for example with a wildcard Principal, and "
        "BlockPublicPolicy is true.",
        "PublicPolicyException");
  }
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    secret.doc["ResourcePolicy"] = text;
    secret.doc["LastChangedDate"] = ToEpochSeconds(ctx.time);
    out = NameAndArn(secret);
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> GetResourcePolicy(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Secret secret, FindSecret(*deps.store, ctx.Scope(), Str(input, "SecretId"), ctx.time));
  Document out = NameAndArn(secret);
  if (secret.doc.contains("ResourcePolicy")) out["ResourcePolicy"] = secret.doc["ResourcePolicy"];
  return out;
}

StatusOr<Document> DeleteResourcePolicy(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    out = NameAndArn(secret);
    if (!secret.doc.contains("ResourcePolicy")) return Status::Ok();
    secret.doc.erase("ResourcePolicy");
    secret.doc["LastChangedDate"] = ToEpochSeconds(ctx.time);
    return Save(tx, scope, secret);
  }));
  return out;
}

StatusOr<Document> ValidateResourcePolicy(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (input.contains("SecretId")) {
    GANTRY_RETURN_IF_ERROR(FindSecret(*deps.store, ctx.Scope(), Str(input, "SecretId"), ctx.time).status());
  }
  GANTRY_ASSIGN_OR_RETURN(Document policy, ParsePolicy(Str(input, "ResourcePolicy")));
  Document errors = Document::array();
  if (IsPublic(policy)) {
    errors.push_back({{"CheckName", "BROAD_ACCESS"},
                      {"ErrorMessage", "The policy grants access to every principal (a wildcard Principal without a "
                                       "Condition)."}});
  }
  return Document{{"PolicyValidationPassed", errors.empty()}, {"ValidationErrors", errors}};
}

StatusOr<Document> TagResource(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    MergeTags(secret.doc["Tags"], input.value("Tags", Document::array()));
    if (secret.doc["Tags"].size() > 50) {
      return Status::ResourceExhausted("A secret can have at most 50 tags.", "LimitExceededException");
    }
    return Save(tx, scope, secret);
  }));
  return Document::object();
}

StatusOr<Document> UntagResource(const SecretsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(Secret secret, FindLiveSecret(tx, scope, Str(input, "SecretId"), ctx.time));
    RemoveTags(secret.doc["Tags"], input.value("TagKeys", Document::array()));
    return Save(tx, scope, secret);
  }));
  return Document::object();
}

void Add(aws::HandlerTable& table, const SecretsDeps& deps, std::string_view operation, Handler fn) {
  table.Add("secretsmanager", operation,
            [&deps, fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
}

}  // namespace

void RegisterSecretHandlers(aws::HandlerTable& table, const SecretsDeps& deps) {
  Add(table, deps, "CreateSecret", CreateSecret);
  Add(table, deps, "GetSecretValue", GetSecretValue);
  Add(table, deps, "BatchGetSecretValue", BatchGetSecretValue);
  Add(table, deps, "PutSecretValue", PutSecretValue);
  Add(table, deps, "UpdateSecret", UpdateSecret);
  Add(table, deps, "UpdateSecretVersionStage", UpdateSecretVersionStage);
  Add(table, deps, "DeleteSecret", DeleteSecret);
  Add(table, deps, "RestoreSecret", RestoreSecret);
  Add(table, deps, "DescribeSecret", DescribeSecret);
  Add(table, deps, "ListSecrets", ListSecrets);
  Add(table, deps, "ListSecretVersionIds", ListSecretVersionIds);
  Add(table, deps, "GetRandomPassword", GetRandomPassword);
  Add(table, deps, "PutResourcePolicy", PutResourcePolicy);
  Add(table, deps, "GetResourcePolicy", GetResourcePolicy);
  Add(table, deps, "DeleteResourcePolicy", DeleteResourcePolicy);
  Add(table, deps, "ValidateResourcePolicy", ValidateResourcePolicy);
  Add(table, deps, "TagResource", TagResource);
  Add(table, deps, "UntagResource", UntagResource);
}

}  // namespace gantry::services::secretsmanager
