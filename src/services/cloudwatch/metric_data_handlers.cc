// GetMetricData (over EvaluateMetricDataQueries, with ScanBy, MaxDatapoints and NextToken) and the
// anomaly-detector operations: PutAnomalyDetector, DescribeAnomalyDetectors, DeleteAnomalyDetector.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/common/strings.h"
#include "services/cloudwatch/anomaly_detectors.h"
#include "services/cloudwatch/handlers.h"
#include "services/cloudwatch/metric_data.h"
#include "services/cloudwatch/metric_validation.h"
#include "telemetry/metrics/statistics.h"

namespace gantry::services::cloudwatch {

namespace {

using aws::Document;

constexpr int64_t kDefaultMaxDatapoints = 100800;
constexpr int kDescribeDefaultResults = 100;
constexpr int64_t kTrainingWindowMs = int64_t{14} * 24 * 3600 * 1000;
constexpr int kDescribeTrainingPeriod = 300;

Status Validation(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationError"); }
Status InvalidNextToken() { return Status::InvalidArgument("The NextToken is not valid.", "InvalidNextToken"); }

TimePoint TimeOf(const Document& v) { return FromEpochSeconds(v.get<double>()); }

double Seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// --- GetMetricData -------------------------------------------------------------------------------

// Page tokens: base64 of "gmd:<result index>:<datapoint offset>".
StatusOr<std::pair<size_t, size_t>> ParseToken(const std::string& token) {
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("gmd:", 0) != 0) return InvalidNextToken();
  std::vector<std::string_view> parts = Split(std::string_view(*decoded).substr(4), ':');
  if (parts.size() != 2) return InvalidNextToken();
  try {
    return std::make_pair(static_cast<size_t>(std::stoull(std::string(parts[0]))),
                          static_cast<size_t>(std::stoull(std::string(parts[1]))));
  } catch (const std::exception&) {
    return InvalidNextToken();
  }
}

StatusOr<Document> GetMetricData(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string scan_by = input.value("ScanBy", "TimestampDescending");
  int64_t max_datapoints = input.value("MaxDatapoints", kDefaultMaxDatapoints);
  if (max_datapoints <= 0) return Validation("The parameter MaxDatapoints must be greater than 0.");
  size_t first_result = 0, first_offset = 0;
  if (input.contains("NextToken")) {
    GANTRY_ASSIGN_OR_RETURN(std::tie(first_result, first_offset), ParseToken(input["NextToken"].get<std::string>()));
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<MetricDataSeries> all,
                          EvaluateMetricDataQueries(deps, ctx.Scope(), input.value("MetricDataQueries", Document::array()),
                                                    TimeOf(input["StartTime"]), TimeOf(input["EndTime"])));
  std::vector<MetricDataSeries> results;
  for (auto& s : all) {
    if (s.return_data) results.push_back(std::move(s));
  }
  if (first_result > results.size()) return InvalidNextToken();

  Document out = {{"MetricDataResults", Document::array()}, {"Messages", Document::array()}};
  int64_t budget = max_datapoints;
  for (size_t r = first_result; r < results.size(); ++r) {
    MetricDataSeries& s = results[r];
    if (scan_by == "TimestampDescending") {
      std::reverse(s.timestamps_ms.begin(), s.timestamps_ms.end());
      std::reverse(s.values.begin(), s.values.end());
    }
    size_t offset = r == first_result ? first_offset : 0;
    if (offset > s.values.size()) return InvalidNextToken();
    if (budget == 0) {
      out["NextToken"] = Base64Encode("gmd:" + std::to_string(r) + ":" + std::to_string(offset));
      return out;
    }
    size_t take = std::min<size_t>(s.values.size() - offset, static_cast<size_t>(budget));
    Document result = {{"Id", s.id},
                       {"Label", s.label},
                       {"Timestamps", Document::array()},
                       {"Values", Document::array()},
                       {"StatusCode", s.status_code},
                       {"Messages", Document::array()}};
    for (size_t i = offset; i < offset + take; ++i) {
      result["Timestamps"].push_back(Seconds(s.timestamps_ms[i]));
      result["Values"].push_back(s.values[i]);
    }
    for (const auto& [code, value] : s.messages) result["Messages"].push_back({{"Code", code}, {"Value", value}});
    budget -= static_cast<int64_t>(take);
    if (offset + take < s.values.size()) {
      result["StatusCode"] = "PartialData";
      out["MetricDataResults"].push_back(std::move(result));
      out["NextToken"] = Base64Encode("gmd:" + std::to_string(r) + ":" + std::to_string(offset + take));
      return out;
    }
    out["MetricDataResults"].push_back(std::move(result));
  }
  return out;
}

// --- Anomaly detectors -----------------------------------------------------------------------------

struct DetectorIdentity {
  std::string key;
  Document stored;  // Type and the identity members as DescribeAnomalyDetectors shows them
};

Document DimensionsOf(const telemetry::metrics::SeriesKey& key) {
  Document dims = Document::array();
  for (const auto& d : key.dimensions) dims.push_back({{"Name", d.name}, {"Value", d.value}});
  return dims;
}

// The detector an input names, from the legacy top-level members, SingleMetricAnomalyDetector or
// MetricMathAnomalyDetector.
StatusOr<DetectorIdentity> IdentityOf(const aws::RequestContext& ctx, const Document& input) {
  bool legacy = input.contains("Namespace") || input.contains("MetricName") || input.contains("Dimensions") ||
                input.contains("Stat");
  bool single = input.contains("SingleMetricAnomalyDetector");
  bool math = input.contains("MetricMathAnomalyDetector");
  if (static_cast<int>(legacy) + static_cast<int>(single) + static_cast<int>(math) > 1) {
    return InvalidParameterCombination(
        "Only one of the following may be specified: the metric (Namespace, MetricName, Dimensions, Stat), "
        "SingleMetricAnomalyDetector, or MetricMathAnomalyDetector.");
  }
  if (!legacy && !single && !math) {
    return MissingParameter("An anomaly detector must specify SingleMetricAnomalyDetector or MetricMathAnomalyDetector.");
  }
  DetectorIdentity id;
  if (math) {
    Document queries = input["MetricMathAnomalyDetector"].value("MetricDataQueries", Document::array());
    if (queries.empty()) return MissingParameter("The parameter MetricMathAnomalyDetector.MetricDataQueries is required.");
    int returned = 0;
    for (const auto& q : queries) returned += q.value("ReturnData", true) ? 1 : 0;
    if (returned != 1) {
      return InvalidParameterValue("MetricMathAnomalyDetector.MetricDataQueries must have exactly one query with "
                                   "ReturnData set to true.");
    }
    id.key = MetricMathDetectorKey(queries);
    id.stored = {{"Type", "METRIC_MATH"}, {"MetricDataQueries", queries}};
    return id;
  }
  const Document& source = single ? input["SingleMetricAnomalyDetector"] : input;
  std::string stat = source.value("Stat", "");
  if (source.value("Namespace", "").empty()) return MissingParameter("The parameter Namespace is required.");
  if (source.value("MetricName", "").empty()) return MissingParameter("The parameter MetricName is required.");
  if (stat.empty()) return MissingParameter("The parameter Stat is required.");
  if (!telemetry::metrics::ParseStatistic(stat).ok()) {
    return InvalidParameterValue("The value " + stat + " for parameter Stat is not a valid statistic.");
  }
  StatusOr<telemetry::metrics::SeriesKey> key = ParseMetric(ctx.Scope(), source, "SingleMetricAnomalyDetector");
  if (!key.ok()) return InvalidParameterValue(key.status().message());
  id.key = SingleMetricDetectorKey(*key, stat);
  id.stored = {{"Type", "SINGLE_METRIC"},
               {"Namespace", key->name_space},
               {"MetricName", key->metric_name},
               {"Dimensions", DimensionsOf(*key)},
               {"Stat", stat}};
  return id;
}

StatusOr<Document> PutAnomalyDetector(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(DetectorIdentity id, IdentityOf(ctx, input));
  Document doc = id.stored;
  if (input.contains("Configuration")) {
    Document configuration = input["Configuration"];
    for (const auto& range : configuration.value("ExcludedTimeRanges", Document::array())) {
      if (range.value("StartTime", 0.0) >= range.value("EndTime", 0.0)) {
        return InvalidParameterValue("The StartTime of an excluded time range must be before its EndTime.");
      }
    }
    doc["Configuration"] = std::move(configuration);
  }
  if (input.contains("MetricCharacteristics")) doc["MetricCharacteristics"] = input["MetricCharacteristics"];
  GANTRY_RETURN_IF_ERROR(deps.store->Put(kAnomalyDetectorTable, ctx.Scope(), id.key, doc).status());
  return Document::object();
}

// The detector's model state, from training on its last two weeks of data.
std::string StateOf(const CloudWatchDeps& deps, const aws::RequestContext& ctx, const Document& doc) {
  int64_t now_ms = ToEpochMillis(deps.clock->Now());
  int64_t end_ms = now_ms - now_ms % (kDescribeTrainingPeriod * 1000) + kDescribeTrainingPeriod * 1000;
  Document queries;
  if (doc.value("Type", "") == "METRIC_MATH") {
    queries = doc["MetricDataQueries"];
  } else {
    Document metric = {{"Namespace", doc["Namespace"]}, {"MetricName", doc["MetricName"]}, {"Dimensions", doc["Dimensions"]}};
    queries = Document::array();
    queries.push_back({{"Id", "m1"},
                       {"MetricStat", {{"Metric", metric}, {"Period", kDescribeTrainingPeriod}, {"Stat", doc["Stat"]}}}});
  }
  auto series = EvaluateMetricDataQueries(deps, ctx.Scope(), queries,
                                          TimePoint(std::chrono::milliseconds(end_ms - kTrainingWindowMs)),
                                          TimePoint(std::chrono::milliseconds(end_ms)));
  telemetry::metrics::AnomalyModel::State state = telemetry::metrics::AnomalyModel::State::kPendingTraining;
  if (series.ok()) {
    for (const auto& s : *series) {
      if (!s.return_data) continue;
      state = telemetry::metrics::AnomalyModel::Train(s.timestamps_ms, s.values, DetectorOptions(doc)).state();
      break;
    }
  }
  switch (state) {
    case telemetry::metrics::AnomalyModel::State::kPendingTraining:
      return "PENDING_TRAINING";
    case telemetry::metrics::AnomalyModel::State::kTrainedInsufficientData:
      return "TRAINED_INSUFFICIENT_DATA";
    case telemetry::metrics::AnomalyModel::State::kTrained:
      return "TRAINED";
  }
  return "PENDING_TRAINING";
}

bool DimensionsInclude(const Document& have, const Document& wanted) {
  for (const auto& w : wanted) {
    bool found = std::any_of(have.begin(), have.end(), [&](const Document& h) {
      return h.value("Name", "") == w.value("Name", "") && h.value("Value", "") == w.value("Value", "");
    });
    if (!found) return false;
  }
  return true;
}

StatusOr<Document> DescribeAnomalyDetectors(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  int max_results = input.value("MaxResults", kDescribeDefaultResults);
  if (max_results < 1) return InvalidParameterValue("The parameter MaxResults must be greater than 0.");
  std::string start_after;
  if (input.contains("NextToken")) {
    std::optional<std::string> decoded = Base64Decode(input["NextToken"].get<std::string>());
    if (!decoded || decoded->rfind("ad:", 0) != 0) return InvalidNextToken();
    start_after = decoded->substr(3);
  }
  std::vector<std::string> types;
  for (const auto& t : input.value("AnomalyDetectorTypes", Document::array())) types.push_back(t.get<std::string>());
  bool math_filter = input.contains("Namespace") || input.contains("MetricName") || input.contains("Dimensions");
  Document out = {{"AnomalyDetectors", Document::array()}};
  while (true) {
    store::ListOptions options;
    options.start_after = start_after;
    options.limit = 200;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kAnomalyDetectorTable, ctx.Scope(), options));
    for (const auto& record : page.records) {
      const Document& doc = record.doc;
      std::string type = doc.value("Type", "SINGLE_METRIC");
      if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) continue;
      if (type == "METRIC_MATH" && math_filter) continue;
      if (input.contains("Namespace") && doc.value("Namespace", "") != input["Namespace"]) continue;
      if (input.contains("MetricName") && doc.value("MetricName", "") != input["MetricName"]) continue;
      if (input.contains("Dimensions") && !DimensionsInclude(doc.value("Dimensions", Document::array()), input["Dimensions"])) {
        continue;
      }
      if (static_cast<int>(out["AnomalyDetectors"].size()) == max_results) {
        out["NextToken"] = Base64Encode("ad:" + start_after);
        return out;
      }
      Document detector;
      if (type == "METRIC_MATH") {
        detector["MetricMathAnomalyDetector"] = {{"MetricDataQueries", doc["MetricDataQueries"]}};
      } else {
        Document single = {{"AccountId", ctx.account_id},
                           {"Namespace", doc["Namespace"]},
                           {"MetricName", doc["MetricName"]},
                           {"Dimensions", doc["Dimensions"]},
                           {"Stat", doc["Stat"]}};
        for (const char* member : {"Namespace", "MetricName", "Dimensions", "Stat"}) detector[member] = doc[member];
        detector["SingleMetricAnomalyDetector"] = std::move(single);
      }
      detector["Configuration"] = doc.value("Configuration", Document{{"ExcludedTimeRanges", Document::array()}});
      if (doc.contains("MetricCharacteristics")) detector["MetricCharacteristics"] = doc["MetricCharacteristics"];
      detector["StateValue"] = StateOf(deps, ctx, doc);
      out["AnomalyDetectors"].push_back(std::move(detector));
      start_after = record.key;
    }
    if (page.next_token.empty()) break;
    start_after = page.next_token;
  }
  return out;
}

StatusOr<Document> DeleteAnomalyDetector(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(DetectorIdentity id, IdentityOf(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(bool deleted, deps.store->Delete(kAnomalyDetectorTable, ctx.Scope(), id.key));
  if (!deleted) {
    return Status::NotFound("No anomaly detector found for the specified metric and statistic.", "ResourceNotFoundException");
  }
  return Document::object();
}

using Handler = StatusOr<Document> (*)(const CloudWatchDeps&, aws::RequestContext&, const Document&);

}  // namespace

void RegisterMetricDataHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps) {
  const std::pair<const char*, Handler> handlers[] = {
      {"GetMetricData", GetMetricData},
      {"PutAnomalyDetector", PutAnomalyDetector},
      {"DescribeAnomalyDetectors", DescribeAnomalyDetectors},
      {"DeleteAnomalyDetector", DeleteAnomalyDetector},
  };
  for (const auto& [name, fn] : handlers) {
    table.Add("cloudwatch", name, [&deps, fn = fn](aws::RequestContext& ctx, const Document& input) { return fn(deps, ctx, input); });
  }
}

}  // namespace gantry::services::cloudwatch
