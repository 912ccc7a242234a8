#include "services/logs/logs_service.h"

#include <cstdlib>

#include "services/logs/handlers.h"

namespace gantry::services::logs {

LogsService::LogsService(store::Store* store, Clock* clock, IdSource* ids,
                         telemetry::logs::LogStoreOptions engine_options, aws::Client* client) {
  engine_options.clock = clock;
  auto opened = telemetry::logs::LogStore::Open(std::move(engine_options));
  if (opened.ok()) {
    engine_ = std::move(*opened);
  } else {
    opened_ = opened.status();
  }
  deps_ = LogsDeps{store, clock, ids, engine_.get(), client};
}

LogsService::~LogsService() { Stop(); }

void LogsService::RegisterHandlers(aws::HandlerTable& table) {
  RegisterGroupHandlers(table, &deps_);
  RegisterStreamHandlers(table, &deps_);
  RegisterEventHandlers(table, &deps_);
  RegisterMetricFilterHandlers(table, &deps_);
}

Status LogsService::Start() {
  GANTRY_RETURN_IF_ERROR(opened_);
  // The engine learns every group's retention from the index the handlers keep.
  GANTRY_ASSIGN_OR_RETURN(std::vector<store::Record> retention, ListAll(*deps_.store, kRetentionTable, "", ""));
  for (const auto& record : retention) {
    uint64_t group = std::strtoull(record.key.c_str(), nullptr, 10);
    engine_->SetRetention(group, std::chrono::hours(24) * record.doc.value("days", 0));
  }
  engine_->Start();
  return Status::Ok();
}

void LogsService::Stop() {
  if (engine_) engine_->Stop();
}

}  // namespace gantry::services::logs
