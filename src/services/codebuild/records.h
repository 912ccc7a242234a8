// CodeBuild projects and builds as Gantry stores them: the store layout, ARNs and build ids spelled
// as AWS spells them, page tokens, and the build record's state machine (phases, status, completion)
// that handlers, the queue and running builds all change through the same functions.
//
// Layout (scope "<account>/<region>" unless noted):
//   codebuild.project      key <name>        {Project: the wire Project, LastBuildNumber}
//   codebuild.build        key <project>:<uuid>
//                          {Build: the wire Build, Settings: what the build runs with (the effective
//                           project after StartBuild's overrides, ProjectArtifacts included), Seq,
//                           Scope, Region, Account, StopRequested? (StopBuild reached it running)}
//   codebuild.build_index  key a/<seq>, d/<inverted seq>, p/<project>/a/<number>, p/<project>/d/<inverted>
//                          {id}: ListBuilds (by start) and ListBuildsForProject (by number), each order
//   codebuild.active       scope "", key <seq>  {Scope, Id, Running}: builds not complete, oldest first
//                          (the queue, across accounts and regions)
//   codebuild.idempotency  key <token>        {Id, Hash, Expires}: StartBuild/RetryBuild tokens (5 minutes)
//
// Build ids are "<project>:<uuid>"; project names cannot hold ':' or '/', so prefixes never overlap.
//
// Stateless functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "runtime/build/build_runner.h"

namespace gantry::services::codebuild {

using aws::Document;

inline constexpr std::string_view kProjectTable = "codebuild.project";
inline constexpr std::string_view kBuildTable = "codebuild.build";
inline constexpr std::string_view kBuildIndexTable = "codebuild.build_index";
inline constexpr std::string_view kActiveTable = "codebuild.active";
inline constexpr std::string_view kIdempotencyTable = "codebuild.idempotency";

inline constexpr int kDefaultTimeoutMinutes = 60;
inline constexpr int kDefaultQueuedTimeoutMinutes = 480;
inline constexpr int kMaxProjects = 5000;
inline constexpr int kPageSize = 100;

// arn:aws:codebuild:<region>:<account>:<resource>
std::string CodeBuildArn(std::string_view region, std::string_view account, std::string_view resource);
std::string ProjectArn(std::string_view region, std::string_view account, std::string_view name);
std::string BuildArn(std::string_view region, std::string_view account, std::string_view build_id);
// "arn:aws:kms:<region>:<account>:alias/aws/s3", CodeBuild's default encryption key.
std::string DefaultEncryptionKey(std::string_view region, std::string_view account);

// A build id "<project>:<uuid>" split; nullopt when it is not of that form.
struct BuildIdParts {
  std::string project;
  std::string uuid;
};
std::optional<BuildIdParts> ParseBuildId(std::string_view id);
// A project name, or the name inside a project ARN of this region and account.
std::string ProjectNameOf(std::string_view name_or_arn);

// Errors as CodeBuild words them.
Status InvalidInput(std::string message);
Status ProjectNotFound(std::string_view region, std::string_view account, std::string_view name);
Status BuildNotFound(std::string_view id);
Status InvalidBuildId();

// n as a fixed-width decimal; Inverted(n) sorts the other way.
std::string Padded(int64_t n);
std::string Inverted(int64_t n);

// Page tokens: base64 of the last store key returned.
std::string TokenAfter(std::string_view key);
StatusOr<std::string> KeyAfter(const Document& input);

double Seconds(TimePoint t);
TimePoint FromSeconds(const Document& seconds);

// The four list entries of a build (or batch) numbered `number` in its project, started as `seq`:
// a/<seq>, d/<inverted seq>, p/<project>/a/<number>, p/<project>/d/<inverted number>.
std::vector<std::string> IndexKeys(int64_t seq, std::string_view project, int64_t number);

// One page of a list index (codebuild.build_index, codebuild.batch_index): the ids under
// prefix + "a/" or "d/" (input's sortOrder, DESCENDING by default), after input's nextToken, at most
// input's maxResults (100 by default), those that `keep` (when set) accepts. {ids, nextToken?}.
StatusOr<Document> ListIndex(store::Store& store, std::string_view table, const std::string& scope,
                             const Document& input, const std::string& prefix,
                             const std::function<StatusOr<bool>(const std::string& id)>& keep = nullptr);

// BatchGetBuilds and BatchGetBuildBatches: load each of input's ids; {<found>: the `member` of each
// record, <not_found>: the ids that are not}. Other errors end the call.
StatusOr<Document> GetEach(const Document& ids, const std::function<StatusOr<store::Record>(const std::string&)>& load,
                           const char* member, const char* found, const char* not_found);

// Idempotency tokens (codebuild.idempotency, key <prefix><token>: "" for builds, "batch/" for
// batches): a token names what one request made for five minutes.
inline constexpr auto kIdempotencyWindow = std::chrono::minutes(5);
std::string RequestHash(const Document& input);
// The id the token's earlier request made, when it was used within the window with the same request
// (hash); nullopt when it is unused or expired; InvalidInputException for another request.
StatusOr<std::optional<std::string>> UsedToken(store::Transaction& tx, const std::string& scope,
                                               const std::string& prefix, const std::string& token,
                                               const std::string& hash, TimePoint now);
// Records that the token's request made `id`.
Status UseToken(store::Transaction& tx, const std::string& scope, const std::string& prefix, const std::string& token,
                const std::string& id, const std::string& hash, TimePoint now);

// Whether a buildspec setting is given inline (YAML text) rather than as a path relative to the
// source directory (which may well start with "version", as version-ci.yml does): YAML of more than
// one line, a flow mapping on one ({"version": 0.2, ...}) or a one-line "version: ..." mapping.
bool IsInlineBuildspec(std::string_view text);

// ---- The build record's state machine. Each takes the stored record (its "Build" member is the
// wire Build) and changes it in place; callers persist it in a transaction before announcing. ----

// Whether the build has reached COMPLETED.
bool IsComplete(const Document& record);
// The phase in progress (the last one, without an end), or nullptr.
const Document* OpenPhase(const Document& record);
// Starts a phase at `start` and makes it the current phase; a phase of that type already open is kept.
void BeginPhase(Document& record, runtime::BuildPhaseType type, TimePoint start);
// Ends the open phase of that type (begun now when it was not) with a status and contexts.
void EndPhase(Document& record, runtime::BuildPhaseType type, TimePoint end, runtime::BuildStatus status,
              const std::vector<runtime::PhaseContext>& contexts);
// Ends whatever phase is open with `status` and the contexts, appends COMPLETED and sets the build's
// final status, end time and buildComplete.
void CompleteBuild(Document& record, runtime::BuildStatus status, TimePoint end,
                   const std::vector<runtime::PhaseContext>& contexts = {});

// Re-reads the build record inside a transaction, applies fn, writes it back. NotFound when the build
// is gone (deleted); fn's error aborts the write.
StatusOr<Document> UpdateBuild(store::Store& store, const std::string& scope, const std::string& id,
                               const std::function<Status(Document& record)>& fn);

// Removes the build from the queue (codebuild.active) inside a transaction.
Status RemoveFromQueue(store::Transaction& tx, const Document& record);

}  // namespace gantry::services::codebuild
