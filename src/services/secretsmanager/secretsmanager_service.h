// Secrets Manager: secrets with versions and staging labels (AWSCURRENT, AWSPREVIOUS, custom),
// idempotent ClientRequestTokens, scheduled deletion with a recovery window and restore, resource
// policies (stored for IAM to evaluate; GetResourcePolicy serves them), tags, ListSecrets filters,
// BatchGetSecretValue and GetRandomPassword. Secret values are sealed at rest with the state
// directory's master key (core/crypto/sealed_box.h); nothing here logs a value.
//
// Start() reads (or creates) <state-dir>/master.key and starts the deletion sweep, a thread that
// removes secrets whose recovery window has passed, by the injected clock, once a minute. Secrets
// past their deletion date are already invisible to every operation before the sweep runs. Tests
// call LoadMasterKey() and SweepDeleted() instead of Start().
//
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "core/aws/service.h"
#include "core/common/periodic_task.h"
#include "core/crypto/sealed_box.h"
#include "services/secretsmanager/secrets.h"

namespace gantry::services::secretsmanager {

class SecretsManagerService final : public aws::Service {
 public:
  // Pointers must outlive the service; the master key lives in state_dir.
  SecretsManagerService(store::Store* store, Clock* clock, IdSource* ids, std::string state_dir);
  ~SecretsManagerService() override;

  std::string_view name() const override { return "secretsmanager"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  Status LoadMasterKey();
  // Removes secrets whose deletion date is at or before now; returns how many.
  StatusOr<int> SweepDeleted(TimePoint now) { return SweepDeletedSecrets(deps_, now); }

 private:
  std::string state_dir_;
  std::optional<crypto::SealedBox> box_;
  SecretsDeps deps_;
  PeriodicTask sweeper_;
};

}  // namespace gantry::services::secretsmanager
