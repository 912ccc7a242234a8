// Secrets Manager secrets as Gantry stores them: the store layout, ARNs, lookup by name or
// full/partial ARN, version staging labels, sealed values and the wire entries handlers return.
//
// Layout (scope "<account>/<region>" unless noted):
//   secretsmanager.secret    key <name>                  metadata, tags, policy, versions and their stages
//   secretsmanager.value     key <name>|<version id>     one version's value, sealed (never in the clear)
//   secretsmanager.deletion  scope "", key <ms>/<scope>/<name>   secrets waiting for their deletion date
//
// A secret record's "Versions" member maps version id → {Stages, CreatedDate, Seq, LastAccessedDate?};
// staging labels therefore move atomically with one record write. Values are sealed with the master
// key (core/crypto) bound to "<secret ARN>|<version id>", so a value cannot be replayed onto another
// secret or version. Secret names cannot contain '|'. A secret scheduled for deletion carries
// DeletedDate, DeletionDate and DeletionKey (its secretsmanager.deletion entry).
//
// Stateless functions over a store; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/crypto/sealed_box.h"
#include "core/store/store.h"

namespace gantry::services::secretsmanager {

using aws::Document;

inline constexpr std::string_view kSecretTable = "secretsmanager.secret";
inline constexpr std::string_view kValueTable = "secretsmanager.value";
inline constexpr std::string_view kDeletionTable = "secretsmanager.deletion";

inline constexpr std::string_view kCurrent = "AWSCURRENT";
inline constexpr std::string_view kPrevious = "AWSPREVIOUS";
inline constexpr std::string_view kPending = "AWSPENDING";

// Versions kept per secret; older versions without staging labels are removed beyond it.
inline constexpr size_t kMaxVersions = 100;

// What handlers and the deletion sweep share; everything outlives the service. box is set when
// the service starts (the master key is read then).
struct SecretsDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  const crypto::SealedBox* box = nullptr;
};

std::string SecretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix);
std::string ValueKey(std::string_view name, std::string_view version_id);
// secretsmanager.deletion key: the due time (16-digit epoch ms), the scope and the name.
std::string DeletionKey(TimePoint when, std::string_view scope, std::string_view name);

Status SecretNotFound();
Status MarkedForDeletion();
// Name rules beyond the model's length: ASCII letters, digits and /_+=.@-
Status ValidateSecretName(std::string_view name);

// A secret resolved from a SecretId (name, full ARN or partial ARN).
struct Secret {
  std::string name;
  Document doc;
  int64_t version = 0;  // the store record's version, for optimistic updates

  bool deleted() const { return doc.contains("DeletedDate"); }
  const std::string& arn() const { return doc["ARN"].get_ref<const std::string&>(); }
};

// The secret a SecretId names. A secret whose deletion date has passed is gone (NotFound) even
// before the sweep removes it.
StatusOr<Secret> FindSecret(store::RecordOperations& ops, const std::string& scope, std::string_view secret_id,
                            TimePoint now);
// FindSecret, then InvalidRequestException when the secret is marked for deletion.
StatusOr<Secret> FindLiveSecret(store::RecordOperations& ops, const std::string& scope, std::string_view secret_id,
                                TimePoint now);
bool DeletionDue(const Document& secret, TimePoint now);

// A secret value as a request carries it: exactly one of string or binary.
struct SecretValue {
  bool binary = false;
  std::string bytes;
};
// The value in a Create/Put/Update input; nullopt when it carries none. InvalidParameterException
// when it carries both.
StatusOr<std::optional<SecretValue>> ValueOf(const Document& input);

// Stores a new version (or confirms an idempotent retry of the same token and value). stages
// defaults to AWSCURRENT; moving AWSCURRENT moves AWSPREVIOUS to the version that held it. Returns
// the version id. ResourceExistsException when the token names a version holding another value.
StatusOr<std::string> PutVersion(const SecretsDeps& deps, store::Transaction& tx, const std::string& scope,
                                 Secret& secret, const std::string& token, const SecretValue& value,
                                 const std::vector<std::string>& stages, TimePoint now);

// Moves label to version_id (removing it from any other version); AWSCURRENT moves AWSPREVIOUS to
// the version it left.
void AttachStage(Document& versions, const std::string& label, const std::string& version_id);
void DetachStage(Document& versions, const std::string& label, const std::string& version_id);
// The version holding label; empty when none.
std::string VersionWithStage(const Document& versions, std::string_view label);
// Removes the oldest versions without labels beyond kMaxVersions (their value records too).
Status PruneVersions(store::Transaction& tx, const std::string& scope, Secret& secret);

// The value of a version, opened.
StatusOr<SecretValue> ReadValue(const SecretsDeps& deps, store::RecordOperations& ops, const std::string& scope,
                                const Secret& secret, const std::string& version_id);

// Removes the secret, its values and its deletion-schedule entry.
Status DeleteSecretRecords(store::Transaction& tx, const std::string& scope, const Secret& secret);

// {version id: [labels]} for versions that have labels.
Document VersionIdsToStages(const Document& versions);
// The DescribeSecret output / a ListSecrets entry.
Document DescribeEntry(const Document& secret);
Document ListEntry(const Document& secret);

// Tags: stored as the wire list [{Key, Value}], keys unique, in insertion order.
void MergeTags(Document& tags, const Document& more);
void RemoveTags(Document& tags, const Document& keys);

// The UTC midnight of now, as epoch seconds (LastAccessedDate has date resolution).
double DayOf(TimePoint now);

// Secrets of a scope whose deletion date has passed: removes them. Returns how many.
StatusOr<int> SweepDeletedSecrets(const SecretsDeps& deps, TimePoint now);

}  // namespace gantry::services::secretsmanager
