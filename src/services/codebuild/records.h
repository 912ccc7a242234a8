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
