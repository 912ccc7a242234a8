// What CloudWatch's handlers share: their dependencies and the registration of each group of
// operations. Thread-safe.
#pragma once

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "telemetry/metrics/metric_store.h"

namespace gantry::services::cloudwatch {

class AlarmScheduler;

struct CloudWatchDeps {
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;
  telemetry::metrics::MetricStore* metrics = nullptr;
  AlarmScheduler* alarms = nullptr;  // null in tests that do not evaluate alarms
};

// PutMetricData, GetMetricStatistics, ListMetrics.
void RegisterMetricHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps);
// GetMetricData, PutAnomalyDetector, DescribeAnomalyDetectors, DeleteAnomalyDetector.
void RegisterMetricDataHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps);
// PutMetricAlarm, PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DescribeAlarmHistory,
// DeleteAlarms, SetAlarmState, EnableAlarmActions, DisableAlarmActions, TagResource,
// UntagResource, ListTagsForResource.
void RegisterAlarmHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps);
// PutDashboard, GetDashboard, ListDashboards, DeleteDashboards.
void RegisterDashboardHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps);

}  // namespace gantry::services::cloudwatch
