// Metric alarm evaluation as CloudWatch documents it, on plain values: the datapoints of the
// evaluation range (one per period, missing ones empty) and the alarm's configuration give the new
// state and its reason. Covers M out of N (DatapointsToAlarm of EvaluationPeriods), the evaluation
// range that looks back past N periods for datapoints, TreatMissingData (missing, ignore, breaching,
// notBreaching), the rule that avoids a premature ALARM, low-sample-count percentiles, and the
// threshold and anomaly-band comparison operators. Knows nothing of the API's shapes or the store.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::services::cloudwatch {

enum class AlarmState { kOk, kAlarm, kInsufficientData };
std::string_view AlarmStateName(AlarmState state);
std::optional<AlarmState> ParseAlarmState(std::string_view name);

enum class Comparison {
  kGreaterThanOrEqual,
  kGreaterThan,
  kLessThan,
  kLessThanOrEqual,
  kOutsideBand,       // LessThanLowerOrGreaterThanUpperThreshold
  kBelowBand,         // LessThanLowerThreshold
  kAboveBand,         // GreaterThanUpperThreshold
};
std::optional<Comparison> ParseComparison(std::string_view name);
bool IsBandComparison(Comparison c);

enum class MissingData { kMissing, kIgnore, kBreaching, kNotBreaching };
std::optional<MissingData> ParseMissingData(std::string_view name);

// One period of the evaluation range.
struct Datapoint {
  int64_t timestamp_ms = 0;           // the period's start
  std::optional<double> value;        // empty: no datapoint for this period
  double lower = 0, upper = 0;        // the anomaly band, for band comparisons
  std::optional<double> sample_count; // for low-sample-count percentiles
};

struct EvaluationConfig {
  Comparison comparison = Comparison::kGreaterThan;
  double threshold = 0;
  int evaluation_periods = 1;
  int datapoints_to_alarm = 1;
  bool datapoints_to_alarm_set = false;  // reasons then say "M out of the last N"
  MissingData missing = MissingData::kMissing;
  // EvaluateLowSampleCountPercentile=ignore on a percentile statistic: the fewest samples a period
  // needs for its percentile to count; a range with a period below it keeps the current state.
  std::optional<double> min_samples;
};

struct Evaluation {
  std::optional<AlarmState> state;  // empty: the current state is kept
  std::string reason;
  std::vector<Datapoint> evaluated;  // the datapoints the decision used, most recent first
};

// The number of periods an alarm of N evaluation periods retrieves (its evaluation range).
int EvaluationRangeLength(int evaluation_periods);

// The evaluation range at `now` from the datapoints by period start: `length` periods ending with
// the current (unfinished) period when it already has a datapoint, else with the last finished one.
// Oldest first.
std::vector<Datapoint> EvaluationRange(const std::map<int64_t, Datapoint>& by_period, int64_t period_ms,
                                       int64_t now_ms, int length);

// Whether one datapoint breaches.
bool Breaches(const EvaluationConfig& config, const Datapoint& point);

// The state the range (oldest first) calls for, given the current state.
Evaluation Evaluate(const EvaluationConfig& config, const std::vector<Datapoint>& range, AlarmState current);

// The minimum sample count for percentile p (0..100) to be statistically significant: 10 / (1 - p/100).
double MinSamplesForPercentile(double p);

// A double as CloudWatch's reasons print it: 5.0, 0.25, 1.0E-5.
std::string FormatReasonNumber(double v);

}  // namespace gantry::services::cloudwatch
