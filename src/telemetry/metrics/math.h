// The CloudWatch metric-math language ("Metric math syntax and functions"): a parser for
// expressions such as `SUM(METRICS("errors")) / m1 * 100` and an evaluator over time series handed
// in by the caller. The engine knows nothing of the metric store: identifiers, METRICS(), SEARCH
// and ANOMALY_DETECTION_BAND are answered through callbacks, so it is testable alone and the same
// engine serves GetMetricData and alarms.
//
// Values are scalars, time series, or arrays of time series; every function checks its argument
// types as the CloudWatch function table gives them. Non-finite results (x/0, LOG(-1)) are dropped
// from series and counted, so the caller can report them as CloudWatch does.
//
// Thread-safety: Parse and Evaluate are pure apart from the callbacks; a parsed Expression is
// immutable and may be evaluated from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "telemetry/metrics/metric_store.h"

namespace gantry::telemetry::metrics::math {

struct TimeSeries {
  std::string id;     // the query the series came from ("" for computed series)
  std::string label;  // its label (for arrays: the label of each member)
  int period_seconds = 60;
  std::vector<int64_t> timestamps_ms;  // ascending, unique
  std::vector<double> values;

  bool empty() const { return values.empty(); }
};

struct Value {
  enum class Kind { kScalar, kSeries, kArray };
  Kind kind = Kind::kScalar;
  double scalar = 0;
  std::vector<TimeSeries> series;  // one member for kSeries

  static Value Scalar(double v);
  static Value Series(TimeSeries s);
  static Value Array(std::vector<TimeSeries> s);
};

struct Node;

// A parsed expression.
class Expression {
 public:
  Expression();
  ~Expression();
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;

  const Node& root() const { return *root_; }
  // Identifiers the expression refers to (other queries' ids), in order of appearance.
  const std::vector<std::string>& references() const { return references_; }
  bool uses_metrics() const { return uses_metrics_; }  // calls METRICS()
  int search_count() const { return search_count_; }  // SEARCH calls

 private:
  friend StatusOr<Expression> Parse(std::string_view text);
  std::unique_ptr<Node> root_;
  std::vector<std::string> references_;
  bool uses_metrics_ = false;
  int search_count_ = 0;
};

// Parses an expression; InvalidArgument with a message naming the problem and its position.
StatusOr<Expression> Parse(std::string_view text);

// A SEARCH query string: `{Namespace,Dim1,Dim2} MetricName="X" term AND (a OR NOT b)`. The schema
// in braces requires the namespace and exactly those dimension names; Name=value terms match a
// property (Namespace, MetricName or a dimension name) exactly; other terms match when any of the
// namespace, metric name, dimension names or values contains them (case-insensitive).
class SearchQuery {
 public:
  static StatusOr<SearchQuery> Parse(std::string_view text);
  SearchQuery();
  ~SearchQuery();
  SearchQuery(SearchQuery&&) noexcept;
  SearchQuery& operator=(SearchQuery&&) noexcept;

  bool Matches(const SeriesKey& key) const;
  // The namespace a schema or a Namespace= term pins (to narrow the store's listing).
  const std::optional<std::string>& name_space() const { return name_space_; }

  struct Term;

 private:
  std::optional<std::string> name_space_;
  std::optional<std::vector<std::string>> schema_dimensions_;  // sorted
  std::unique_ptr<Term> term_;                                 // null: everything in the schema
};

struct SearchRequest {
  const SearchQuery* query = nullptr;
  std::string text;  // the query as written
  std::string stat;
  int period_seconds = 0;
};

// The datapoints one request may materialize on period grids (FILL, TIME_SERIES, scalars spread
// over the range), shared by every evaluation of that request. Not thread-safe.
struct PointBudget {
  int64_t limit = 0;
  int64_t used = 0;
  // Charges n points; InvalidParameterCombination with CloudWatch's datapoint-limit message when
  // the request would exceed the limit.
  Status Charge(int64_t n);
};

struct EvalContext {
  int64_t start_ms = 0;     // the range evaluated, [start, end)
  int64_t end_ms = 0;
  int period_seconds = 60;  // the period of results built from scalars (TIME_SERIES, FILL grids)
  // The request's datapoint budget; nullptr when only the per-grid cap applies.
  PointBudget* budget = nullptr;
  // Whether the range can hold data at this period (retention); a grid at a period that cannot is
  // empty. Unset: every period can.
  std::function<bool(int period_seconds)> period_has_data;
  // Another query's result by id; NotFound when no such query exists.
  std::function<StatusOr<Value>(const std::string& id)> resolve;
  // METRICS(filter): the MetricStat queries whose id contains filter ("" for all).
  std::function<StatusOr<std::vector<TimeSeries>>(const std::string& filter)> metrics;
  // SEARCH(query, stat, period).
  std::function<StatusOr<std::vector<TimeSeries>>(const SearchRequest& request)> search;
  // ANOMALY_DETECTION_BAND(id, stddevs): the lower and upper band of the query `id`.
  std::function<StatusOr<std::vector<TimeSeries>>(const std::string& id, double stddevs)> anomaly_band;
};

struct EvalResult {
  Value value;
  int64_t dropped_non_finite = 0;  // datapoints dropped as NaN or infinite
};

// Evaluates a parsed expression. InvalidArgument for type errors (a function given the wrong kind
// of argument) and for what the callbacks report.
StatusOr<EvalResult> Evaluate(const Expression& expression, const EvalContext& context);

// Whether s is a valid query id: a lowercase letter, then letters, digits and underscores.
bool IsValidId(std::string_view s);

}  // namespace gantry::telemetry::metrics::math
