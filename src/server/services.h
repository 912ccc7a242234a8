// The explicit list of services this binary serves (no static registration).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/store/store.h"

namespace gantry::server {

// What services are built with; everything outlives them.
struct ServiceDeps {
  std::string state_dir;
  std::string account_id;
  std::string region;
  store::Store* store = nullptr;
  Clock* clock = nullptr;
  IdSource* ids = nullptr;
  aws::Client* client = nullptr;  // in-process calls to other services
  std::string oidc_jwks_file;     // --oidc-jwks: keys of web identity tokens (STS)
  // http://host:port the server listens on (known once it listens; for in-process clone URLs).
  std::function<std::string()> endpoint;
  int concurrent_builds = 4;      // --concurrent-builds (CodeBuild)
};

std::vector<std::unique_ptr<aws::Service>> MakeServices(const ServiceDeps& deps);

}  // namespace gantry::server
