// What a build's environment is made of, from the project's settings: the sandbox limits of each
// compute type (CodeBuild's documented sizes), which images run in the host sandbox, who started a
// build (CODEBUILD_INITIATOR), and the variables CodeBuild sets in every build. Pure functions;
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "runtime/build/build_runner.h"

namespace gantry::services::codebuild {

// Memory, CPUs and processes of a compute type; nullopt for types Gantry cannot size
// (ATTRIBUTE_BASED_COMPUTE, CUSTOM_INSTANCE_TYPE without a configuration).
std::optional<runtime::SandboxLimits> ComputeLimits(std::string_view compute_type);

// AWS's curated images (aws/codebuild/standard:*, aws/codebuild/amazonlinux*), which run in the host sandbox.
bool IsCuratedImage(std::string_view image);

// The initiator CodeBuild records: "root", a user's name, "<role>/<session>" for an assumed role,
// the service for an AWS service principal, "codepipeline/<pipeline>" for a pipeline's action.
std::string InitiatorOf(const aws::Principal& principal);

// The pipeline a caller acts for (its aws:SourceArn names a CodePipeline pipeline), or empty.
std::string PipelineOf(const aws::Principal& principal);

// What the CODEBUILD_* variables and the AWS ones are made of.
struct BuildFacts {
  std::string build_id;  // project:uuid
  std::string build_arn;
  int64_t build_number = 0;
  std::string image;
  std::string initiator;
  std::string log_path;  // the CloudWatch Logs stream name
  std::string project_arn;
  std::string source_repo_url;
  std::string source_version;
  std::string batch_build_identifier;  // the build's identifier in its batch; "" outside batches
  std::string kms_key_id;
  int64_t start_time_ms = 0;
  std::string region;
  std::string home;
  // Temporary credentials of the service role and Gantry's own URL, for the build's commands.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  std::string endpoint_url;
};
// The role's secret access key and session token are marked secret (masked in the build's log).
std::vector<runtime::EnvVar> CodeBuildVariables(const BuildFacts& facts);

// A project's (or StartBuild's) environmentVariables as the engine takes them.
std::vector<runtime::EnvVar> ProjectVariables(const aws::Document& variables);

// The repository URL a build exposes as CODEBUILD_SOURCE_REPO_URL: s3://bucket/key for S3 sources,
// the clone URL for repositories, empty for NO_SOURCE.
std::string SourceRepoUrl(const aws::Document& source);

// The variables of a secondary source fetched into dir: CODEBUILD_SRC_DIR_<sourceIdentifier>,
// CODEBUILD_SOURCE_VERSION_<sourceIdentifier> (the version asked for, empty without one) and
// CODEBUILD_SOURCE_REPO_URL_<sourceIdentifier>, as CodeBuild sets them.
std::vector<runtime::EnvVar> SecondarySourceVariables(const aws::Document& source, const std::string& version,
                                                      const std::string& dir);

}  // namespace gantry::services::codebuild
