#include "services/codepipeline/pipeline_events.h"

#include "core/common/log.h"
#include "core/common/time_format.h"
#include "services/codepipeline/records.h"

namespace gantry::services::codepipeline {

namespace {

using aws::Document;

std::string IsoTime(const Document& seconds) {
  return FormatIso8601(FromEpochSeconds(seconds.is_number() ? seconds.get<double>() : 0.0), true);
}

Document Common(const Document& execution) {
  const Document& trigger = execution.value("trigger", Document::object());
  return {{"pipeline", execution.value("pipelineName", "")},
          {"execution-id", execution.value("pipelineExecutionId", "")},
          {"start-time", IsoTime(execution.value("startTime", Document(0.0)))},
          {"execution-trigger",
           {{"trigger-type", trigger.value("triggerType", "")}, {"trigger-detail", trigger.value("triggerDetail", "")}}},
          {"version", execution.value("pipelineVersion", 1)},
          {"pipeline-execution-attempt", execution.value("attempt", 1)}};
}

Document ArtifactsOut(const Document& list) {
  Document out = Document::array();
  for (const Document& a : list) {
    out.push_back({{"name", a.value("name", "")},
                   {"s3location", a.value("s3location", Document::object())}});
  }
  return out;
}

}  // namespace

aws::Principal ServicePrincipal(const std::string& account) {
  aws::Principal p;
  p.account_id = account;
  p.arn = std::string(kServicePrincipal);
  p.user_id = std::string(kServicePrincipal);
  p.service = std::string(kServicePrincipal);
  return p;
}

Document PipelineDetail(const Document& execution, const std::string& state) {
  Document detail = Common(execution);
  detail["state"] = state;
  if (execution.contains("executionType")) detail["execution-type"] = execution["executionType"];
  return detail;
}

Document StageDetail(const Document& execution, const std::string& stage, const std::string& state) {
  Document detail = Common(execution);
  detail.erase("execution-trigger");
  detail["stage"] = stage;
  detail["state"] = state;
  return detail;
}

Document ActionDetail(const Document& execution, const Document& action, const std::string& state) {
  Document detail = Common(execution);
  detail.erase("execution-trigger");
  const Document& input = action.value("input", Document::object());
  const Document& output = action.value("output", Document::object());
  detail["stage"] = action.value("stageName", "");
  detail["action"] = action.value("actionName", "");
  detail["action-execution-id"] = action.value("actionExecutionId", "");
  detail["state"] = state;
  detail["region"] = input.value("region", execution.value("region", ""));
  detail["type"] = input.value("actionTypeId", Document::object());
  detail["input-artifacts"] = ArtifactsOut(input.value("inputArtifacts", Document::array()));
  if (state != "STARTED") {
    detail["output-artifacts"] = ArtifactsOut(output.value("outputArtifacts", Document::array()));
    const Document& result = output.value("executionResult", Document::object());
    Document execution_result = Document::object();
    if (result.contains("externalExecutionId")) execution_result["external-execution-id"] = result["externalExecutionId"];
    if (result.contains("externalExecutionSummary")) {
      execution_result["external-execution-summary"] = result["externalExecutionSummary"];
    }
    if (result.contains("externalExecutionUrl")) execution_result["external-execution-url"] = result["externalExecutionUrl"];
    if (result.contains("errorDetails")) execution_result["error-code"] = result["errorDetails"].value("code", "");
    detail["execution-result"] = execution_result;
  }
  return detail;
}

void PipelineAnnouncer::Send(const PipelineEvent& event) {
  if (!client_) return;
  Document entry = {{"Source", "aws.codepipeline"},
                    {"DetailType", event.detail_type},
                    {"Detail", event.detail.dump()},
                    {"Time", Seconds(event.time)},
                    {"Resources", Document::array({event.resource})}};
  auto result = client_->Call(ServicePrincipal(event.account), "events", "PutEvents",
                              Document{{"Entries", Document::array({entry})}}, event.region);
  if (!result.ok()) {
    GANTRY_LOG(kDebug, "codepipeline: event " << event.detail_type << " for " << event.resource
                                              << " not published: " << result.status().ToString());
  }
}

}  // namespace gantry::services::codepipeline
