#include "server/services.h"

#include "services/events/events_service.h"
#include "services/sts/sts_service.h"

namespace gantry::server {

std::vector<std::unique_ptr<aws::Service>> MakeServices(const ServiceDeps& deps) {
  std::vector<std::unique_ptr<aws::Service>> services;
  services.push_back(std::make_unique<services::StsService>());
  services.push_back(
      std::make_unique<services::events::EventsService>(deps.store, deps.clock, deps.ids, deps.client));
  return services;
}

}  // namespace gantry::server
