// CloudWatch statistics over an Aggregate: SampleCount, Sum, Average, Minimum, Maximum and the
// extended statistics pNN(.NN), tmNN, tm(a%:b%), TM(a:b) (absolute bounds), wmNN / WM(...), IQM,
// tcNN / TC(...), tsNN / TS(...), PR(a:b), in the forms and case rules the CloudWatch
// documentation gives ("Statistics definitions"). Percentiles are by nearest rank and percentage
// bounds are positions among the sorted values (sketch.h); absolute bounds are (lower, upper].
// Thread-safe (pure functions).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/common/status.h"
#include "telemetry/metrics/metric_store.h"

namespace gantry::telemetry::metrics {

struct Statistic {
  enum class Kind {
    kSampleCount, kSum, kAverage, kMinimum, kMaximum,
    kPercentile, kTrimmedMean, kWinsorizedMean, kTrimmedCount, kTrimmedSum, kPercentileRank, kIqm,
  };
  Kind kind = Kind::kAverage;
  std::string text;  // as the caller wrote it (the label of the result)
  // Bounds of the extended forms: percentiles (lo..hi in [0,100]) or absolute values (PR, TM(a:b)).
  std::optional<double> lo, hi;
  bool absolute = false;  // bounds are values, not percentages
  bool extended() const { return kind > Kind::kMaximum; }
};

// Parses a statistic name; InvalidArgument with a message naming it when malformed.
StatusOr<Statistic> ParseStatistic(std::string_view text);

// The statistic of one period; nullopt when it is undefined there (no values in the slice, or a
// percentile of statistic-set data).
std::optional<double> Compute(const Statistic& statistic, const Aggregate& aggregate);

}  // namespace gantry::telemetry::metrics
