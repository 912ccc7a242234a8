#include "services/codepipeline/handlers.h"

#include "core/common/arn.h"
#include "core/common/strings.h"
#include "services/codepipeline/pipeline_events.h"
#include "services/codepipeline/pipeline_validation.h"
#include "services/codepipeline/records.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;
using aws::RequestContext;

Document ActionTypeOut(const ActionTypeInfo& info) {
  Document properties = Document::array();
  for (const auto& p : info.configuration) {
    Document property = {{"name", p.name}, {"required", p.required}, {"key", p.key}, {"secret", p.secret},
                         {"queryable", p.queryable}, {"type", p.type}};
    if (!p.description.empty()) property["description"] = p.description;
    properties.push_back(property);
  }
  return {{"id", {{"category", info.category}, {"owner", info.owner}, {"provider", info.provider}, {"version", info.version}}},
          {"settings", Document::object()},
          {"actionConfigurationProperties", properties},
          {"inputArtifactDetails", {{"minimumCount", info.min_inputs}, {"maximumCount", info.max_inputs}}},
          {"outputArtifactDetails", {{"minimumCount", info.min_outputs}, {"maximumCount", info.max_outputs}}}};
}

// Every artifact store bucket must exist (checked as CodePipeline, in the store's region).
Status CheckArtifactStores(const CodePipelineDeps& deps, const RequestContext& ctx, const Document& pipeline) {
  if (!deps.client) return Status::Ok();
  std::vector<std::pair<std::string, Document>> stores;
  if (pipeline.contains("artifactStore")) stores.emplace_back(ctx.region, pipeline["artifactStore"]);
  Document regional = pipeline.value("artifactStores", Document::object());
  for (auto it = regional.begin(); it != regional.end(); ++it) stores.emplace_back(it.key(), *it);
  aws::Principal principal = ServicePrincipal(ctx.account_id);
  principal.internal = true;
  for (const auto& [region, store] : stores) {
    std::string bucket = store.value("location", "");
    auto head = deps.client->Call(principal, "s3", "HeadBucket", Document{{"Bucket", bucket}}, region);
    if (!head.ok()) {
      return Status::InvalidArgument("Artifact store bucket " + bucket + " in region " + region +
                                         " does not exist or cannot be accessed",
                                     "InvalidStructureException");
    }
  }
  return Status::Ok();
}

StatusOr<Document> ValidateAndCheck(const CodePipelineDeps& deps, RequestContext& ctx, const Document& pipeline) {
  GANTRY_ASSIGN_OR_RETURN(Document declaration, ValidatePipeline(pipeline, *deps.registry, ctx.region));
  GANTRY_RETURN_IF_ERROR(ctx.Authorize("iam:PassRole", declaration.value("roleArn", "")));
  for (const Document& stage : declaration["stages"]) {
    for (const Document& action : stage["actions"]) {
      if (action.contains("roleArn")) GANTRY_RETURN_IF_ERROR(ctx.Authorize("iam:PassRole", action.value("roleArn", "")));
    }
  }
  GANTRY_RETURN_IF_ERROR(CheckArtifactStores(deps, ctx, declaration));
  return declaration;
}

Status CheckTags(const Document& tags) {
  if (tags.size() > 50) {
    return Status::InvalidArgument("Tag limit of 50 exceeded", "TooManyTagsException");
  }
  for (const Document& t : tags) {
    if (t.value("key", "").rfind("aws:", 0) == 0) {
      return Status::InvalidArgument("Tag keys starting with aws: are reserved", "InvalidTagsException");
    }
  }
  return Status::Ok();
}

StatusOr<Document> CreatePipeline(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Document declaration, ValidateAndCheck(deps, ctx, input["pipeline"]));
  Document tags = input.value("tags", Document::array());
  GANTRY_RETURN_IF_ERROR(CheckTags(tags));
  std::string name = declaration.value("name", "");
  declaration["version"] = 1;
  double now = Seconds(deps.clock->Now());
  Document record = {{"pipeline", declaration},
                     {"arn", PipelineArn(ctx.region, ctx.account_id, name)},
                     {"created", now},
                     {"updated", now},
                     {"tags", tags},
                     {"transitions", Document::object()}};
  Status created = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(txn.Create(kPipelineTable, ctx.Scope(), name, record).status());
    GANTRY_RETURN_IF_ERROR(txn.Put(kVersionTable, ctx.Scope(), VersionKey(name, 1), declaration).status());
    return txn.Put(kIndexTable, kIndexScope, PipelineIndexKey(ctx.account_id, ctx.region, name), Document::object())
        .status();
  });
  if (created.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("A pipeline with the name '" + name + "' already exists in account '" +
                                     ctx.account_id + "'",
                                 "PipelineNameInUseException");
  }
  GANTRY_RETURN_IF_ERROR(created);
  StartRequest start;
  start.pipeline = {ctx.account_id, ctx.region, name};
  start.trigger = {{"triggerType", "CreatePipeline"}, {"triggerDetail", ctx.principal.arn}};
  GANTRY_RETURN_IF_ERROR(deps.engine->StartExecution(start).status());
  Document out = {{"pipeline", declaration}};
  if (!tags.empty()) out["tags"] = tags;
  return out;
}

StatusOr<Document> GetPipeline(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("name", "");
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, name));
  Document declaration = record["pipeline"];
  if (input.contains("version")) {
    int version = input["version"].get<int>();
    GANTRY_ASSIGN_OR_RETURN(auto found, deps.store->Get(kVersionTable, ctx.Scope(), VersionKey(name, version)));
    if (!found) {
      return Status::NotFound("Pipeline version " + std::to_string(version) + " does not exist for pipeline " + name,
                              "PipelineVersionNotFoundException");
    }
    declaration = found->doc;
  }
  return Document{{"pipeline", declaration},
                  {"metadata", {{"pipelineArn", record["arn"]}, {"created", record["created"]}, {"updated", record["updated"]}}}};
}

StatusOr<Document> UpdatePipeline(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input["pipeline"].value("name", "");
  GANTRY_RETURN_IF_ERROR(LoadPipelineRecord(deps, ctx, name).status());
  GANTRY_ASSIGN_OR_RETURN(Document declaration, ValidateAndCheck(deps, ctx, input["pipeline"]));
  // The version is the stored record's plus one, read in the transaction that writes it; a version
  // record that exists already means another update took that version.
  Status written = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kPipelineTable, ctx.Scope(), name));
    if (!found) {
      return Status::NotFound("Account '" + ctx.account_id + "' does not have a pipeline with name '" + name + "'",
                              "PipelineNotFoundException");
    }
    Document record = found->doc;
    int version = record["pipeline"].value("version", 1) + 1;
    declaration["version"] = version;
    record["pipeline"] = declaration;
    record["updated"] = Seconds(deps.clock->Now());
    GANTRY_RETURN_IF_ERROR(txn.Update(kPipelineTable, ctx.Scope(), name, record, found->version).status());
    return txn.Create(kVersionTable, ctx.Scope(), VersionKey(name, version), declaration).status();
  });
  if (written.code() == StatusCode::kAlreadyExists || written.code() == StatusCode::kConflict) {
    return Status::Conflict("Pipeline " + name + " was changed by another request; get it and update it again",
                            "ConcurrentModificationException");
  }
  GANTRY_RETURN_IF_ERROR(written);
  return Document{{"pipeline", declaration}};
}

Status DeleteAll(const CodePipelineDeps& deps, const std::string& scope, std::string_view table, const std::string& prefix) {
  store::ListOptions options;
  options.prefix = prefix;
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(table, scope, options));
  for (const store::Record& r : page.records) GANTRY_RETURN_IF_ERROR(deps.store->Delete(table, scope, r.key).status());
  return Status::Ok();
}

StatusOr<Document> DeletePipeline(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("name", "");
  deps.engine->Forget({ctx.account_id, ctx.region, name});
  GANTRY_RETURN_IF_ERROR(deps.store->Delete(kPipelineTable, ctx.Scope(), name).status());
  GANTRY_RETURN_IF_ERROR(
      deps.store->Delete(kIndexTable, kIndexScope, PipelineIndexKey(ctx.account_id, ctx.region, name)).status());
  for (std::string_view table :
       {kVersionTable, kExecutionTable, kExecutionOrderTable, kRequestTokenTable, kSourceRevisionTable}) {
    GANTRY_RETURN_IF_ERROR(DeleteAll(deps, ctx.Scope(), table, name + "/"));
  }
  GANTRY_RETURN_IF_ERROR(deps.store->Delete(kLatestTable, ctx.Scope(), name).status());
  return Document::object();
}

StatusOr<Document> ListPipelines(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  store::ListOptions options;
  options.limit = input.value("maxResults", 1000);
  if (input.contains("nextToken")) {
    auto key = Base64Decode(input.value("nextToken", ""));
    if (!key) return Status::InvalidArgument("The next token is not valid", "InvalidNextTokenException");
    options.start_after = *key;
  }
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kPipelineTable, ctx.Scope(), options));
  Document pipelines = Document::array();
  for (const store::Record& r : page.records) {
    const Document& p = r.doc["pipeline"];
    pipelines.push_back({{"name", p.value("name", "")},
                         {"version", p.value("version", 1)},
                         {"pipelineType", p.value("pipelineType", "V1")},
                         {"executionMode", p.value("executionMode", "SUPERSEDED")},
                         {"created", r.doc["created"]},
                         {"updated", r.doc["updated"]}});
  }
  Document out = {{"pipelines", pipelines}};
  if (!page.next_token.empty()) out["nextToken"] = Base64Encode(page.next_token);
  return out;
}

// The pipeline a resource ARN names, or InvalidArnException / ResourceNotFoundException.
StatusOr<std::string> PipelineOfArn(const CodePipelineDeps& deps, const RequestContext& ctx, const std::string& arn) {
  auto parsed = Arn::Parse(arn);
  if (!parsed || parsed->service != "codepipeline" || parsed->resource.empty()) {
    return Status::InvalidArgument("The ARN " + arn + " is not valid", "InvalidArnException");
  }
  GANTRY_ASSIGN_OR_RETURN(auto found, deps.store->Get(kPipelineTable, ctx.Scope(), parsed->resource));
  if (!found || parsed->account != ctx.account_id || parsed->region != ctx.region) {
    return Status::NotFound("The resource with the ARN " + arn + " does not exist", "ResourceNotFoundException");
  }
  return parsed->resource;
}

StatusOr<Document> TagResource(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, PipelineOfArn(deps, ctx, input.value("resourceArn", "")));
  GANTRY_RETURN_IF_ERROR(CheckTags(input["tags"]));
  Status updated = deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kPipelineTable, ctx.Scope(), name));
    if (!found) return Status::NotFound("The pipeline is gone", "ResourceNotFoundException");
    Document record = found->doc;
    Document tags = record.value("tags", Document::array());
    for (const Document& t : input["tags"]) {
      bool replaced = false;
      for (Document& existing : tags) {
        if (existing["key"] == t["key"]) {
          existing["value"] = t["value"];
          replaced = true;
        }
      }
      if (!replaced) tags.push_back(t);
    }
    GANTRY_RETURN_IF_ERROR(CheckTags(tags));
    record["tags"] = tags;
    return txn.Put(kPipelineTable, ctx.Scope(), name, record).status();
  });
  GANTRY_RETURN_IF_ERROR(updated);
  return Document::object();
}

StatusOr<Document> UntagResource(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, PipelineOfArn(deps, ctx, input.value("resourceArn", "")));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kPipelineTable, ctx.Scope(), name));
    if (!found) return Status::NotFound("The pipeline is gone", "ResourceNotFoundException");
    Document record = found->doc;
    Document kept = Document::array();
    for (const Document& t : record.value("tags", Document::array())) {
      bool removed = false;
      for (const Document& key : input["tagKeys"]) removed |= t["key"] == key;
      if (!removed) kept.push_back(t);
    }
    record["tags"] = kept;
    return txn.Put(kPipelineTable, ctx.Scope(), name, record).status();
  }));
  return Document::object();
}

StatusOr<Document> ListTagsForResource(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, PipelineOfArn(deps, ctx, input.value("resourceArn", "")));
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, name));
  return Document{{"tags", record.value("tags", Document::array())}};
}

StatusOr<Document> ListActionTypes(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  Document types = Document::array();
  std::string owner = input.value("actionOwnerFilter", "");
  for (ActionProvider* provider : deps.registry->All()) {
    if (!owner.empty() && provider->type().owner != owner) continue;
    types.push_back(ActionTypeOut(provider->type()));
  }
  return Document{{"actionTypes", types}};
}

StatusOr<Document> GetActionType(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  ActionProvider* provider = deps.registry->Find(input);
  if (!provider) {
    return Status::NotFound("Action type not found", "ActionTypeNotFoundException");
  }
  const ActionTypeInfo& info = provider->type();
  Document properties = Document::array();
  for (const auto& p : info.configuration) {
    Document property = {{"name", p.name}, {"optional", !p.required}, {"key", p.key}, {"noEcho", p.secret},
                         {"queryable", p.queryable}};
    if (!p.description.empty()) property["description"] = p.description;
    properties.push_back(property);
  }
  return Document{
      {"actionType",
       {{"executor", {{"configuration", Document::object()}, {"type", "JobWorker"}}},
        {"id", {{"category", info.category}, {"owner", info.owner}, {"provider", info.provider}, {"version", info.version}}},
        {"inputArtifactDetails", {{"minimumCount", info.min_inputs}, {"maximumCount", info.max_inputs}}},
        {"outputArtifactDetails", {{"minimumCount", info.min_outputs}, {"maximumCount", info.max_outputs}}},
        {"properties", properties}}}};
}

}  // namespace

StatusOr<Document> LoadPipelineRecord(const CodePipelineDeps& deps, const RequestContext& ctx, const std::string& name) {
  GANTRY_ASSIGN_OR_RETURN(auto found, deps.store->Get(kPipelineTable, ctx.Scope(), name));
  if (!found) {
    return Status::NotFound("Account '" + ctx.account_id + "' does not have a pipeline with name '" + name + "'",
                            "PipelineNotFoundException");
  }
  return found->doc;
}

void RegisterPipelineHandlers(aws::HandlerTable& table, const CodePipelineDeps& deps) {
  auto add = [&](const char* name, StatusOr<Document> (*fn)(const CodePipelineDeps&, RequestContext&, const Document&)) {
    table.Add("codepipeline", name, [&deps, fn](RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  };
  add("CreatePipeline", CreatePipeline);
  add("GetPipeline", GetPipeline);
  add("UpdatePipeline", UpdatePipeline);
  add("DeletePipeline", DeletePipeline);
  add("ListPipelines", ListPipelines);
  add("TagResource", TagResource);
  add("UntagResource", UntagResource);
  add("ListTagsForResource", ListTagsForResource);
  add("ListActionTypes", ListActionTypes);
  add("GetActionType", GetActionType);
}

}  // namespace gantry::services::codepipeline
