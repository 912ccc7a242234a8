// Builds: StartBuild (with every override), StopBuild, RetryBuild, BatchGetBuilds, ListBuilds,
// ListBuildsForProject and BatchDeleteBuilds. A build is created SUBMITTED in one transaction with
// its project's build number, its list entries and its place in the queue; the queue runs it.
#include <set>

#include "core/common/strings.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/environment.h"
#include "services/codebuild/handlers.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

using Handler = StatusOr<Document> (*)(const CodeBuildDeps&, aws::RequestContext&, const Document&);

// StartBuild's overrides of the project's source, as (override member, source member).
constexpr std::pair<const char*, const char*> kSourceOverrides[] = {
    {"sourceTypeOverride", "type"},
    {"sourceLocationOverride", "location"},
    {"buildspecOverride", "buildspec"},
    {"gitCloneDepthOverride", "gitCloneDepth"},
    {"gitSubmodulesConfigOverride", "gitSubmodulesConfig"},
    {"insecureSslOverride", "insecureSsl"},
    {"reportBuildStatusOverride", "reportBuildStatus"},
    {"buildStatusConfigOverride", "buildStatusConfig"},
    {"sourceAuthOverride", "auth"},
};
constexpr std::pair<const char*, const char*> kEnvironmentOverrides[] = {
    {"environmentTypeOverride", "type"},
    {"imageOverride", "image"},
    {"computeTypeOverride", "computeType"},
    {"certificateOverride", "certificate"},
    {"privilegedModeOverride", "privilegedMode"},
    {"registryCredentialOverride", "registryCredential"},
    {"imagePullCredentialsTypeOverride", "imagePullCredentialsType"},
    {"fleetOverride", "fleet"},
};
constexpr std::pair<const char*, const char*> kSettingOverrides[] = {
    {"sourceVersion", "sourceVersion"},
    {"secondarySourcesOverride", "secondarySources"},
    {"secondarySourcesVersionOverride", "secondarySourceVersions"},
    {"cacheOverride", "cache"},
    {"timeoutInMinutesOverride", "timeoutInMinutes"},
    {"queuedTimeoutInMinutesOverride", "queuedTimeoutInMinutes"},
    {"encryptionKeyOverride", "encryptionKey"},
    {"autoRetryLimitOverride", "autoRetryLimit"},
};

}  // namespace

StatusOr<Document> EffectiveSettings(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& project,
                                     const Document& input) {
  Document settings = Document::object();
  for (const char* member :
       {"source", "secondarySources", "sourceVersion", "secondarySourceVersions", "artifacts", "secondaryArtifacts",
        "cache", "environment", "serviceRole", "timeoutInMinutes", "queuedTimeoutInMinutes", "logsConfig",
        "encryptionKey", "vpcConfig", "fileSystemLocations", "autoRetryLimit",
        "tags"}) {  // tags: gantry:network (docs/containers.md)
    if (project.contains(member)) settings[member] = project[member];
  }
  Document& source = settings["source"];
  if (input.contains("sourceTypeOverride") && input["sourceTypeOverride"] != source["type"]) {
    // A new source type does not inherit the project's location.
    source.erase("location");
  }
  for (const auto& [from, to] : kSourceOverrides) {
    if (input.contains(from)) source[to] = input[from];
  }
  for (const auto& [from, to] : kEnvironmentOverrides) {
    if (input.contains(from)) settings["environment"][to] = input[from];
  }
  for (const auto& [from, to] : kSettingOverrides) {
    if (input.contains(from)) settings[to] = input[from];
  }
  if (input.contains("environmentVariablesOverride")) {
    GANTRY_RETURN_IF_ERROR(ValidateEnvironmentVariables(input["environmentVariablesOverride"]));
    Document& variables = settings["environment"]["environmentVariables"];
    for (Document v : input["environmentVariablesOverride"]) {
      if (!v.contains("type")) v["type"] = "PLAINTEXT";
      auto same = std::find_if(variables.begin(), variables.end(),
                               [&](const Document& p) { return p.value("name", "") == v.value("name", ""); });
      if (same != variables.end()) {
        *same = v;
      } else {
        variables.push_back(v);
      }
    }
  }
  if (input.contains("artifactsOverride")) {
    settings["artifacts"] = NormalizeArtifacts(input["artifactsOverride"]);
    // CodeBuild ignores the location of CODEPIPELINE artifacts, except from the pipeline itself: the
    // object in its artifact store the action's output goes to (arn:aws:s3:::bucket/key).
    if (settings["artifacts"].value("type", "") == "CODEPIPELINE" && PipelineOf(ctx.principal).empty()) {
      settings["artifacts"].erase("location");
    }
  } else if (settings["artifacts"].value("type", "") == "CODEPIPELINE") {
    return InvalidInput("ArtifactsOverride must be set when using artifacts type CodePipelines");
  }
  if (input.contains("secondaryArtifactsOverride")) {
    Document secondary = Document::array();
    for (const Document& a : input["secondaryArtifactsOverride"]) secondary.push_back(NormalizeArtifacts(a));
    settings["secondaryArtifacts"] = std::move(secondary);
  }
  if (input.contains("logsConfigOverride")) settings["logsConfig"] = NormalizeLogsConfig(input["logsConfigOverride"]);
  if (input.contains("serviceRoleOverride")) {
    GANTRY_ASSIGN_OR_RETURN(std::string role,
                            CheckServiceRole(deps, ctx, input["serviceRoleOverride"].get<std::string>()));
    settings["serviceRole"] = role;
  }
  if (input.contains("debugSessionEnabled")) {
    settings["debugSession"] = {{"sessionEnabled", input["debugSessionEnabled"].get<bool>()}};
  }
  GANTRY_RETURN_IF_ERROR(ValidateSource(source, false));
  for (const Document& s : settings["secondarySources"]) GANTRY_RETURN_IF_ERROR(ValidateSource(s, true));
  GANTRY_RETURN_IF_ERROR(ValidateSourceVersions(settings));
  GANTRY_RETURN_IF_ERROR(ValidateArtifacts(settings["artifacts"], false));
  for (const Document& a : settings["secondaryArtifacts"]) GANTRY_RETURN_IF_ERROR(ValidateArtifacts(a, true));
  GANTRY_RETURN_IF_ERROR(ValidateEnvironment(settings["environment"]));
  GANTRY_RETURN_IF_ERROR(ValidateLogsConfig(settings["logsConfig"]));
  GANTRY_RETURN_IF_ERROR(ValidateProjectCache(settings.value("cache", Document{{"type", "NO_CACHE"}})));
  return settings;
}

namespace {

// The wire BuildArtifacts of one ProjectArtifacts setting, located before the build runs (the
// buildspec may rename it when overrideArtifactName is set).
Document BuildArtifactsOf(const Document& artifacts, const std::string& uuid, const std::string& project) {
  Document out = {{"location", ""}};
  if (artifacts.value("type", "") == "S3") {
    out["location"] = ArtifactObject(artifacts, uuid, project).Arn();
    out["encryptionDisabled"] = artifacts.value("encryptionDisabled", false);
  } else if (artifacts.value("type", "") == "CODEPIPELINE" && artifacts.contains("location")) {
    out["location"] = ParseS3Location(artifacts.value("location", "")).Arn();
  }
  if (artifacts.contains("overrideArtifactName")) out["overrideArtifactName"] = artifacts["overrideArtifactName"];
  if (artifacts.contains("artifactIdentifier")) out["artifactIdentifier"] = artifacts["artifactIdentifier"];
  if (artifacts.contains("bucketOwnerAccess")) out["bucketOwnerAccess"] = artifacts["bucketOwnerAccess"];
  return out;
}

// The build's LogsLocation: the CloudWatch Logs group and stream (uuid, after the configured prefix)
// and the S3 object of the whole log.
Document LogsOf(const Document& logs_config, const std::string& region, const std::string& account,
                const std::string& project, const std::string& uuid) {
  const Document& cloudwatch = logs_config["cloudWatchLogs"];
  const Document& s3 = logs_config["s3Logs"];
  Document logs = {{"cloudWatchLogs", cloudwatch}, {"s3Logs", s3}};
  std::string console = "https://console.aws.amazon.com/cloudwatch/home?region=" + region + "#logEvent:group=";
  if (cloudwatch.value("status", "ENABLED") == "ENABLED") {
    std::string group = cloudwatch.value("groupName", "/aws/codebuild/" + project);
    std::string prefix = cloudwatch.value("streamName", "");
    std::string stream = prefix.empty() ? uuid : prefix + "/" + uuid;
    logs["groupName"] = group;
    logs["streamName"] = stream;
    logs["deepLink"] = console + group + ";stream=" + stream;
    logs["cloudWatchLogsArn"] =
        "arn:aws:logs:" + region + ":" + account + ":log-group:" + group + ":log-stream:" + stream;
  } else {
    logs["deepLink"] = console + "null;stream=null";
  }
  if (s3.value("status", "DISABLED") == "ENABLED") {
    S3Object object = ParseS3Location(s3.value("location", ""));
    object.key = (object.key.empty() ? "" : object.key + "/") + uuid + ".gz";
    logs["s3LogsArn"] = object.Arn();
    logs["s3DeepLink"] =
        "https://s3.console.aws.amazon.com/s3/object/" + object.bucket + "/" + object.key + "?region=" + region;
  }
  return logs;
}

// Creates a build of `project_name` with the settings, queued behind the others. The idempotency
// token, when given, returns the build it made within five minutes for the same request (hash). A
// batch's build (member) carries the batch's ARN and identifier and is recorded by the batch in the
// same transaction.
StatusOr<Document> CreateBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& project_name,
                               Document settings, const std::string& token, const std::string& hash,
                               const BatchMember* member = nullptr) {
  const std::string scope = ctx.Scope();
  TimePoint now = deps.clock->Now();
  std::string uuid = deps.ids->Uuid();
  std::string id = project_name + ":" + uuid;
  Document record;
  std::optional<std::string> duplicate_of;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      GANTRY_ASSIGN_OR_RETURN(duplicate_of, UsedToken(tx, scope, "", token, hash, now));
      if (duplicate_of) return Status::Ok();
    }
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> project_record, tx.Get(kProjectTable, scope, project_name));
    if (!project_record) return ProjectNotFound(ctx.region, ctx.account_id, project_name);
    Document project_doc = project_record->doc;
    const Document& project = project_doc["Project"];

    GANTRY_ASSIGN_OR_RETURN(store::ListPage active, tx.List(kActiveTable, ""));
    int waiting = 0, of_project = 0;
    for (const store::Record& a : active.records) {
      if (!a.doc.value("Running", false)) ++waiting;
      if (a.doc.value("Scope", "") == scope && a.doc.value("Id", "").rfind(project_name + ":", 0) == 0) ++of_project;
    }
    if (waiting >= deps.queue->max_queued()) {
      return Status::ResourceExhausted(
          "Cannot have more than " + std::to_string(deps.queue->max_queued()) + " builds in queue for the account",
          "AccountLimitExceededException");
    }
    if (project.contains("concurrentBuildLimit") && of_project >= project["concurrentBuildLimit"].get<int>()) {
      return Status::ResourceExhausted("Cannot have more than " +
                                           std::to_string(project["concurrentBuildLimit"].get<int>()) +
                                           " active builds for the project " + project_name,
                                       "AccountLimitExceededException");
    }

    int64_t number = project_doc.value("LastBuildNumber", int64_t{0}) + 1;
    project_doc["LastBuildNumber"] = number;
    GANTRY_RETURN_IF_ERROR(tx.Put(kProjectTable, scope, project_name, project_doc).status());
    GANTRY_ASSIGN_OR_RETURN(int64_t seq, tx.NextSequence("codebuild.build"));

    Document secondary = Document::array();
    for (const Document& a : settings["secondaryArtifacts"])
      secondary.push_back(BuildArtifactsOf(a, uuid, project_name));
    Document build = {{"id", id},
                      {"arn", BuildArn(ctx.region, ctx.account_id, id)},
                      {"buildNumber", number},
                      {"startTime", Seconds(now)},
                      {"currentPhase", "SUBMITTED"},
                      {"buildStatus", "IN_PROGRESS"},
                      {"projectName", project_name},
                      {"phases", Document::array({{{"phaseType", "SUBMITTED"}, {"startTime", Seconds(now)}}})},
                      {"source", settings["source"]},
                      {"secondarySources", settings.value("secondarySources", Document::array())},
                      {"secondarySourceVersions", settings.value("secondarySourceVersions", Document::array())},
                      {"artifacts", BuildArtifactsOf(settings["artifacts"], uuid, project_name)},
                      {"secondaryArtifacts", secondary},
                      {"cache", settings.value("cache", Document{{"type", "NO_CACHE"}})},
                      {"environment", settings["environment"]},
                      {"serviceRole", settings["serviceRole"]},
                      {"logs", LogsOf(settings["logsConfig"], ctx.region, ctx.account_id, project_name, uuid)},
                      {"timeoutInMinutes", settings["timeoutInMinutes"]},
                      {"queuedTimeoutInMinutes", settings["queuedTimeoutInMinutes"]},
                      {"buildComplete", false},
                      {"initiator", InitiatorOf(ctx.principal)},
                      {"encryptionKey", settings["encryptionKey"]}};
    if (settings.contains("sourceVersion")) build["sourceVersion"] = settings["sourceVersion"];
    if (member != nullptr) {
      build["buildBatchArn"] = member->batch_arn;
      settings["batchBuildIdentifier"] = member->identifier;
    }
    for (const char* member : {"vpcConfig", "fileSystemLocations", "debugSession"}) {
      if (settings.contains(member)) build[member] = settings[member];
    }
    record = {{"Build", build}, {"Settings", settings},      {"Seq", seq},
              {"Scope", scope}, {"Account", ctx.account_id}, {"Region", ctx.region}};
    GANTRY_RETURN_IF_ERROR(tx.Create(kBuildTable, scope, id, record).status());
    for (const std::string& key : IndexKeys(seq, project_name, number)) {
      GANTRY_RETURN_IF_ERROR(tx.Put(kBuildIndexTable, scope, key, Document{{"id", id}}).status());
    }
    GANTRY_RETURN_IF_ERROR(
        tx.Put(kActiveTable, "", Padded(seq), Document{{"Scope", scope}, {"Id", id}, {"Running", false}}).status());
    if (!token.empty()) GANTRY_RETURN_IF_ERROR(UseToken(tx, scope, "", token, id, hash, now));
    if (member != nullptr && member->in_transaction) GANTRY_RETURN_IF_ERROR(member->in_transaction(tx, record));
    return Status::Ok();
  }));
  if (duplicate_of) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, deps.store->Get(kBuildTable, scope, *duplicate_of));
    if (!existing) return BuildNotFound(*duplicate_of);
    return Document{{"build", existing->doc["Build"]}};
  }
  deps.queue->Announce(std::nullopt, record);
  deps.queue->Wake();
  return Document{{"build", record["Build"]}};
}

StatusOr<Document> StartBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = ProjectNameOf(input["projectName"].get<std::string>());
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> project, deps.store->Get(kProjectTable, ctx.Scope(), name));
  if (!project) return ProjectNotFound(ctx.region, ctx.account_id, name);
  GANTRY_ASSIGN_OR_RETURN(Document settings, EffectiveSettings(deps, ctx, project->doc["Project"], input));
  return CreateBuild(deps, ctx, name, std::move(settings), input.value("idempotencyToken", ""), RequestHash(input));
}

// The build record an id names (a build id or a build ARN), or the error AWS gives.
StatusOr<store::Record> LoadBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& id) {
  std::optional<BuildIdParts> parts = ParseBuildId(id);
  if (!parts) return InvalidBuildId();
  std::string key = parts->project + ":" + parts->uuid;
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kBuildTable, ctx.Scope(), key));
  if (!record) return BuildNotFound(id);
  return std::move(*record);
}

StatusOr<Document> StopBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record found, LoadBuild(deps, ctx, input["id"].get<std::string>()));
  bool stopped_in_queue = false;
  Document before;
  GANTRY_ASSIGN_OR_RETURN(Document record, UpdateBuild(*deps.store, ctx.Scope(), found.key, [&](Document& r) -> Status {
                            before = r;
                            if (IsComplete(r)) return Status::Ok();
                            std::string phase = r["Build"].value("currentPhase", "");
                            if (phase == "SUBMITTED" || phase == "QUEUED") {
                              CompleteBuild(r, runtime::BuildStatus::kStopped, deps.clock->Now());
                              stopped_in_queue = true;
                            } else {
                              r["StopRequested"] = true;
                            }
                            return Status::Ok();
                          }));
  if (stopped_in_queue) {
    deps.queue->Announce(before, record);
    deps.queue->Wake();
  } else if (!IsComplete(record)) {
    deps.queue->StopRunning(found.key);
  }
  return Document{{"build", record["Build"]}};
}

StatusOr<Document> RetryBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (!input.contains("id")) return InvalidBuildId();
  GANTRY_ASSIGN_OR_RETURN(store::Record found, LoadBuild(deps, ctx, input["id"].get<std::string>()));
  std::string project = found.doc["Build"].value("projectName", "");
  // A retried build of a batch is a build of its own, outside the batch.
  Document settings = found.doc["Settings"];
  settings.erase("batchBuildIdentifier");
  return CreateBuild(deps, ctx, project, std::move(settings), input.value("idempotencyToken", ""), RequestHash(input));
}

StatusOr<Document> BatchGetBuilds(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return GetEach(
      input["ids"], [&](const std::string& id) { return LoadBuild(deps, ctx, id); }, "Build", "builds",
      "buildsNotFound");
}

StatusOr<Document> ListIds(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input,
                           const std::string& prefix) {
  return ListIndex(*deps.store, kBuildIndexTable, ctx.Scope(), input, prefix);
}

StatusOr<Document> ListBuilds(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ListIds(deps, ctx, input, "");
}

StatusOr<Document> ListBuildsForProject(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = ProjectNameOf(input["projectName"].get<std::string>());
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> project, deps.store->Get(kProjectTable, ctx.Scope(), name));
  if (!project) return ProjectNotFound(ctx.region, ctx.account_id, name);
  return ListIds(deps, ctx, input, "p/" + name + "/");
}

StatusOr<Document> BatchDeleteBuilds(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Document deleted = Document::array();
  Document not_deleted = Document::array();
  const std::string scope = ctx.Scope();
  for (const Document& id_doc : input["ids"]) {
    std::string id = id_doc.get<std::string>();
    auto found = LoadBuild(deps, ctx, id);
    if (!found.ok()) {
      if (found.status().code() != StatusCode::kNotFound) return found.status();
      not_deleted.push_back({{"id", id}, {"statusCode", "BUILD_NOT_FOUND"}});
      continue;
    }
    std::string status_code;
    GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBuildTable, scope, found->key));
      if (!record) {
        status_code = "BUILD_NOT_FOUND";
        return Status::Ok();
      }
      if (!IsComplete(record->doc)) {
        status_code = "BUILD_IN_PROGRESS";
        return Status::Ok();
      }
      const Document& build = record->doc["Build"];
      for (const std::string& key : IndexKeys(record->doc.value("Seq", int64_t{0}), build.value("projectName", ""),
                                              build.value("buildNumber", int64_t{0}))) {
        GANTRY_RETURN_IF_ERROR(tx.Delete(kBuildIndexTable, scope, key).status());
      }
      return tx.Delete(kBuildTable, scope, found->key).status();
    }));
    if (status_code.empty()) {
      deleted.push_back(id);
    } else {
      not_deleted.push_back({{"id", id}, {"statusCode", status_code}});
    }
  }
  Document out = {{"buildsNotDeleted", not_deleted}};
  if (!deleted.empty()) out["buildsDeleted"] = deleted;
  return out;
}

}  // namespace

StatusOr<Document> CreateBatchBuild(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& project,
                                    Document settings, const BatchMember& member) {
  return CreateBuild(deps, ctx, project, std::move(settings), "", "", &member);
}

void RegisterBuildHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps) {
  const std::pair<const char*, Handler> handlers[] = {
      {"StartBuild", StartBuild},
      {"StopBuild", StopBuild},
      {"RetryBuild", RetryBuild},
      {"BatchGetBuilds", BatchGetBuilds},
      {"ListBuilds", ListBuilds},
      {"ListBuildsForProject", ListBuildsForProject},
      {"BatchDeleteBuilds", BatchDeleteBuilds},
  };
  for (const auto& [name, fn] : handlers) {
    table.Add("codebuild", name,
              [deps, fn = fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  }
}

}  // namespace gantry::services::codebuild
