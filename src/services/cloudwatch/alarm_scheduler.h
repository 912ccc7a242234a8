// AlarmScheduler: evaluates CloudWatch alarms and carries out their state changes.
//
// Metric alarms (a metric, a metric-math expression or an anomaly band) are evaluated every minute,
// every 10 seconds when their period is 10 or 30 seconds, and promptly after PutMetricData on
// their metric (NotifyMetric); their data comes only from EvaluateMetricDataQueries, so an alarm
// sees what GetMetricData shows. Composite alarms are evaluated whenever an alarm their rule names
// changes state. A state change is persisted together with a pending announcement (the record's
// "PendingAnnouncements", in the same versioned update); then it is recorded in the alarm's
// history, sent to the default event bus as a "CloudWatch Alarm State Change" event, its actions
// are carried out (or recorded as not deliverable), and the announcement is cleared. Announcements
// left by a crash are replayed at Start and by EvaluateDue (at least once). An evaluation only
// changes the record it evaluated: a record updated meanwhile is evaluated again. State is
// computed from stored data, so after a restart the scheduler simply continues.
//
// Alarm records live in the store as table "cloudwatch.alarm" by (<account>/<region>, name);
// history items in "cloudwatch.alarm_history". Time comes from the injected clock: tests call
// EvaluateDue(now) instead of starting the thread.
//
// Thread-safe: handlers, the scheduler thread and NotifyMetric callers may call concurrently.
// Start/Stop are called from one controlling thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>

#include "core/aws/document.h"
#include "core/common/status.h"
#include "services/cloudwatch/alarm_evaluation.h"
#include "services/cloudwatch/handlers.h"

namespace gantry::services::cloudwatch {

inline constexpr std::string_view kAlarmTable = "cloudwatch.alarm";
inline constexpr std::string_view kAlarmHistoryTable = "cloudwatch.alarm_history";
inline constexpr std::string_view kAlarmScopeTable = "cloudwatch.alarm_scope";  // scopes holding alarms
inline constexpr std::string_view kMonitoringPrincipal = "monitoring.amazonaws.com";

// arn:aws:cloudwatch:<region>:<account>:alarm:<name> for scope "<account>/<region>".
std::string AlarmArn(const std::string& scope, const std::string& name);
// 2024-05-06T12:00:40.123+0000, the timestamp form of reason data and alarm events.
std::string AlarmTime(TimePoint t);

class AlarmScheduler {
 public:
  // deps is the service's, read at each use (its members are filled in by Open).
  explicit AlarmScheduler(const CloudWatchDeps& deps) : deps_(deps) {}
  ~AlarmScheduler();
  AlarmScheduler(const AlarmScheduler&) = delete;
  AlarmScheduler& operator=(const AlarmScheduler&) = delete;

  void Start();
  void Stop();

  // Evaluates every alarm that is due at `now`, runs composite actions whose wait period ended and
  // replays pending announcements.
  void EvaluateDue(TimePoint now);
  // Asks for the alarms of `scope` on this metric to be evaluated soon: on the scheduler thread when
  // it runs, else right away. Cheap; called after PutMetricData.
  void NotifyMetric(const std::string& scope, const std::string& metric_namespace, const std::string& metric_name);
  // Evaluates one alarm now (metric or composite).
  Status EvaluateAlarm(const std::string& scope, const std::string& name, TimePoint now);
  // Evaluates an alarm record as read from the store (metric or composite). A state change applies
  // only to that version of the record: when it changed meanwhile, the current one is evaluated.
  Status EvaluateRecord(const std::string& scope, const store::Record& record, TimePoint now, int depth = 0);
  // Moves an alarm to `state` unless it is already there: SetAlarmState and evaluations.
  Status ChangeState(const std::string& scope, const std::string& name, AlarmState state, const std::string& reason,
                     const std::optional<std::string>& reason_data, TimePoint now);
  // Appends a history item for an alarm record's "Alarm" document.
  Status RecordHistory(const std::string& scope, const aws::Document& alarm, std::string_view type,
                       const std::string& summary, const aws::Document& data, TimePoint now);

 private:
  // Conflict when the record's version is no longer `record.version`.
  Status EvaluateMetricAlarm(const std::string& scope, const store::Record& record, TimePoint now);
  Status EvaluateCompositeAlarm(const std::string& scope, const store::Record& record, TimePoint now, int depth);
  // expected_version: the version of the record evaluated (Conflict when it changed); nullopt for
  // SetAlarmState.
  Status ChangeStateAt(const std::string& scope, const std::string& name, AlarmState state, const std::string& reason,
                       const std::optional<std::string>& reason_data, TimePoint now, int depth,
                       std::optional<int64_t> expected_version);
  // Records, announces and acts on one pending announcement, then clears it from the record
  // (Unavailable when it could not be cleared).
  Status Deliver(const std::string& scope, const std::string& name, const aws::Document& pending, TimePoint now);
  // Delivers an alarm's pending announcements oldest first, so its state changes are announced in
  // order. One thread at a time delivers an alarm's announcements; another caller meanwhile leaves
  // its announcement to that thread (which reads the record again) and returns at once, so a
  // delivery that re-enters for the same alarm cannot deadlock.
  Status DeliverPending(const std::string& scope, const std::string& name, TimePoint now);
  // Delivers the pending announcements of a record (left by a crash or a failed delivery).
  void ReplayPending(const std::string& scope, const store::Record& record, TimePoint now);
  // The composites of `scope` whose rule names `name`, re-evaluated after it changed.
  void EvaluateParents(const std::string& scope, const std::string& name, TimePoint now, int depth);
  void Announce(const std::string& scope, const aws::Document& before, const aws::Document& after);
  void PerformActions(const std::string& scope, const aws::Document& alarm, AlarmState state, TimePoint now);
  // ActionsSuppressedBy for a composite entering ALARM at now, empty when its actions run.
  std::string Suppression(const std::string& scope, const aws::Document& alarm, TimePoint now);
  void RunPendingActions(const std::string& scope, const store::Record& record, TimePoint now);
  void Loop();

  const CloudWatchDeps& deps_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool running_ = false;
  bool stopping_ = false;
  std::set<std::tuple<std::string, std::string, std::string>> notified_;  // (scope, namespace, name)
  std::map<std::string, TimePoint> last_evaluated_;                        // by "<scope>\n<name>"
  std::set<std::string> delivering_;  // "<scope>\n<name>" of alarms whose announcements a thread delivers
  std::set<std::string> redeliver_;   // of those, the ones given more announcements meanwhile
  int64_t announcement_counter_ = 0;
  std::thread thread_;
};

}  // namespace gantry::services::cloudwatch
