// What CodeBuild's handlers share: their dependencies, the registration of each group of
// operations, and the checks projects and StartBuild both make (service roles). Thread-safe.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/codebuild/build_queue.h"

namespace gantry::services::codebuild {

struct CodeBuildDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  BuildQueue* queue = nullptr;
};

void RegisterProjectHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);
void RegisterBuildHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps);

// A service role named by ARN (or by name, in the caller's account) checked as CodeBuild checks it:
// in the caller's account, passable by the caller (iam:PassRole), and assumable by
// codebuild.amazonaws.com (its trust policy, tried with sts:AssumeRole). Returns the role's ARN.
StatusOr<std::string> CheckServiceRole(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& role);

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
// The source and artifacts types must agree about CodePipeline.
Status ValidatePipelinePairing(const aws::Document& source, const aws::Document& artifacts);
// A ProjectArtifacts with the defaults AWS shows (packaging, namespaceType, ...).
aws::Document NormalizeArtifacts(aws::Document artifacts);
// A LogsConfig with the defaults AWS shows (CloudWatch Logs enabled, S3 logs disabled).
aws::Document NormalizeLogsConfig(const aws::Document& logs);
aws::Document NormalizeEnvironment(aws::Document environment);

}  // namespace gantry::services::codebuild
