#include "services/cloudwatch/cloudwatch_service.h"

#include "core/common/log.h"
#include "services/cloudwatch/alarm_scheduler.h"

namespace gantry::services::cloudwatch {

namespace {

constexpr auto kCompactInterval = std::chrono::minutes(5);

}  // namespace

CloudWatchService::CloudWatchService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client,
                                     std::string state_dir)
    : state_dir_(std::move(state_dir)), deps_{store, clock, ids, client, nullptr, nullptr},
      compactor_(kCompactInterval, [this] {
        if (!metrics_) return;
        Status compacted = metrics_->Compact();
        if (!compacted.ok()) GANTRY_LOG(kWarn, "cloudwatch: metric compaction failed: " << compacted.ToString());
      }),
      alarms_(std::make_unique<AlarmScheduler>(deps_)) {
  deps_.alarms = alarms_.get();
}

CloudWatchService::~CloudWatchService() { Stop(); }

void CloudWatchService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterMetricHandlers(table, deps_);
  RegisterMetricDataHandlers(table, deps_);
  RegisterAlarmHandlers(table, deps_);
  RegisterDashboardHandlers(table, deps_);
}

Status CloudWatchService::Open() {
  if (metrics_) return Status::Ok();
  telemetry::metrics::MetricStoreOptions options;
  options.root = state_dir_ + "/metrics";
  options.clock = deps_.clock;
  GANTRY_ASSIGN_OR_RETURN(metrics_, telemetry::metrics::MetricStore::Open(options));
  deps_.metrics = metrics_.get();
  return Status::Ok();
}

Status CloudWatchService::Start() {
  GANTRY_RETURN_IF_ERROR(Open());
  compactor_.Start();
  alarms_->Start();
  return Status::Ok();
}

void CloudWatchService::Stop() {
  alarms_->Stop();
  compactor_.Stop();
}

}  // namespace gantry::services::cloudwatch
