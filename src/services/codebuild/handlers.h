// What CodeBuild's handlers share: their dependencies, the registration of each group of
// operations, and the checks projects and StartBuild both make (service roles). Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/codebuild/build_queue.h"

namespace gantry::services::codebuild {

class BatchRunner;

struct CodeBuildDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  BuildQueue* queue = nullptr;
  BatchRunner* batches = nullptr;  // runs batch builds (batch_runner.h)
};

void RegisterProjectHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);
void RegisterBuildHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);
// Report groups, reports, test cases and coverage (report_handlers.cc).
void RegisterReportHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);
// Batch builds (batch_handlers.cc).
void RegisterBatchHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);

// A service role named by ARN (or by name, in the caller's account) checked as CodeBuild checks it:
// in the caller's account, passable by the caller (iam:PassRole), and assumable by
// codebuild.amazonaws.com (its trust policy, tried with sts:AssumeRole). Returns the role's ARN.
StatusOr<std::string> CheckServiceRole(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& role);

// The settings a build runs with: the project's, with StartBuild's overrides (input) applied and
// validated (build_handlers.cc).
StatusOr<aws::Document> EffectiveSettings(const CodeBuildDeps& deps, aws::RequestContext& ctx,
                                          const aws::Document& project, const aws::Document& input);

// A build of a batch: created as StartBuild creates one (ctx gives the scope and the initiator),
// with the batch's ARN (buildBatchArn) and its identifier in the batch
// (CODEBUILD_BATCH_BUILD_IDENTIFIER). in_transaction runs in the transaction that creates the build,
// with its record, so that the batch records the build atomically (build_handlers.cc).
struct BatchMember {
  std::string batch_arn;
  std::string identifier;
  std::function<Status(store::Transaction& tx, const aws::Document& record)> in_transaction;
};
StatusOr<aws::Document> CreateBatchBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx,
                                         const std::string& project, aws::Document settings,
                                         const BatchMember& member);

// A project's buildBatchConfig (or StartBuildBatch's override) checked: its serviceRole as
// CheckServiceRole checks it (returned as an ARN), its restrictions and timeout (batch_handlers.cc).
StatusOr<aws::Document> CheckBuildBatchConfig(const CodeBuildDeps& deps, aws::RequestContext& ctx,
                                              const aws::Document& config);

// Validation of the settings a project and StartBuild's overrides share, with CodeBuild's messages.
Status ValidateSource(const aws::Document& source, bool secondary);
// Whether a repository source's location is a clone URL Gantry fetches: http(s)://host/...
bool IsCloneUrl(std::string_view location);
// A repository source's version is a git reference, never an option (it cannot start with '-').
Status ValidateSourceVersion(std::string_view source_type, std::string_view version);
// The sourceVersion and secondarySourceVersions of a project or a build's settings.
Status ValidateSourceVersions(const aws::Document& settings);
Status ValidateArtifacts(const aws::Document& artifacts, bool secondary);
Status ValidateEnvironment(const aws::Document& environment);
Status ValidateEnvironmentVariables(const aws::Document& variables);
Status ValidateLogsConfig(const aws::Document& logs);
// A ProjectCache: an S3 location for S3, at least one mode for LOCAL and modes for LOCAL only.
Status ValidateProjectCache(const aws::Document& cache);
// The source and artifacts types must agree about CodePipeline.
Status ValidatePipelinePairing(const aws::Document& source, const aws::Document& artifacts);
// A ProjectArtifacts with the defaults AWS shows (packaging, namespaceType, ...).
aws::Document NormalizeArtifacts(aws::Document artifacts);
// A LogsConfig with the defaults AWS shows (CloudWatch Logs enabled, S3 logs disabled).
aws::Document NormalizeLogsConfig(const aws::Document& logs);
aws::Document NormalizeEnvironment(aws::Document environment);

}  // namespace gantry::services::codebuild
