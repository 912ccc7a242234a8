#include "server/services.h"

#include "services/cloudtrail/cloudtrail_service.h"
#include "services/events/events_service.h"
#include "services/iam/iam_service.h"
#include "services/logs/logs_service.h"
#include "services/s3/s3_service.h"
#include "services/secretsmanager/secretsmanager_service.h"
#include "services/ssm/ssm_service.h"
#include "services/sts/sts_service.h"

namespace gantry::server {

std::vector<std::unique_ptr<aws::Service>> MakeServices(const ServiceDeps& deps) {
  std::vector<std::unique_ptr<aws::Service>> services;
  // First, so that it is stopped last: it records what the others do while they stop.
  services.push_back(std::make_unique<services::cloudtrail::CloudTrailService>(deps.store, deps.clock, deps.ids));
  services::StsOptions sts;
  sts.account_id = deps.account_id;
  sts.jwks_file = deps.oidc_jwks_file;
  services.push_back(std::make_unique<services::StsService>(deps.store, deps.clock, deps.ids, deps.client, sts));
  // IAM offers the authorizer and the access-key resolver to the chain.
  services.push_back(
      std::make_unique<services::iam::IamService>(deps.store, deps.clock, deps.ids, deps.client, deps.account_id));
  services.push_back(std::make_unique<services::events::EventsService>(deps.store, deps.clock, deps.ids, deps.client,
                                                                      deps.state_dir));
  services.push_back(std::make_unique<services::s3::S3Service>(deps.store, deps.state_dir, deps.clock, deps.ids));
  telemetry::logs::LogStoreOptions logs;
  logs.root = deps.state_dir + "/logs";
  services.push_back(std::make_unique<services::logs::LogsService>(deps.store, deps.clock, deps.ids, logs));
  services.push_back(std::make_unique<services::secretsmanager::SecretsManagerService>(deps.store, deps.clock, deps.ids,
                                                                                     deps.state_dir));
  services.push_back(std::make_unique<services::ssm::SsmService>(deps.store, deps.clock, deps.ids, deps.state_dir));
  return services;
}

}  // namespace gantry::server
