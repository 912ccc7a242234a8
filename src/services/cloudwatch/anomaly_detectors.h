// Anomaly detectors as stored (table "cloudwatch.anomaly_detector", one record per detector in the
// "<account>/<region>" scope) and the metric-identity helpers they share with metric-data queries.
// A single-metric detector is keyed by its namespace, metric name, dimensions and statistic; a
// metric-math detector by its MetricDataQueries. The record holds the detector as
// DescribeAnomalyDetectors shows it, minus its state (computed when described). Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "telemetry/metrics/anomaly.h"
#include "telemetry/metrics/metric_store.h"

namespace gantry::services::cloudwatch {

inline constexpr char kAnomalyDetectorTable[] = "cloudwatch.anomaly_detector";

// CloudWatch's periods: 1, 5, 10, 20, 30 or a multiple of 60 seconds.
bool IsValidPeriod(int64_t seconds);

// A Metric structure ({Namespace, MetricName, Dimensions}) as a series key of `scope`; `where` names
// the parameter in ValidationError messages.
StatusOr<telemetry::metrics::SeriesKey> ParseMetric(const std::string& scope, const aws::Document& metric,
                                                    const std::string& where);

// The store key of a single-metric detector, and of a metric-math detector.
std::string SingleMetricDetectorKey(const telemetry::metrics::SeriesKey& key, const std::string& stat);
std::string MetricMathDetectorKey(const aws::Document& queries);

// The stored single-metric detector of a metric and statistic, if any.
StatusOr<std::optional<aws::Document>> FindSingleMetricDetector(store::Store& store, const std::string& scope,
                                                                const telemetry::metrics::SeriesKey& key,
                                                                const std::string& stat);

// The model options of a stored detector: its excluded time ranges.
telemetry::metrics::AnomalyModelOptions DetectorOptions(const aws::Document& detector);

}  // namespace gantry::services::cloudwatch
