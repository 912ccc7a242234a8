#include "services/logs/log_metrics.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

#include "core/common/log.h"
#include "telemetry/logs/filter_pattern.h"

namespace gantry::services::logs {

namespace {

using telemetry::logs::FilterPattern;
using telemetry::logs::NewEvent;

constexpr size_t kMaxMetricsPerCall = 1000;
constexpr size_t kMaxEmfValues = 100;
constexpr size_t kMaxEmfDimensions = 30;
constexpr int64_t kHourMs = 3600 * 1000;
// What PutMetricData accepts; data outside it would fail the whole call.
constexpr int64_t kMaxPastMs = 14 * 24 * kHourMs;
constexpr int64_t kMaxFutureMs = 2 * kHourMs;

// The value at a $.a.b[0] path (text after the '$') in a JSON document, or null.
const Document* Resolve(const Document& root, std::string_view path) {
  const Document* current = &root;
  size_t i = 0;
  while (i < path.size() && current) {
    if (path[i] == '.') {
      size_t end = path.find_first_of(".[", i + 1);
      if (end == std::string_view::npos) end = path.size();
      std::string name(path.substr(i + 1, end - i - 1));
      current = current->is_object() && current->contains(name) ? &(*current)[name] : nullptr;
      i = end;
    } else if (path[i] == '[') {
      size_t end = path.find(']', i);
      if (end == std::string_view::npos) return nullptr;
      std::string digits(path.substr(i + 1, end - i - 1));
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      size_t index = std::stoul(digits);
      current = current->is_array() && index < current->size() ? &(*current)[index] : nullptr;
      i = end + 1;
    } else {
      return nullptr;
    }
  }
  return current;
}

std::optional<double> ParseNumber(std::string_view text) {
  std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// One log event as the references of a transformation see it: the fields a delimited pattern
// extracted, and the message as JSON (parsed on first use).
class EventView {
 public:
  EventView(std::string_view message, const FilterPattern::Fields& fields) : message_(message), fields_(fields) {}

  // The text a $field or $.path reference names, or nullopt.
  std::optional<std::string> Text(std::string_view reference) {
    if (reference.rfind("$.", 0) == 0 || reference.rfind("$[", 0) == 0) {
      if (!json_) json_ = Document::parse(message_, nullptr, false);
      const Document* value = json_->is_discarded() ? nullptr : Resolve(*json_, reference.substr(1));
      if (!value) return std::nullopt;
      if (value->is_string()) return value->get<std::string>();
      if (value->is_number() || value->is_boolean()) return value->dump();
      return std::nullopt;
    }
    for (const auto& [name, value] : fields_) {
      if (name == reference) return value;
    }
    return std::nullopt;
  }

 private:
  std::string_view message_;
  const FilterPattern::Fields& fields_;
  std::optional<Document> json_;
};

class Collector {
 public:
  explicit Collector(int64_t now_ms) : now_ms_(now_ms) {}

  void Add(const std::string& name_space, Document datum, int64_t timestamp_ms) {
    if (timestamp_ms < now_ms_ - kMaxPastMs || timestamp_ms > now_ms_ + kMaxFutureMs) return;
    datum["Timestamp"] = static_cast<double>(timestamp_ms) / 1000;
    by_namespace_[name_space].push_back(std::move(datum));
  }

  std::vector<MetricBatch> Batches() && {
    std::vector<MetricBatch> out;
    for (auto& [name_space, data] : by_namespace_) {
      for (size_t i = 0; i < data.size(); i += kMaxMetricsPerCall) {
        MetricBatch batch{name_space, Document::array()};
        for (size_t j = i; j < data.size() && j < i + kMaxMetricsPerCall; ++j) batch.metric_data.push_back(data[j]);
        out.push_back(std::move(batch));
      }
    }
    return out;
  }

 private:
  int64_t now_ms_;
  std::map<std::string, std::vector<Document>> by_namespace_;
};

void ApplyFilter(const Document& filter, std::span<const NewEvent> events, int64_t now_ms, Collector& out) {
  auto pattern = FilterPattern::Parse(filter.value("filterPattern", ""));
  if (!pattern.ok() || !filter.contains("metricTransformations")) return;
  for (const auto& t : filter["metricTransformations"]) {
    std::string name_space = t.value("metricNamespace", "");
    std::string metric_value = t.value("metricValue", "");
    size_t matched = 0;
    for (const NewEvent& event : events) {
      FilterPattern::Fields fields;
      if (!pattern->Match(event.message, &fields)) continue;
      EventView view(event.message, fields);
      std::optional<double> value;
      if (!metric_value.empty() && metric_value[0] == '$') {
        std::optional<std::string> text = view.Text(metric_value);
        if (text) value = ParseNumber(*text);
      } else {
        value = ParseNumber(metric_value);
      }
      if (!value) continue;
      Document datum = {{"MetricName", t.value("metricName", "")}, {"Value", *value}};
      if (t.contains("unit")) datum["Unit"] = t["unit"];
      bool complete = true;
      if (t.contains("dimensions")) {
        Document dimensions = Document::array();
        for (const auto& [name, reference] : t["dimensions"].items()) {
          std::optional<std::string> text = view.Text(reference.get<std::string>());
          if (!text || text->empty()) {
            complete = false;
            break;
          }
          dimensions.push_back({{"Name", name}, {"Value", *text}});
        }
        if (!dimensions.empty()) datum["Dimensions"] = dimensions;
      }
      if (!complete) continue;
      ++matched;
      out.Add(name_space, std::move(datum), event.timestamp);
    }
    // A batch with no match reports the default value, when the transformation has one.
    if (matched == 0 && t.contains("defaultValue") && !events.empty()) {
      Document datum = {{"MetricName", t.value("metricName", "")}, {"Value", t["defaultValue"]}};
      if (t.contains("unit")) datum["Unit"] = t["unit"];
      out.Add(name_space, std::move(datum), now_ms);
    }
  }
}

// The values of an EMF metric member: a number or an array of up to 100 numbers.
std::optional<Document> EmfValues(const Document& member) {
  if (member.is_number()) return Document::array({member});
  if (!member.is_array() || member.empty() || member.size() > kMaxEmfValues) return std::nullopt;
  for (const auto& v : member) {
    if (!v.is_number()) return std::nullopt;
  }
  return member;
}

void ApplyEmf(const NewEvent& event, Collector& out) {
  std::string_view message = event.message;
  size_t first = message.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || message[first] != '{' || message.find("\"_aws\"") == std::string_view::npos) {
    return;
  }
  Document root = Document::parse(message, nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("_aws") || !root["_aws"].is_object()) return;
  const Document& aws = root["_aws"];
  if (!aws.contains("CloudWatchMetrics") || !aws["CloudWatchMetrics"].is_array()) return;
  int64_t timestamp = event.timestamp;
  if (aws.contains("Timestamp") && aws["Timestamp"].is_number()) timestamp = aws["Timestamp"].get<int64_t>();
  for (const auto& directive : aws["CloudWatchMetrics"]) {
    if (!directive.is_object() || !directive.contains("Namespace") || !directive["Namespace"].is_string() ||
        !directive.contains("Metrics") || !directive["Metrics"].is_array()) {
      continue;
    }
    std::string name_space = directive["Namespace"].get<std::string>();
    Document sets = directive.value("Dimensions", Document::array());
    if (!sets.is_array()) continue;
    if (sets.empty()) sets.push_back(Document::array());
    for (const auto& set : sets) {
      if (!set.is_array() || set.size() > kMaxEmfDimensions) continue;
      Document dimensions = Document::array();
      bool complete = true;
      for (const auto& key : set) {
        if (!key.is_string() || !root.contains(key.get<std::string>()) || !root[key.get<std::string>()].is_string()) {
          complete = false;
          break;
        }
        dimensions.push_back({{"Name", key}, {"Value", root[key.get<std::string>()]}});
      }
      if (!complete) continue;
      for (const auto& metric : directive["Metrics"]) {
        if (!metric.is_object() || !metric.contains("Name") || !metric["Name"].is_string()) continue;
        std::string name = metric["Name"].get<std::string>();
        if (!root.contains(name)) continue;
        std::optional<Document> values = EmfValues(root[name]);
        if (!values) continue;
        Document datum = {{"MetricName", name}, {"Values", *values}};
        if (!dimensions.empty()) datum["Dimensions"] = dimensions;
        if (metric.contains("Unit") && metric["Unit"].is_string()) datum["Unit"] = metric["Unit"];
        if (metric.contains("StorageResolution") && metric["StorageResolution"] == 1) datum["StorageResolution"] = 1;
        out.Add(name_space, std::move(datum), timestamp);
      }
    }
  }
}

}  // namespace

std::vector<MetricBatch> MetricsFromEvents(const std::vector<Document>& filters, std::span<const NewEvent> events,
                                           int64_t now_ms) {
  Collector out(now_ms);
  for (const Document& filter : filters) ApplyFilter(filter, events, now_ms, out);
  for (const NewEvent& event : events) ApplyEmf(event, out);
  return std::move(out).Batches();
}

void PublishLogMetrics(const LogsDeps& deps, const aws::RequestContext& ctx, const std::string& group,
                       std::span<const NewEvent> events) {
  if (!deps.client || events.empty()) return;
  std::vector<Document> filters;
  auto records = ListAll(*deps.store, kMetricFilterTable, ctx.Scope(), StreamKey(group, ""));
  if (!records.ok()) {
    GANTRY_LOG(kWarn, "logs: metric filters of " << group << " unreadable: " << records.status().ToString());
    return;
  }
  for (auto& record : *records) filters.push_back(std::move(record.doc));
  std::vector<MetricBatch> batches = MetricsFromEvents(filters, events, ToEpochMillis(deps.clock->Now()));
  aws::Principal principal;
  principal.account_id = ctx.account_id;
  principal.arn = std::string(kLogsPrincipal);
  principal.user_id = std::string(kLogsPrincipal);
  principal.service = std::string(kLogsPrincipal);
  for (MetricBatch& batch : batches) {
    Document input = {{"Namespace", batch.name_space}, {"MetricData", std::move(batch.metric_data)}};
    auto published = deps.client->Call(principal, "cloudwatch", "PutMetricData", input, ctx.region);
    if (!published.ok()) {
      GANTRY_LOG(kWarn, "logs: metrics of " << group << " in " << batch.name_space
                                            << " not published: " << published.status().ToString());
    }
  }
}

}  // namespace gantry::services::logs
