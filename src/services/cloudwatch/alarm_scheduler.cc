#include "services/cloudwatch/alarm_scheduler.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/common/log.h"
#include "core/common/time_format.h"
#include "services/cloudwatch/alarm_rule.h"
#include "services/cloudwatch/metric_data.h"

namespace gantry::services::cloudwatch {

namespace {

using aws::Document;

constexpr int kMaxCompositeDepth = 16;
constexpr auto kSweepInterval = std::chrono::seconds(10);
constexpr char kUndeliverable[] =
    "Gantry does not run this service, so the action was not delivered";

std::string Region(const std::string& scope) { return scope.substr(scope.find('/') + 1); }
std::string Account(const std::string& scope) { return scope.substr(0, scope.find('/')); }

aws::Principal MonitoringPrincipal(const std::string& account) {
  aws::Principal p;
  p.account_id = account;
  p.arn = std::string(kMonitoringPrincipal);
  p.user_id = std::string(kMonitoringPrincipal);
  p.service = std::string(kMonitoringPrincipal);
  return p;
}

std::string Key(const std::string& scope, const std::string& name) { return scope + "\n" + name; }

// Seconds between evaluations: every 10 s for high-resolution alarms, else every minute.
std::chrono::seconds Interval(const Document& alarm) {
  int64_t period = alarm.value("Period", int64_t{60});
  for (const Document& q : alarm.value("Metrics", Document::array())) {
    if (q.contains("MetricStat")) period = q["MetricStat"].value("Period", period);
    if (q.contains("Period")) period = q.value("Period", period);
  }
  return period < 60 ? std::chrono::seconds(10) : std::chrono::seconds(60);
}

// The alarm's period in seconds: its own, or that of its queries.
int64_t AlarmPeriod(const Document& alarm) {
  if (alarm.contains("Period")) return alarm["Period"].get<int64_t>();
  for (const Document& q : alarm.value("Metrics", Document::array())) {
    if (q.contains("MetricStat")) return q["MetricStat"].value("Period", int64_t{60});
    if (q.contains("Period")) return q.value("Period", int64_t{60});
  }
  return 60;
}

// {"namespace","name","dimensions":{...}}, the metric form of alarm events.
Document EventMetric(const Document& metric) {
  Document dimensions = Document::object();
  for (const Document& d : metric.value("Dimensions", Document::array())) {
    dimensions[d.value("Name", "")] = d.value("Value", "");
  }
  return {{"namespace", metric.value("Namespace", "")}, {"name", metric.value("MetricName", "")},
          {"dimensions", dimensions}};
}

// The configuration member of an alarm event.
Document EventConfiguration(const Document& alarm, bool composite) {
  Document config = Document::object();
  if (alarm.contains("AlarmDescription")) config["description"] = alarm["AlarmDescription"];
  if (composite) {
    config["alarmRule"] = alarm.value("AlarmRule", "");
    if (alarm.contains("ActionsSuppressor")) {
      config["actionsSuppressor"] = alarm["ActionsSuppressor"];
      config["actionsSuppressorWaitPeriod"] = alarm.value("ActionsSuppressorWaitPeriod", 0);
      config["actionsSuppressorExtensionPeriod"] = alarm.value("ActionsSuppressorExtensionPeriod", 0);
    }
    return config;
  }
  Document metrics = Document::array();
  if (alarm.contains("Metrics")) {
    for (const Document& q : alarm["Metrics"]) {
      Document m = {{"id", q.value("Id", "")}, {"returnData", q.value("ReturnData", true)}};
      if (q.contains("Expression")) m["expression"] = q["Expression"];
      if (q.contains("Label")) m["label"] = q["Label"];
      if (q.contains("MetricStat")) {
        const Document& s = q["MetricStat"];
        m["metricStat"] = {{"metric", EventMetric(s.value("Metric", Document::object()))},
                           {"period", s.value("Period", 60)},
                           {"stat", s.value("Stat", "")}};
        if (s.contains("Unit")) m["metricStat"]["unit"] = s["Unit"];
      }
      metrics.push_back(std::move(m));
    }
  } else {
    Document stat = {{"metric", EventMetric(alarm)},
                     {"period", alarm.value("Period", 60)},
                     {"stat", alarm.contains("ExtendedStatistic") ? alarm["ExtendedStatistic"]
                                                                  : alarm.value("Statistic", Document(""))}};
    if (alarm.contains("Unit")) stat["unit"] = alarm["Unit"];
    metrics.push_back({{"id", "m1"}, {"metricStat", stat}, {"returnData", true}});
  }
  config["metrics"] = metrics;
  return config;
}

Document EventState(const Document& alarm) {
  Document state = {{"value", alarm.value("StateValue", "INSUFFICIENT_DATA")},
                    {"reason", alarm.value("StateReason", "")},
                    {"timestamp", AlarmTime(FromEpochSeconds(alarm.value("StateUpdatedTimestamp", 0.0)))}};
  if (alarm.contains("StateReasonData")) state["reasonData"] = alarm["StateReasonData"];
  if (alarm.contains("ActionsSuppressedBy")) {
    state["actionsSuppressedBy"] = alarm["ActionsSuppressedBy"];
    state["actionsSuppressedReason"] = alarm.value("ActionsSuppressedReason", "");
  }
  return state;
}

// {"stateValue","stateReason","stateReasonData"}: one side of a StateUpdate history item.
Document HistoryState(const Document& alarm) {
  Document state = {{"stateValue", alarm.value("StateValue", "INSUFFICIENT_DATA")},
                    {"stateReason", alarm.value("StateReason", "")}};
  if (alarm.contains("StateReasonData")) {
    Document data = Document::parse(alarm["StateReasonData"].get<std::string>(), nullptr, false);
    if (!data.is_discarded()) state["stateReasonData"] = data;
  }
  return state;
}

std::string_view ActionList(AlarmState state) {
  switch (state) {
    case AlarmState::kAlarm: return "AlarmActions";
    case AlarmState::kOk: return "OKActions";
    case AlarmState::kInsufficientData: return "InsufficientDataActions";
  }
  return "";
}

// The name an alarm reference (name or ARN) in a rule stands for within `scope`.
std::string ReferencedName(const std::string& scope, const std::string& reference) {
  const std::string prefix = AlarmArn(scope, "");
  if (reference.rfind(prefix, 0) == 0) return reference.substr(prefix.size());
  return reference;
}

bool ReadsMetric(const Document& alarm, const std::string& ns, const std::string& name) {
  if (alarm.value("Namespace", "") == ns && alarm.value("MetricName", "") == name) return true;
  for (const Document& q : alarm.value("Metrics", Document::array())) {
    const Document& m = q.value("MetricStat", Document::object()).value("Metric", Document::object());
    if (m.value("Namespace", "") == ns && m.value("MetricName", "") == name) return true;
    // Expressions (SEARCH, math over other ids) may read any metric of the namespace.
    if (q.contains("Expression") && q["Expression"].get<std::string>().find(ns) != std::string::npos) return true;
  }
  return false;
}

std::optional<double> PercentileOf(const std::string& stat) {
  if (stat.size() < 2 || stat[0] != 'p') return std::nullopt;
  char* end = nullptr;
  double p = std::strtod(stat.c_str() + 1, &end);
  if (*end != '\0') return std::nullopt;
  return p;
}

}  // namespace

std::string AlarmArn(const std::string& scope, const std::string& name) {
  return "arn:aws:cloudwatch:" + Region(scope) + ":" + Account(scope) + ":alarm:" + name;
}

std::string AlarmTime(TimePoint t) {
  std::string text = FormatIso8601(t, true);
  if (!text.empty() && text.back() == 'Z') text.pop_back();
  return text + "+0000";
}

AlarmScheduler::~AlarmScheduler() { Stop(); }

void AlarmScheduler::Start() {
  {
    std::lock_guard lock(mu_);
    if (running_) return;
  }
  if (deps_.store && deps_.clock) {
    TimePoint now = deps_.clock->Now();
    auto scopes = deps_.store->List(kAlarmScopeTable, "");
    for (const store::Record& s : scopes.ok() ? scopes->records : std::vector<store::Record>{}) {
      auto page = deps_.store->List(kAlarmTable, s.key);
      if (!page.ok()) continue;
      for (const store::Record& r : page->records) ReplayPending(s.key, r, now);
    }
  }
  std::lock_guard lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void AlarmScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  running_ = false;
}

void AlarmScheduler::Loop() {
  TimePoint last_sweep{};
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || !notified_.empty(); });
    if (stopping_) return;
    auto notified = std::move(notified_);
    notified_.clear();
    lock.unlock();
    TimePoint now = deps_.clock->Now();
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_scope;
    for (const auto& [scope, ns, name] : notified) by_scope[scope].emplace_back(ns, name);
    for (const auto& [scope, metrics] : by_scope) {
      auto page = deps_.store->List(kAlarmTable, scope);
      if (!page.ok()) continue;
      for (const store::Record& r : page->records) {
        const Document& alarm = r.doc["Alarm"];
        bool reads = std::any_of(metrics.begin(), metrics.end(),
                                 [&](const auto& m) { return ReadsMetric(alarm, m.first, m.second); });
        if (reads && r.doc.value("Type", "") == "MetricAlarm") {
          Status evaluated = EvaluateRecord(scope, r, now, 0);
          if (!evaluated.ok()) GANTRY_LOG(kDebug, "cloudwatch: alarm " << r.key << ": " << evaluated.ToString());
        }
      }
    }
    if (now - last_sweep >= kSweepInterval || now < last_sweep) {
      EvaluateDue(now);
      last_sweep = now;
    }
    lock.lock();
  }
}

void AlarmScheduler::NotifyMetric(const std::string& scope, const std::string& metric_namespace,
                                  const std::string& metric_name) {
  {
    std::lock_guard lock(mu_);
    if (running_ && !stopping_) {
      notified_.emplace(scope, metric_namespace, metric_name);
      wake_.notify_one();
      return;
    }
  }
  auto page = deps_.store->List(kAlarmTable, scope);
  if (!page.ok()) return;
  TimePoint now = deps_.clock->Now();
  for (const store::Record& r : page->records) {
    if (r.doc.value("Type", "") == "MetricAlarm" && ReadsMetric(r.doc["Alarm"], metric_namespace, metric_name)) {
      (void)EvaluateRecord(scope, r, now, 0);
    }
  }
}

void AlarmScheduler::EvaluateDue(TimePoint now) {
  auto scopes = deps_.store->List(kAlarmScopeTable, "");
  if (!scopes.ok()) return;
  for (const store::Record& s : scopes->records) {
    const std::string& scope = s.key;
    auto page = deps_.store->List(kAlarmTable, scope);
    if (!page.ok()) continue;
    for (const store::Record& r : page->records) {
      ReplayPending(scope, r, now);
      if (r.doc.value("Type", "") != "MetricAlarm") {
        RunPendingActions(scope, r, now);
        continue;
      }
      {
        std::lock_guard lock(mu_);
        auto [it, inserted] = last_evaluated_.try_emplace(Key(scope, r.key), now);
        if (!inserted) {
          if (now >= it->second && now - it->second < Interval(r.doc["Alarm"])) continue;
          it->second = now;
        }
      }
      Status evaluated = EvaluateRecord(scope, r, now, 0);
      if (!evaluated.ok()) GANTRY_LOG(kDebug, "cloudwatch: alarm " << r.key << ": " << evaluated.ToString());
    }
  }
}

Status AlarmScheduler::EvaluateAlarm(const std::string& scope, const std::string& name, TimePoint now) {
  GANTRY_ASSIGN_OR_RETURN(auto record, deps_.store->Get(kAlarmTable, scope, name));
  if (!record) return Status::Ok();
  return EvaluateRecord(scope, *record, now, 0);
}

Status AlarmScheduler::EvaluateRecord(const std::string& scope, const store::Record& record, TimePoint now, int depth) {
  auto evaluate = [&](const store::Record& r) {
    return r.doc.value("Type", "") == "CompositeAlarm" ? EvaluateCompositeAlarm(scope, r, now, depth)
                                                        : EvaluateMetricAlarm(scope, r, now);
  };
  Status evaluated = evaluate(record);
  if (evaluated.code() != StatusCode::kConflict) return evaluated;
  // The record changed while it was evaluated (a PutMetricAlarm or another evaluation): evaluate
  // what is stored now; a second conflict leaves it to the next evaluation.
  GANTRY_ASSIGN_OR_RETURN(auto current, deps_.store->Get(kAlarmTable, scope, record.key));
  if (!current) return Status::Ok();
  evaluated = evaluate(*current);
  return evaluated.code() == StatusCode::kConflict ? Status::Ok() : evaluated;
}

Status AlarmScheduler::EvaluateMetricAlarm(const std::string& scope, const store::Record& record, TimePoint now) {
  if (!deps_.metrics) return Status::Ok();
  const Document& alarm = record.doc["Alarm"];
  const std::string name = alarm.value("AlarmName", "");
  EvaluationConfig config;
  config.comparison = ParseComparison(alarm.value("ComparisonOperator", "")).value_or(Comparison::kGreaterThan);
  config.threshold = alarm.value("Threshold", 0.0);
  config.evaluation_periods = alarm.value("EvaluationPeriods", 1);
  config.datapoints_to_alarm_set = alarm.contains("DatapointsToAlarm");
  config.datapoints_to_alarm = alarm.value("DatapointsToAlarm", config.evaluation_periods);
  config.missing = ParseMissingData(alarm.value("TreatMissingData", "missing")).value_or(MissingData::kMissing);
  const int64_t period = AlarmPeriod(alarm);
  const std::string stat =
      alarm.contains("ExtendedStatistic") ? alarm["ExtendedStatistic"].get<std::string>() : alarm.value("Statistic", "");
  const std::string value_id = "m1";
  const std::string samples_id = "samples";
  Document queries = Document::array();
  std::string band_id = alarm.value("ThresholdMetricId", "");
  if (alarm.contains("Metrics")) {
    queries = alarm["Metrics"];
  } else {
    Document metric = {{"Namespace", alarm.value("Namespace", "")}, {"MetricName", alarm.value("MetricName", "")}};
    if (alarm.contains("Dimensions")) metric["Dimensions"] = alarm["Dimensions"];
    Document metric_stat = {{"Metric", metric}, {"Period", period}, {"Stat", stat}};
    if (alarm.contains("Unit")) metric_stat["Unit"] = alarm["Unit"];
    queries.push_back({{"Id", value_id}, {"MetricStat", metric_stat}, {"ReturnData", true}});
    std::optional<double> percentile = PercentileOf(stat);
    if (percentile && alarm.value("EvaluateLowSampleCountPercentile", "") == "ignore") {
      config.min_samples = MinSamplesForPercentile(*percentile);
      Document samples = metric_stat;
      samples["Stat"] = "SampleCount";
      queries.push_back({{"Id", samples_id}, {"MetricStat", samples}, {"ReturnData", true}});
    }
  }
  const int length = EvaluationRangeLength(config.evaluation_periods);
  const int64_t period_ms = period * 1000;
  const int64_t now_ms = ToEpochMillis(now);
  const int64_t current = now_ms - now_ms % period_ms;
  const TimePoint start = TimePoint(std::chrono::milliseconds(current - length * period_ms));
  const TimePoint end = TimePoint(std::chrono::milliseconds(current + period_ms));
  auto series = EvaluateMetricDataQueries(deps_, scope, queries, start, end);
  if (!series.ok()) {
    GANTRY_LOG(kDebug, "cloudwatch: alarm " << name << " query failed: " << series.status().ToString());
    return Status::Ok();
  }
  std::map<int64_t, Datapoint> points;
  const MetricDataSeries* values = nullptr;
  std::vector<const MetricDataSeries*> band;
  for (const MetricDataSeries& s : *series) {
    if (!band_id.empty() && s.id == band_id) {
      band.push_back(&s);
    } else if (s.id == samples_id && config.min_samples) {
      for (size_t i = 0; i < s.timestamps_ms.size(); ++i) points[s.timestamps_ms[i]].sample_count = s.values[i];
    } else if (s.return_data && !values) {
      values = &s;
    }
  }
  if (!values) return Status::Ok();
  for (size_t i = 0; i < values->timestamps_ms.size() && i < values->values.size(); ++i) {
    points[values->timestamps_ms[i]].value = values->values[i];
  }
  // An anomaly band comes as its lower and upper series (in that order) under the threshold id.
  if (band.size() >= 2) {
    for (int side = 0; side < 2; ++side) {
      const MetricDataSeries& s = *band[side];
      for (size_t i = 0; i < s.timestamps_ms.size() && i < s.values.size(); ++i) {
        (side == 0 ? points[s.timestamps_ms[i]].lower : points[s.timestamps_ms[i]].upper) = s.values[i];
      }
    }
  } else if (IsBandComparison(config.comparison)) {
    points.clear();  // no band to compare with: every period is missing
  }
  for (auto it = points.begin(); it != points.end();) it = it->second.value ? std::next(it) : points.erase(it);
  std::vector<Datapoint> range = EvaluationRange(points, period_ms, now_ms, length);
  AlarmState current_state =
      ParseAlarmState(alarm.value("StateValue", "INSUFFICIENT_DATA")).value_or(AlarmState::kInsufficientData);
  Evaluation result = Evaluate(config, range, current_state);
  if (!result.state || *result.state == current_state) return Status::Ok();
  Document reason_data = {{"version", "1.0"},
                          {"queryDate", AlarmTime(now)},
                          {"startDate", AlarmTime(TimePoint(std::chrono::milliseconds(range.front().timestamp_ms)))},
                          {"period", period},
                          {"recentDatapoints", Document::array()},
                          {"evaluatedDatapoints", Document::array()}};
  if (!alarm.contains("Metrics")) {
    reason_data[alarm.contains("ExtendedStatistic") ? "extendedStatistic" : "statistic"] = stat;
    if (alarm.contains("Unit")) reason_data["unit"] = alarm["Unit"];
  }
  if (!IsBandComparison(config.comparison)) reason_data["threshold"] = config.threshold;
  for (const Datapoint& p : range) {
    if (p.value) reason_data["recentDatapoints"].push_back(*p.value);
  }
  for (const Datapoint& p : result.evaluated) {
    Document e = {{"timestamp", AlarmTime(TimePoint(std::chrono::milliseconds(p.timestamp_ms)))},
                  {"value", *p.value}};
    if (p.sample_count) e["sampleCount"] = *p.sample_count;
    if (IsBandComparison(config.comparison)) e["threshold"] = {p.lower, p.upper};
    reason_data["evaluatedDatapoints"].push_back(std::move(e));
  }
  return ChangeStateAt(scope, name, *result.state, result.reason, reason_data.dump(), now, 0, record.version);
}

Status AlarmScheduler::EvaluateCompositeAlarm(const std::string& scope, const store::Record& record, TimePoint now,
                                              int depth) {
  const Document& alarm = record.doc["Alarm"];
  GANTRY_ASSIGN_OR_RETURN(AlarmRule rule, AlarmRule::Parse(alarm.value("AlarmRule", "")));
  auto read_children = [&]() -> StatusOr<std::map<std::string, Document>> {
    std::map<std::string, Document> found_children;
    for (const std::string& reference : rule.references()) {
      GANTRY_ASSIGN_OR_RETURN(auto found, deps_.store->Get(kAlarmTable, scope, ReferencedName(scope, reference)));
      if (found) found_children[reference] = found->doc["Alarm"];
    }
    return found_children;
  };
  GANTRY_ASSIGN_OR_RETURN(auto children, read_children());
  bool holds = rule.Evaluate([&](const std::string& reference) -> std::optional<AlarmState> {
    auto it = children.find(reference);
    if (it == children.end()) return std::nullopt;
    return ParseAlarmState(it->second.value("StateValue", "INSUFFICIENT_DATA"));
  });
  AlarmState state = holds ? AlarmState::kAlarm : AlarmState::kOk;
  if (alarm.value("StateValue", "") == AlarmStateName(state)) return Status::Ok();
  // The reason names the child that changed last, as CloudWatch's does.
  Document triggering = Document::array();
  const Document* latest = nullptr;
  for (const auto& [reference, child] : children) {
    if (holds && child.value("StateValue", "") != "ALARM") continue;
    triggering.push_back({{"arn", child.value("AlarmArn", "")},
                          {"state",
                           {{"value", child.value("StateValue", "")},
                            {"timestamp", AlarmTime(FromEpochSeconds(child.value("StateUpdatedTimestamp", 0.0)))}}}});
    if (!latest || child.value("StateUpdatedTimestamp", 0.0) > latest->value("StateUpdatedTimestamp", 0.0)) {
      latest = &child;
    }
  }
  std::string reason = latest ? latest->value("AlarmArn", "") + " transitioned to " +
                                    latest->value("StateValue", "") + " at " +
                                    AlarmTime(FromEpochSeconds(latest->value("StateUpdatedTimestamp", 0.0)))
                              : std::string("The alarm rule evaluated to ") + (holds ? "TRUE" : "FALSE");
  Document reason_data = {{"triggeringAlarms", triggering}};
  GANTRY_RETURN_IF_ERROR(ChangeStateAt(scope, alarm.value("AlarmName", ""), state, reason, reason_data.dump(), now,
                                       depth, record.version));
  // The version check covers only this record: a child that changed after it was read above may
  // have had its own re-evaluation of this composite find the old state (and do nothing) before
  // this write. A child change after the re-read below re-evaluates this composite after the write.
  GANTRY_ASSIGN_OR_RETURN(auto now_children, read_children());
  auto state_of = [](const std::map<std::string, Document>& m) {
    std::map<std::string, std::string> states;
    for (const auto& [reference, child] : m) states[reference] = child.value("StateValue", "");
    return states;
  };
  if (state_of(now_children) == state_of(children) || depth >= kMaxCompositeDepth) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(auto current, deps_.store->Get(kAlarmTable, scope, record.key));
  if (!current) return Status::Ok();
  return EvaluateRecord(scope, *current, now, depth + 1);
}

Status AlarmScheduler::ChangeState(const std::string& scope, const std::string& name, AlarmState state,
                                   const std::string& reason, const std::optional<std::string>& reason_data,
                                   TimePoint now) {
  // Without an expected version a conflict only means the record changed between the read and the
  // write (an evaluation or a PutMetricAlarm): apply the change to the record stored now.
  Status changed = ChangeStateAt(scope, name, state, reason, reason_data, now, 0, std::nullopt);
  for (int attempt = 0; changed.code() == StatusCode::kConflict && attempt < 10; ++attempt) {
    changed = ChangeStateAt(scope, name, state, reason, reason_data, now, 0, std::nullopt);
  }
  return changed;
}

Status AlarmScheduler::ChangeStateAt(const std::string& scope, const std::string& name, AlarmState state,
                                     const std::string& reason, const std::optional<std::string>& reason_data,
                                     TimePoint now, int depth, std::optional<int64_t> expected_version) {
  GANTRY_ASSIGN_OR_RETURN(auto record, deps_.store->Get(kAlarmTable, scope, name));
  if (!record) return Status::NotFound("Alarm " + name + " does not exist", "ResourceNotFound");
  if (expected_version && record->version != *expected_version) {
    return Status::Conflict("Alarm " + name + " changed while it was evaluated");
  }
  Document doc = record->doc;
  Document& alarm = doc["Alarm"];
  const Document before = alarm;
  const std::string old_state = alarm.value("StateValue", "INSUFFICIENT_DATA");
  const bool changed = old_state != AlarmStateName(state);
  const double seconds = ToEpochSeconds(now);
  alarm["StateValue"] = std::string(AlarmStateName(state));
  alarm["StateReason"] = reason;
  if (reason_data) {
    alarm["StateReasonData"] = *reason_data;
  } else {
    alarm.erase("StateReasonData");
  }
  alarm["StateUpdatedTimestamp"] = seconds;
  if (changed) {
    alarm["StateTransitionedTimestamp"] = seconds;
    doc["PreviousStateValue"] = old_state;
  }
  const bool composite = doc.value("Type", "") == "CompositeAlarm";
  std::string suppressed_by;
  if (composite && changed) {
    alarm.erase("ActionsSuppressedBy");
    alarm.erase("ActionsSuppressedReason");
    doc.erase("PendingActionsUntil");
    if (state == AlarmState::kAlarm && alarm.contains("ActionsSuppressor")) {
      suppressed_by = Suppression(scope, alarm, now);
      if (!suppressed_by.empty()) {
        alarm["ActionsSuppressedBy"] = suppressed_by;
        alarm["ActionsSuppressedReason"] = "Alarm actions suppressed by " + suppressed_by;
        if (suppressed_by == "WaitPeriod") {
          doc["PendingActionsUntil"] = seconds + alarm.value("ActionsSuppressorWaitPeriod", 0);
        }
      }
    }
  }
  const bool announce = changed || reason_data || before.value("StateReason", "") != reason;
  Document pending;
  if (announce) {
    std::string id;
    {
      std::lock_guard lock(mu_);
      id = std::to_string(ToEpochMillis(now)) + "-" + std::to_string(++announcement_counter_);
    }
    pending = {{"Id", id},
               {"Before", before},
               {"After", alarm},
               {"Type", doc.value("Type", "MetricAlarm")},
               {"Changed", changed},
               {"Timestamp", seconds},
               {"Suppressed", !suppressed_by.empty()},
               {"Depth", depth}};
    if (!doc.contains("PendingAnnouncements")) doc["PendingAnnouncements"] = Document::array();
    doc["PendingAnnouncements"].push_back(pending);
  }
  auto updated = deps_.store->Update(kAlarmTable, scope, name, doc, record->version);
  // Changed meanwhile (a concurrent evaluation or a PutMetricAlarm): the caller re-evaluates.
  if (!updated.ok()) return updated.status();
  if (!announce) return Status::Ok();
  // The change is stored; an announcement that could not be delivered stays pending for the replay.
  Status delivered = DeliverPending(scope, name, now);
  if (!delivered.ok()) GANTRY_LOG(kDebug, "cloudwatch: alarm " << name << ": " << delivered.ToString());
  return Status::Ok();
}

Status AlarmScheduler::DeliverPending(const std::string& scope, const std::string& name, TimePoint now) {
  const std::string alarm_key = scope + "\n" + name;
  {
    std::lock_guard lock(mu_);
    if (!delivering_.insert(alarm_key).second) {
      // Another thread is delivering this alarm's announcements: it reads the record again.
      redeliver_.insert(alarm_key);
      return Status::Ok();
    }
  }
  Status result;
  while (true) {
    std::optional<Document> oldest;
    auto current = deps_.store->Get(kAlarmTable, scope, name);
    if (!current.ok()) {
      result = current.status();
    } else if (*current) {
      const Document left = (*current)->doc.value("PendingAnnouncements", Document::array());
      if (!left.empty()) oldest = left[0];
    }
    if (oldest && result.ok()) {
      result = Deliver(scope, name, *oldest, now);
      if (result.ok()) continue;
    }
    // Announcements that could not be delivered stay in the record for the replay.
    std::lock_guard lock(mu_);
    if (redeliver_.erase(alarm_key) > 0 && result.ok()) continue;
    delivering_.erase(alarm_key);
    return result;
  }
}

Status AlarmScheduler::Deliver(const std::string& scope, const std::string& name, const Document& pending,
                               TimePoint delivered_at) {
  const TimePoint now = pending.contains("Timestamp") ? FromEpochSeconds(pending["Timestamp"].get<double>()) : delivered_at;
  const std::string id = pending.value("Id", "");
  const Document& before = pending["Before"];
  const Document& alarm = pending["After"];
  const std::string old_state = before.value("StateValue", "INSUFFICIENT_DATA");
  const std::string new_state = alarm.value("StateValue", "INSUFFICIENT_DATA");
  Document data = {{"version", "1.0"}, {"oldState", HistoryState(before)}, {"newState", HistoryState(alarm)}};
  Status recorded = RecordHistory(scope, alarm, "StateUpdate", "Alarm updated from " + old_state + " to " + new_state,
                                  data, now);
  if (recorded.ok() && pending.value("Changed", false)) {
    Announce(scope, before, Document{{"Type", pending.value("Type", "MetricAlarm")}, {"Alarm", alarm}});
    if (!pending.value("Suppressed", false)) {
      PerformActions(scope, alarm, ParseAlarmState(new_state).value_or(AlarmState::kInsufficientData), now);
    }
  }
  // Cleared after delivery: a crash before this point delivers it again.
  bool cleared = false;
  for (int attempt = 0; recorded.ok() && attempt < 3; ++attempt) {
    auto current = deps_.store->Get(kAlarmTable, scope, name);
    if (!current.ok()) break;
    if (!*current) {
      cleared = true;  // the alarm was deleted
      break;
    }
    Document doc = (*current)->doc;
    Document left = Document::array();
    for (const Document& p : doc.value("PendingAnnouncements", Document::array())) {
      if (p.value("Id", "") != id) left.push_back(p);
    }
    if (left.empty()) {
      doc.erase("PendingAnnouncements");
    } else {
      doc["PendingAnnouncements"] = std::move(left);
    }
    auto updated = deps_.store->Update(kAlarmTable, scope, name, doc, (*current)->version);
    cleared = updated.ok();
    if (cleared || updated.status().code() != StatusCode::kConflict) break;
  }
  GANTRY_RETURN_IF_ERROR(recorded);
  const int depth = pending.value("Depth", 0);
  if (pending.value("Changed", false) && depth < kMaxCompositeDepth) {
    EvaluateParents(scope, name, delivered_at, depth + 1);
  }
  if (!cleared) return Status::Unavailable("The announcement " + id + " of alarm " + name + " could not be cleared");
  return Status::Ok();
}

void AlarmScheduler::ReplayPending(const std::string& scope, const store::Record& record, TimePoint now) {
  if (!record.doc.contains("PendingAnnouncements")) return;
  Status delivered = DeliverPending(scope, record.key, now);
  if (!delivered.ok()) GANTRY_LOG(kDebug, "cloudwatch: alarm " << record.key << ": " << delivered.ToString());
}

std::string AlarmScheduler::Suppression(const std::string& scope, const Document& alarm, TimePoint now) {
  auto suppressor = deps_.store->Get(kAlarmTable, scope, ReferencedName(scope, alarm.value("ActionsSuppressor", "")));
  if (!suppressor.ok() || !*suppressor) return alarm.value("ActionsSuppressorWaitPeriod", 0) > 0 ? "WaitPeriod" : "";
  const Document& s = (*suppressor)->doc;
  if (s["Alarm"].value("StateValue", "") == "ALARM") return "Alarm";
  double left = s["Alarm"].value("StateTransitionedTimestamp", 0.0);
  if (s.value("PreviousStateValue", "") == "ALARM" &&
      ToEpochSeconds(now) < left + alarm.value("ActionsSuppressorExtensionPeriod", 0)) {
    return "ExtensionPeriod";
  }
  return alarm.value("ActionsSuppressorWaitPeriod", 0) > 0 ? "WaitPeriod" : "";
}

void AlarmScheduler::RunPendingActions(const std::string& scope, const store::Record& record, TimePoint now) {
  if (!record.doc.contains("PendingActionsUntil") || ToEpochSeconds(now) < record.doc["PendingActionsUntil"].get<double>()) {
    return;
  }
  Document doc = record.doc;
  Document& alarm = doc["Alarm"];
  doc.erase("PendingActionsUntil");
  auto suppressor = deps_.store->Get(kAlarmTable, scope, ReferencedName(scope, alarm.value("ActionsSuppressor", "")));
  bool suppressed = suppressor.ok() && *suppressor && (*suppressor)->doc["Alarm"].value("StateValue", "") == "ALARM";
  if (suppressed) {
    alarm["ActionsSuppressedBy"] = "Alarm";
    alarm["ActionsSuppressedReason"] = "Alarm actions suppressed by Alarm";
  } else {
    alarm.erase("ActionsSuppressedBy");
    alarm.erase("ActionsSuppressedReason");
  }
  if (!deps_.store->Update(kAlarmTable, scope, record.key, doc, record.version).ok()) return;
  if (!suppressed && alarm.value("StateValue", "") == "ALARM") PerformActions(scope, alarm, AlarmState::kAlarm, now);
}

void AlarmScheduler::EvaluateParents(const std::string& scope, const std::string& name, TimePoint now, int depth) {
  auto page = deps_.store->List(kAlarmTable, scope);
  if (!page.ok()) return;
  const std::string arn = AlarmArn(scope, name);
  for (const store::Record& r : page->records) {
    if (r.doc.value("Type", "") != "CompositeAlarm") continue;
    const std::string rule = r.doc["Alarm"].value("AlarmRule", "");
    if (rule.find(name) == std::string::npos) continue;
    auto parsed = AlarmRule::Parse(rule);
    if (!parsed.ok()) continue;
    const auto& refs = parsed->references();
    if (std::find(refs.begin(), refs.end(), name) == refs.end() && std::find(refs.begin(), refs.end(), arn) == refs.end()) {
      continue;
    }
    Status evaluated = EvaluateRecord(scope, r, now, depth);
    if (!evaluated.ok()) GANTRY_LOG(kDebug, "cloudwatch: composite alarm " << r.key << ": " << evaluated.ToString());
  }
}

void AlarmScheduler::Announce(const std::string& scope, const Document& before, const Document& after) {
  if (!deps_.client) return;
  const Document& alarm = after["Alarm"];
  const bool composite = after.value("Type", "") == "CompositeAlarm";
  Document detail = {{"alarmName", alarm.value("AlarmName", "")},
                     {"state", EventState(alarm)},
                     {"previousState", EventState(before)},
                     {"configuration", EventConfiguration(alarm, composite)}};
  Document entry = {{"Source", "aws.cloudwatch"},
                    {"DetailType", "CloudWatch Alarm State Change"},
                    {"Detail", detail.dump()},
                    {"Resources", Document::array({alarm.value("AlarmArn", "")})}};
  auto result = deps_.client->Call(MonitoringPrincipal(Account(scope)), "events", "PutEvents",
                                   Document{{"Entries", Document::array({entry})}}, Region(scope));
  if (!result.ok()) {
    GANTRY_LOG(kDebug, "cloudwatch: state change event of " << alarm.value("AlarmName", "")
                                                            << " not published: " << result.status().ToString());
  }
}

void AlarmScheduler::PerformActions(const std::string& scope, const Document& alarm, AlarmState state, TimePoint now) {
  if (!alarm.value("ActionsEnabled", true)) return;
  for (const Document& action : alarm.value(std::string(ActionList(state)), Document::array())) {
    const std::string arn = action.get<std::string>();
    Document data = {{"actionState", "Failed"},
                     {"stateUpdateTimestamp", ToEpochMillis(now)},
                     {"notificationResource", arn},
                     {"error", kUndeliverable}};
    Status recorded = RecordHistory(scope, alarm, "Action",
                                    "Failed to execute action " + arn + ". Received error: \"" + kUndeliverable + "\"",
                                    data, now);
    if (!recorded.ok()) GANTRY_LOG(kWarn, "cloudwatch: alarm history not written: " << recorded.ToString());
  }
}

Status AlarmScheduler::RecordHistory(const std::string& scope, const Document& alarm, std::string_view type,
                                     const std::string& summary, const Document& data, TimePoint now) {
  GANTRY_ASSIGN_OR_RETURN(int64_t sequence, deps_.store->NextSequence(kAlarmHistoryTable));
  char key[48];
  std::snprintf(key, sizeof key, "%015lld-%012lld", static_cast<long long>(ToEpochMillis(now)),
                static_cast<long long>(sequence));
  Document item = {{"AlarmName", alarm.value("AlarmName", "")},
                   {"AlarmType", alarm.contains("AlarmRule") ? "CompositeAlarm" : "MetricAlarm"},
                   {"Timestamp", ToEpochSeconds(now)},
                   {"HistoryItemType", std::string(type)},
                   {"HistorySummary", summary},
                   {"HistoryData", data.dump()}};
  return deps_.store->Put(kAlarmHistoryTable, scope, key, item).status();
}

}  // namespace gantry::services::cloudwatch
