// CloudWatch (metrics, alarms, dashboards) through all three of its wire protocols (awsQuery for
// CLI v2, awsJson 1.0 and smithy-rpc-v2-cbor for current SDKs). Metrics live in the metric store
// (telemetry/metrics) under <state>/metrics; alarms are evaluated by the alarm scheduler on the
// injected clock and their state changes are persisted, recorded in history and sent to the
// event bus; dashboards are stored as given.
//
// Start() opens the metric store (replaying its write-ahead log) and starts the alarm scheduler
// and the store's compaction; Stop() stops them. Tests call Open() and drive the scheduler.
//
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <memory>
#include <string>

#include "core/aws/service.h"
#include "core/common/periodic_task.h"
#include "services/cloudwatch/handlers.h"

namespace gantry::services::cloudwatch {

class CloudWatchService final : public aws::Service {
 public:
  // Pointers must outlive the service; metrics are stored under state_dir/metrics.
  CloudWatchService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, std::string state_dir);
  ~CloudWatchService() override;

  std::string_view name() const override { return "cloudwatch"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  // Opens the metric store (Start does this first).
  Status Open();
  const CloudWatchDeps& deps() const { return deps_; }

 private:
  std::string state_dir_;
  std::unique_ptr<telemetry::metrics::MetricStore> metrics_;
  CloudWatchDeps deps_;
  PeriodicTask compactor_;
  std::unique_ptr<AlarmScheduler> alarms_;
};

}  // namespace gantry::services::cloudwatch
