// Build projects: CreateProject, UpdateProject, DeleteProject, BatchGetProjects, ListProjects,
// InvalidateProjectCache, and the validation of the settings projects and StartBuild's overrides share.
#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "core/common/arn.h"
#include "core/common/strings.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/build_events.h"
#include "services/codebuild/cache_store.h"
#include "services/codebuild/handlers.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

using Handler = StatusOr<Document> (*)(const CodeBuildDeps&, aws::RequestContext&, const Document&);

const std::set<std::string, std::less<>> kRepositoryTypes = {"CODECOMMIT", "GITHUB", "GITHUB_ENTERPRISE",
                                                             "BITBUCKET",  "GITLAB", "GITLAB_SELF_MANAGED"};

bool IsLambdaCompute(std::string_view compute) { return compute.rfind("BUILD_LAMBDA_", 0) == 0; }
bool IsLambdaEnvironment(std::string_view type) {
  return type == "LINUX_LAMBDA_CONTAINER" || type == "ARM_LAMBDA_CONTAINER";
}

// An example of each repository type's clone URL, for the messages of locations Gantry refuses.
std::string_view CloneUrlExample(std::string_view type) {
  if (type == "CODECOMMIT") return "https://git-codecommit.<region>.amazonaws.com/v1/repos/<repository>";
  if (type == "GITHUB") return "https://github.com/<owner>/<repository>.git";
  if (type == "BITBUCKET") return "https://bitbucket.org/<workspace>/<repository>.git";
  if (type == "GITLAB") return "https://gitlab.com/<group>/<repository>.git";
  return "https://<host>/<owner>/<repository>.git";
}

Status CheckIdentifier(const std::string& identifier) {
  static const std::regex kIdentifier("[A-Za-z0-9_]{1,127}");
  if (!std::regex_match(identifier, kIdentifier)) {
    return InvalidInput(
        "Invalid input: identifier must contain only alphanumeric characters and underscores and be less than 128 "
        "characters in length");
  }
  return Status::Ok();
}

// The members of UpdateProject/CreateProject copied as they are.
constexpr const char* kPlainMembers[] = {"description",    "sourceVersion",       "secondarySourceVersions",
                                         "cache",          "encryptionKey",       "tags",
                                         "vpcConfig",      "fileSystemLocations", "buildBatchConfig",
                                         "autoRetryLimit", "timeoutInMinutes",    "queuedTimeoutInMinutes"};

// Applies CreateProject's or UpdateProject's members to the project and validates the result.
StatusOr<Document> ApplyProjectInput(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input,
                                     Document project, bool update) {
  for (const char* member : kPlainMembers) {
    if (input.contains(member)) project[member] = input[member];
  }
  if (input.contains("source")) project["source"] = input["source"];
  if (input.contains("secondarySources")) project["secondarySources"] = input["secondarySources"];
  if (input.contains("artifacts")) project["artifacts"] = NormalizeArtifacts(input["artifacts"]);
  if (input.contains("secondaryArtifacts")) {
    Document secondary = Document::array();
    for (const Document& a : input["secondaryArtifacts"]) secondary.push_back(NormalizeArtifacts(a));
    project["secondaryArtifacts"] = std::move(secondary);
  }
  if (input.contains("environment")) project["environment"] = NormalizeEnvironment(input["environment"]);
  if (input.contains("logsConfig")) project["logsConfig"] = NormalizeLogsConfig(input["logsConfig"]);
  if (input.contains("badgeEnabled")) project["badge"] = {{"badgeEnabled", input["badgeEnabled"].get<bool>()}};
  if (input.contains("concurrentBuildLimit")) {
    int limit = input["concurrentBuildLimit"].get<int>();
    if (limit == -1 && update) {
      project.erase("concurrentBuildLimit");
    } else if (limit < 1) {
      return InvalidInput("Invalid input: concurrentBuildLimit must be at least 1 (or -1 to remove the limit)");
    } else if (limit > deps.queue->concurrent_builds()) {
      return InvalidInput(
          "Project-level concurrent build limit cannot exceed the account-level concurrent build limit of " +
          std::to_string(deps.queue->concurrent_builds()) + ".");
    } else {
      project["concurrentBuildLimit"] = limit;
    }
  }
  if (input.contains("serviceRole")) {
    GANTRY_ASSIGN_OR_RETURN(std::string role, CheckServiceRole(deps, ctx, input["serviceRole"].get<std::string>()));
    project["serviceRole"] = role;
  }
  if (input.contains("buildBatchConfig")) {
    // An empty configuration turns batch builds off.
    if (input["buildBatchConfig"].empty()) {
      project.erase("buildBatchConfig");
    } else {
      GANTRY_ASSIGN_OR_RETURN(project["buildBatchConfig"], CheckBuildBatchConfig(deps, ctx, input["buildBatchConfig"]));
    }
  }

  GANTRY_RETURN_IF_ERROR(ValidateSource(project["source"], false));
  GANTRY_RETURN_IF_ERROR(ValidateSourceVersions(project));
  std::set<std::string> identifiers;
  for (const Document& s : project["secondarySources"]) {
    GANTRY_RETURN_IF_ERROR(ValidateSource(s, true));
    if (!identifiers.insert(s.value("sourceIdentifier", "")).second) {
      return InvalidInput("Invalid input: duplicate sourceIdentifier " + s.value("sourceIdentifier", ""));
    }
  }
  GANTRY_RETURN_IF_ERROR(ValidateArtifacts(project["artifacts"], false));
  identifiers.clear();
  for (const Document& a : project["secondaryArtifacts"]) {
    GANTRY_RETURN_IF_ERROR(ValidateArtifacts(a, true));
    if (!identifiers.insert(a.value("artifactIdentifier", "")).second) {
      return InvalidInput("Invalid input: duplicate artifactIdentifier " + a.value("artifactIdentifier", ""));
    }
  }
  GANTRY_RETURN_IF_ERROR(ValidatePipelinePairing(project["source"], project["artifacts"]));
  GANTRY_RETURN_IF_ERROR(ValidateEnvironment(project["environment"]));
  GANTRY_RETURN_IF_ERROR(ValidateLogsConfig(project["logsConfig"]));
  GANTRY_RETURN_IF_ERROR(ValidateProjectCache(project["cache"]));
  project["lastModified"] = Seconds(deps.clock->Now());
  return project;
}

StatusOr<Document> CreateProject(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["name"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, deps.store->Get(kProjectTable, scope, name));
  if (existing) {
    return Status::AlreadyExists("Project already exists: " + ProjectArn(ctx.region, ctx.account_id, name),
                                 "ResourceAlreadyExistsException");
  }
  double now = Seconds(deps.clock->Now());
  Document project = {{"name", name},
                      {"arn", ProjectArn(ctx.region, ctx.account_id, name)},
                      {"secondarySources", Document::array()},
                      {"secondarySourceVersions", Document::array()},
                      {"secondaryArtifacts", Document::array()},
                      {"cache", {{"type", "NO_CACHE"}}},
                      {"timeoutInMinutes", kDefaultTimeoutMinutes},
                      {"queuedTimeoutInMinutes", kDefaultQueuedTimeoutMinutes},
                      {"encryptionKey", DefaultEncryptionKey(ctx.region, ctx.account_id)},
                      {"tags", Document::array()},
                      {"created", now},
                      {"badge", {{"badgeEnabled", false}}},
                      {"logsConfig", NormalizeLogsConfig(Document::object())},
                      {"projectVisibility", "PRIVATE"}};
  GANTRY_ASSIGN_OR_RETURN(project, ApplyProjectInput(deps, ctx, input, std::move(project), false));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(int64_t count, tx.Count(kProjectTable, scope));
    if (count >= kMaxProjects) {
      return Status::ResourceExhausted(
          "Cannot have more than " + std::to_string(kMaxProjects) + " projects for the account",
          "AccountLimitExceededException");
    }
    auto created = tx.Create(kProjectTable, scope, name, Document{{"Project", project}, {"LastBuildNumber", 0}});
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("Project already exists: " + ProjectArn(ctx.region, ctx.account_id, name),
                                   "ResourceAlreadyExistsException");
    }
    return created.status();
  }));
  return Document{{"project", project}};
}

StatusOr<Document> UpdateProject(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = ProjectNameOf(input["name"].get<std::string>());
  std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, deps.store->Get(kProjectTable, scope, name));
  if (!existing) return ProjectNotFound(ctx.region, ctx.account_id, name);
  GANTRY_ASSIGN_OR_RETURN(Document project, ApplyProjectInput(deps, ctx, input, existing->doc["Project"], true));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kProjectTable, scope, name));
    if (!current) return ProjectNotFound(ctx.region, ctx.account_id, name);
    Document record = current->doc;
    record["Project"] = project;
    return tx.Put(kProjectTable, scope, name, record).status();
  }));
  return Document{{"project", project}};
}

StatusOr<Document> DeleteProject(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = ProjectNameOf(input["name"].get<std::string>());
  GANTRY_RETURN_IF_ERROR(deps.store->Delete(kProjectTable, ctx.Scope(), name).status());
  return Document::object();
}

StatusOr<Document> BatchGetProjects(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Document projects = Document::array();
  Document not_found = Document::array();
  for (const Document& n : input["names"]) {
    std::string requested = n.get<std::string>();
    std::string name = ProjectNameOf(requested);
    bool arn_matches = requested.rfind("arn:", 0) != 0 || requested == ProjectArn(ctx.region, ctx.account_id, name);
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kProjectTable, ctx.Scope(), name));
    if (record && arn_matches) {
      projects.push_back(record->doc["Project"]);
    } else {
      not_found.push_back(requested);
    }
  }
  return Document{{"projects", projects}, {"projectsNotFound", not_found}};
}

StatusOr<Document> ListProjects(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string sort_by = input.value("sortBy", "NAME");
  bool descending = input.value("sortOrder", "ASCENDING") == "DESCENDING";
  GANTRY_ASSIGN_OR_RETURN(std::string after, KeyAfter(input));
  std::vector<std::pair<std::string, std::string>> keyed;  // sort key, name
  store::ListOptions options;
  options.limit = 1000;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kProjectTable, ctx.Scope(), options));
    for (const store::Record& r : page.records) {
      const Document& p = r.doc["Project"];
      std::string key = r.key;
      if (sort_by == "CREATED_TIME") {
        key = Padded(ToEpochMillis(FromSeconds(p["created"]))) + "/" + r.key;
      } else if (sort_by == "LAST_MODIFIED_TIME") {
        key = Padded(ToEpochMillis(FromSeconds(p["lastModified"]))) + "/" + r.key;
      }
      keyed.emplace_back(std::move(key), r.key);
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  std::sort(keyed.begin(), keyed.end());
  if (descending) std::reverse(keyed.begin(), keyed.end());
  Document names = Document::array();
  Document out = Document::object();
  for (const auto& [key, name] : keyed) {
    if (!after.empty() && (descending ? key >= after : key <= after)) continue;
    if (names.size() == static_cast<size_t>(kPageSize)) {
      out["nextToken"] = TokenAfter(after);
      break;
    }
    names.push_back(name);
    after = key;
  }
  out["projects"] = names;
  return out;
}

// Resets the project's cache: its LOCAL entries are deleted, and every entry (S3 or LOCAL, the
// ones shared through a cacheNamespace included) stored up to now is ignored by its later builds.
StatusOr<Document> InvalidateProjectCache(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = ProjectNameOf(input["projectName"].get<std::string>());
  std::string scope = ctx.Scope();
  double now = Seconds(deps.clock->Now());
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kProjectTable, scope, name));
    if (!current) return ProjectNotFound(ctx.region, ctx.account_id, name);
    Document record = current->doc;
    record["CacheInvalidatedAt"] = now;
    return tx.Put(kProjectTable, scope, name, record).status();
  }));
  const BuildQueueOptions& options = deps.queue->options();
  if (options.state_dir.empty()) return Document::object();  // no LOCAL caches without a state directory
  std::string dir = LocalCacheRoot(options.state_dir, ctx.account_id, ctx.region) + "/" + CacheScopeDir(name, "");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::Internal("cannot delete the local cache " + dir + ": " + ec.message());
  return Document::object();
}

}  // namespace

Document NormalizeArtifacts(Document artifacts) {
  if (artifacts.value("type", "") == "S3") {
    if (!artifacts.contains("packaging")) artifacts["packaging"] = "NONE";
    if (!artifacts.contains("namespaceType")) artifacts["namespaceType"] = "NONE";
    if (!artifacts.contains("encryptionDisabled")) artifacts["encryptionDisabled"] = false;
  }
  return artifacts;
}

Document NormalizeLogsConfig(const Document& logs) {
  Document out = logs.is_object() ? logs : Document::object();
  if (!out.contains("cloudWatchLogs")) out["cloudWatchLogs"] = {{"status", "ENABLED"}};
  if (!out.contains("s3Logs")) out["s3Logs"] = {{"status", "DISABLED"}};
  if (!out["s3Logs"].contains("encryptionDisabled")) out["s3Logs"]["encryptionDisabled"] = false;
  return out;
}

Document NormalizeEnvironment(Document environment) {
  if (!environment.contains("environmentVariables")) environment["environmentVariables"] = Document::array();
  for (Document& v : environment["environmentVariables"]) {
    if (!v.contains("type")) v["type"] = "PLAINTEXT";
  }
  if (!environment.contains("privilegedMode")) environment["privilegedMode"] = false;
  if (!environment.contains("imagePullCredentialsType")) environment["imagePullCredentialsType"] = "CODEBUILD";
  return environment;
}

Status ValidateSource(const Document& source, bool secondary) {
  std::string type = source.value("type", "");
  std::string location = source.value("location", "");
  if (secondary) {
    if (!source.contains("sourceIdentifier")) {
      return InvalidInput("Invalid input: secondary sources must have a sourceIdentifier");
    }
    GANTRY_RETURN_IF_ERROR(CheckIdentifier(source.value("sourceIdentifier", "")));
    if (type == "NO_SOURCE" || type == "CODEPIPELINE") {
      return InvalidInput("Invalid input: secondary sources cannot be of type " + type);
    }
  }
  if (type == "NO_SOURCE") {
    if (source.value("buildspec", "").empty()) {
      return InvalidInput("Invalid input: buildspec must be specified for a NO_SOURCE source type");
    }
    return Status::Ok();
  }
  if (type == "S3" || kRepositoryTypes.count(type)) {
    if (location.empty()) return InvalidInput("Project source location is required");
  }
  // Gantry clones repositories itself: only a clone URL over HTTP(S), never a path or file:// URL
  // on Gantry's host (which would read any repository there, CodeCommit's included, around the
  // role's permissions) nor another transport.
  if (kRepositoryTypes.count(type) && !IsCloneUrl(location)) {
    return InvalidInput("Invalid source location: " + location + ". The location of a " + type +
                        " source is the repository's HTTPS clone URL, for example " +
                        std::string(CloneUrlExample(type)) + ".");
  }
  if (type == "S3") {
    S3Object object = ParseS3Location(location);
    if (object.bucket.empty() || object.key.empty()) {
      return InvalidInput("Invalid source location: " + location +
                          ". An S3 source is <bucket>/<key> of a ZIP file or <bucket>/<prefix>/ of a folder.");
    }
  }
  if (source.value("reportBuildStatus", false) && (type == "S3" || type == "CODECOMMIT" || type == "NO_SOURCE")) {
    return InvalidInput("Invalid input: reportBuildStatus is not supported for source type " + type);
  }
  return Status::Ok();
}

bool IsCloneUrl(std::string_view location) {
  std::string scheme = ToLower(location.substr(0, location.find("://")));
  if ((scheme != "https" && scheme != "http") || location.size() <= scheme.size() + 3) return false;
  for (char c : location) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  std::string_view authority = location.substr(scheme.size() + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return !authority.empty() && authority.front() != ':';
}

Status ValidateSourceVersion(std::string_view source_type, std::string_view version) {
  if (!kRepositoryTypes.count(source_type) || version.empty()) return Status::Ok();
  bool control = std::any_of(version.begin(), version.end(),
                             [](char c) { return static_cast<unsigned char>(c) < ' ' || c == 0x7f; });
  if (version.front() == '-' || control) {
    return InvalidInput("Invalid source version: " + std::string(version) + ". The source version of a " +
                        std::string(source_type) +
                        " source is a branch, tag, commit ID or pull request (pr/<number>), which cannot start "
                        "with '-'.");
  }
  return Status::Ok();
}

Status ValidateSourceVersions(const Document& settings) {
  GANTRY_RETURN_IF_ERROR(ValidateSourceVersion(settings.value("source", Document::object()).value("type", ""),
                                               settings.value("sourceVersion", "")));
  for (const Document& version : settings.value("secondarySourceVersions", Document::array())) {
    std::string identifier = version.value("sourceIdentifier", "");
    for (const Document& source : settings.value("secondarySources", Document::array())) {
      if (source.value("sourceIdentifier", "") != identifier) continue;
      GANTRY_RETURN_IF_ERROR(ValidateSourceVersion(source.value("type", ""), version.value("sourceVersion", "")));
    }
  }
  return Status::Ok();
}

Status ValidateArtifacts(const Document& artifacts, bool secondary) {
  std::string type = artifacts.value("type", "");
  if (secondary) {
    if (type == "CODEPIPELINE")
      return InvalidInput("Invalid input: CODEPIPELINE is not supported for secondaryArtifacts");
    if (!artifacts.contains("artifactIdentifier")) {
      return InvalidInput("Invalid input: secondary artifacts must have an artifactIdentifier");
    }
    GANTRY_RETURN_IF_ERROR(CheckIdentifier(artifacts.value("artifactIdentifier", "")));
  }
  if (type == "NO_ARTIFACTS" && artifacts.contains("location")) {
    return InvalidInput("Invalid artifacts: artifact type NO_ARTIFACTS should have null location");
  }
  if (type == "S3" && ParseS3Location(artifacts.value("location", "")).bucket.empty()) {
    return InvalidInput("Invalid artifacts: artifact type S3 requires a location (the output bucket)");
  }
  if (type != "S3" && artifacts.value("encryptionDisabled", false)) {
    return InvalidInput("Invalid input: encryptionDisabled is only valid for artifact type S3");
  }
  return Status::Ok();
}

Status ValidatePipelinePairing(const Document& source, const Document& artifacts) {
  bool pipeline_source = source.value("type", "") == "CODEPIPELINE";
  bool pipeline_artifacts = artifacts.value("type", "") == "CODEPIPELINE";
  if (pipeline_source != pipeline_artifacts) {
    return InvalidInput(
        "Invalid input: when using CodePipeline both sourceType, and artifactType must be set to: CODEPIPELINE");
  }
  return Status::Ok();
}

Status ValidateEnvironmentVariables(const Document& variables) {
  for (const Document& v : variables) {
    std::string name = v.value("name", "");
    if (name.rfind("CODEBUILD_", 0) == 0) {
      return InvalidInput("Invalid environment variable name: " + name +
                          ". Environment variable names cannot start with CODEBUILD_.");
    }
  }
  return Status::Ok();
}

Status ValidateEnvironment(const Document& environment) {
  std::string type = environment.value("type", "");
  std::string compute = environment.value("computeType", "");
  if (IsLambdaCompute(compute) != IsLambdaEnvironment(type)) {
    return InvalidInput("Invalid input: compute type " + compute + " cannot be used with environment type " + type +
                        "; BUILD_LAMBDA_* compute types go with LINUX_LAMBDA_CONTAINER and ARM_LAMBDA_CONTAINER only");
  }
  if ((compute == "ATTRIBUTE_BASED_COMPUTE" || compute == "CUSTOM_INSTANCE_TYPE") &&
      !environment.contains("computeConfiguration")) {
    return InvalidInput("Invalid input: computeConfiguration must be specified for compute type " + compute);
  }
  return ValidateEnvironmentVariables(environment.value("environmentVariables", Document::array()));
}

Status ValidateProjectCache(const Document& cache) {
  std::string type = cache.value("type", "");
  std::string location = cache.value("location", "");
  bool has_modes = !cache.value("modes", Document::array()).empty();
  if (type == "S3") {
    if (location.empty()) return InvalidInput("Invalid input: cache location is required when cache type is S3");
    S3Object object = ParseS3Location(location);
    if (object.bucket.empty() || location.front() == '/') {
      return InvalidInput("Invalid cache location: " + location +
                          ". The location of an S3 cache is <bucket> or <bucket>/<prefix>.");
    }
  }
  if (type == "LOCAL" && !has_modes) {
    return InvalidInput("Invalid input: at least one cache mode is required when cache type is LOCAL");
  }
  if (type != "LOCAL" && has_modes) {
    return InvalidInput("Invalid input: cache modes are only valid when cache type is LOCAL");
  }
  return Status::Ok();
}

Status ValidateLogsConfig(const Document& logs) {
  const Document& s3 = logs.value("s3Logs", Document::object());
  if (s3.value("status", "") == "ENABLED" && ParseS3Location(s3.value("location", "")).bucket.empty()) {
    return InvalidInput("Invalid input: s3Logs location must be specified when s3Logs status is ENABLED");
  }
  return Status::Ok();
}

StatusOr<std::string> CheckServiceRole(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& role) {
  std::string arn = role;
  if (role.rfind("arn:", 0) != 0) {
    auto found =
        deps.client->Call(ServicePrincipal(ctx.account_id), "iam", "GetRole", Document{{"RoleName", role}}, ctx.region);
    if (!found.ok()) return InvalidInput("Invalid service role: no role named " + role + " in this account");
    arn = (*found)["Role"].value("Arn", "");
  }
  std::optional<Arn> parsed = Arn::Parse(arn);
  if (!parsed || parsed->service != "iam" || parsed->resource.rfind("role/", 0) != 0) {
    return InvalidInput("Invalid service role: " + arn + " is not an IAM role ARN");
  }
  if (parsed->account != ctx.account_id) {
    return InvalidInput("Invalid service role: Service role account ID does not match caller's account");
  }
  GANTRY_RETURN_IF_ERROR(ctx.Authorize("iam:PassRole", arn));
  Document assume = {{"RoleArn", arn}, {"RoleSessionName", "AWSCodeBuild-validation"}, {"DurationSeconds", 900}};
  auto assumed = deps.client->Call(ServicePrincipal(ctx.account_id), "sts", "AssumeRole", assume, ctx.region);
  if (!assumed.ok()) {
    // STS denies roles that do not trust CodeBuild and roles that do not exist alike; anything else
    // is STS's own error, passed on.
    if (assumed.status().code() != StatusCode::kPermissionDenied) return assumed.status();
    return InvalidInput("CodeBuild is not authorized to perform: sts:AssumeRole on " + arn);
  }
  return arn;
}

void RegisterProjectHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps) {
  const std::pair<const char*, Handler> handlers[] = {
      {"CreateProject", CreateProject},       {"UpdateProject", UpdateProject}, {"DeleteProject", DeleteProject},
      {"BatchGetProjects", BatchGetProjects}, {"ListProjects", ListProjects},
      {"InvalidateProjectCache", InvalidateProjectCache},
  };
  for (const auto& [name, fn] : handlers) {
    table.Add("codebuild", name,
              [deps, fn = fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  }
}

}  // namespace gantry::services::codebuild
