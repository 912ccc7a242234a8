// Metric filters: stored with their pattern checked, listed, tested against sample messages.
// PutLogEvents applies them to the events it stores (log_metrics.h).
#include "services/logs/handlers.h"
#include "telemetry/logs/filter_pattern.h"

namespace gantry::services::logs {

namespace {

using telemetry::logs::FilterPattern;

constexpr int64_t kMaxFiltersPerGroup = 100;

StatusOr<FilterPattern> ParsePattern(const Document& input) {
  auto pattern = FilterPattern::Parse(input.value("filterPattern", ""));
  if (!pattern.ok()) return InvalidParameter(pattern.status().message());
  return pattern;
}

StatusOr<Document> PutMetricFilter(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string group = input["logGroupName"].get<std::string>();
  std::string name = input["filterName"].get<std::string>();
  GANTRY_RETURN_IF_ERROR(ParsePattern(input).status());
  for (const auto& transformation : input["metricTransformations"]) {
    std::string value = transformation.value("metricValue", "");
    if (value.empty()) return InvalidParameter("Invalid metric value: the metric value cannot be empty.");
  }
  std::string scope = ctx.Scope();
  std::string key = StreamKey(group, name);
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadGroup(txn, scope, group).status());
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, txn.Get(kMetricFilterTable, scope, key));
    Document filter = {{"filterName", name},
                       {"filterPattern", input["filterPattern"]},
                       {"metricTransformations", input["metricTransformations"]},
                       {"logGroupName", group}};
    for (const char* member : {"applyOnTransformedLogs", "fieldSelectionCriteria", "emitSystemFieldDimensions"}) {
      if (input.contains(member)) filter[member] = input[member];
    }
    if (existing) {
      filter["creationTime"] = existing->doc["creationTime"];
    } else {
      GANTRY_ASSIGN_OR_RETURN(int64_t count, txn.Count(kMetricFilterTable, scope, group + ":"));
      if (count >= kMaxFiltersPerGroup) {
        return Status::ResourceExhausted("Resource limit exceeded.", "LimitExceededException");
      }
      filter["creationTime"] = ToEpochMillis(deps.clock->Now());
    }
    return txn.Put(kMetricFilterTable, scope, key, filter).status();
  }));
  return Document::object();
}

StatusOr<Document> DescribeMetricFilters(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (input.contains("metricName") != input.contains("metricNamespace")) {
    return InvalidParameter("metricName and metricNamespace must be specified together.");
  }
  std::string scope = ctx.Scope();
  std::string prefix;
  std::string name_prefix = input.value("filterNamePrefix", "");
  if (input.contains("logGroupName")) {
    std::string group = input["logGroupName"].get<std::string>();
    GANTRY_RETURN_IF_ERROR(LoadGroup(*deps.store, scope, group).status());
    prefix = StreamKey(group, name_prefix);
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> records, ListAll(*deps.store, kMetricFilterTable, scope, prefix));
  std::vector<KeyedItem> items;
  for (auto& record : records) {
    if (record.doc.value("filterName", "").rfind(name_prefix, 0) != 0) continue;
    if (input.contains("metricName")) {
      bool found = false;
      for (const auto& t : record.doc["metricTransformations"]) {
        found = found || (t.value("metricName", "") == input["metricName"] &&
                          t.value("metricNamespace", "") == input["metricNamespace"]);
      }
      if (!found) continue;
    }
    items.push_back({record.key, std::move(record.doc)});
  }
  GANTRY_ASSIGN_OR_RETURN(Page page, PageOf(std::move(items), input, static_cast<size_t>(input.value("limit", 50))));
  Document out = {{"metricFilters", page.items}};
  if (!page.next_token.empty()) out["nextToken"] = page.next_token;
  return out;
}

StatusOr<Document> DeleteMetricFilter(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string group = input["logGroupName"].get<std::string>();
  std::string name = input["filterName"].get<std::string>();
  std::string scope = ctx.Scope();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadGroup(txn, scope, group).status());
    GANTRY_ASSIGN_OR_RETURN(bool deleted, txn.Delete(kMetricFilterTable, scope, StreamKey(group, name)));
    if (!deleted) return Status::NotFound("The specified metric filter does not exist.", "ResourceNotFoundException");
    return Status::Ok();
  }));
  return Document::object();
}

StatusOr<Document> TestMetricFilter(const LogsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(FilterPattern pattern, ParsePattern(input));
  Document matches = Document::array();
  int64_t number = 0;
  for (const auto& message : input["logEventMessages"]) {
    ++number;
    const std::string& text = message.get_ref<const std::string&>();
    FilterPattern::Fields fields;
    if (!pattern.Match(text, &fields)) continue;
    Document extracted = Document::object();
    for (const auto& [key, value] : fields) extracted[key] = value;
    matches.push_back({{"eventNumber", number}, {"eventMessage", text}, {"extractedValues", extracted}});
  }
  return Document{{"matches", matches}};
}

}  // namespace

void RegisterMetricFilterHandlers(aws::HandlerTable& table, const LogsDeps* deps) {
  AddHandler(table, deps, "PutMetricFilter", PutMetricFilter);
  AddHandler(table, deps, "DescribeMetricFilters", DescribeMetricFilters);
  AddHandler(table, deps, "DeleteMetricFilter", DeleteMetricFilter);
  AddHandler(table, deps, "TestMetricFilter", TestMetricFilter);
}

}  // namespace gantry::services::logs
