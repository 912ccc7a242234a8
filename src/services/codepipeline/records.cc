#include "services/codepipeline/records.h"

#include <cstdio>

namespace gantry::services::codepipeline {

std::string PipelineArn(const std::string& region, const std::string& account, const std::string& name) {
  return "arn:aws:codepipeline:" + region + ":" + account + ":" + name;
}

std::string VersionKey(const std::string& name, int version) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%010d", version);
  return name + "/" + digits;
}

std::string ExecutionKey(const std::string& pipeline, const std::string& id) { return pipeline + "/" + id; }

std::string ExecutionOrderKey(const std::string& pipeline, int64_t number) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%012lld", static_cast<long long>(999999999999LL - number));
  return pipeline + "/" + digits;
}

void UpdateLatest(Document& latest, const Document& execution) {
  Document pointer = {{"id", execution.value("pipelineExecutionId", "")}, {"seq", execution.value("seq", int64_t{0})}};
  int64_t seq = pointer["seq"];
  auto point = [&](const char* group, const std::string& key) {
    Document& slot = latest[group][key];
    if (slot.is_null() || slot.value("seq", int64_t{0}) <= seq) slot = pointer;
  };
  bool standard = execution.value("executionType", "STANDARD") == "STANDARD";
  for (const Document& stage : execution["stages"]) {
    if (!stage.contains("status")) continue;
    std::string name = stage.value("name", "");
    point("stages", name);
    if (standard && stage.value("status", "") == "Succeeded") point("succeeded", name);
  }
  for (const Document& action : execution["actions"]) {
    std::string key = action.value("stageName", "") + "/" + action.value("actionName", "");
    point("actions", key);
    if (action.contains("currentRevision")) point("revisions", key);
  }
}

std::string PipelineIndexKey(const std::string& account, const std::string& region, const std::string& name) {
  return account + "/" + region + "/" + name;
}

std::string ActiveIndexKey(const std::string& account, const std::string& region, const std::string& pipeline,
                           const std::string& id) {
  return "active/" + account + "/" + region + "/" + pipeline + "/" + id;
}

double Seconds(TimePoint t) { return ToEpochMillis(t) / 1000.0; }

bool IsActive(const Document& execution) {
  std::string status = execution.value("status", "");
  return status == "InProgress" || status == "Stopping";
}

Document* FindAction(Document& execution, const std::string& action_execution_id) {
  for (Document& a : execution["actions"]) {
    if (a.value("actionExecutionId", "") == action_execution_id) return &a;
  }
  return nullptr;
}

namespace {

void CopyIf(const Document& from, Document& to, const char* member) {
  if (from.contains(member) && !from[member].is_null()) to[member] = from[member];
}

}  // namespace

Document ExecutionOut(const Document& e) {
  Document out = {{"pipelineName", e.value("pipelineName", "")},
                  {"pipelineVersion", e.value("pipelineVersion", 1)},
                  {"pipelineExecutionId", e.value("pipelineExecutionId", "")},
                  {"status", e.value("status", "")},
                  {"artifactRevisions", e.value("artifactRevisions", Document::array())},
                  {"variables", e.value("variables", Document::array())},
                  {"trigger", e.value("trigger", Document::object())},
                  {"executionMode", e.value("executionMode", "SUPERSEDED")},
                  {"executionType", e.value("executionType", "STANDARD")}};
  CopyIf(e, out, "statusSummary");
  CopyIf(e, out, "rollbackMetadata");
  return out;
}

Document ExecutionSummaryOut(const Document& e) {
  Document out = {{"pipelineExecutionId", e.value("pipelineExecutionId", "")},
                  {"status", e.value("status", "")},
                  {"startTime", e.value("startTime", 0.0)},
                  {"lastUpdateTime", e.value("lastUpdateTime", 0.0)},
                  {"sourceRevisions", e.value("sourceRevisions", Document::array())},
                  {"trigger", e.value("trigger", Document::object())},
                  {"executionMode", e.value("executionMode", "SUPERSEDED")},
                  {"executionType", e.value("executionType", "STANDARD")}};
  CopyIf(e, out, "statusSummary");
  CopyIf(e, out, "stopTrigger");
  CopyIf(e, out, "rollbackMetadata");
  return out;
}

Document ActionExecutionDetailOut(const Document& e, const Document& a) {
  Document out = {{"pipelineExecutionId", e.value("pipelineExecutionId", "")},
                  {"actionExecutionId", a.value("actionExecutionId", "")},
                  {"pipelineVersion", e.value("pipelineVersion", 1)},
                  {"stageName", a.value("stageName", "")},
                  {"actionName", a.value("actionName", "")},
                  {"startTime", a.value("startTime", 0.0)},
                  {"lastUpdateTime", a.value("lastUpdateTime", 0.0)},
                  {"status", a.value("status", "")},
                  {"input", a.value("input", Document::object())},
                  {"output", a.value("output", Document::object())}};
  CopyIf(a, out, "updatedBy");
  return out;
}

}  // namespace gantry::services::codepipeline
