#include "services/cloudwatch/anomaly_detectors.h"

#include <cmath>

namespace gantry::services::cloudwatch {

namespace {

Status Validation(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationError"); }

}  // namespace

bool IsValidPeriod(int64_t seconds) {
  return seconds == 1 || seconds == 5 || seconds == 10 || seconds == 20 || seconds == 30 ||
         (seconds > 0 && seconds % 60 == 0);
}

StatusOr<telemetry::metrics::SeriesKey> ParseMetric(const std::string& scope, const aws::Document& metric,
                                                    const std::string& where) {
  telemetry::metrics::SeriesKey key;
  key.tenant = scope;
  key.name_space = metric.value("Namespace", "");
  key.metric_name = metric.value("MetricName", "");
  if (key.name_space.empty()) return Validation("The parameter " + where + ".Namespace is required.");
  if (key.metric_name.empty()) return Validation("The parameter " + where + ".MetricName is required.");
  if (metric.contains("Dimensions")) {
    for (const auto& d : metric["Dimensions"]) key.dimensions.push_back({d.value("Name", ""), d.value("Value", "")});
  }
  key.Normalize();
  for (size_t i = 1; i < key.dimensions.size(); ++i) {
    if (key.dimensions[i].name == key.dimensions[i - 1].name) {
      return Validation("The collection " + where + ".Dimensions must not contain duplicate dimension names.");
    }
  }
  return key;
}

std::string SingleMetricDetectorKey(const telemetry::metrics::SeriesKey& key, const std::string& stat) {
  aws::Document dims = aws::Document::array();
  for (const auto& d : key.dimensions) dims.push_back({d.name, d.value});
  return "single:" + aws::Document{key.name_space, key.metric_name, dims, stat}.dump();
}

std::string MetricMathDetectorKey(const aws::Document& queries) { return "math:" + queries.dump(); }

StatusOr<std::optional<aws::Document>> FindSingleMetricDetector(store::Store& store, const std::string& scope,
                                                                const telemetry::metrics::SeriesKey& key,
                                                                const std::string& stat) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record,
                          store.Get(kAnomalyDetectorTable, scope, SingleMetricDetectorKey(key, stat)));
  if (!record) return std::optional<aws::Document>();
  return std::optional<aws::Document>(record->doc);
}

telemetry::metrics::AnomalyModelOptions DetectorOptions(const aws::Document& detector) {
  telemetry::metrics::AnomalyModelOptions options;
  const aws::Document configuration = detector.value("Configuration", aws::Document::object());
  for (const auto& range : configuration.value("ExcludedTimeRanges", aws::Document::array())) {
    double from = range.value("StartTime", 0.0), to = range.value("EndTime", 0.0);
    options.excluded_ms.emplace_back(static_cast<int64_t>(std::llround(from * 1000)),
                                     static_cast<int64_t>(std::llround(to * 1000)));
  }
  return options;
}

}  // namespace gantry::services::cloudwatch
