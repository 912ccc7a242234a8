// CloudWatch Logs: log groups and streams, PutLogEvents with AWS's batch rules, GetLogEvents and
// FilterLogEvents with the full filter-pattern language, retention that really expires data,
// metric filters and the Embedded Metric Format (their metrics go to CloudWatch through `client`,
// log_metrics.h) and tags. Control-plane records live in the store (resources.h); events live in the log store engine
// (telemetry/logs/log_store.h) under <state-dir>/logs, so an acknowledged PutLogEvents survives
// kill -9 and restarts.
//
// The engine's sweeper thread (retention, sealing of idle streams) runs between Start and Stop.
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <memory>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"
#include "services/logs/resources.h"
#include "telemetry/logs/log_store.h"

namespace gantry::services::logs {

class LogsService final : public aws::Service {
 public:
  // store, clock, ids and client must outlive the service; engine_options.root is where events are kept
  // (its clock is replaced by `clock`).
  LogsService(store::Store* store, Clock* clock, IdSource* ids, telemetry::logs::LogStoreOptions engine_options,
              aws::Client* client = nullptr);
  ~LogsService() override;

  std::string_view name() const override { return "logs"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  telemetry::logs::LogStore* engine() { return engine_.get(); }

 private:
  Status opened_;
  std::unique_ptr<telemetry::logs::LogStore> engine_;
  LogsDeps deps_;
};

}  // namespace gantry::services::logs
