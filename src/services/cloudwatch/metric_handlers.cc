// Metrics: PutMetricData (validated into the metric store), GetMetricStatistics (periods of one
// series with the standard and extended statistics) and ListMetrics (filters, RecentlyActive,
// 500 per page). The tenant of every series is the request's account and region.
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include "core/common/strings.h"
#include "services/cloudwatch/alarm_scheduler.h"
#include "services/cloudwatch/handlers.h"
#include "services/cloudwatch/metric_validation.h"
#include "telemetry/metrics/statistics.h"

namespace gantry::services::cloudwatch {

namespace {

using aws::Document;
using telemetry::metrics::Bucket;
using telemetry::metrics::Datum;
using telemetry::metrics::ListFilter;
using telemetry::metrics::QueryRange;
using telemetry::metrics::SeriesInfo;
using telemetry::metrics::SeriesKey;
using telemetry::metrics::Statistic;

constexpr size_t kListPageSize = 500;
constexpr int64_t kHourMs = 3600 * 1000;
// ListMetrics shows metrics that received data in the last two weeks.
constexpr int64_t kListWindowMs = 14 * 24 * kHourMs;

int64_t EpochMillisOf(const Document& seconds) {
  return static_cast<int64_t>(std::llround(seconds.get<double>() * 1000));
}

Document DimensionsOf(const SeriesKey& key) {
  Document dimensions = Document::array();
  for (const auto& d : key.dimensions) dimensions.push_back({{"Name", d.name}, {"Value", d.value}});
  return dimensions;
}

StatusOr<Document> PutMetricData(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<Datum> data,
                          ParsePutMetricData(input, ctx.Scope(), deps.clock->Now(), !ctx.principal.service.empty()));
  GANTRY_RETURN_IF_ERROR(deps.metrics->Write(data));
  // The alarms on these metrics are evaluated promptly, now that the write is durable.
  if (deps.alarms) {
    for (const Datum& d : data) deps.alarms->NotifyMetric(ctx.Scope(), d.key.name_space, d.key.metric_name);
  }
  return Document::object();
}

StatusOr<std::vector<Statistic>> RequestedStatistics(const Document& input) {
  bool has_statistics = input.contains("Statistics") && !input["Statistics"].empty();
  bool has_extended = input.contains("ExtendedStatistics") && !input["ExtendedStatistics"].empty();
  if (!has_statistics && !has_extended) {
    return InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics");
  }
  if (has_statistics && has_extended) {
    return InvalidParameterCombination(
        "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.");
  }
  std::vector<Statistic> statistics;
  const char* member = has_statistics ? "Statistics" : "ExtendedStatistics";
  const Document& names = input[member];
  for (size_t i = 0; i < names.size(); ++i) {
    std::string text = names[i].get<std::string>();
    auto parsed = telemetry::metrics::ParseStatistic(text);
    if (!parsed.ok() || parsed->extended() != has_extended) {
      return InvalidParameterValue("The value " + text + " for parameter " + member + ".member." +
                                   std::to_string(i + 1) + " is invalid.");
    }
    statistics.push_back(*parsed);
  }
  return statistics;
}

void SetStatistic(Document& datapoint, const Statistic& statistic, double value) {
  using Kind = Statistic::Kind;
  switch (statistic.kind) {
    case Kind::kSampleCount: datapoint["SampleCount"] = value; return;
    case Kind::kSum: datapoint["Sum"] = value; return;
    case Kind::kAverage: datapoint["Average"] = value; return;
    case Kind::kMinimum: datapoint["Minimum"] = value; return;
    case Kind::kMaximum: datapoint["Maximum"] = value; return;
    default: datapoint["ExtendedStatistics"][statistic.text] = value; return;
  }
}

StatusOr<Document> GetMetricStatistics(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  int64_t start_ms = EpochMillisOf(input["StartTime"]);
  int64_t end_ms = EpochMillisOf(input["EndTime"]);
  if (start_ms >= end_ms) {
    return InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.");
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<Statistic> statistics, RequestedStatistics(input));
  int64_t period = input["Period"].get<int64_t>();
  GANTRY_RETURN_IF_ERROR(CheckStatisticsPeriod(period, start_ms, end_ms));

  SeriesKey key;
  key.tenant = ctx.Scope();
  key.name_space = input["Namespace"].get<std::string>();
  key.metric_name = input["MetricName"].get<std::string>();
  if (input.contains("Dimensions")) {
    for (const auto& d : input["Dimensions"]) key.dimensions.push_back({d["Name"], d["Value"]});
  }
  key.Normalize();
  Document out = {{"Label", key.metric_name}, {"Datapoints", Document::array()}};
  if (!PeriodServesStart(period, start_ms, ToEpochMillis(deps.clock->Now()))) return out;

  QueryRange range;
  range.start_ms = start_ms;
  range.end_ms = end_ms;
  range.period_seconds = static_cast<int>(period);
  if (input.contains("Unit")) range.unit = input["Unit"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(std::vector<Bucket> buckets, deps.metrics->Query(key, range));
  for (const Bucket& bucket : buckets) {
    Document datapoint = {{"Timestamp", static_cast<double>(bucket.start_ms) / 1000}};
    for (const Statistic& statistic : statistics) {
      std::optional<double> value = telemetry::metrics::Compute(statistic, bucket.aggregate);
      if (value) SetStatistic(datapoint, statistic, *value);
    }
    std::string unit = range.unit ? *range.unit : bucket.aggregate.unit;
    datapoint["Unit"] = unit.empty() ? "None" : unit;
    out["Datapoints"].push_back(std::move(datapoint));
  }
  return out;
}

// Whether `decoded` is a ListMetrics page token of `tenant`: a series' Canonical() form, that is
// length-prefixed fields (tenant, namespace, metric name, then dimension name/value pairs).
bool IsListToken(std::string_view decoded, const std::string& tenant) {
  std::vector<std::string_view> fields;
  while (!decoded.empty()) {
    size_t colon = decoded.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon > 6) return false;
    size_t length = 0;
    for (char c : decoded.substr(0, colon)) {
      if (c < '0' || c > '9') return false;
      length = length * 10 + static_cast<size_t>(c - '0');
    }
    if (decoded.size() - colon - 1 < length) return false;
    fields.push_back(decoded.substr(colon + 1, length));
    decoded.remove_prefix(colon + 1 + length);
  }
  return fields.size() >= 3 && fields.size() % 2 == 1 && fields[0] == tenant;
}

StatusOr<Document> ListMetrics(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  ListFilter filter;
  filter.tenant = ctx.Scope();
  if (input.contains("Namespace")) filter.name_space = input["Namespace"].get<std::string>();
  if (input.contains("MetricName")) filter.metric_name = input["MetricName"].get<std::string>();
  if (input.contains("Dimensions")) {
    for (const auto& d : input["Dimensions"]) {
      std::optional<std::string> value;
      if (d.contains("Value")) value = d["Value"].get<std::string>();
      filter.dimensions.push_back({d["Name"].get<std::string>(), value});
    }
  }
  int64_t now_ms = ToEpochMillis(deps.clock->Now());
  filter.active_since_ms = now_ms - (input.contains("RecentlyActive") ? 3 * kHourMs : kListWindowMs);

  std::string start_after;
  if (input.contains("NextToken")) {
    const std::string token = input["NextToken"].get<std::string>();
    std::optional<std::string> decoded = Base64Decode(token);
    if (!decoded || !IsListToken(*decoded, filter.tenant)) {
      return InvalidParameterValue("The value " + token + " for parameter NextToken is invalid.");
    }
    start_after = *decoded;
  }
  std::vector<SeriesInfo> series = deps.metrics->List(filter, start_after, kListPageSize + 1);
  Document metrics = Document::array();
  for (size_t i = 0; i < series.size() && i < kListPageSize; ++i) {
    const SeriesKey& key = series[i].key;
    metrics.push_back(
        {{"Namespace", key.name_space}, {"MetricName", key.metric_name}, {"Dimensions", DimensionsOf(key)}});
  }
  Document out = {{"Metrics", metrics}};
  if (series.size() > kListPageSize) out["NextToken"] = Base64Encode(series[kListPageSize - 1].key.Canonical());
  return out;
}

using Handler = StatusOr<Document> (*)(const CloudWatchDeps&, aws::RequestContext&, const Document&);

void Add(aws::HandlerTable& table, const CloudWatchDeps& deps, std::string_view operation, Handler fn) {
  table.Add("cloudwatch", operation, [&deps, fn](aws::RequestContext& ctx, const Document& input) {
    return fn(deps, ctx, input);
  });
}

}  // namespace

void RegisterMetricHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps) {
  Add(table, deps, "PutMetricData", PutMetricData);
  Add(table, deps, "GetMetricStatistics", GetMetricStatistics);
  Add(table, deps, "ListMetrics", ListMetrics);
}

}  // namespace gantry::services::cloudwatch
