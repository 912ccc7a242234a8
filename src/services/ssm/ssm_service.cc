#include "services/ssm/ssm_service.h"

#include "core/common/log.h"

namespace gantry::services::ssm {

void RegisterParameterHandlers(aws::HandlerTable& table, const SsmDeps& deps);

namespace {

constexpr auto kSweepInterval = std::chrono::minutes(1);

}  // namespace

SsmService::SsmService(store::Store* store, Clock* clock, IdSource* ids, std::string state_dir)
    : state_dir_(std::move(state_dir)), deps_{store, clock, ids, nullptr},
      sweeper_(kSweepInterval, [this] {
        StatusOr<int> swept = SweepExpired(deps_.clock->Now());
        if (!swept.ok()) GANTRY_LOG(kWarn, "ssm: expiration sweep failed: " << swept.status().ToString());
      }) {}

SsmService::~SsmService() { Stop(); }

void SsmService::RegisterHandlers(aws::HandlerTable& table) { RegisterParameterHandlers(table, deps_); }

Status SsmService::LoadMasterKey() {
  if (box_) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(crypto::SealedBox box, crypto::SealedBox::OpenOrCreate(crypto::MasterKeyPath(state_dir_)));
  box_.emplace(std::move(box));
  deps_.box = &*box_;
  return Status::Ok();
}

Status SsmService::Start() {
  GANTRY_RETURN_IF_ERROR(LoadMasterKey());
  sweeper_.Start();
  return Status::Ok();
}

void SsmService::Stop() { sweeper_.Stop(); }

}  // namespace gantry::services::ssm
