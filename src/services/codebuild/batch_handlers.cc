// Batch builds: StartBuildBatch (with StartBuild's overrides and buildBatchConfigOverride),
// StopBuildBatch, RetryBuildBatch, BatchGetBuildBatches, ListBuildBatches,
// ListBuildBatchesForProject and DeleteBuildBatch, and the check of a project's buildBatchConfig. A
// batch is created SUBMITTED in one transaction with its number, list entries and place among the
// batches in flight; the batch runner (batch_runner.h) takes it from there.
#include "core/common/strings.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/batch_records.h"
#include "services/codebuild/batch_runner.h"
#include "services/codebuild/build_events.h"
#include "services/codebuild/environment.h"
#include "services/codebuild/handlers.h"
#include "services/codebuild/records.h"

namespace gantry::services::codebuild {

namespace {

using Handler = StatusOr<Document> (*)(const CodeBuildDeps&, aws::RequestContext&, const Document&);

// Batch tokens share codebuild.idempotency with StartBuild's.
const std::string kBatchTokenPrefix = "batch/";

// StartBuild's names for the overrides StartBuildBatch names its own way.
Document AsStartBuildInput(const Document& input) {
  Document out = input;
  for (const char* member : {"buildBatchConfigOverride", "idempotencyToken", "projectName"}) out.erase(member);
  if (out.contains("buildTimeoutInMinutesOverride")) {
    out["timeoutInMinutesOverride"] = out["buildTimeoutInMinutesOverride"];
    out.erase("buildTimeoutInMinutesOverride");
  }
  if (out.contains("reportBuildBatchStatusOverride")) {
    out["reportBuildStatusOverride"] = out["reportBuildBatchStatusOverride"];
    out.erase("reportBuildBatchStatusOverride");
  }
  return out;
}

Document BuildArtifactsOf(const Document& artifacts) {
  Document out = {{"location", ""}};
  if (artifacts.value("type", "") == "S3" || artifacts.contains("location")) {
    out["location"] = ParseS3Location(artifacts.value("location", "")).Arn();
  }
  if (artifacts.contains("artifactIdentifier")) out["artifactIdentifier"] = artifacts["artifactIdentifier"];
  return out;
}

StatusOr<store::Record> LoadBatch(const CodeBuildDeps& deps, aws::RequestContext& ctx, const std::string& id) {
  std::optional<std::string> key = ParseBatchId(id);
  if (!key) return InvalidInput("Invalid build batch ID provided: " + id);
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kBatchTable, ctx.Scope(), *key));
  if (!record) return BatchNotFound(id);
  return std::move(*record);
}

void Wake(const CodeBuildDeps& deps) {
  if (deps.batches != nullptr) deps.batches->Wake();
}

StatusOr<Document> StartBuildBatch(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  std::string name = ProjectNameOf(input["projectName"].get<std::string>());
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> found, deps.store->Get(kProjectTable, scope, name));
  if (!found) return ProjectNotFound(ctx.region, ctx.account_id, name);
  const Document& project = found->doc["Project"];
  Document config = project.value("buildBatchConfig", Document::object());
  if (input.contains("buildBatchConfigOverride")) {
    GANTRY_ASSIGN_OR_RETURN(Document override_config,
                            CheckBuildBatchConfig(deps, ctx, input["buildBatchConfigOverride"]));
    for (const auto& [k, v] : override_config.items()) config[k] = v;
  }
  if (!config.contains("serviceRole")) {
    return InvalidInput("Batch build is not enabled for project " + name +
                        ": the project has no buildBatchConfig with a serviceRole (set one with UpdateProject, or "
                        "pass buildBatchConfigOverride)");
  }
  GANTRY_ASSIGN_OR_RETURN(Document settings, EffectiveSettings(deps, ctx, project, AsStartBuildInput(input)));
  std::string token = input.value("idempotencyToken", "");
  std::string hash = RequestHash(input);
  TimePoint now = deps.clock->Now();
  std::string uuid = deps.ids->Uuid();
  std::string id = name + ":" + uuid;
  Document record;
  std::optional<std::string> duplicate_of;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      GANTRY_ASSIGN_OR_RETURN(duplicate_of, UsedToken(tx, scope, kBatchTokenPrefix, token, hash, now));
      if (duplicate_of) return Status::Ok();
    }
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> project_record, tx.Get(kProjectTable, scope, name));
    if (!project_record) return ProjectNotFound(ctx.region, ctx.account_id, name);
    Document project_doc = project_record->doc;
    int64_t number = project_doc.value("LastBuildBatchNumber", int64_t{0}) + 1;
    project_doc["LastBuildBatchNumber"] = number;
    GANTRY_RETURN_IF_ERROR(tx.Put(kProjectTable, scope, name, project_doc).status());
    GANTRY_ASSIGN_OR_RETURN(int64_t seq, tx.NextSequence("codebuild.batch"));
    Document secondary = Document::array();
    for (const Document& a : settings["secondaryArtifacts"]) secondary.push_back(BuildArtifactsOf(a));
    Document batch = {{"id", id},
                      {"arn", BatchArn(ctx.region, ctx.account_id, id)},
                      {"startTime", Seconds(now)},
                      {"currentPhase", "SUBMITTED"},
                      {"buildBatchStatus", "IN_PROGRESS"},
                      {"projectName", name},
                      {"phases", Document::array({{{"phaseType", "SUBMITTED"}, {"startTime", Seconds(now)}}})},
                      {"source", settings["source"]},
                      {"secondarySources", settings.value("secondarySources", Document::array())},
                      {"secondarySourceVersions", settings.value("secondarySourceVersions", Document::array())},
                      {"artifacts", BuildArtifactsOf(settings["artifacts"])},
                      {"secondaryArtifacts", secondary},
                      {"cache", settings.value("cache", Document{{"type", "NO_CACHE"}})},
                      {"environment", settings["environment"]},
                      {"serviceRole", settings["serviceRole"]},
                      {"logConfig", settings["logsConfig"]},
                      {"buildTimeoutInMinutes", settings["timeoutInMinutes"]},
                      {"queuedTimeoutInMinutes", settings["queuedTimeoutInMinutes"]},
                      {"complete", false},
                      {"initiator", InitiatorOf(ctx.principal)},
                      {"encryptionKey", settings["encryptionKey"]},
                      {"buildBatchNumber", number},
                      {"buildBatchConfig", config},
                      {"buildGroups", Document::array()}};
    if (settings.contains("sourceVersion")) batch["sourceVersion"] = settings["sourceVersion"];
    if (input.contains("debugSessionEnabled")) batch["debugSessionEnabled"] = input["debugSessionEnabled"];
    for (const char* member : {"vpcConfig", "fileSystemLocations"}) {
      if (settings.contains(member)) batch[member] = settings[member];
    }
    record = {{"Batch", batch},  {"Settings", settings},        {"Principal", PrincipalDocument(ctx.principal)},
              {"Seq", seq},      {"Scope", scope},              {"Account", ctx.account_id},
              {"Region", ctx.region}, {"RunStart", Seconds(now)}};
    GANTRY_RETURN_IF_ERROR(tx.Create(kBatchTable, scope, id, record).status());
    for (const std::string& key : IndexKeys(seq, name, number)) {
      GANTRY_RETURN_IF_ERROR(tx.Put(kBatchIndexTable, scope, key, Document{{"id", id}}).status());
    }
    GANTRY_RETURN_IF_ERROR(
        tx.Put(kBatchActiveTable, "", Padded(seq), Document{{"Scope", scope}, {"Id", id}}).status());
    if (!token.empty()) GANTRY_RETURN_IF_ERROR(UseToken(tx, scope, kBatchTokenPrefix, token, id, hash, now));
    return Status::Ok();
  }));
  if (duplicate_of) {
    GANTRY_ASSIGN_OR_RETURN(store::Record existing, LoadBatch(deps, ctx, *duplicate_of));
    return Document{{"buildBatch", existing.doc["Batch"]}};
  }
  Wake(deps);
  return Document{{"buildBatch", record["Batch"]}};
}

StatusOr<Document> StopBuildBatch(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record found, LoadBatch(deps, ctx, input["id"].get<std::string>()));
  GANTRY_ASSIGN_OR_RETURN(Document record, UpdateBatch(*deps.store, ctx.Scope(), found.key, [&](Document& r) -> Status {
                            if (!IsBatchComplete(r)) r["StopRequested"] = true;
                            return Status::Ok();
                          }));
  Wake(deps);
  return Document{{"buildBatch", record["Batch"]}};
}

StatusOr<Document> RetryBuildBatch(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (!input.contains("id")) return InvalidInput("Invalid build batch ID provided: an id is required");
  GANTRY_ASSIGN_OR_RETURN(store::Record found, LoadBatch(deps, ctx, input["id"].get<std::string>()));
  const std::string scope = ctx.Scope();
  std::string token = input.value("idempotencyToken", "");
  std::string hash = RequestHash(input);
  bool all = input.value("retryType", "RETRY_ALL_BUILDS") == "RETRY_ALL_BUILDS";
  TimePoint now = deps.clock->Now();
  Document record;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<std::string> used, UsedToken(tx, scope, kBatchTokenPrefix, token, hash, now));
      if (used) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kBatchTable, scope, found.key));
        if (!current) return BatchNotFound(found.key);
        record = current->doc;
        return Status::Ok();
      }
    }
    GANTRY_ASSIGN_OR_RETURN(record, UpdateBatchIn(tx, scope, found.key, [&](Document& r) -> Status {
                              Document& batch = r["Batch"];
                              if (!IsBatchComplete(r) || batch.value("buildBatchStatus", "") == "SUCCEEDED") {
                                return InvalidInput("Build batch " + found.key +
                                                    " cannot be retried: only batch builds that have failed, "
                                                    "stopped or timed out can be retried (its status is " +
                                                    batch.value("buildBatchStatus", "") + ")");
                              }
                              Document& phases = batch["phases"];
                              phases.erase(phases.end() - 1);  // the final phase
                              batch["complete"] = false;
                              batch["buildBatchStatus"] = "IN_PROGRESS";
                              batch.erase("endTime");
                              for (const char* member : {"StopRequested", "FastFailed", "TimedOut", "Skipped"}) {
                                r.erase(member);
                              }
                              r["RunStart"] = Seconds(now);  // the timeout counts from the retry
                              if (!r.contains("Groups")) {
                                BeginBatchPhase(r, "DOWNLOAD_BATCHSPEC", now);
                                return Status::Ok();
                              }
                              for (Document& w : batch["buildGroups"]) {
                                if (!w.contains("currentBuildSummary")) continue;
                                const Document& summary = w["currentBuildSummary"];
                                if (!all && summary.value("buildStatus", "") == "SUCCEEDED") continue;
                                w["priorBuildSummaryList"].push_back(summary);
                                w.erase("currentBuildSummary");
                              }
                              BeginBatchPhase(r, "IN_PROGRESS", now);
                              return Status::Ok();
                            }));
    if (!token.empty()) GANTRY_RETURN_IF_ERROR(UseToken(tx, scope, kBatchTokenPrefix, token, found.key, hash, now));
    return Status::Ok();
  }));
  Wake(deps);
  return Document{{"buildBatch", record["Batch"]}};
}

StatusOr<Document> BatchGetBuildBatches(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return GetEach(
      input["ids"], [&](const std::string& id) { return LoadBatch(deps, ctx, id); }, "Batch", "buildBatches",
      "buildBatchesNotFound");
}

// ListBuildBatches(ForProject), with the filter on the batch's status.
StatusOr<Document> ListIds(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input,
                           const std::string& prefix) {
  std::string status = input.value("filter", Document::object()).value("status", "");
  const std::string scope = ctx.Scope();
  std::function<StatusOr<bool>(const std::string&)> keep;
  if (!status.empty()) {
    keep = [&](const std::string& id) -> StatusOr<bool> {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> batch, deps.store->Get(kBatchTable, scope, id));
      return batch && batch->doc["Batch"].value("buildBatchStatus", "") == status;
    };
  }
  return ListIndex(*deps.store, kBatchIndexTable, scope, input, prefix, keep);
}

StatusOr<Document> ListBuildBatches(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return ListIds(deps, ctx, input, "");
}

StatusOr<Document> ListBuildBatchesForProject(const CodeBuildDeps& deps, aws::RequestContext& ctx,
                                              const Document& input) {
  if (!input.contains("projectName")) return InvalidInput("Invalid input: projectName is required");
  std::string name = ProjectNameOf(input["projectName"].get<std::string>());
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> project, deps.store->Get(kProjectTable, ctx.Scope(), name));
  if (!project) return ProjectNotFound(ctx.region, ctx.account_id, name);
  return ListIds(deps, ctx, input, "p/" + name + "/");
}

// The batch goes first, in a transaction that finds it complete (so that no RetryBuildBatch runs it
// again meanwhile), then the builds of all its groups, current and prior. AWS lists only
// InvalidInputException for this operation: a batch that does not exist is one.
StatusOr<Document> DeleteBuildBatch(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string given = input["id"].get<std::string>();
  std::optional<std::string> key = ParseBatchId(given);
  if (!key) return InvalidInput("Invalid build batch ID provided: " + given);
  const std::string scope = ctx.Scope();
  Document batch;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBatchTable, scope, *key));
    if (!record) return InvalidInput("Build batch cannot be found: " + given);
    if (!IsBatchComplete(record->doc)) {
      return InvalidInput("Build batch " + *key + " is in progress: stop it (StopBuildBatch) before deleting it");
    }
    batch = record->doc["Batch"];
    for (const std::string& index : IndexKeys(record->doc.value("Seq", int64_t{0}), batch.value("projectName", ""),
                                              batch.value("buildBatchNumber", int64_t{0}))) {
      GANTRY_RETURN_IF_ERROR(tx.Delete(kBatchIndexTable, scope, index).status());
    }
    return tx.Delete(kBatchTable, scope, *key).status();
  }));
  Document arns = Document::array();
  for (const Document& w : batch["buildGroups"]) {
    for (const Document& s : w.value("priorBuildSummaryList", Document::array())) arns.push_back(s.value("arn", ""));
    if (w.contains("currentBuildSummary")) arns.push_back(w["currentBuildSummary"].value("arn", ""));
  }
  // As AWS shows them: the builds by ARN.
  Document out = {{"statusCode", "BATCH_DELETED"}, {"buildsDeleted", Document::array()},
                  {"buildsNotDeleted", Document::array()}};
  if (!arns.empty()) {
    auto deleted = deps.client->Call(ServicePrincipal(ctx.account_id), "codebuild", "BatchDeleteBuilds",
                                     {{"ids", arns}}, ctx.region);
    if (deleted.ok()) {
      out["buildsDeleted"] = deleted->value("buildsDeleted", Document::array());
      out["buildsNotDeleted"] = deleted->value("buildsNotDeleted", Document::array());
    } else {
      for (const Document& arn : arns) {
        out["buildsNotDeleted"].push_back({{"id", arn}, {"statusCode", deleted.status().aws_code()}});
      }
    }
  }
  return out;
}

}  // namespace

StatusOr<Document> CheckBuildBatchConfig(const CodeBuildDeps& deps, aws::RequestContext& ctx, const Document& config) {
  Document out = config;
  if (config.contains("serviceRole")) {
    GANTRY_ASSIGN_OR_RETURN(std::string role, CheckServiceRole(deps, ctx, config["serviceRole"].get<std::string>()));
    out["serviceRole"] = role;
  }
  const Document& restrictions = config.value("restrictions", Document::object());
  if (restrictions.contains("maximumBuildsAllowed") && restrictions["maximumBuildsAllowed"].get<int>() < 1) {
    return InvalidInput("Invalid input: buildBatchConfig.restrictions.maximumBuildsAllowed must be at least 1");
  }
  if (config.contains("timeoutInMins")) {
    int minutes = config["timeoutInMins"].get<int>();
    if (minutes < 5 || minutes > 2160) {
      return InvalidInput("Invalid input: buildBatchConfig.timeoutInMins must be from 5 to 2160 minutes");
    }
  }
  for (const Document& compute : restrictions.value("computeTypesAllowed", Document::array())) {
    if (!ComputeLimits(compute.get<std::string>()) && compute != "ATTRIBUTE_BASED_COMPUTE" &&
        compute != "CUSTOM_INSTANCE_TYPE") {
      return InvalidInput("Invalid input: buildBatchConfig.restrictions.computeTypesAllowed has unknown compute type " +
                          compute.get<std::string>());
    }
  }
  return out;
}

void RegisterBatchHandlers(aws::HandlerTable& table, const CodeBuildDeps& deps) {
  const std::pair<const char*, Handler> handlers[] = {
      {"StartBuildBatch", StartBuildBatch},
      {"StopBuildBatch", StopBuildBatch},
      {"RetryBuildBatch", RetryBuildBatch},
      {"BatchGetBuildBatches", BatchGetBuildBatches},
      {"ListBuildBatches", ListBuildBatches},
      {"ListBuildBatchesForProject", ListBuildBatchesForProject},
      {"DeleteBuildBatch", DeleteBuildBatch},
  };
  for (const auto& [name, fn] : handlers) {
    table.Add("codebuild", name,
              [deps, fn = fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  }
}

}  // namespace gantry::services::codebuild
