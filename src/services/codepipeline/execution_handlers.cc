#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "core/common/strings.h"
#include "services/codepipeline/handlers.h"
#include "services/codepipeline/records.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;
using aws::RequestContext;

PipelineRef RefOf(const RequestContext& ctx, const std::string& name) { return {ctx.account_id, ctx.region, name}; }

// A page token: the execution order key a page ended at, and how many of that execution's
// actions it showed (ListActionExecutions). New executions sort before every token.
std::string KeyToken(const std::string& key, size_t shown = 0) {
  return Base64Encode("key:" + key + "|" + std::to_string(shown));
}

StatusOr<std::pair<std::string, size_t>> TokenKey(const Document& input, const std::string& pipeline) {
  if (!input.contains("nextToken")) return std::pair<std::string, size_t>();
  auto text = Base64Decode(input.value("nextToken", ""));
  size_t bar = text ? text->rfind('|') : std::string::npos;
  if (!text || text->rfind("key:" + pipeline + "/", 0) != 0 || bar == std::string::npos || bar + 1 == text->size() ||
      text->find_first_not_of("0123456789", bar + 1) != std::string::npos) {
    return Status::InvalidArgument("The next token is not valid", "InvalidNextTokenException");
  }
  return std::pair<std::string, size_t>(text->substr(4, bar - 4), std::stoull(text->substr(bar + 1)));
}

// Calls fn with each execution of the pipeline (and its order key), newest first, from the order
// key `from` on (included when `include_from`), until fn returns false.
Status ForEachExecution(const CodePipelineDeps& deps, const RequestContext& ctx, const std::string& name,
                        const std::string& from, bool include_from,
                        const std::function<bool(const std::string&, const Document&)>& fn) {
  auto visit = [&](const std::string& key, const Document& entry, bool& more) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto found,
                            deps.store->Get(kExecutionTable, ctx.Scope(), ExecutionKey(name, entry.value("id", ""))));
    more = !found || fn(key, found->doc);
    return Status::Ok();
  };
  bool more = true;
  if (!from.empty() && include_from) {
    GANTRY_ASSIGN_OR_RETURN(auto entry, deps.store->Get(kExecutionOrderTable, ctx.Scope(), from));
    if (entry) GANTRY_RETURN_IF_ERROR(visit(from, entry->doc, more));
  }
  store::ListOptions options;
  options.prefix = name + "/";
  options.limit = 50;
  options.start_after = from;
  while (more) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kExecutionOrderTable, ctx.Scope(), options));
    for (const store::Record& entry : page.records) {
      GANTRY_RETURN_IF_ERROR(visit(entry.key, entry.doc, more));
      if (!more) break;
    }
    if (page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  return Status::Ok();
}

StatusOr<Document> LoadExecution(const CodePipelineDeps& deps, const RequestContext& ctx, const std::string& name,
                                 const std::string& id) {
  GANTRY_ASSIGN_OR_RETURN(auto found, deps.store->Get(kExecutionTable, ctx.Scope(), ExecutionKey(name, id)));
  if (!found) {
    return Status::NotFound("Pipeline Execution with id '" + id + "' for pipeline with name '" + name +
                                "' does not exist",
                            "PipelineExecutionNotFoundException");
  }
  return found->doc;
}

const Document* StageOf(const Document& execution, const std::string& stage) {
  for (const Document& s : execution["stages"]) {
    if (s.value("name", "") == stage) return &s;
  }
  return nullptr;
}

Status CheckStageAction(const Document& record, const std::string& stage, const std::string* action) {
  for (const Document& s : record["pipeline"]["stages"]) {
    if (s.value("name", "") != stage) continue;
    if (!action) return Status::Ok();
    for (const Document& a : s["actions"]) {
      if (a.value("name", "") == *action) return Status::Ok();
    }
    return Status::NotFound("Action " + *action + " not found in stage " + stage, "ActionNotFoundException");
  }
  return Status::NotFound("Stage " + stage + " not found in pipeline " + record["pipeline"].value("name", ""),
                          "StageNotFoundException");
}

StatusOr<Document> StartPipelineExecution(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  StartRequest request;
  request.pipeline = RefOf(ctx, input.value("name", ""));
  const std::string& source = ctx.principal.source_arn;
  if (source.rfind("arn:aws:events:", 0) == 0) {
    request.trigger = {{"triggerType", "CloudWatchEvent"}, {"triggerDetail", source}};
  } else {
    request.trigger = {{"triggerType", "StartPipelineExecution"}, {"triggerDetail", ctx.principal.arn}};
  }
  request.variables = input.value("variables", Document::array());
  request.source_revisions = input.value("sourceRevisions", Document::array());
  request.client_request_token = input.value("clientRequestToken", "");
  if (!request.variables.empty()) {
    GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, request.pipeline.name));
    if (record["pipeline"].value("pipelineType", "V1") != "V2") {
      return Status::InvalidArgument("Pipeline variables are only supported for pipeline type V2", "ValidationException");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::string id, deps.engine->StartExecution(request));
  return Document{{"pipelineExecutionId", id}};
}

StatusOr<Document> StopPipelineExecution(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string id = input.value("pipelineExecutionId", "");
  GANTRY_RETURN_IF_ERROR(deps.engine->StopExecution(RefOf(ctx, input.value("pipelineName", "")), id,
                                                    input.value("abandon", false), input.value("reason", "")));
  return Document{{"pipelineExecutionId", id}};
}

StatusOr<Document> GetPipelineExecution(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("pipelineName", "");
  GANTRY_RETURN_IF_ERROR(LoadPipelineRecord(deps, ctx, name).status());
  GANTRY_ASSIGN_OR_RETURN(Document execution, LoadExecution(deps, ctx, name, input.value("pipelineExecutionId", "")));
  return Document{{"pipelineExecution", ExecutionOut(execution)}};
}

StatusOr<Document> ListPipelineExecutions(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("pipelineName", "");
  GANTRY_RETURN_IF_ERROR(LoadPipelineRecord(deps, ctx, name).status());
  // The dispatcher holds maxResults to the model's range, 1 to 100.
  size_t max = input.value("maxResults", 100);
  GANTRY_ASSIGN_OR_RETURN(auto token, TokenKey(input, name));
  std::string succeeded_in = input.value("filter", Document::object())
                                 .value("succeededInStage", Document::object())
                                 .value("stageName", "");
  Document summaries = Document::array();
  std::string last;
  bool more = false;
  GANTRY_RETURN_IF_ERROR(ForEachExecution(deps, ctx, name, token.first, false, [&](const std::string& key, const Document& e) {
    if (!succeeded_in.empty()) {
      const Document* stage = StageOf(e, succeeded_in);
      if (!stage || stage->value("status", "") != "Succeeded") return true;
    }
    if (summaries.size() == max) {
      more = true;
      return false;
    }
    summaries.push_back(ExecutionSummaryOut(e));
    last = key;
    return true;
  }));
  Document out = {{"pipelineExecutionSummaries", summaries}};
  if (more) out["nextToken"] = KeyToken(last);
  return out;
}

Document ActionExecutionOut(const Document& a) {
  Document out = {{"actionExecutionId", a.value("actionExecutionId", "")},
                  {"status", a.value("status", "")},
                  {"lastStatusChange", a.value("lastUpdateTime", 0.0)}};
  for (const char* member : {"summary", "externalExecutionId", "externalExecutionUrl", "errorDetails"}) {
    if (a.contains(member)) out[member] = a[member];
  }
  if (a.contains("updatedBy")) out["lastUpdatedBy"] = a["updatedBy"];
  if (a.contains("token") && a.value("status", "") == "InProgress") out["token"] = a["token"];
  return out;
}

StatusOr<Document> GetPipelineState(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("name", "");
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, name));
  GANTRY_ASSIGN_OR_RETURN(auto pointers, deps.store->Get(kLatestTable, ctx.Scope(), name));
  const Document latest = pointers ? pointers->doc : Document::object();
  // The executions the pointers name, each read once.
  std::map<std::string, std::optional<Document>> loaded;
  auto pointed = [&](const char* group, const std::string& key) -> const Document* {
    const Document& g = latest.value(group, Document::object());
    if (!g.contains(key)) return nullptr;
    std::string id = g[key].value("id", "");
    auto it = loaded.find(id);
    if (it == loaded.end()) {
      auto found = deps.store->Get(kExecutionTable, ctx.Scope(), ExecutionKey(name, id));
      it = loaded.emplace(id, found.ok() && *found ? std::optional<Document>((*found)->doc) : std::nullopt).first;
    }
    return it->second ? &*it->second : nullptr;
  };
  // Executions waiting to enter a stage are in flight: the active index has them, oldest first.
  std::vector<Document> waiting;
  store::ListOptions options;
  options.prefix = ActiveIndexKey(ctx.account_id, ctx.region, name, "");
  GANTRY_ASSIGN_OR_RETURN(store::ListPage active, deps.store->List(kIndexTable, kIndexScope, options));
  for (const store::Record& entry : active.records) {
    GANTRY_ASSIGN_OR_RETURN(auto found, deps.store->Get(kExecutionTable, ctx.Scope(),
                                                        ExecutionKey(name, entry.doc.value("id", ""))));
    if (found && IsActive(found->doc) && found->doc["current"].value("state", "") == "waiting") {
      waiting.push_back(found->doc);
    }
  }
  std::sort(waiting.begin(), waiting.end(), [](const Document& a, const Document& b) {
    return a.value("seq", int64_t{0}) < b.value("seq", int64_t{0});
  });
  const Document& transitions = record.value("transitions", Document::object());
  Document stage_states = Document::array();
  for (const Document& stage : record["pipeline"]["stages"]) {
    std::string stage_name = stage.value("name", "");
    Document state = {{"stageName", stage_name}, {"actionStates", Document::array()}};
    auto transition = transitions.find(stage_name + "/Inbound");
    state["inboundTransitionState"] =
        transition != transitions.end() ? *transition : Document{{"enabled", true}};
    Document inbound = Document::array();
    for (const Document& e : waiting) {
      size_t index = e["current"].value("stage", size_t{0});
      if (index < e["stages"].size() && e["stages"][index].value("name", "") == stage_name) {
        inbound.push_back({{"pipelineExecutionId", e["pipelineExecutionId"]},
                           {"status", "InProgress"},
                           {"type", e.value("executionType", "STANDARD")}});
      }
    }
    if (!inbound.empty()) {
      state["inboundExecution"] = inbound[0];
      state["inboundExecutions"] = inbound;
    }
    if (const Document* e = pointed("stages", stage_name)) {
      const Document* s = StageOf(*e, stage_name);
      if (s && s->contains("status")) {
        state["latestExecution"] = {{"pipelineExecutionId", (*e)["pipelineExecutionId"]},
                                    {"status", (*s)["status"]},
                                    {"type", e->value("executionType", "STANDARD")}};
        if (s->contains("retryStageMetadata")) state["retryStageMetadata"] = (*s)["retryStageMetadata"];
      }
    }
    for (const Document& action : stage["actions"]) {
      std::string action_name = action.value("name", "");
      std::string key = stage_name + "/" + action_name;
      Document action_state = {{"actionName", action_name}};
      // The last record of the action in the execution a pointer names (and, with `revision`, one
      // that has a revision).
      auto last_of = [&](const Document* e, bool revision) -> const Document* {
        if (!e) return nullptr;
        const Document& actions = (*e)["actions"];
        for (auto it = actions.rbegin(); it != actions.rend(); ++it) {
          if (it->value("stageName", "") != stage_name || it->value("actionName", "") != action_name) continue;
          if (!revision || it->contains("currentRevision")) return &*it;
        }
        return nullptr;
      };
      if (const Document* a = last_of(pointed("actions", key), false)) action_state["latestExecution"] = ActionExecutionOut(*a);
      if (action["actionTypeId"].value("category", "") == "Source") {
        if (const Document* a = last_of(pointed("revisions", key), true)) action_state["currentRevision"] = (*a)["currentRevision"];
      }
      state["actionStates"].push_back(action_state);
    }
    stage_states.push_back(state);
  }
  return Document{{"pipelineName", name},
                  {"pipelineVersion", record["pipeline"].value("version", 1)},
                  {"stageStates", stage_states},
                  {"created", record["created"]},
                  {"updated", record["updated"]}};
}

StatusOr<Document> ListActionExecutions(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("pipelineName", "");
  GANTRY_RETURN_IF_ERROR(LoadPipelineRecord(deps, ctx, name).status());
  // The dispatcher holds maxResults to the model's range, 1 to 100.
  size_t max = input.value("maxResults", 100);
  GANTRY_ASSIGN_OR_RETURN(auto token, TokenKey(input, name));
  const Document& filter = input.value("filter", Document::object());
  std::string only = filter.value("pipelineExecutionId", "");
  std::string latest_in = filter.value("latestInPipelineExecution", Document::object()).value("pipelineExecutionId", "");
  Document details = Document::array();
  std::string next;
  // Adds the execution's action executions, newest first, after the first `skip`; false once the
  // page is full (next says where the following page starts).
  auto take = [&](const std::string& key, const Document& e, size_t skip, bool latest_only) {
    std::set<std::string> latest;
    for (const Document& s : e["stages"]) {
      const Document ids = s.value("latest", Document::object());
      for (const auto& [action, id] : ids.items()) latest.insert(id.get<std::string>());
    }
    std::vector<const Document*> actions;
    const Document& all = e["actions"];
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (!latest_only || latest.count(it->value("actionExecutionId", ""))) actions.push_back(&*it);
    }
    for (size_t i = skip; i < actions.size(); ++i) {
      if (details.size() == max) {
        next = KeyToken(key, i);
        return false;
      }
      details.push_back(ActionExecutionDetailOut(e, *actions[i]));
    }
    return true;
  };
  if (!only.empty() || !latest_in.empty()) {
    GANTRY_ASSIGN_OR_RETURN(Document e, LoadExecution(deps, ctx, name, only.empty() ? latest_in : only));
    take(ExecutionOrderKey(name, e.value("number", int64_t{0})), e, token.second, only.empty());
  } else {
    bool first = !token.first.empty();
    GANTRY_RETURN_IF_ERROR(ForEachExecution(deps, ctx, name, token.first, first,
                                            [&](const std::string& key, const Document& e) {
                                              size_t skip = first ? token.second : 0;
                                              first = false;
                                              return take(key, e, skip, false);
                                            }));
  }
  Document out = {{"actionExecutionDetails", details}};
  if (!next.empty()) out["nextToken"] = next;
  return out;
}

StatusOr<Document> PutApprovalResult(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("pipelineName", "");
  std::string stage = input.value("stageName", ""), action = input.value("actionName", "");
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, name));
  // The token names an action of the version its execution runs, which may since have been
  // renamed: the current declaration only explains a token that matches nothing.
  auto at = deps.engine->PutApprovalResult(RefOf(ctx, name), stage, action, input.value("token", ""), input["result"],
                                           ctx.principal.arn);
  if (!at.ok() && at.status().aws_code() == "InvalidApprovalTokenException") {
    GANTRY_RETURN_IF_ERROR(CheckStageAction(record, stage, &action));
  }
  GANTRY_RETURN_IF_ERROR(at.status());
  return Document{{"approvedAt", Seconds(*at)}};
}

StatusOr<Document> RetryStageExecution(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  std::string name = input.value("pipelineName", ""), stage = input.value("stageName", "");
  GANTRY_ASSIGN_OR_RETURN(Document record, LoadPipelineRecord(deps, ctx, name));
  GANTRY_RETURN_IF_ERROR(CheckStageAction(record, stage, nullptr));
  GANTRY_ASSIGN_OR_RETURN(std::string id, deps.engine->RetryStage(RefOf(ctx, name), stage,
                                                                  input.value("pipelineExecutionId", ""),
                                                                  input.value("retryMode", "FAILED_ACTIONS")));
  return Document{{"pipelineExecutionId", id}};
}

StatusOr<Document> RollbackStage(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string id,
                          deps.engine->RollbackStage(RefOf(ctx, input.value("pipelineName", "")),
                                                     input.value("stageName", ""),
                                                     input.value("targetPipelineExecutionId", ""), ctx.principal.arn));
  return Document{{"pipelineExecutionId", id}};
}

StatusOr<Document> SetTransition(const CodePipelineDeps& deps, RequestContext& ctx, const Document& input, bool enabled) {
  std::string name = input.value("pipelineName", ""), stage = input.value("stageName", "");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto found, txn.Get(kPipelineTable, ctx.Scope(), name));
    if (!found) {
      return Status::NotFound("Account '" + ctx.account_id + "' does not have a pipeline with name '" + name + "'",
                              "PipelineNotFoundException");
    }
    Document record = found->doc;
    GANTRY_RETURN_IF_ERROR(CheckStageAction(record, stage, nullptr));
    Document transition = {{"enabled", enabled},
                           {"lastChangedBy", ctx.principal.arn},
                           {"lastChangedAt", Seconds(ctx.time)}};
    if (!enabled) transition["disabledReason"] = input.value("reason", "");
    record["transitions"][stage + "/" + input.value("transitionType", "Inbound")] = transition;
    return txn.Put(kPipelineTable, ctx.Scope(), name, record).status();
  }));
  deps.engine->Wake(RefOf(ctx, name));
  return Document::object();
}

}  // namespace

void RegisterExecutionHandlers(aws::HandlerTable& table, const CodePipelineDeps& deps) {
  auto add = [&](const char* name, StatusOr<Document> (*fn)(const CodePipelineDeps&, RequestContext&, const Document&)) {
    table.Add("codepipeline", name, [&deps, fn](RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  };
  add("StartPipelineExecution", StartPipelineExecution);
  add("StopPipelineExecution", StopPipelineExecution);
  add("GetPipelineExecution", GetPipelineExecution);
  add("ListPipelineExecutions", ListPipelineExecutions);
  add("GetPipelineState", GetPipelineState);
  add("ListActionExecutions", ListActionExecutions);
  add("PutApprovalResult", PutApprovalResult);
  add("RetryStageExecution", RetryStageExecution);
  add("RollbackStage", RollbackStage);
  table.Add("codepipeline", "EnableStageTransition",
            [&deps](RequestContext& ctx, const Document& input) { return SetTransition(deps, ctx, input, true); });
  table.Add("codepipeline", "DisableStageTransition",
            [&deps](RequestContext& ctx, const Document& input) { return SetTransition(deps, ctx, input, false); });
}

}  // namespace gantry::services::codepipeline
