// STS: who a request runs as. GetCallerIdentity answers for any valid credentials; the role and
// federation operations arrive with the identity work.
#pragma once

#include "core/aws/service.h"

namespace gantry::services {

class StsService final : public aws::Service {
 public:
  std::string_view name() const override { return "sts"; }
  void RegisterHandlers(aws::HandlerTable& table) override;
};

}  // namespace gantry::services
