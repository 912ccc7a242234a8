// Metric data queries: the MetricDataQuery list of GetMetricData and of metric-math and
// anomaly-band alarms (MetricStat, Expression with the metric-math language, SEARCH, and
// ANOMALY_DETECTION_BAND), evaluated over the metric store. One implementation serves the API and
// alarm evaluation, so an alarm sees exactly what GetMetricData shows. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "services/cloudwatch/handlers.h"

namespace gantry::services::cloudwatch {

// One MetricDataResult, timestamps ascending (the API reverses them for TimestampDescending).
struct MetricDataSeries {
  std::string id;
  std::string label;
  std::vector<int64_t> timestamps_ms;
  std::vector<double> values;
  std::string status_code = "Complete";  // Complete | InternalError | PartialData | Forbidden
  std::vector<std::pair<std::string, std::string>> messages;  // (Code, Value)
  bool return_data = true;
};

// Evaluates `queries` (a list of MetricDataQuery documents) in `scope` ("<account>/<region>") over
// [start, end). Errors are CloudWatch's ValidationError messages for bad queries and expressions.
StatusOr<std::vector<MetricDataSeries>> EvaluateMetricDataQueries(const CloudWatchDeps& deps, const std::string& scope,
                                                                  const aws::Document& queries, TimePoint start,
                                                                  TimePoint end);

}  // namespace gantry::services::cloudwatch
