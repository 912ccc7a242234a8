#include "services/ssm/ssm_service.h"

#include "core/common/log.h"

namespace gantry::services::ssm {

void RegisterParameterHandlers(aws::HandlerTable& table, const SsmDeps& deps);

namespace {

constexpr auto kSweepInterval = std::chrono::minutes(1);

}  // namespace

SsmService::SsmService(store::Store* store, Clock* clock, IdSource* ids, std::string state_dir)
    : state_dir_(std::move(state_dir)), deps_{store, clock, ids, nullptr} {}

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
  if (sweeper_.joinable()) return Status::Ok();
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  sweeper_ = std::thread([this] { SweepLoop(); });
  return Status::Ok();
}

void SsmService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void SsmService::SweepLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    StatusOr<int> swept = SweepExpired(deps_.clock->Now());
    if (!swept.ok()) GANTRY_LOG(kWarn, "ssm: expiration sweep failed: " << swept.status().ToString());
    lock.lock();
    wake_.wait_for(lock, kSweepInterval, [this] { return stopping_; });
  }
}

}  // namespace gantry::services::ssm
