// IAM resources as Gantry stores them: tables and keys, ids and ARNs spelled as AWS spells them,
// page markers, policy documents (URL-encoded on the wire), tags, and the errors every handler
// shares. Also IamDeps, what handlers and the authorizer are built with.
//
// Layout (IAM is global: scope "<account>"; keys are lower-cased names, as IAM names are unique
// regardless of case):
//   iam.user              key <name>         user, inline policies, attached ARNs, groups, boundary, tags
//   iam.group             key <name>         group, inline policies, attached ARNs, member user keys
//   iam.role              key <name>         role, trust policy, inline policies, attached ARNs, boundary
//   iam.policy            key <name>         customer managed policy with its versions (at most 5)
//   iam.aws_policy        key <name>         attachment counts of an AWS managed policy
//   iam.access_key        key <AKIA id>      secret, status, owning user
//   iam.service_credential key <id>          HTTPS Git (and other) service-specific credentials
//   iam.service_user      key <service user name>  → credential ids (git credential lookups)
//   iam.oidc_provider     key <host/path>    OpenID Connect provider
//   iam.instance_profile  key <name>         instance profile and its role
//   sts.session           key <ASIA id>      written by STS (temporary credentials); read by the
//                                            authorizer for the session's role and policies
//
// Stateless functions; thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/policy/policy.h"
#include "core/store/store.h"

namespace gantry::services::iam {

using aws::Document;

inline constexpr std::string_view kUserTable = "iam.user";
inline constexpr std::string_view kGroupTable = "iam.group";
inline constexpr std::string_view kRoleTable = "iam.role";
inline constexpr std::string_view kPolicyTable = "iam.policy";
inline constexpr std::string_view kAwsPolicyTable = "iam.aws_policy";
inline constexpr std::string_view kAccessKeyTable = "iam.access_key";
inline constexpr std::string_view kServiceCredentialTable = "iam.service_credential";
inline constexpr std::string_view kServiceUserTable = "iam.service_user";
inline constexpr std::string_view kOidcProviderTable = "iam.oidc_provider";
inline constexpr std::string_view kInstanceProfileTable = "iam.instance_profile";
inline constexpr std::string_view kSessionTable = "sts.session";

inline constexpr int kMaxAccessKeysPerUser = 2;
inline constexpr int kMaxPolicyVersions = 5;
inline constexpr int kMaxManagedPoliciesPerEntity = 10;
inline constexpr size_t kMaxManagedPolicySize = 6144;
inline constexpr size_t kMaxUserInlineSize = 2048;
inline constexpr size_t kMaxGroupInlineSize = 5120;
inline constexpr size_t kMaxRoleInlineSize = 10240;
inline constexpr size_t kMaxTrustPolicySize = 2048;
inline constexpr int kDefaultRoleMaxSession = 3600;

// What handlers and the authorizer share; everything outlives the service.
struct IamDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  // Bumped after every IAM write, so the authorizer's cached principals are rebuilt.
  std::atomic<uint64_t>* generation = nullptr;
};

// Lower-cased name: the record key.
std::string Key(std::string_view name);

// "AIDA" + 17 upper-case letters and digits: user, group (AGPA), role (AROA), policy (ANPA),
// instance profile (AIPA) and service credential (ACCA) ids.
std::string UniqueId(IdSource& ids, std::string_view prefix);
std::string NewAccessKeyId(IdSource& ids, std::string_view prefix = "AKIA");
std::string NewSecretAccessKey(IdSource& ids);

// arn:aws:iam::<account>:<kind>/<path><name>; path starts and ends with '/'.
std::string IamArn(std::string_view account, std::string_view kind, std::string_view path, std::string_view name);
// Path of an input (default "/"), validated.
StatusOr<std::string> PathOf(const Document& input, const char* member = "Path");
// The policy name of a managed policy ARN (last path segment) and whether it is an AWS policy.
struct PolicyRef {
  std::string account;  // "aws" for AWS managed policies
  std::string path;
  std::string name;
  bool aws_managed() const { return account == "aws"; }
};
std::optional<PolicyRef> ParsePolicyArn(std::string_view arn);
// A role name from a role ARN (arn:aws:iam::<acct>:role/<path><name>).
std::optional<std::string> RoleNameOfArn(std::string_view arn);

// Whether password is the one behind a stored ServicePasswordHash ("sha256$<salt hex>$<hex of
// SHA-256(salt + password)>"); constant-time.
bool ServicePasswordMatches(std::string_view stored_hash, std::string_view password);

// Epoch seconds now (Documents carry timestamps as epoch seconds).
double Now(const IamDeps& deps);

// Page through a sorted list: Marker (opaque) and MaxItems (default 100) of the input; sets
// IsTruncated and Marker on out.
struct Page {
  size_t start = 0;
  size_t max_items = 100;
};
StatusOr<Page> PageOf(const Document& input);
Document PageSlice(const Document& items, const Page& page, Document& out);

// Store pages for tables read whole (entities of an account are few).
StatusOr<std::vector<store::Record>> ListAll(store::RecordOperations& ops, std::string_view table,
                                             std::string_view scope);

// Policy documents: parse (MalformedPolicyDocument) with size limits (LimitExceeded); encode for
// the wire as IAM does (URL-encoded JSON).
StatusOr<policy::Policy> CheckPolicyDocument(const std::string& text, policy::PolicyKind kind, bool managed,
                                             size_t max_size, std::string_view quota_name);
std::string EncodeDocument(const std::string& text);

// Tags as the wire has them ([{Key, Value}]): merge and remove keep order and the 50-tag limit.
Status MergeTags(Document& tags, const Document& add);
void RemoveTags(Document& tags, const Document& keys);

// Tag<Entity>, Untag<Entity> and List<Entity>Tags for an entity kept in `table` (scope: the
// account) and named by the input member `name_member`; `require` loads it or answers NoSuchEntity.
using RequireFn = StatusOr<store::Record> (*)(store::RecordOperations& ops, const std::string& account,
                                               const std::string& name);
StatusOr<Document> TagEntity(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                             std::string_view table, const char* name_member, RequireFn require);
StatusOr<Document> UntagEntity(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                               std::string_view table, const char* name_member, RequireFn require);
StatusOr<Document> ListEntityTags(const IamDeps& deps, const aws::RequestContext& ctx, const Document& input,
                                  const char* name_member, RequireFn require);

// Shared errors, worded as IAM words them.
Status NoSuchEntity(std::string message);
Status NoSuchUser(std::string_view name);
Status NoSuchGroup(std::string_view name);
Status NoSuchRole(std::string_view name);
Status NoSuchPolicy(std::string_view arn);
Status AlreadyExists(std::string message);
Status DeleteConflict(std::string message);
Status LimitExceeded(std::string message);
Status InvalidInput(std::string message);

// Loads a record (or NoSuchEntity via `missing`).
StatusOr<store::Record> Require(store::RecordOperations& ops, std::string_view table, std::string_view scope,
                                std::string_view name, const std::function<Status()>& missing);

// The managed policy (customer or AWS) behind an ARN: its record document in the policy shape,
// with "Versions". NoSuchEntity when absent.
StatusOr<Document> LoadManagedPolicy(store::RecordOperations& ops, std::string_view account, std::string_view arn);
// The default version's document text of a managed policy record.
std::string DefaultDocument(const Document& policy);

// Counts one more (or one fewer) attachment / boundary use of a managed policy.
Status AdjustPolicyUsage(store::RecordOperations& ops, std::string_view account, std::string_view arn,
                         int attachments, int boundaries);
// The {PermissionsBoundaryType, PermissionsBoundaryArn} of a boundary ARN that must exist.
StatusOr<Document> BoundaryOf(store::RecordOperations& ops, std::string_view account, std::string_view arn);

}  // namespace gantry::services::iam
