// CloudWatch's alarm operations: metric alarms (a metric, a metric-math expression or an anomaly
// band), composite alarms, their history, state, actions and tags. Evaluation and state changes
// belong to the AlarmScheduler (alarm_scheduler.h).
#include <algorithm>
#include <set>

#include "core/common/arn.h"
#include "core/common/strings.h"
#include "services/cloudwatch/alarm_evaluation.h"
#include "services/cloudwatch/alarm_rule.h"
#include "services/cloudwatch/alarm_scheduler.h"
#include "services/cloudwatch/handlers.h"
#include "services/cloudwatch/metric_data.h"

namespace gantry::services::cloudwatch {

namespace {

using aws::Document;
using aws::RequestContext;

constexpr int kDefaultMaxRecords = 50;
constexpr char kInitialReason[] = "Unchecked: Initial alarm creation";

Status Validation(std::string message) { return Status::InvalidArgument(std::move(message), "ValidationError"); }
Status InvalidCombination(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterCombination");
}
Status InvalidValue(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterValue");
}

std::vector<std::string> Strings(const Document& input, const char* member) {
  std::vector<std::string> out;
  for (const Document& v : input.value(member, Document::array())) out.push_back(v.get<std::string>());
  return out;
}

// The action ARN forms CloudWatch accepts; composite alarms take SNS, Lambda and Systems Manager.
Status ValidateAction(const std::string& action, bool composite) {
  std::optional<Arn> arn = Arn::Parse(action);
  if (!arn) return Validation("Invalid arn syntax: " + action);
  const std::string& r = arn->resource;
  bool ok = false;
  if (arn->service == "sns") {
    ok = !arn->account.empty() && !r.empty() && r.find(':') == std::string::npos;
  } else if (arn->service == "lambda") {
    ok = r.rfind("function:", 0) == 0 && r.size() > 9;
  } else if (arn->service == "ssm") {
    ok = r.rfind("opsitem:", 0) == 0 && r.size() > 8;
  } else if (arn->service == "ssm-incidents") {
    ok = r.rfind("responseplan/", 0) == 0 && r.size() > 13;
  } else if (!composite && arn->service == "autoscaling") {
    ok = r.rfind("scalingPolicy:", 0) == 0;
  } else if (!composite && arn->service == "automate") {
    ok = arn->account == "ec2" && (r == "stop" || r == "terminate" || r == "reboot" || r == "recover");
  } else if (!composite && arn->service == "swf") {
    ok = r == "action/actions/AWS_EC2.InstanceId.Stop/1.0" || r == "action/actions/AWS_EC2.InstanceId.Terminate/1.0" ||
         r == "action/actions/AWS_EC2.InstanceId.Reboot/1.0";
  }
  if (!ok) return Validation("Invalid " + std::string(composite ? "composite " : "") + "alarm action: " + action);
  return Status::Ok();
}

Status ValidateActions(const Document& input, bool composite) {
  for (const char* list : {"AlarmActions", "OKActions", "InsufficientDataActions"}) {
    for (const std::string& action : Strings(input, list)) GANTRY_RETURN_IF_ERROR(ValidateAction(action, composite));
  }
  return Status::Ok();
}

// "createdAlarm"-style copies of an alarm in history data use lower camel case keys.
Document HistoryAlarm(const Document& alarm) {
  Document out = Document::object();
  for (const auto& [key, value] : alarm.items()) {
    std::string name = key;
    name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    // Timestamps are written as CloudWatch writes them in history data: 2024-01-01T00:00:00.000+0000.
    const bool timestamp = key.size() > 9 && key.compare(key.size() - 9, 9, "Timestamp") == 0 && value.is_number();
    out[name] = timestamp ? Document(AlarmTime(FromEpochSeconds(value.get<double>()))) : value;
  }
  return out;
}

// The alarm's record, or ResourceNotFound.
StatusOr<store::Record> GetAlarm(const CloudWatchDeps& deps, const std::string& scope, const std::string& name) {
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kAlarmTable, scope, name));
  if (!record) return Status::NotFound("Alarm " + name + " not found", "ResourceNotFound");
  return *record;
}

StatusOr<std::vector<store::Record>> AllAlarms(const CloudWatchDeps& deps, const std::string& scope) {
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kAlarmTable, scope));
  return std::move(page.records);
}

// The alarm names a composite's rule refers to (ARNs of this scope become names).
std::vector<std::string> RuleChildren(const std::string& scope, const Document& alarm) {
  std::vector<std::string> out;
  auto rule = AlarmRule::Parse(alarm.value("AlarmRule", ""));
  if (!rule.ok()) return out;
  const std::string prefix = AlarmArn(scope, "");
  for (const std::string& r : rule->references()) out.push_back(r.rfind(prefix, 0) == 0 ? r.substr(prefix.size()) : r);
  return out;
}

AlarmScheduler* Scheduler(const CloudWatchDeps& deps) { return deps.alarms; }

// Creates or replaces an alarm record, keeping the state of an existing one, and records the
// configuration change. Returns after evaluating it once.
StatusOr<Document> SaveAlarm(const CloudWatchDeps& deps, RequestContext& ctx, const std::string& type,
                             Document alarm, const Document& input) {
  const std::string scope = ctx.Scope();
  const std::string name = alarm["AlarmName"];
  GANTRY_ASSIGN_OR_RETURN(auto existing, deps.store->Get(kAlarmTable, scope, name));
  const double now = ToEpochSeconds(ctx.time);
  Document record = {{"Type", type}, {"Tags", input.value("Tags", Document::array())}};
  if (existing) {
    if (existing->doc.value("Type", "") != type) {
      return Validation("An alarm named " + name + " already exists as a " + existing->doc.value("Type", "") + ".");
    }
    const Document& old = existing->doc["Alarm"];
    for (const char* keep : {"StateValue", "StateReason", "StateReasonData", "StateUpdatedTimestamp",
                             "StateTransitionedTimestamp", "ActionsSuppressedBy", "ActionsSuppressedReason"}) {
      if (old.contains(keep)) alarm[keep] = old[keep];
    }
    record["Tags"] = existing->doc.value("Tags", Document::array());  // tags are not updated here
    for (const char* keep : {"PreviousStateValue", "PendingActionsUntil", "PendingAnnouncements"}) {
      if (existing->doc.contains(keep)) record[keep] = existing->doc[keep];
    }
  } else {
    alarm["StateValue"] = "INSUFFICIENT_DATA";
    alarm["StateReason"] = kInitialReason;
    alarm["StateUpdatedTimestamp"] = now;
    alarm["StateTransitionedTimestamp"] = now;
  }
  alarm["AlarmConfigurationUpdatedTimestamp"] = now;
  record["Alarm"] = alarm;
  GANTRY_RETURN_IF_ERROR(deps.store->Put(kAlarmScopeTable, "", scope, Document::object()).status());
  GANTRY_RETURN_IF_ERROR(deps.store->Put(kAlarmTable, scope, name, record).status());
  if (AlarmScheduler* scheduler = Scheduler(deps)) {
    Document data = {{"version", "1.0"}, {"type", existing ? "Update" : "Create"}};
    data[existing ? "updatedAlarm" : "createdAlarm"] = HistoryAlarm(alarm);
    if (existing) data["originalAlarm"] = HistoryAlarm(existing->doc["Alarm"]);
    GANTRY_RETURN_IF_ERROR(scheduler->RecordHistory(scope, alarm, "ConfigurationUpdate",
                                                    "Alarm \"" + name + "\" " + (existing ? "updated" : "created"),
                                                    data, ctx.time));
    GANTRY_RETURN_IF_ERROR(scheduler->EvaluateAlarm(scope, name, ctx.time));
  }
  return Document::object();
}

StatusOr<Document> PutMetricAlarm(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  const bool single = in.contains("MetricName") || in.contains("Namespace") || in.contains("Statistic") ||
                      in.contains("ExtendedStatistic") || in.contains("Dimensions") || in.contains("Period") ||
                      in.contains("Unit");
  const bool math = in.contains("Metrics");
  if (single && math) {
    return InvalidCombination("Metrics list cannot be specified together with MetricName, Namespace, Statistic, "
                              "ExtendedStatistic, Dimensions, Period or Unit.");
  }
  if (!single && !math) return Validation("Either MetricName or Metrics must be specified.");
  if (!in.contains("EvaluationPeriods")) return Validation("EvaluationPeriods must not be null.");
  if (!in.contains("ComparisonOperator")) return Validation("ComparisonOperator must not be null.");
  const int n = in["EvaluationPeriods"].get<int>();
  const int m = in.value("DatapointsToAlarm", n);
  if (m > n) return Validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.");
  Comparison comparison = *ParseComparison(in["ComparisonOperator"].get<std::string>());
  if (IsBandComparison(comparison)) {
    if (!in.contains("ThresholdMetricId") || !math) {
      return Validation("ThresholdMetricId and Metrics must be specified for comparison operator " +
                        in["ComparisonOperator"].get<std::string>() + ".");
    }
    if (in.contains("Threshold")) return InvalidCombination("Threshold cannot be specified with ThresholdMetricId.");
  } else {
    if (in.contains("ThresholdMetricId")) {
      return InvalidCombination("ThresholdMetricId can only be specified with an anomaly detection comparison operator.");
    }
    if (!in.contains("Threshold")) return Validation("Threshold must not be null.");
  }
  if (in.contains("TreatMissingData") && !ParseMissingData(in["TreatMissingData"].get<std::string>())) {
    return Validation("Invalid value for TreatMissingData: " + in["TreatMissingData"].get<std::string>() +
                      ". Valid values are breaching, notBreaching, ignore and missing.");
  }
  if (in.contains("EvaluateLowSampleCountPercentile")) {
    const std::string v = in["EvaluateLowSampleCountPercentile"];
    if (v != "evaluate" && v != "ignore") {
      return Validation("Invalid value for EvaluateLowSampleCountPercentile: " + v + ". Valid values are evaluate and ignore.");
    }
    if (!in.contains("ExtendedStatistic")) {
      return InvalidCombination("EvaluateLowSampleCountPercentile can only be used with a percentile ExtendedStatistic.");
    }
  }
  int64_t period = 60;
  if (single) {
    if (!in.contains("MetricName") || !in.contains("Namespace")) {
      return Validation("MetricName and Namespace must be specified.");
    }
    if (in.contains("Statistic") == in.contains("ExtendedStatistic")) {
      return InvalidCombination("Exactly one of Statistic and ExtendedStatistic must be specified.");
    }
    if (!in.contains("Period")) return Validation("Period must not be null.");
    period = in["Period"].get<int64_t>();
  } else {
    int returned = 0;
    bool has_period = false;
    for (const Document& q : in["Metrics"]) {
      if (q.value("ReturnData", true)) ++returned;
      if (q.contains("MetricStat")) {
        period = q["MetricStat"].value("Period", period);
        has_period = true;
      }
      if (q.contains("Period")) {
        period = q["Period"].get<int64_t>();
        has_period = true;
      }
    }
    if (returned == 0) return Validation("Exactly one element of the Metrics list must return data.");
    if (returned > (IsBandComparison(comparison) ? 2 : 1)) {
      return Validation("Exactly one element of the Metrics list must return data.");
    }
    if (!has_period) return Validation("The Metrics list must contain a MetricStat or a Period.");
    auto tried = EvaluateMetricDataQueries(deps, ctx.Scope(), in["Metrics"], ctx.time - std::chrono::seconds(period),
                                           ctx.time);
    if (!tried.ok() && tried.status().code() == StatusCode::kInvalidArgument) {
      return Validation(tried.status().message());
    }
  }
  if (period != 10 && period != 30 && (period <= 0 || period % 60 != 0)) {
    return Validation("The parameter Period must be 10, 30 or a multiple of 60.");
  }
  const int64_t max_span = period >= 3600 ? 7 * 86400 : 86400;
  if (period * n > max_span) {
    return Validation("The evaluation period of the alarm (Period * EvaluationPeriods) must be less than or equal to " +
                      std::to_string(max_span) + " seconds.");
  }
  GANTRY_RETURN_IF_ERROR(ValidateActions(in, false));
  const std::string name = in["AlarmName"];
  Document alarm = {{"AlarmName", name},
                    {"AlarmArn", AlarmArn(ctx.Scope(), name)},
                    {"ActionsEnabled", in.value("ActionsEnabled", true)},
                    {"OKActions", in.value("OKActions", Document::array())},
                    {"AlarmActions", in.value("AlarmActions", Document::array())},
                    {"InsufficientDataActions", in.value("InsufficientDataActions", Document::array())},
                    {"EvaluationPeriods", n},
                    {"ComparisonOperator", in["ComparisonOperator"]}};
  for (const char* copy : {"AlarmDescription", "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period",
                           "Unit", "DatapointsToAlarm", "Threshold", "TreatMissingData",
                           "EvaluateLowSampleCountPercentile", "Metrics", "ThresholdMetricId"}) {
    if (in.contains(copy)) alarm[copy] = in[copy];
  }
  if (single) alarm["Dimensions"] = in.value("Dimensions", Document::array());
  return SaveAlarm(deps, ctx, "MetricAlarm", std::move(alarm), in);
}

// Whether adding a composite `name` with these children would make a rule refer to itself.
StatusOr<bool> MakesCycle(const CloudWatchDeps& deps, const std::string& scope, const std::string& name,
                          const std::vector<std::string>& children) {
  std::vector<std::string> todo = children;
  std::set<std::string> seen;
  while (!todo.empty()) {
    std::string next = todo.back();
    todo.pop_back();
    if (next == name) return true;
    if (!seen.insert(next).second) continue;
    GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kAlarmTable, scope, next));
    if (!record || record->doc.value("Type", "") != "CompositeAlarm") continue;
    for (std::string& child : RuleChildren(scope, record->doc["Alarm"])) todo.push_back(std::move(child));
  }
  return false;
}

StatusOr<Document> PutCompositeAlarm(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  const std::string scope = ctx.Scope();
  const std::string name = in["AlarmName"];
  GANTRY_ASSIGN_OR_RETURN(AlarmRule rule, AlarmRule::Parse(in["AlarmRule"].get<std::string>()));
  if (rule.references().size() > 100) return Validation("An alarm rule can refer to at most 100 alarms.");
  Document probe = {{"AlarmRule", in["AlarmRule"]}};
  std::vector<std::string> children = RuleChildren(scope, probe);
  std::vector<std::string> missing;
  for (size_t i = 0; i < children.size(); ++i) {
    GANTRY_ASSIGN_OR_RETURN(auto child, deps.store->Get(kAlarmTable, scope, children[i]));
    if (!child) missing.push_back(rule.references()[i]);
  }
  if (!missing.empty()) {
    return Validation("Could not save the composite alarm as alarms [" + Join(missing, ", ") +
                      "] in the alarm rule do not exist");
  }
  GANTRY_ASSIGN_OR_RETURN(bool cycle, MakesCycle(deps, scope, name, children));
  if (cycle) return Validation("The alarm rule of " + name + " creates a cycle: an alarm rule cannot refer to itself.");
  GANTRY_RETURN_IF_ERROR(ValidateActions(in, true));
  const bool suppressor = in.contains("ActionsSuppressor");
  if (!suppressor && (in.contains("ActionsSuppressorWaitPeriod") || in.contains("ActionsSuppressorExtensionPeriod"))) {
    return Validation("ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod need an ActionsSuppressor.");
  }
  Document alarm = {{"AlarmName", name},
                    {"AlarmArn", AlarmArn(scope, name)},
                    {"AlarmRule", in["AlarmRule"]},
                    {"ActionsEnabled", in.value("ActionsEnabled", true)},
                    {"OKActions", in.value("OKActions", Document::array())},
                    {"AlarmActions", in.value("AlarmActions", Document::array())},
                    {"InsufficientDataActions", in.value("InsufficientDataActions", Document::array())}};
  if (in.contains("AlarmDescription")) alarm["AlarmDescription"] = in["AlarmDescription"];
  if (suppressor) {
    const std::string s = in["ActionsSuppressor"];
    std::optional<Arn> arn = Arn::Parse(s);
    if (!arn || arn->service != "cloudwatch" || arn->resource.rfind("alarm:", 0) != 0) {
      return Validation("Invalid ActionsSuppressor: " + s);
    }
    alarm["ActionsSuppressor"] = s;
    alarm["ActionsSuppressorWaitPeriod"] = in.value("ActionsSuppressorWaitPeriod", 60);
    alarm["ActionsSuppressorExtensionPeriod"] = in.value("ActionsSuppressorExtensionPeriod", 60);
  }
  return SaveAlarm(deps, ctx, "CompositeAlarm", std::move(alarm), in);
}

bool HasActionPrefix(const Document& alarm, const std::string& prefix) {
  for (const char* list : {"AlarmActions", "OKActions", "InsufficientDataActions"}) {
    for (const std::string& a : Strings(alarm, list)) {
      if (a.rfind(prefix, 0) == 0) return true;
    }
  }
  return false;
}

StatusOr<Document> DescribeAlarms(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  const std::string scope = ctx.Scope();
  const bool children_of = in.contains("ChildrenOfAlarmName");
  const bool parents_of = in.contains("ParentsOfAlarmName");
  if (children_of || parents_of) {
    for (const char* other : {"AlarmNames", "AlarmNamePrefix", "AlarmTypes", "StateValue", "ActionPrefix"}) {
      if (in.contains(other) || (children_of && parents_of)) {
        return InvalidCombination(std::string(children_of ? "ChildrenOfAlarmName" : "ParentsOfAlarmName") +
                                  " cannot be specified with any other parameter except MaxRecords and NextToken.");
      }
    }
  }
  if (in.contains("AlarmNames") && in.contains("AlarmNamePrefix")) {
    return InvalidCombination("AlarmNames and AlarmNamePrefix cannot be specified together.");
  }
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, AllAlarms(deps, scope));
  std::set<std::string> types;
  for (const std::string& t : Strings(in, "AlarmTypes")) types.insert(t);
  if (types.empty()) types.insert("MetricAlarm");
  std::set<std::string> only;
  if (children_of) {
    types = {"MetricAlarm", "CompositeAlarm"};
    for (const store::Record& r : all) {
      if (r.key == in["ChildrenOfAlarmName"].get<std::string>() && r.doc.value("Type", "") == "CompositeAlarm") {
        for (const std::string& c : RuleChildren(scope, r.doc["Alarm"])) only.insert(c);
      }
    }
  }
  const std::vector<std::string> names = Strings(in, "AlarmNames");
  const std::string prefix = in.value("AlarmNamePrefix", "");
  const std::string parent_child = in.value("ParentsOfAlarmName", "");
  const std::string after = in.contains("NextToken") ? Base64Decode(in["NextToken"].get<std::string>()).value_or("") : "";
  if (in.contains("NextToken") && after.empty()) {
    return Status::InvalidArgument("The service cannot process the NextToken.", "InvalidNextToken");
  }
  const size_t limit = in.value("MaxRecords", kDefaultMaxRecords);
  Document out = {{"MetricAlarms", Document::array()}, {"CompositeAlarms", Document::array()}};
  size_t count = 0;
  std::string last;
  for (const store::Record& r : all) {
    const Document& alarm = r.doc["Alarm"];
    const std::string type = r.doc.value("Type", "");
    if (!after.empty() && r.key <= after) continue;
    if (parents_of) {
      if (type != "CompositeAlarm") continue;
      std::vector<std::string> c = RuleChildren(scope, alarm);
      if (std::find(c.begin(), c.end(), parent_child) == c.end()) continue;
    } else if (!types.count(type)) {
      continue;
    }
    if (children_of && !only.count(r.key)) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), r.key) == names.end()) continue;
    if (!prefix.empty() && r.key.rfind(prefix, 0) != 0) continue;
    if (in.contains("StateValue") && alarm.value("StateValue", "") != in["StateValue"].get<std::string>()) continue;
    if (in.contains("ActionPrefix") && !HasActionPrefix(alarm, in["ActionPrefix"])) continue;
    if (count == limit) {
      out["NextToken"] = Base64Encode(last);
      break;
    }
    out[type == "CompositeAlarm" ? "CompositeAlarms" : "MetricAlarms"].push_back(alarm);
    last = r.key;
    ++count;
  }
  return out;
}

bool SameDimensions(const Document& a, const Document& b) {
  auto key = [](const Document& dims) {
    std::set<std::pair<std::string, std::string>> s;
    for (const Document& d : dims) s.emplace(d.value("Name", ""), d.value("Value", ""));
    return s;
  };
  return key(a) == key(b);
}

StatusOr<Document> DescribeAlarmsForMetric(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, AllAlarms(deps, ctx.Scope()));
  Document out = {{"MetricAlarms", Document::array()}};
  const std::string ns = in["Namespace"], name = in["MetricName"];
  for (const store::Record& r : all) {
    if (r.doc.value("Type", "") != "MetricAlarm") continue;
    const Document& alarm = r.doc["Alarm"];
    bool match = false;
    if (alarm.value("Namespace", "") == ns && alarm.value("MetricName", "") == name) {
      match = true;
      for (const char* m : {"Statistic", "ExtendedStatistic", "Period", "Unit"}) {
        if (in.contains(m) && (!alarm.contains(m) || alarm[m] != in[m])) match = false;
      }
      if (in.contains("Dimensions") && !SameDimensions(alarm.value("Dimensions", Document::array()), in["Dimensions"])) {
        match = false;
      }
    } else {
      for (const Document& q : alarm.value("Metrics", Document::array())) {
        if (!q.contains("MetricStat")) continue;
        const Document& s = q["MetricStat"];
        const Document& metric = s.value("Metric", Document::object());
        if (metric.value("Namespace", "") != ns || metric.value("MetricName", "") != name) continue;
        if (in.contains("Dimensions") &&
            !SameDimensions(metric.value("Dimensions", Document::array()), in["Dimensions"])) {
          continue;
        }
        if (in.contains("Period") && s.value("Period", int64_t{0}) != in["Period"].get<int64_t>()) continue;
        if (in.contains("Statistic") && s.value("Stat", "") != in["Statistic"].get<std::string>()) continue;
        if (in.contains("ExtendedStatistic") && s.value("Stat", "") != in["ExtendedStatistic"].get<std::string>()) {
          continue;
        }
        match = true;
      }
    }
    if (match) out["MetricAlarms"].push_back(alarm);
  }
  return out;
}

StatusOr<Document> DescribeAlarmHistory(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kAlarmHistoryTable, ctx.Scope()));
  std::set<std::string> types;
  for (const std::string& t : Strings(in, "AlarmTypes")) types.insert(t);
  if (types.empty()) types.insert("MetricAlarm");
  const bool descending = in.value("ScanBy", "TimestampDescending") == "TimestampDescending";
  std::string after;
  if (in.contains("NextToken")) {
    after = Base64Decode(in["NextToken"].get<std::string>()).value_or("");
    if (after.empty()) return Status::InvalidArgument("The service cannot process the NextToken.", "InvalidNextToken");
  }
  std::vector<store::Record>& items = page.records;
  if (descending) std::reverse(items.begin(), items.end());
  const size_t limit = in.value("MaxRecords", kDefaultMaxRecords);
  Document out = {{"AlarmHistoryItems", Document::array()}};
  std::string last;
  for (const store::Record& r : items) {
    if (!after.empty() && (descending ? r.key >= after : r.key <= after)) continue;
    const Document& item = r.doc;
    if (in.contains("AlarmName") && item.value("AlarmName", "") != in["AlarmName"].get<std::string>()) continue;
    if (!types.count(item.value("AlarmType", ""))) continue;
    if (in.contains("HistoryItemType") && item.value("HistoryItemType", "") != in["HistoryItemType"].get<std::string>()) {
      continue;
    }
    const double t = item.value("Timestamp", 0.0);
    if (in.contains("StartDate") && t < in["StartDate"].get<double>()) continue;
    if (in.contains("EndDate") && t > in["EndDate"].get<double>()) continue;
    if (out["AlarmHistoryItems"].size() == limit) {
      out["NextToken"] = Base64Encode(last);
      break;
    }
    out["AlarmHistoryItems"].push_back(item);
    last = r.key;
  }
  return out;
}

StatusOr<Document> DeleteAlarms(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  const std::string scope = ctx.Scope();
  const std::vector<std::string> names = Strings(in, "AlarmNames");
  std::vector<store::Record> records;
  for (const std::string& name : names) {
    GANTRY_ASSIGN_OR_RETURN(store::Record r, GetAlarm(deps, scope, name));
    records.push_back(std::move(r));
  }
  // An alarm a composite's rule names goes only together with that composite.
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> all, AllAlarms(deps, scope));
  for (const store::Record& parent : all) {
    if (parent.doc.value("Type", "") != "CompositeAlarm") continue;
    if (std::find(names.begin(), names.end(), parent.key) != names.end()) continue;
    for (const std::string& child : RuleChildren(scope, parent.doc["Alarm"])) {
      if (std::find(names.begin(), names.end(), child) != names.end()) {
        return Validation("Alarm " + child + " cannot be deleted because the alarm rule of composite alarm " +
                          parent.key + " refers to it. Delete the composite alarm first or in the same request.");
      }
    }
  }
  for (const store::Record& r : records) {
    GANTRY_RETURN_IF_ERROR(deps.store->Delete(kAlarmTable, scope, r.key).status());
    if (AlarmScheduler* scheduler = Scheduler(deps)) {
      Document data = {{"version", "1.0"}, {"type", "Delete"}, {"deletedAlarm", HistoryAlarm(r.doc["Alarm"])}};
      GANTRY_RETURN_IF_ERROR(scheduler->RecordHistory(scope, r.doc["Alarm"], "ConfigurationUpdate",
                                                      "Alarm \"" + r.key + "\" deleted", data, ctx.time));
    }
  }
  return Document::object();
}

StatusOr<Document> SetAlarmState(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  const std::string name = in["AlarmName"];
  GANTRY_RETURN_IF_ERROR(GetAlarm(deps, ctx.Scope(), name).status());
  std::optional<std::string> reason_data;
  if (in.contains("StateReasonData")) {
    reason_data = in["StateReasonData"].get<std::string>();
    if (Document::parse(*reason_data, nullptr, false).is_discarded()) {
      return Status::InvalidArgument("StateReasonData is not valid JSON.", "InvalidFormat");
    }
  }
  AlarmScheduler* scheduler = Scheduler(deps);
  if (!scheduler) return Status::Unavailable("Alarm evaluation is not running.");
  GANTRY_RETURN_IF_ERROR(scheduler->ChangeState(ctx.Scope(), name, *ParseAlarmState(in["StateValue"].get<std::string>()),
                                                in["StateReason"], reason_data, ctx.time));
  return Document::object();
}

StatusOr<Document> SetActionsEnabled(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in, bool enabled) {
  for (const std::string& name : Strings(in, "AlarmNames")) {
    GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kAlarmTable, ctx.Scope(), name));
    if (!record) continue;
    Document doc = record->doc;
    doc["Alarm"]["ActionsEnabled"] = enabled;
    GANTRY_RETURN_IF_ERROR(deps.store->Update(kAlarmTable, ctx.Scope(), name, doc).status());
  }
  return Document::object();
}

// The alarm an ARN of this scope names.
StatusOr<store::Record> TaggedAlarm(const CloudWatchDeps& deps, RequestContext& ctx, const std::string& arn_text) {
  std::optional<Arn> arn = Arn::Parse(arn_text);
  if (!arn || arn->service != "cloudwatch") {
    return Status::InvalidArgument("Invalid value for ResourceARN: " + arn_text, "InvalidParameterValue");
  }
  const std::string prefix = AlarmArn(ctx.Scope(), "");
  std::optional<store::Record> record;
  if (arn_text.rfind(prefix, 0) == 0) {
    GANTRY_ASSIGN_OR_RETURN(record, deps.store->Get(kAlarmTable, ctx.Scope(), arn_text.substr(prefix.size())));
  }
  if (!record) return Status::NotFound(arn_text + " not found", "ResourceNotFoundException");
  return *record;
}

StatusOr<Document> TagResource(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, TaggedAlarm(deps, ctx, in["ResourceARN"]));
  Document tags = record.doc.value("Tags", Document::array());
  for (const Document& tag : in["Tags"]) {
    auto same = std::find_if(tags.begin(), tags.end(), [&](const Document& t) { return t["Key"] == tag["Key"]; });
    if (same != tags.end()) {
      (*same)["Value"] = tag["Value"];
    } else {
      tags.push_back(tag);
    }
  }
  if (tags.size() > 50) return InvalidValue("An alarm can have at most 50 tags.");
  record.doc["Tags"] = tags;
  GANTRY_RETURN_IF_ERROR(deps.store->Update(kAlarmTable, ctx.Scope(), record.key, record.doc).status());
  return Document::object();
}

StatusOr<Document> UntagResource(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, TaggedAlarm(deps, ctx, in["ResourceARN"]));
  Document kept = Document::array();
  std::vector<std::string> drop = Strings(in, "TagKeys");
  for (const Document& tag : record.doc.value("Tags", Document::array())) {
    if (std::find(drop.begin(), drop.end(), tag.value("Key", "")) == drop.end()) kept.push_back(tag);
  }
  record.doc["Tags"] = kept;
  GANTRY_RETURN_IF_ERROR(deps.store->Update(kAlarmTable, ctx.Scope(), record.key, record.doc).status());
  return Document::object();
}

StatusOr<Document> ListTagsForResource(const CloudWatchDeps& deps, RequestContext& ctx, const Document& in) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, TaggedAlarm(deps, ctx, in["ResourceARN"]));
  return Document{{"Tags", record.doc.value("Tags", Document::array())}};
}

}  // namespace

void RegisterAlarmHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps) {
  auto add = [&](const char* op, StatusOr<Document> (*fn)(const CloudWatchDeps&, RequestContext&, const Document&)) {
    table.Add("cloudwatch", op, [&deps, fn](RequestContext& ctx, const Document& in) { return fn(deps, ctx, in); });
  };
  add("PutMetricAlarm", PutMetricAlarm);
  add("PutCompositeAlarm", PutCompositeAlarm);
  add("DescribeAlarms", DescribeAlarms);
  add("DescribeAlarmsForMetric", DescribeAlarmsForMetric);
  add("DescribeAlarmHistory", DescribeAlarmHistory);
  add("DeleteAlarms", DeleteAlarms);
  add("SetAlarmState", SetAlarmState);
  add("EnableAlarmActions",
      [](const CloudWatchDeps& d, RequestContext& c, const Document& i) { return SetActionsEnabled(d, c, i, true); });
  add("DisableAlarmActions",
      [](const CloudWatchDeps& d, RequestContext& c, const Document& i) { return SetActionsEnabled(d, c, i, false); });
  add("TagResource", TagResource);
  add("UntagResource", UntagResource);
  add("ListTagsForResource", ListTagsForResource);
}

}  // namespace gantry::services::cloudwatch
