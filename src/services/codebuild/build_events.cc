#include "services/codebuild/build_events.h"

#include <ctime>

#include "core/common/log.h"
#include "services/codebuild/build_metrics.h"

namespace gantry::services::codebuild {

namespace {

using aws::Document;

std::string Time(const Document& seconds) { return EventTime(FromEpochSeconds(seconds.get<double>())); }

// ["CODE: message", ...] as the events list a phase's contexts.
Document ContextList(const Document& phase) {
  Document out = Document::array();
  for (const Document& c : phase.value("contexts", Document::array())) {
    out.push_back(c.value("statusCode", "") + ": " + c.value("message", ""));
  }
  return out;
}

// "[CODE: message, ...]", the string form of the events' *-phase-context members.
std::string ContextText(const Document& phase) {
  std::string text = "[";
  bool first = true;
  for (const Document& c : ContextList(phase)) {
    if (!first) text += ", ";
    text += c.get<std::string>();
    first = false;
  }
  return text + "]";
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

std::string EventTime(TimePoint t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%b %-d, %Y %-I:%M:%S %p", &tm);
  return buffer;
}

Document AdditionalInformation(const Document& record) {
  const Document& build = record["Build"];
  const Document& environment = build.value("environment", Document::object());
  Document variables = Document::array();
  for (const Document& v : environment.value("environmentVariables", Document::array())) {
    variables.push_back(
        {{"name", v.value("name", "")}, {"type", v.value("type", "PLAINTEXT")}, {"value", v.value("value", "")}});
  }
  Document info = {
      {"artifact", {{"location", build.value("artifacts", Document::object()).value("location", "")}}},
      {"environment",
       {{"image", environment.value("image", "")},
        {"privileged-mode", environment.value("privilegedMode", false)},
        {"image-pull-credentials-type", environment.value("imagePullCredentialsType", "CODEBUILD")},
        {"compute-type", environment.value("computeType", "")},
        {"type", environment.value("type", "")},
        {"environment-variables", variables}}},
      {"timeout-in-minutes", build.value("timeoutInMinutes", 0)},
      {"queued-timeout-in-minutes", build.value("queuedTimeoutInMinutes", 0)},
      {"build-complete", build.value("buildComplete", false)},
      {"build-number", build.value("buildNumber", int64_t{0})},
      {"initiator", build.value("initiator", "")},
      {"build-start-time", Time(build["startTime"])},
      {"source", build.value("source", Document::object())},
      {"logs", Document::object()},
      {"phases", Document::array()},
  };
  const Document& artifacts = build.value("artifacts", Document::object());
  if (artifacts.contains("md5sum")) info["artifact"]["md5sum"] = artifacts["md5sum"];
  if (artifacts.contains("sha256sum")) info["artifact"]["sha256sum"] = artifacts["sha256sum"];
  if (build.contains("sourceVersion")) info["source-version"] = build["sourceVersion"];
  const Document& logs = build.value("logs", Document::object());
  if (logs.contains("groupName")) info["logs"]["group-name"] = logs["groupName"];
  if (logs.contains("streamName")) info["logs"]["stream-name"] = logs["streamName"];
  if (logs.contains("deepLink")) info["logs"]["deep-link"] = logs["deepLink"];
  for (const Document& phase : build.value("phases", Document::array())) {
    Document entry = {{"phase-type", phase.value("phaseType", "")}, {"start-time", Time(phase["startTime"])}};
    if (phase.contains("endTime")) {
      entry["phase-context"] = ContextList(phase);
      entry["end-time"] = Time(phase["endTime"]);
      entry["duration-in-seconds"] = phase.value("durationInSeconds", int64_t{0});
      entry["phase-status"] = phase.value("phaseStatus", "");
    }
    info["phases"].push_back(std::move(entry));
  }
  return info;
}

Document StateChangeDetail(const Document& record) {
  const Document& build = record["Build"];
  const Document& phases = build.value("phases", Document::array());
  return {{"build-status", build.value("buildStatus", "")},
          {"project-name", build.value("projectName", "")},
          {"build-id", build.value("arn", "")},
          {"additional-information", AdditionalInformation(record)},
          {"current-phase", build.value("currentPhase", "")},
          {"current-phase-context", phases.empty() ? std::string("[]") : ContextText(phases.back())},
          {"version", "1"}};
}

Document PhaseChangeDetail(const Document& record, const Document& phase) {
  const Document& build = record["Build"];
  return {{"completed-phase", phase.value("phaseType", "")},
          {"project-name", build.value("projectName", "")},
          {"build-id", build.value("arn", "")},
          {"completed-phase-context", ContextText(phase)},
          {"additional-information", AdditionalInformation(record)},
          {"completed-phase-status", phase.value("phaseStatus", "")},
          {"completed-phase-duration-seconds", phase.value("durationInSeconds", int64_t{0})},
          {"version", "1"},
          {"completed-phase-start", Time(phase["startTime"])},
          {"completed-phase-end", Time(phase["endTime"])}};
}

void BuildAnnouncer::Announce(std::optional<Document> before, Document after) {
  worker_.Post({std::move(before), std::move(after)});
}

void BuildAnnouncer::Send(const Change& change) {
  const Document& after = change.after;
  size_t ended = 0;
  if (change.before) {
    for (const Document& p : (*change.before)["Build"]["phases"]) ended += p.contains("endTime") ? 1 : 0;
  }
  size_t index = 0;
  for (const Document& p : after["Build"]["phases"]) {
    if (p.contains("endTime") && index++ >= ended)
      Put(after, "CodeBuild Build Phase Change", PhaseChangeDetail(after, p));
  }
  if (!change.before) {
    Put(after, "CodeBuild Build State Change", StateChangeDetail(after));
    PutMetrics(after, SubmittedBuildMetrics(after));
  } else if (!change.before->value("Build", Document::object()).value("buildComplete", false) &&
             after["Build"].value("buildComplete", false)) {
    Put(after, "CodeBuild Build State Change", StateChangeDetail(after));
    PutMetrics(after, CompletedBuildMetrics(after));
  }
}

void BuildAnnouncer::Put(const Document& record, std::string_view detail_type, const Document& detail) {
  Document entry = {{"Source", "aws.codebuild"},
                    {"DetailType", std::string(detail_type)},
                    {"Detail", detail.dump()},
                    {"Resources", Document::array({record["Build"].value("arn", "")})}};
  auto result = client_->Call(ServicePrincipal(record.value("Account", "")), "events", "PutEvents",
                              Document{{"Entries", Document::array({entry})}}, record.value("Region", ""));
  if (!result.ok()) {
    GANTRY_LOG(kDebug, "codebuild: event " << detail_type << " for " << record["Build"].value("id", "")
                                           << " not published: " << result.status().ToString());
  }
}

void BuildAnnouncer::PutMetrics(const Document& record, const Document& input) {
  auto result = client_->Call(ServicePrincipal(record.value("Account", "")), "cloudwatch", "PutMetricData", input,
                              record.value("Region", ""));
  if (!result.ok()) {
    GANTRY_LOG(kWarn, "codebuild: metrics of " << record["Build"].value("id", "")
                                               << " not published: " << result.status().ToString());
  }
}

}  // namespace gantry::services::codebuild
