#include "services/codebuild/build_metrics.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

namespace gantry::services::codebuild {

namespace {

using aws::Document;

// "DOWNLOAD_SOURCE" → "DownloadSourceDuration".
std::string PhaseMetricName(std::string_view phase_type) {
  std::string name;
  bool upper = true;
  for (char c : phase_type) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = false;
  }
  return name + "Duration";
}

// The three dimension sets CodeBuild publishes every metric with.
std::vector<Document> DimensionSets(const Document& build) {
  Document project = {{"Name", "ProjectName"}, {"Value", build.value("projectName", "")}};
  Document id = {{"Name", "BuildId"}, {"Value", build.value("id", "")}};
  Document number = {{"Name", "BuildNumber"},
                     {"Value", std::to_string(build.value("buildNumber", int64_t{0}))}};
  return {Document::array(), Document::array({project}), Document::array({id, number, project})};
}

class MetricData {
 public:
  MetricData(const Document& build, double timestamp) : sets_(DimensionSets(build)), timestamp_(timestamp) {}

  void Add(const std::string& name, double value, std::string_view unit) {
    for (const Document& dimensions : sets_) {
      Document datum = {{"MetricName", name}, {"Timestamp", timestamp_}, {"Value", value}, {"Unit", std::string(unit)}};
      if (!dimensions.empty()) datum["Dimensions"] = dimensions;
      data_.push_back(std::move(datum));
    }
  }

  Document Input() && { return {{"Namespace", std::string(kMetricNamespace)}, {"MetricData", std::move(data_)}}; }

 private:
  std::vector<Document> sets_;
  double timestamp_;
  Document data_ = Document::array();
};

}  // namespace

Document SubmittedBuildMetrics(const Document& record) {
  const Document& build = record["Build"];
  MetricData data(build, build.value("startTime", 0.0));
  data.Add("Builds", 1, "Count");
  return std::move(data).Input();
}

Document CompletedBuildMetrics(const Document& record) {
  const Document& build = record["Build"];
  double start = build.value("startTime", 0.0);
  double end = build.value("endTime", start);
  std::string status = build.value("buildStatus", "");
  MetricData data(build, end);
  data.Add("SucceededBuilds", status == "SUCCEEDED" ? 1 : 0, "Count");
  data.Add("FailedBuilds", status == "FAILED" || status == "FAULT" || status == "TIMED_OUT" ? 1 : 0, "Count");
  data.Add("Duration", std::max(0.0, end - start), "Seconds");
  for (const Document& phase : build.value("phases", Document::array())) {
    if (!phase.contains("endTime")) continue;
    double seconds = phase["endTime"].get<double>() - phase.value("startTime", phase["endTime"].get<double>());
    data.Add(PhaseMetricName(phase.value("phaseType", "")), std::max(0.0, seconds), "Seconds");
  }
  return std::move(data).Input();
}

}  // namespace gantry::services::codebuild
