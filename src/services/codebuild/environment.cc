#include "services/codebuild/environment.h"

#include <map>

namespace gantry::services::codebuild {

namespace {

constexpr uint64_t kGiB = 1ull << 30;

runtime::SandboxLimits Limits(uint64_t memory_gib, double cpus, int pids) {
  runtime::SandboxLimits limits;
  limits.memory_bytes = memory_gib * kGiB;
  limits.cpus = cpus;
  limits.max_pids = pids;
  return limits;
}

}  // namespace

std::optional<runtime::SandboxLimits> ComputeLimits(std::string_view compute_type) {
  // The build environment compute types table of the CodeBuild user guide; Lambda compute gets
  // CPU in proportion to memory (one vCPU per 1,769 MB), as Lambda does.
  static const std::map<std::string, runtime::SandboxLimits, std::less<>> kLimits = {
      {"BUILD_GENERAL1_SMALL", Limits(3, 2, 2048)},         {"BUILD_GENERAL1_MEDIUM", Limits(7, 4, 4096)},
      {"BUILD_GENERAL1_LARGE", Limits(15, 8, 8192)},        {"BUILD_GENERAL1_XLARGE", Limits(70, 36, 16384)},
      {"BUILD_GENERAL1_2XLARGE", Limits(145, 72, 32768)},   {"BUILD_LAMBDA_1GB", Limits(1, 1024.0 / 1769, 1024)},
      {"BUILD_LAMBDA_2GB", Limits(2, 2048.0 / 1769, 1024)}, {"BUILD_LAMBDA_4GB", Limits(4, 4096.0 / 1769, 1024)},
      {"BUILD_LAMBDA_8GB", Limits(8, 8192.0 / 1769, 1024)}, {"BUILD_LAMBDA_10GB", Limits(10, 10240.0 / 1769, 1024)},
  };
  auto it = kLimits.find(compute_type);
  if (it == kLimits.end()) return std::nullopt;
  return it->second;
}

bool IsCuratedImage(std::string_view image) {
  return image.rfind("aws/codebuild/standard:", 0) == 0 || image.rfind("aws/codebuild/amazonlinux", 0) == 0;
}

std::string PipelineOf(const aws::Principal& principal) {
  constexpr std::string_view kPrefix = "arn:aws:codepipeline:";
  const std::string& arn = principal.source_arn;
  if (arn.rfind(kPrefix, 0) != 0) return "";
  // arn:aws:codepipeline:<region>:<account>:<pipeline>
  size_t region_end = arn.find(':', kPrefix.size());
  size_t account_end = region_end == std::string::npos ? region_end : arn.find(':', region_end + 1);
  return account_end == std::string::npos ? "" : arn.substr(account_end + 1);
}

std::string InitiatorOf(const aws::Principal& principal) {
  if (std::string pipeline = PipelineOf(principal); !pipeline.empty()) return "codepipeline/" + pipeline;
  if (principal.is_root) return "root";
  const std::string& arn = principal.arn;
  if (arn.rfind("arn:", 0) != 0) {
    std::string service = principal.service.empty() ? arn : principal.service;
    size_t dot = service.find('.');
    return dot == std::string::npos ? service : service.substr(0, dot);
  }
  size_t assumed = arn.find(":assumed-role/");
  if (assumed != std::string::npos) return arn.substr(assumed + 14);
  size_t slash = arn.rfind('/');
  return slash == std::string::npos ? arn : arn.substr(slash + 1);
}

std::vector<runtime::EnvVar> CodeBuildVariables(const BuildFacts& f) {
  std::vector<runtime::EnvVar> out;
  auto add = [&](const char* name, const std::string& value) {
    out.push_back({name, value, runtime::EnvVarType::kPlaintext});
  };
  add("CODEBUILD_BUILD_ID", f.build_id);
  add("CODEBUILD_BUILD_ARN", f.build_arn);
  add("CODEBUILD_BUILD_NUMBER", std::to_string(f.build_number));
  add("CODEBUILD_BUILD_IMAGE", f.image);
  add("CODEBUILD_INITIATOR", f.initiator);
  add("CODEBUILD_LOG_PATH", f.log_path);
  add("CODEBUILD_PROJECT_ARN", f.project_arn);
  add("CODEBUILD_SOURCE_REPO_URL", f.source_repo_url);
  add("CODEBUILD_SOURCE_VERSION", f.source_version);
  add("CODEBUILD_START_TIME", std::to_string(f.start_time_ms));
  add("CODEBUILD_KMS_KEY_ID", f.kms_key_id);
  if (!f.batch_build_identifier.empty()) add("CODEBUILD_BATCH_BUILD_IDENTIFIER", f.batch_build_identifier);
  add("AWS_REGION", f.region);
  add("AWS_DEFAULT_REGION", f.region);
  if (!f.home.empty()) add("HOME", f.home);
  if (!f.access_key_id.empty()) {
    // The key id may be shown (it names the session); the secret key and the token are masked.
    add("AWS_ACCESS_KEY_ID", f.access_key_id);
    out.push_back({"AWS_SECRET_ACCESS_KEY", f.secret_access_key, runtime::EnvVarType::kPlaintext, true});
    out.push_back({"AWS_SESSION_TOKEN", f.session_token, runtime::EnvVarType::kPlaintext, true});
  }
  if (!f.endpoint_url.empty()) add("AWS_ENDPOINT_URL", f.endpoint_url);
  return out;
}

std::vector<runtime::EnvVar> ProjectVariables(const aws::Document& variables) {
  std::vector<runtime::EnvVar> out;
  if (!variables.is_array()) return out;
  for (const aws::Document& v : variables) {
    runtime::EnvVar var;
    var.name = v.value("name", "");
    var.value = v.value("value", "");
    std::string type = v.value("type", "PLAINTEXT");
    var.type = type == "PARAMETER_STORE"   ? runtime::EnvVarType::kParameterStore
               : type == "SECRETS_MANAGER" ? runtime::EnvVarType::kSecretsManager
                                           : runtime::EnvVarType::kPlaintext;
    out.push_back(std::move(var));
  }
  return out;
}

std::string SourceRepoUrl(const aws::Document& source) {
  std::string type = source.value("type", "NO_SOURCE");
  std::string location = source.value("location", "");
  if (type == "NO_SOURCE" || type == "CODEPIPELINE") return "";
  if (type == "S3") {
    if (location.rfind("arn:aws:s3:::", 0) == 0) location = location.substr(13);
    return "s3://" + location;
  }
  return location;
}

std::vector<runtime::EnvVar> SecondarySourceVariables(const aws::Document& source, const std::string& version,
                                                      const std::string& dir) {
  std::string identifier = source.value("sourceIdentifier", "");
  return {{"CODEBUILD_SRC_DIR_" + identifier, dir, runtime::EnvVarType::kPlaintext},
          {"CODEBUILD_SOURCE_VERSION_" + identifier, version, runtime::EnvVarType::kPlaintext},
          {"CODEBUILD_SOURCE_REPO_URL_" + identifier, SourceRepoUrl(source), runtime::EnvVarType::kPlaintext}};
}

}  // namespace gantry::services::codebuild
