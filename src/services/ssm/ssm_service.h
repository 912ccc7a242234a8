// SSM Parameter Store: String, StringList and SecureString parameters with hierarchical names,
// versions (100 kept), labels and name:version / name:label selectors, GetParametersByPath
// (recursive, filters, pagination), DescribeParameters filters, history, tiers, parameter policies
// (stored; Expiration deletes the parameter when due) and tags. SecureString values are sealed at
// rest with the state directory's master key (core/crypto/sealed_box.h); without WithDecryption
// their ciphertext is returned, base64, as AWS returns its KMS ciphertext. Nothing here logs a value.
//
// Start() reads (or creates) <state-dir>/master.key and starts the expiration sweep, a thread that
// applies due Expiration policies by the injected clock once a minute. Tests call LoadMasterKey()
// and SweepExpired() instead.
//
// Handlers are thread-safe; Start/Stop are called from one thread.
#pragma once

#include <optional>
#include <string>

#include "core/aws/service.h"
#include "core/common/periodic_task.h"
#include "core/crypto/sealed_box.h"
#include "services/ssm/parameters.h"

namespace gantry::services::ssm {

class SsmService final : public aws::Service {
 public:
  // Pointers must outlive the service; the master key lives in state_dir.
  SsmService(store::Store* store, Clock* clock, IdSource* ids, std::string state_dir);
  ~SsmService() override;

  std::string_view name() const override { return "ssm"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
  Status Start() override;
  void Stop() override;

  Status LoadMasterKey();
  // Deletes parameters whose Expiration policy is due at now; returns how many.
  StatusOr<int> SweepExpired(TimePoint now) { return SweepExpiredParameters(deps_, now); }

 private:
  std::string state_dir_;
  std::optional<crypto::SealedBox> box_;
  SsmDeps deps_;
  PeriodicTask sweeper_;
};

}  // namespace gantry::services::ssm
