// The rules CloudWatch applies to metric requests beyond what the model expresses, with AWS's error
// codes and messages: PutMetricData's data (limits, value ranges, timestamps, the reserved AWS/
// namespace) become metric store Datums; GetMetricStatistics' period and datapoint rules.
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "telemetry/metrics/metric_store.h"

namespace gantry::services::cloudwatch {

inline constexpr size_t kMaxMetricsPerPut = 1000;
inline constexpr size_t kMaxValuesPerDatum = 150;
inline constexpr int64_t kMaxDatapoints = 1440;

// Errors by the model's error shapes.
Status InvalidParameterValue(std::string message);
Status InvalidParameterCombination(std::string message);
Status MissingParameter(std::string message);

// The Datums of a PutMetricData input (MetricData and EntityMetricData) for `tenant`, or the first
// violation. may_use_aws_namespace: the caller is an AWS service principal.
StatusOr<std::vector<telemetry::metrics::Datum>> ParsePutMetricData(const aws::Document& input,
                                                                    const std::string& tenant, TimePoint now,
                                                                    bool may_use_aws_namespace);

// GetMetricStatistics' Period rules (1, 5, 10, 30 or a multiple of 60) and the 1,440 datapoint limit
// over [start_ms, end_ms).
Status CheckStatisticsPeriod(int64_t period_seconds, int64_t start_ms, int64_t end_ms);

// Whether data as old as start_ms can answer at this period: older data is kept only at coarser
// resolutions (3 hours for sub-minute, 15 days for 1-minute, 63 days for 5-minute periods); a
// finer period returns no datapoints, as CloudWatch does.
bool PeriodServesStart(int64_t period_seconds, int64_t start_ms, int64_t now_ms);

}  // namespace gantry::services::cloudwatch
