#include "server/services.h"

#include "services/sts/sts_service.h"

namespace gantry::server {

std::vector<std::unique_ptr<aws::Service>> MakeServices(const ServiceDeps& deps) {
  std::vector<std::unique_ptr<aws::Service>> services;
  services.push_back(std::make_unique<services::StsService>());
  return services;
}

}  // namespace gantry::server
