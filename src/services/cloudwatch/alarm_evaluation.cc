#include "services/cloudwatch/alarm_evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace gantry::services::cloudwatch {

namespace {

std::string Plural(size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

std::string_view WasWere(size_t n) { return n == 1 ? "was" : "were"; }

std::string OperatorText(Comparison c) {
  switch (c) {
    case Comparison::kGreaterThanOrEqual: return "greater than or equal to the threshold";
    case Comparison::kGreaterThan: return "greater than the threshold";
    case Comparison::kLessThan: return "less than the threshold";
    case Comparison::kLessThanOrEqual: return "less than or equal to the threshold";
    case Comparison::kOutsideBand: return "less than the lower thresholds or greater than the upper thresholds";
    case Comparison::kBelowBand: return "less than the lower thresholds";
    case Comparison::kAboveBand: return "greater than the upper thresholds";
  }
  return "";
}

// "5.0 (26/10/20 17:01:00)", the datapoint form of reasons.
std::string PointText(const Datapoint& p) {
  std::time_t seconds = static_cast<std::time_t>(p.timestamp_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%d/%m/%y %H:%M:%S", &tm);
  return FormatReasonNumber(*p.value) + " (" + when + ")";
}

std::string PointList(const std::vector<Datapoint>& points) {
  std::string out = "[";
  for (size_t i = 0; i < points.size(); ++i) {
    if (i) out += ", ";
    out += PointText(points[i]);
  }
  return out + "]";
}

// "the threshold (5.0)" or, for bands, "the upper thresholds [9.0]" with each point's bound.
std::string ThresholdText(const EvaluationConfig& config, const std::vector<Datapoint>& points) {
  if (!IsBandComparison(config.comparison)) {
    return OperatorText(config.comparison) + " (" + FormatReasonNumber(config.threshold) + ")";
  }
  auto bounds = [&](bool upper) {
    std::string out = "[";
    for (size_t i = 0; i < points.size(); ++i) {
      if (i) out += ", ";
      out += FormatReasonNumber(upper ? points[i].upper : points[i].lower);
    }
    return out + "]";
  };
  switch (config.comparison) {
    case Comparison::kBelowBand: return "less than the lower thresholds " + bounds(false);
    case Comparison::kAboveBand: return "greater than the upper thresholds " + bounds(true);
    default: return "less than the lower thresholds " + bounds(false) + " or greater than the upper thresholds " + bounds(true);
  }
}

std::string MissingText(size_t filled, MissingData missing) {
  return Plural(filled, "missing datapoint") + " " + std::string(WasWere(filled)) + " treated as [" +
         (missing == MissingData::kBreaching ? "Breaching" : "NonBreaching") + "]";
}

std::string Reason(const EvaluationConfig& config, AlarmState to, AlarmState from, const std::vector<Datapoint>& found,
                   size_t breaching, size_t filled) {
  const bool band = IsBandComparison(config.comparison);
  const std::string head = band ? "Thresholds Crossed: " : "Threshold Crossed: ";
  if (found.empty()) {
    return head + "no datapoints were received for " + Plural(config.evaluation_periods, "period") + " and " +
           MissingText(filled, config.missing) + ".";
  }
  // The datapoints that agree with the new state; missing datapoints treated as breaching or not
  // count toward it but are described after the list.
  std::vector<Datapoint> listed;
  for (const Datapoint& p : found) {
    if (Breaches(config, p) == (to == AlarmState::kAlarm)) listed.push_back(p);
  }
  const bool treated = config.missing == MissingData::kBreaching || config.missing == MissingData::kNotBreaching;
  const size_t considered = found.size() + (treated ? filled : 0);
  const size_t count = to == AlarmState::kAlarm ? breaching : considered - std::min(considered, breaching);
  const std::string list = listed.empty() ? "" : " " + PointList(listed);
  std::string text = head;
  if (config.datapoints_to_alarm_set || listed.size() != count) {
    text += std::to_string(count) + " out of the last " + std::to_string(config.evaluation_periods) + " datapoints" +
            list + " " + std::string(WasWere(count)) + " ";
  } else {
    text += Plural(listed.size(), "datapoint") + list + " " + std::string(WasWere(listed.size())) + " ";
  }
  if (to != AlarmState::kAlarm) text += "not ";
  text += ThresholdText(config, listed);
  if (filled > 0 && treated) text += " and " + MissingText(filled, config.missing);
  if (config.datapoints_to_alarm_set) {
    // ALARM needs M breaching datapoints; OK needs N - M + 1 that do not breach.
    const int n = std::max(config.evaluation_periods, 1);
    const int m = std::clamp(config.datapoints_to_alarm, 1, n);
    text += " (minimum " + Plural(to == AlarmState::kAlarm ? m : n - m + 1, "datapoint") + " for " +
            std::string(AlarmStateName(from)) + " -> " + std::string(AlarmStateName(to)) + " transition)";
  }
  return text + ".";
}

}  // namespace

std::string_view AlarmStateName(AlarmState state) {
  switch (state) {
    case AlarmState::kOk: return "OK";
    case AlarmState::kAlarm: return "ALARM";
    case AlarmState::kInsufficientData: return "INSUFFICIENT_DATA";
  }
  return "";
}

std::optional<AlarmState> ParseAlarmState(std::string_view name) {
  if (name == "OK") return AlarmState::kOk;
  if (name == "ALARM") return AlarmState::kAlarm;
  if (name == "INSUFFICIENT_DATA") return AlarmState::kInsufficientData;
  return std::nullopt;
}

std::optional<Comparison> ParseComparison(std::string_view name) {
  if (name == "GreaterThanOrEqualToThreshold") return Comparison::kGreaterThanOrEqual;
  if (name == "GreaterThanThreshold") return Comparison::kGreaterThan;
  if (name == "LessThanThreshold") return Comparison::kLessThan;
  if (name == "LessThanOrEqualToThreshold") return Comparison::kLessThanOrEqual;
  if (name == "LessThanLowerOrGreaterThanUpperThreshold") return Comparison::kOutsideBand;
  if (name == "LessThanLowerThreshold") return Comparison::kBelowBand;
  if (name == "GreaterThanUpperThreshold") return Comparison::kAboveBand;
  return std::nullopt;
}

bool IsBandComparison(Comparison c) {
  return c == Comparison::kOutsideBand || c == Comparison::kBelowBand || c == Comparison::kAboveBand;
}

std::optional<MissingData> ParseMissingData(std::string_view name) {
  if (name == "missing") return MissingData::kMissing;
  if (name == "ignore") return MissingData::kIgnore;
  if (name == "breaching") return MissingData::kBreaching;
  if (name == "notBreaching") return MissingData::kNotBreaching;
  return std::nullopt;
}

int EvaluationRangeLength(int evaluation_periods) { return evaluation_periods + 2; }

std::vector<Datapoint> EvaluationRange(const std::map<int64_t, Datapoint>& by_period, int64_t period_ms,
                                       int64_t now_ms, int length) {
  int64_t current = now_ms - ((now_ms % period_ms) + period_ms) % period_ms;
  auto it = by_period.find(current);
  int64_t last = (it != by_period.end() && it->second.value) ? current : current - period_ms;
  std::vector<Datapoint> range;
  range.reserve(length);
  for (int i = length - 1; i >= 0; --i) {
    int64_t start = last - i * period_ms;
    auto found = by_period.find(start);
    Datapoint p = found != by_period.end() ? found->second : Datapoint{};
    p.timestamp_ms = start;
    range.push_back(std::move(p));
  }
  return range;
}

bool Breaches(const EvaluationConfig& config, const Datapoint& point) {
  const double v = *point.value;
  switch (config.comparison) {
    case Comparison::kGreaterThanOrEqual: return v >= config.threshold;
    case Comparison::kGreaterThan: return v > config.threshold;
    case Comparison::kLessThan: return v < config.threshold;
    case Comparison::kLessThanOrEqual: return v <= config.threshold;
    case Comparison::kOutsideBand: return v < point.lower || v > point.upper;
    case Comparison::kBelowBand: return v < point.lower;
    case Comparison::kAboveBand: return v > point.upper;
  }
  return false;
}

Evaluation Evaluate(const EvaluationConfig& config, const std::vector<Datapoint>& range, AlarmState current) {
  const size_t n = static_cast<size_t>(std::max(config.evaluation_periods, 1));
  const size_t m = static_cast<size_t>(std::clamp(config.datapoints_to_alarm, 1, static_cast<int>(n)));
  Evaluation out;
  // The most recent N datapoints of the range (looking back past N periods when some are missing),
  // with each one's age in periods (the range's last period is 1).
  std::vector<size_t> ages;
  for (size_t i = range.size(); i-- > 0 && out.evaluated.size() < n;) {
    if (!range[i].value) continue;
    out.evaluated.push_back(range[i]);
    ages.push_back(range.size() - i);
  }
  const std::vector<Datapoint>& found = out.evaluated;
  if (config.min_samples) {
    for (const Datapoint& p : found) {
      if (p.sample_count.value_or(0) < *config.min_samples) return out;  // too few samples: keep the state
    }
  }
  const size_t filled = n - found.size();
  size_t breaching = 0;
  bool any_clear = false;
  for (const Datapoint& p : found) {
    if (Breaches(config, p)) {
      ++breaching;
    } else {
      any_clear = true;
    }
  }
  auto decide = [&](AlarmState to, size_t counted) {
    out.state = to;
    out.reason = Reason(config, to, current, found, counted, filled);
  };
  if (config.missing == MissingData::kBreaching || config.missing == MissingData::kNotBreaching) {
    size_t counted = breaching + (config.missing == MissingData::kBreaching ? filled : 0);
    decide(counted >= m ? AlarmState::kAlarm : AlarmState::kOk, counted);
    return out;
  }
  if (found.empty()) {
    if (config.missing == MissingData::kMissing) {
      out.state = AlarmState::kInsufficientData;
      out.reason = "Insufficient Data: " + Plural(n, "datapoint") + " " + std::string(WasWere(n)) + " unknown.";
    }
    return out;
  }
  if (breaching >= m) {
    decide(AlarmState::kAlarm, breaching);
  } else if (any_clear) {
    decide(AlarmState::kOk, breaching);
  } else if (config.missing == MissingData::kMissing && ages.back() >= m) {
    // Fewer than M datapoints exist and all breach: ALARM once the oldest of them is at least M
    // periods old (every newer period breaching or missing), as CloudWatch avoids a premature ALARM.
    decide(AlarmState::kAlarm, breaching);
  }
  return out;
}

double MinSamplesForPercentile(double p) { return p >= 100 ? 1e300 : 10.0 / (1.0 - p / 100.0); }

std::string FormatReasonNumber(double v) {
  char buffer[64];
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  double magnitude = std::fabs(v);
  if (magnitude != 0 && (magnitude < 1e-3 || magnitude >= 1e7)) {
    int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
    double mantissa = v / std::pow(10.0, exponent);
    std::snprintf(buffer, sizeof buffer, "%.15g", mantissa);
    std::string m = buffer;
    if (m.find('.') == std::string::npos) m += ".0";
    return m + "E" + std::to_string(exponent);
  }
  std::snprintf(buffer, sizeof buffer, "%.15g", v);
  std::string text = buffer;
  if (text.find('.') == std::string::npos) text += ".0";
  return text;
}

}  // namespace gantry::services::cloudwatch
