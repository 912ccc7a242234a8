// SSM Parameter Store parameters as Gantry stores them: the store layout, names and ARNs,
// "name:version" / "name:label" selectors, values (SecureString sealed at rest), the
// ParameterFilters grammar, and the wire entries handlers return.
//
// Layout (scope "<account>/<region>" unless noted):
//   ssm.parameter          key <name>                      latest version's attributes and value, tags,
//                                                          Labels {label: version}
//   ssm.parameter_version  key <name>:<20-digit version>   one version (GetParameterHistory, selectors)
//   ssm.expiration         scope "", key <ms>/<scope>/<name>  Expiration policies waiting to fire
//
// Parameter names cannot contain ':', so "<name>:" prefixes never overlap. A SecureString value is
// stored as "Sealed" (base64 of the sealed bytes, bound to "<scope>|<name>|<version>"); without
// WithDecryption that base64 text is what GetParameter returns, as AWS returns its KMS ciphertext.
// String and StringList values are stored as "Value".
//
// Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/crypto/sealed_box.h"
#include "core/store/store.h"

namespace gantry::services::ssm {

using aws::Document;

inline constexpr std::string_view kParameterTable = "ssm.parameter";
inline constexpr std::string_view kVersionTable = "ssm.parameter_version";
inline constexpr std::string_view kExpirationTable = "ssm.expiration";

inline constexpr std::string_view kDefaultKeyId = "alias/aws/ssm";
inline constexpr int64_t kMaxVersions = 100;

// What handlers and the expiration sweep share; everything outlives the service. box is set
// when the service starts.
struct SsmDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  const crypto::SealedBox* box = nullptr;
};

std::string ParameterArn(std::string_view region, std::string_view account, std::string_view name);
std::string VersionKey(std::string_view name, int64_t version);
std::string SealContext(std::string_view scope, std::string_view name, int64_t version);

// ParameterNotFound, with AWS's empty message.
Status ParameterNotFound();
Status VersionNotFound(std::string_view name, std::string_view version);

// PutParameter's name rules (characters, fully qualified paths, 15 levels, reserved prefixes).
Status ValidateName(std::string_view name);

// A GetParameter(s) name: a name or parameter ARN with an optional ":version" or ":label".
struct NameSelector {
  std::string name;
  std::string selector;  // empty, digits (a version) or a label
};
NameSelector ParseNameSelector(std::string_view text);

// The parameter record and the version a selector picks (the latest when none). NotFound as
// ParameterNotFound / ParameterVersionNotFound like AWS.
struct Resolved {
  Document parameter;  // the ssm.parameter record
  Document version;    // the chosen version's attributes and value
  std::string selector;
};
StatusOr<Resolved> ResolveParameter(store::RecordOperations& ops, const std::string& scope, std::string_view text);

// The Parameter shape of GetParameter(s)/ByPath; SecureString values opened when decrypt.
StatusOr<Document> ParameterEntry(const SsmDeps& deps, const std::string& scope, const std::string& region,
                                  const std::string& account, const Document& version, const std::string& selector,
                                  bool decrypt);
// The ParameterMetadata shape of DescribeParameters.
Document MetadataEntry(const Document& parameter, const std::string& region, const std::string& account);
// The ParameterHistory shape of GetParameterHistory.
StatusOr<Document> HistoryEntry(const SsmDeps& deps, const std::string& scope, const Document& version,
                                bool decrypt);

// ParameterFilters (ParameterStringFilter list) validated for DescribeParameters or
// GetParametersByPath (by_path), as AWS's InvalidFilterKey/Option/Value errors.
Status ValidateParameterFilters(const Document& filters, bool by_path);
// Whether a parameter record passes every filter. For Label filters, label_version receives the
// version carrying the matched label.
bool MatchesParameterFilters(const Document& parameter, const Document& filters,
                             std::optional<int64_t>* label_version = nullptr);

// Removes a parameter with all its versions and its expiration entry.
Status DeleteParameterRecords(store::Transaction& tx, const std::string& scope, const Document& parameter);

// Deletes parameters whose Expiration policy is due; returns how many.
StatusOr<int> SweepExpiredParameters(const SsmDeps& deps, TimePoint now);

// n as a fixed-width decimal (keys that sort numerically).
std::string Padded(int64_t n, int width);

}  // namespace gantry::services::ssm
