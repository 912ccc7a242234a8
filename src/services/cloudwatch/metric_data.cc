// MetricDataQuery evaluation: validation with CloudWatch's messages, MetricStat over the metric
// store, expressions through the metric-math engine (telemetry/metrics/math.h) with SEARCH over
// the store's series and ANOMALY_DETECTION_BAND from the anomaly model trained on the metric's
// history (telemetry/metrics/anomaly.h, configured by a stored anomaly detector when one exists).
#include "services/cloudwatch/metric_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "services/cloudwatch/anomaly_detectors.h"
#include "services/cloudwatch/metric_validation.h"
#include "telemetry/metrics/anomaly.h"
#include "telemetry/metrics/math.h"
#include "telemetry/metrics/statistics.h"

namespace gantry::services::cloudwatch {

namespace {

namespace metrics = telemetry::metrics;
namespace math = telemetry::metrics::math;

constexpr size_t kMaxQueries = 500;
constexpr int kMaxSearches = 10;
constexpr size_t kMaxSearchSeries = 500;
// AWS's limit on the datapoints of one GetMetricData request; here it bounds the datapoints a
// request materializes on period grids (expressions, scalars and bands), which cost memory whether
// or not the store holds data.
constexpr int64_t kMaxRequestDatapoints = 100800;
constexpr int64_t kTrainingWindowMs = int64_t{14} * 24 * 3600 * 1000;
constexpr char kArithmeticMessage[] =
    "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)";

Status Validation(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationError"); }

std::string Member(size_t index) { return "MetricDataQueries.member." + std::to_string(index + 1); }

struct Query {
  std::string id;
  std::string label;
  bool return_data = true;
  int period = 0;  // the query's Period (expressions); 0 when absent
  // MetricStat
  std::optional<metrics::SeriesKey> metric;
  metrics::Statistic stat;
  int stat_period = 60;
  std::optional<std::string> unit;
  std::optional<math::Expression> expression;
};

struct Outcome {
  math::Value value;
  int64_t dropped = 0;
  std::vector<std::pair<std::string, std::string>> messages;
  bool partial = false;
};

std::string DefaultSearchLabel(const metrics::SeriesKey& key) {
  std::string out;
  for (const auto& d : key.dimensions) out += d.value + " ";
  return out + key.metric_name;
}

StatusOr<std::vector<Query>> ParseQueries(const std::string& scope, const aws::Document& queries) {
  if (!queries.is_array() || queries.empty()) return Validation("The parameter MetricDataQueries is required.");
  if (queries.size() > kMaxQueries) {
    return Validation("The collection MetricDataQueries must not have a size greater than " + std::to_string(kMaxQueries) + ".");
  }
  std::vector<Query> out;
  std::set<std::string> ids;
  int searches = 0;
  for (size_t i = 0; i < queries.size(); ++i) {
    const aws::Document& q = queries[i];
    Query query;
    query.id = q.value("Id", "");
    if (!math::IsValidId(query.id)) {
      return Validation("The value " + query.id + " for parameter " + Member(i) +
                        ".Id is not valid. The Id must start with a lowercase letter and contain only letters, "
                        "numbers and underscores.");
    }
    if (!ids.insert(query.id).second) {
      return Validation("The value " + query.id + " for parameter " + Member(i) + ".Id is not unique.");
    }
    query.label = q.value("Label", "");
    query.return_data = q.value("ReturnData", true);
    if (q.contains("Period")) {
      query.period = q["Period"].get<int>();
      if (!IsValidPeriod(query.period)) {
        return Validation("The parameter " + Member(i) + ".Period must be 1, 5, 10, 20, 30, or a multiple of 60.");
      }
    }
    bool has_stat = q.contains("MetricStat"), has_expression = q.contains("Expression");
    if (has_stat == has_expression) {
      return Validation(has_stat ? "The parameters " + Member(i) + ".MetricStat and " + Member(i) +
                                       ".Expression are mutually exclusive."
                                 : "Exactly one of the parameters " + Member(i) + ".MetricStat and " + Member(i) +
                                       ".Expression must be specified.");
    }
    if (has_stat) {
      const aws::Document& stat = q["MetricStat"];
      GANTRY_ASSIGN_OR_RETURN(query.metric, ParseMetric(scope, stat.value("Metric", aws::Document::object()),
                                                        Member(i) + ".MetricStat.Metric"));
      std::string stat_text = stat.value("Stat", "");
      StatusOr<metrics::Statistic> parsed = metrics::ParseStatistic(stat_text);
      if (!parsed.ok()) {
        return Validation("The value " + stat_text + " for parameter " + Member(i) + ".MetricStat.Stat is not a valid statistic.");
      }
      query.stat = *parsed;
      query.stat_period = stat.value("Period", 0);
      if (!IsValidPeriod(query.stat_period)) {
        return Validation("The parameter " + Member(i) + ".MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60.");
      }
      if (stat.contains("Unit")) query.unit = stat["Unit"].get<std::string>();
    } else {
      StatusOr<math::Expression> parsed = math::Parse(q["Expression"].get<std::string>());
      if (!parsed.ok()) return Validation("Error in expression " + query.id + ": " + parsed.status().message());
      searches += parsed->search_count();
      query.expression = std::move(*parsed);
    }
    out.push_back(std::move(query));
  }
  for (const Query& q : out) {
    if (!q.expression) continue;
    for (const std::string& ref : q.expression->references()) {
      if (!ids.count(ref)) return Validation("Error in expression " + q.id + ": Unrecognized identifier '" + ref + "'");
      if (ref == q.id) return Validation("Error in expression " + q.id + ": The expression refers to itself");
    }
  }
  if (searches > kMaxSearches) {
    return Validation("The number of SEARCH expressions in MetricDataQueries must not exceed " + std::to_string(kMaxSearches) + ".");
  }
  return out;
}

class QueryEvaluator {
 public:
  QueryEvaluator(const CloudWatchDeps& deps, std::string scope, const std::vector<Query>& queries, int64_t start_ms,
                 int64_t end_ms, math::PointBudget& budget)
      : deps_(deps), scope_(std::move(scope)), queries_(queries), start_ms_(start_ms), end_ms_(end_ms), budget_(budget) {
    for (const Query& q : queries_) {
      by_id_[q.id] = &q;
      if (q.metric) default_period_ = default_period_ == 0 ? q.stat_period : std::min(default_period_, q.stat_period);
    }
    if (default_period_ == 0) default_period_ = 60;
  }

  StatusOr<const Outcome*> Resolve(const std::string& id) {
    if (auto it = done_.find(id); it != done_.end()) return &it->second;
    auto found = by_id_.find(id);
    if (found == by_id_.end()) return Validation("Unrecognized identifier '" + id + "'");
    const Query& q = *found->second;
    if (!active_.insert(id).second) return Validation("Error in expression " + id + ": Circular dependency between expressions");
    StatusOr<Outcome> outcome = q.metric ? FetchMetric(q) : EvaluateExpression(q);
    active_.erase(id);
    if (!outcome.ok()) return outcome.status();
    return &done_.emplace(id, std::move(*outcome)).first->second;
  }

  int Period(const Query& q) const {
    if (q.metric) return q.stat_period;
    return q.period > 0 ? q.period : default_period_;
  }

  // Whether the range can hold data at this period under CloudWatch's retention.
  bool PeriodHasData(int period) const {
    return !deps_.clock || PeriodServesStart(period, start_ms_, ToEpochMillis(deps_.clock->Now()));
  }

 private:
  static int64_t AlignDown(int64_t t, int period) {
    int64_t step = int64_t{period} * 1000;
    return t >= 0 ? t / step * step : -((-t + step - 1) / step) * step;
  }

  // The requested range follows CloudWatch's retention rule: a period finer than what is kept for
  // data as old as the range's start returns no datapoints. (Training history for a band is read
  // at whatever resolution is stored.)
  StatusOr<math::TimeSeries> FetchRange(const metrics::SeriesKey& key, const metrics::Statistic& stat, int period,
                                        const std::optional<std::string>& unit) {
    if (!PeriodHasData(period)) {
      math::TimeSeries empty;
      empty.period_seconds = period;
      return empty;
    }
    return Fetch(key, stat, period, unit, start_ms_, end_ms_);
  }

  StatusOr<math::TimeSeries> Fetch(const metrics::SeriesKey& key, const metrics::Statistic& stat, int period,
                                   const std::optional<std::string>& unit, int64_t start_ms, int64_t end_ms) {
    if (!deps_.metrics) return Status::Unavailable("The metric store is not open.");
    metrics::QueryRange range;
    range.start_ms = AlignDown(start_ms, period);
    range.end_ms = end_ms;
    range.period_seconds = period;
    range.unit = unit;
    GANTRY_ASSIGN_OR_RETURN(std::vector<metrics::Bucket> buckets, deps_.metrics->Query(key, range));
    math::TimeSeries s;
    s.period_seconds = period;
    for (const auto& b : buckets) {
      std::optional<double> v = metrics::Compute(stat, b.aggregate);
      if (!v || !std::isfinite(*v)) continue;
      s.timestamps_ms.push_back(b.start_ms);
      s.values.push_back(*v);
    }
    return s;
  }

  StatusOr<Outcome> FetchMetric(const Query& q) {
    GANTRY_ASSIGN_OR_RETURN(math::TimeSeries s, FetchRange(*q.metric, q.stat, q.stat_period, q.unit));
    s.id = q.id;
    s.label = q.label.empty() ? q.metric->metric_name : q.label;
    Outcome out;
    out.value = math::Value::Series(std::move(s));
    return out;
  }

  StatusOr<Outcome> EvaluateExpression(const Query& q) {
    Outcome out;
    math::EvalContext ctx;
    ctx.period_seconds = Period(q);
    ctx.start_ms = AlignDown(start_ms_, ctx.period_seconds);
    ctx.end_ms = end_ms_;
    ctx.budget = &budget_;
    ctx.period_has_data = [this](int period) { return PeriodHasData(period); };
    ctx.resolve = [&](const std::string& id) -> StatusOr<math::Value> {
      GANTRY_ASSIGN_OR_RETURN(const Outcome* dep, Resolve(id));
      if (dep->partial) out.partial = true;
      return dep->value;
    };
    ctx.metrics = [&](const std::string& filter) -> StatusOr<std::vector<math::TimeSeries>> {
      std::vector<math::TimeSeries> series;
      for (const Query& other : queries_) {
        if (!other.metric || other.id.find(filter) == std::string::npos) continue;
        GANTRY_ASSIGN_OR_RETURN(const Outcome* dep, Resolve(other.id));
        series.push_back(dep->value.series[0]);
      }
      return series;
    };
    ctx.search = [&](const math::SearchRequest& request) -> StatusOr<std::vector<math::TimeSeries>> {
      return Search(request, out);
    };
    ctx.anomaly_band = [&](const std::string& id, double stddevs) -> StatusOr<std::vector<math::TimeSeries>> {
      return Band(id, stddevs, ctx.start_ms);
    };
    StatusOr<math::EvalResult> result = math::Evaluate(*q.expression, ctx);
    if (!result.ok()) {
      Status status = result.status();
      if (status.message().rfind("Error in expression ", 0) == 0 || status.code() != StatusCode::kInvalidArgument ||
          status.aws_code() == "InvalidParameterCombination") {
        return status;
      }
      return Validation("Error in expression " + q.id + ": " + status.message());
    }
    out.value = std::move(result->value);
    out.dropped = result->dropped_non_finite;
    return out;
  }

  StatusOr<std::vector<math::TimeSeries>> Search(const math::SearchRequest& request, Outcome& out) {
    if (!deps_.metrics) return Status::Unavailable("The metric store is not open.");
    StatusOr<metrics::Statistic> stat = metrics::ParseStatistic(request.stat);
    if (!stat.ok()) return Status::InvalidArgument("The statistic '" + request.stat + "' of SEARCH is not a valid statistic.");
    if (!IsValidPeriod(request.period_seconds)) {
      return Status::InvalidArgument("The period of SEARCH must be 1, 5, 10, 20, 30, or a multiple of 60.");
    }
    metrics::ListFilter filter;
    filter.tenant = scope_;
    filter.name_space = request.query->name_space();
    std::vector<metrics::SeriesKey> keys;
    std::string after;
    while (true) {
      std::vector<metrics::SeriesInfo> page = deps_.metrics->List(filter, after, 1000);
      for (const auto& info : page) {
        if (request.query->Matches(info.key)) keys.push_back(info.key);
      }
      if (page.size() < 1000) break;
      after = page.back().key.Canonical();
    }
    if (keys.size() > kMaxSearchSeries) {
      keys.resize(kMaxSearchSeries);
      out.partial = true;
      out.messages.emplace_back("MaxMetricsExceeded",
                                "Maximum number of allowed metrics exceeded. Your search may have been partially successful.");
    }
    std::vector<math::TimeSeries> series;
    for (const auto& key : keys) {
      GANTRY_ASSIGN_OR_RETURN(math::TimeSeries s, FetchRange(key, *stat, request.period_seconds, std::nullopt));
      s.label = DefaultSearchLabel(key);
      series.push_back(std::move(s));
    }
    return series;
  }

  // The lower and upper band of query `id` over the evaluated range, from a model trained on the
  // query's last two weeks of history up to the range's end.
  StatusOr<std::vector<math::TimeSeries>> Band(const std::string& id, double stddevs, int64_t grid_start_ms) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) return Status::InvalidArgument("Unrecognized identifier '" + id + "'");
    const Query& q = *found->second;
    int period = Period(q);
    int64_t training_start = std::min(start_ms_, end_ms_ - kTrainingWindowMs);
    math::TimeSeries history;
    metrics::AnomalyModelOptions options;
    std::string label = q.label.empty() ? (q.metric ? q.metric->metric_name : q.id) : q.label;
    if (q.metric) {
      GANTRY_ASSIGN_OR_RETURN(history, Fetch(*q.metric, q.stat, period, q.unit, training_start, end_ms_));
      if (deps_.store) {
        GANTRY_ASSIGN_OR_RETURN(std::optional<aws::Document> detector,
                                FindSingleMetricDetector(*deps_.store, scope_, *q.metric, q.stat.text));
        if (detector) options = DetectorOptions(*detector);
      }
    } else {
      QueryEvaluator training(deps_, scope_, queries_, training_start, end_ms_, budget_);
      GANTRY_ASSIGN_OR_RETURN(const Outcome* outcome, training.Resolve(id));
      if (outcome->value.kind != math::Value::Kind::kSeries) {
        return Status::InvalidArgument("ANOMALY_DETECTION_BAND needs a metric or an expression that gives one time series");
      }
      history = outcome->value.series[0];
    }
    metrics::AnomalyModel model = metrics::AnomalyModel::Train(history.timestamps_ms, history.values, options);
    math::TimeSeries lower, upper;
    lower.period_seconds = upper.period_seconds = period;
    lower.label = label + " Lower";
    upper.label = label + " Upper";
    if (model.trained() && PeriodHasData(period)) {
      int64_t step = int64_t{period} * 1000;
      int64_t first = (start_ms_ + step - 1) / step * step;
      GANTRY_RETURN_IF_ERROR(budget_.Charge(2 * std::max<int64_t>(0, (end_ms_ - first + step - 1) / step)));
      for (int64_t t = AlignDown(grid_start_ms, period); t < end_ms_; t += step) {
        if (t < start_ms_) continue;
        std::optional<metrics::AnomalyModel::Band> band = model.Predict(t, stddevs);
        lower.timestamps_ms.push_back(t);
        lower.values.push_back(band->lower);
        upper.timestamps_ms.push_back(t);
        upper.values.push_back(band->upper);
      }
    }
    return std::vector<math::TimeSeries>{std::move(lower), std::move(upper)};
  }

  const CloudWatchDeps& deps_;
  std::string scope_;
  const std::vector<Query>& queries_;
  int64_t start_ms_;
  int64_t end_ms_;
  math::PointBudget& budget_;
  int default_period_ = 0;
  std::map<std::string, const Query*> by_id_;
  std::map<std::string, Outcome> done_;
  std::set<std::string> active_;
};

}  // namespace

StatusOr<std::vector<MetricDataSeries>> EvaluateMetricDataQueries(const CloudWatchDeps& deps, const std::string& scope,
                                                                  const aws::Document& queries, TimePoint start,
                                                                  TimePoint end) {
  int64_t start_ms = ToEpochMillis(start), end_ms = ToEpochMillis(end);
  if (start_ms >= end_ms) return Validation("The parameter StartTime must be less than the parameter EndTime.");
  GANTRY_ASSIGN_OR_RETURN(std::vector<Query> parsed, ParseQueries(scope, queries));
  math::PointBudget budget{kMaxRequestDatapoints};
  QueryEvaluator evaluator(deps, scope, parsed, start_ms, end_ms, budget);
  std::vector<MetricDataSeries> out;
  for (const Query& q : parsed) {
    GANTRY_ASSIGN_OR_RETURN(const Outcome* outcome, evaluator.Resolve(q.id));
    std::vector<std::pair<std::string, std::string>> messages = outcome->messages;
    int64_t dropped = outcome->dropped;
    auto add = [&](std::string label, const math::TimeSeries& s) {
      MetricDataSeries r;
      r.id = q.id;
      r.label = std::move(label);
      r.timestamps_ms = s.timestamps_ms;
      r.values = s.values;
      r.return_data = q.return_data;
      r.status_code = outcome->partial ? "PartialData" : "Complete";
      r.messages = messages;
      out.push_back(std::move(r));
    };
    const math::Value& v = outcome->value;
    if (v.kind == math::Value::Kind::kScalar) {
      math::TimeSeries s;
      int period = evaluator.Period(q);
      int64_t step = int64_t{period} * 1000;
      int64_t first = (start_ms + step - 1) / step * step;
      if (std::isfinite(v.scalar) && evaluator.PeriodHasData(period)) {
        GANTRY_RETURN_IF_ERROR(budget.Charge(std::max<int64_t>(0, (end_ms - first + step - 1) / step)));
        for (int64_t t = first; t < end_ms; t += step) {
          s.timestamps_ms.push_back(t);
          s.values.push_back(v.scalar);
        }
      } else {
        ++dropped;
      }
      if (dropped > 0) messages.emplace_back("ArithmeticError", kArithmeticMessage);
      add(q.label.empty() ? q.id : q.label, s);
    } else {
      if (dropped > 0) messages.emplace_back("ArithmeticError", kArithmeticMessage);
      if (v.kind == math::Value::Kind::kSeries) {
        std::string label = !q.label.empty() ? q.label : q.metric ? v.series[0].label : q.id;
        add(label, v.series[0]);
      } else {
        for (const auto& s : v.series) {
          std::string member = s.label.empty() ? q.id : s.label;
          add(q.label.empty() ? member : q.label + " " + member, s);
        }
      }
    }
  }
  return out;
}

}  // namespace gantry::services::cloudwatch
