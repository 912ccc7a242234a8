#include "server/services.h"

#include <algorithm>
#include <cstdlib>

#include "runtime/build/image_store.h"
#include "services/cloudtrail/cloudtrail_service.h"
#include "services/cloudwatch/cloudwatch_service.h"
#include "services/codebuild/codebuild_service.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codepipeline/codepipeline_service.h"
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
  services.push_back(
      std::make_unique<services::logs::LogsService>(deps.store, deps.clock, deps.ids, logs, deps.client));
  services.push_back(std::make_unique<services::secretsmanager::SecretsManagerService>(deps.store, deps.clock, deps.ids,
                                                                                     deps.state_dir));
  services.push_back(std::make_unique<services::ssm::SsmService>(deps.store, deps.clock, deps.ids, deps.state_dir));
  services.push_back(std::make_unique<services::cloudwatch::CloudWatchService>(deps.store, deps.clock, deps.ids,
                                                                             deps.client, deps.state_dir));
  services::codecommit::CodeCommitDeps codecommit;
  codecommit.store = deps.store;
  codecommit.clock = deps.clock;
  codecommit.ids = deps.ids;
  codecommit.client = deps.client;
  codecommit.repos_root = deps.state_dir + "/codecommit/repos";
  codecommit.work_dir = deps.state_dir + "/codecommit";
  codecommit.account_id = deps.account_id;
  codecommit.region = deps.region;
  codecommit.endpoint = deps.endpoint;
  services.push_back(std::make_unique<services::codecommit::CodeCommitService>(std::move(codecommit)));
  services.push_back(std::make_unique<services::codepipeline::CodePipelineService>(deps.store, deps.clock, deps.ids,
                                                                                 deps.client, deps.endpoint));
  // Last, so that it is stopped first: builds it ends still write their logs and events.
  services::codebuild::CodeBuildOptions codebuild;
  codebuild.state_dir = deps.state_dir;
  codebuild.concurrent_builds = deps.concurrent_builds;
  codebuild.endpoint = deps.endpoint;
  codebuild.engine = services::codebuild::MakeRuntimeEngine;
  codebuild.image_dir = runtime::DefaultImageDir(deps.state_dir);  // what `gantry image` registers
  // A test knob, not a setting: how many seconds a minute of build and queued timeouts lasts, so
  // that end-to-end tests see timeouts (whose minimum is 5 minutes) in seconds.
  if (const char* minute = std::getenv("GANTRY_TEST_BUILD_MINUTE_SECONDS")) {
    codebuild.minute = std::chrono::seconds(std::max(1, std::atoi(minute)));
  }
  services.push_back(std::make_unique<services::codebuild::CodeBuildService>(deps.store, deps.clock, deps.ids,
                                                                             deps.client, std::move(codebuild)));
  return services;
}

}  // namespace gantry::server
