// CodeCommit's records and what both handler groups share: the repository record and its lookup,
// where a repository's git data lives, and the events CodeCommit puts on the default event bus.
//
// Layout (scope "<account>/<region>"):
//   codecommit.repository  key <repositoryName>  {repositoryId, repositoryName, arn, accountId,
//                          region, description?, defaultBranch?, creationDate, lastModifiedDate
//                          (epoch seconds), kmsKeyId, tags {k: v}, triggers [...], triggersConfigurationId}
// Git data: <repos_root>/<repositoryId> (a bare repository), so a rename never moves data.
//
// Stateless functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/git.h"

namespace gantry::services::codecommit {

using aws::Document;

inline constexpr std::string_view kRepositoryTable = "codecommit.repository";
inline constexpr std::string_view kEventSource = "aws.codecommit";
inline constexpr std::string_view kServicePrincipal = "codecommit.amazonaws.com";
inline constexpr std::string_view kRepositoryStateChange = "CodeCommit Repository State Change";

std::string RepositoryArn(std::string_view region, std::string_view account, std::string_view name);

// The model's name rules (1-100 of letters, digits, '.', '_', '-'; not ending in ".git"):
// RepositoryNameRequiredException / InvalidRepositoryNameException.
Status ValidateRepositoryName(std::string_view name);

// The named repository's record in scope, after ValidateRepositoryName; RepositoryDoesNotExistException
// ("<name> does not exist") when there is none.
StatusOr<store::Record> RequireRepository(store::RecordOperations& ops, const std::string& scope,
                                          std::string_view name);

// A repository's record and its git data, opened for one request.
struct OpenedRepository {
  store::Record record;
  git::Repository git;
};
StatusOr<OpenedRepository> OpenRepositoryNamed(const CodeCommitDeps& deps, const std::string& scope,
                                               std::string_view name);

// The bare repository's directory for a repositoryId.
std::string RepositoryPath(const CodeCommitDeps& deps, std::string_view repository_id);
// Opens the git data of a repository record.
StatusOr<git::Repository> OpenRepository(const CodeCommitDeps& deps, const Document& repository);

// Puts one aws.codecommit event on the default bus of (account, region) through the in-process
// events PutEvents, as the service principal codecommit.amazonaws.com.
Status EmitEvent(const CodeCommitDeps& deps, std::string_view account, std::string_view region,
                 std::string_view detail_type, const std::vector<std::string>& resources, const Document& detail);

// One ref that moved: created (old_commit_id empty), updated, or deleted (commit_id empty).
struct ReferenceChange {
  std::string full_name;  // refs/heads/<branch> or refs/tags/<tag>
  std::string commit_id;
  std::string old_commit_id;
  // A merge's extra event members (baseCommitId, sourceCommitId, destinationCommitId, mergeOption,
  // conflictDetailsLevel, conflictResolutionStrategy), as AWS adds them to referenceUpdated.
  Document merge_detail = Document::object();
};

// Points the bare repository's HEAD at refs/heads/<branch> (what clones check out).
Status SetDefaultBranch(const CodeCommitDeps& deps, const Document& repository, const std::string& branch);

// After refs of a repository moved (a push, CreateBranch, DeleteBranch, PutFile, a merge): a
// repository without a default branch adopts one (the one HEAD names if it exists, else the first
// branch created or updated, else the first existing one); then one "CodeCommit Repository State
// Change" is emitted per change, the repository's triggers fire, and open pull requests on the
// moved branches are brought up to date (RefreshPullRequestsAfterPush). Failures are logged, not
// returned: the refs have already moved.
void PublishReferenceChanges(const CodeCommitDeps& deps, const Document& repository,
                             const std::vector<ReferenceChange>& changes, std::string_view caller_arn);

}  // namespace gantry::services::codecommit
