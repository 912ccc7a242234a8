// The Gantry server: opens the state directory, makes or reads the root key, registers the
// services (an explicit list in services.cc), starts their engines, and only then listens.
// Start/Stop from one thread; requests are served concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/aws/dispatcher.h"
#include "core/aws/service.h"
#include "core/http/server.h"
#include "core/store/store.h"
#include "server/config.h"
#include "server/request_metrics.h"
#include "server/root_credentials.h"

namespace gantry::server {

class GantryServer {
 public:
  explicit GantryServer(Config config);
  ~GantryServer();

  Status Start();
  uint16_t port() const;
  const RootKey& root_key() const { return root_key_; }
  // Graceful: in-flight requests finish, engines stop, state is closed.
  void Stop();

 private:
  void Route(http::Request& request, http::Response& response);
  // GET /_gantry/<service>/<subpath>: a service's own read-only views.
  bool ServeAdmin(const http::Request& request, http::Response& response);
  void WriteHealth(bool localstack_shape, http::Response& response) const;
  void WriteMetrics(http::Response& response) const;

  Config config_;
  RootKey root_key_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<aws::CredentialResolver> root_credentials_;
  std::unique_ptr<aws::CredentialResolver> credentials_;  // root, then what services issue
  aws::HandlerTable handlers_;
  std::vector<std::unique_ptr<aws::Service>> services_;
  std::unique_ptr<RequestMetrics> request_metrics_;  // observes the dispatcher: outlives it
  std::unique_ptr<aws::Dispatcher> dispatcher_;
  aws::HttpServeContext http_context_;  // for services' own HTTP paths (git smart HTTP)
  std::unique_ptr<http::Server> http_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> errors_{0};
  TimePoint started_;
};

}  // namespace gantry::server
