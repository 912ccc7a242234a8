#include "services/secretsmanager/secretsmanager_service.h"

#include "core/common/log.h"

namespace gantry::services::secretsmanager {

void RegisterSecretHandlers(aws::HandlerTable& table, const SecretsDeps& deps);

namespace {

constexpr auto kSweepInterval = std::chrono::minutes(1);

}  // namespace

SecretsManagerService::SecretsManagerService(store::Store* store, Clock* clock, IdSource* ids, std::string state_dir)
    : state_dir_(std::move(state_dir)), deps_{store, clock, ids, nullptr},
      sweeper_(kSweepInterval, [this] {
        StatusOr<int> swept = SweepDeleted(deps_.clock->Now());
        if (!swept.ok()) GANTRY_LOG(kWarn, "secretsmanager: deletion sweep failed: " << swept.status().ToString());
      }) {}

SecretsManagerService::~SecretsManagerService() { Stop(); }

void SecretsManagerService::RegisterHandlers(aws::HandlerTable& table) { RegisterSecretHandlers(table, deps_); }

Status SecretsManagerService::LoadMasterKey() {
  if (box_) return Status::Ok();
  GANTRY_ASSIGN_OR_RETURN(crypto::SealedBox box, crypto::SealedBox::OpenOrCreate(crypto::MasterKeyPath(state_dir_)));
  box_.emplace(std::move(box));
  deps_.box = &*box_;
  return Status::Ok();
}

Status SecretsManagerService::Start() {
  GANTRY_RETURN_IF_ERROR(LoadMasterKey());
  sweeper_.Start();
  return Status::Ok();
}

void SecretsManagerService::Stop() { sweeper_.Stop(); }

}  // namespace gantry::services::secretsmanager
