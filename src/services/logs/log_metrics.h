// Metrics that log events produce: the log group's metric filters (their metricTransformations:
// metric name and namespace, a value that is a number or a $field / $.json.path reference,
// defaultValue, dimensions, unit) and logs in the Embedded Metric Format (_aws.CloudWatchMetrics).
// They are published to CloudWatch with PutMetricData through the in-process client as the service
// principal logs.amazonaws.com, as CloudWatch Logs does. Thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/aws/document.h"
#include "services/logs/resources.h"
#include "telemetry/logs/log_store.h"

namespace gantry::services::logs {

inline constexpr std::string_view kLogsPrincipal = "logs.amazonaws.com";

// One PutMetricData call's input: a namespace and its MetricData.
struct MetricBatch {
  std::string name_space;
  Document metric_data = Document::array();
};

// The MetricData (grouped by namespace) that `events` produce under `filters` (metric filter
// records as DescribeMetricFilters returns them) and EMF. now_ms: the time of a defaultValue datum.
std::vector<MetricBatch> MetricsFromEvents(const std::vector<Document>& filters,
                                           std::span<const telemetry::logs::NewEvent> events, int64_t now_ms);

// Evaluates the group's metric filters and EMF over events just stored and publishes the metrics.
// Failures are logged, never returned: the events are stored whatever happens to their metrics.
void PublishLogMetrics(const LogsDeps& deps, const aws::RequestContext& ctx, const std::string& group,
                       std::span<const telemetry::logs::NewEvent> events);

}  // namespace gantry::services::logs
