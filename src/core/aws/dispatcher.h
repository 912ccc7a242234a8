// The AWS request chain: identify the service and protocol, verify SigV4, resolve the operation,
// decode and validate the input, authorize, call the handler, encode the output or the error in
// the protocol's exact shape. The same chain (minus HTTP and SigV4) serves in-process calls.
// Thread-safe: Handle and Call run concurrently from server threads; tables are read-only.
#pragma once

#include <string>
#include <vector>

#include "core/aws/protocol.h"
#include "core/aws/service.h"
#include "core/aws/sigv4.h"
#include "core/common/clock.h"
#include "core/http/message.h"

namespace gantry::aws {

struct DispatcherOptions {
  std::string account_id = "000000000000";
  std::string default_region = "us-east-1";
  // Every request runs as the root principal without a signature check (tools that hard-code
  // test/test credentials).
  bool accept_any_credentials = false;
  const Clock* clock = nullptr;
};

class Dispatcher final : public Client {
 public:
  // credentials and handlers must outlive the dispatcher; authorizer may be null (allow all).
  Dispatcher(DispatcherOptions options, const CredentialResolver* credentials, const HandlerTable* handlers,
             Authorizer* authorizer);

  // Wiring, before requests arrive: the authorizer (null: allow all) and observers of requests.
  void SetAuthorizer(Authorizer* authorizer) { authorizer_ = authorizer; }
  void AddObserver(RequestObserver* observer) { observers_.push_back(observer); }

  void Handle(http::Request& request, http::Response& response);

  StatusOr<Document> Call(const Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override;
  Status AuthorizeAs(const Principal& principal, std::string_view action, std::string_view resource,
                     std::string_view region) override;

  // An error the HTTP server detected itself (head may be null), in the protocol the head suggests.
  void WriteTransportError(const http::Request* head, int status, std::string_view message,
                           http::Response& response) const;

 private:
  struct Route {
    const ServiceModel* model = nullptr;
    Protocol protocol = Protocol::kJson;
    std::string scope_service;  // the service named by X-Amz-Target or the credential scope
  };
  Route Identify(const http::Request& request) const;
  // A request context for a call made inside Gantry (no HTTP request) as principal.
  RequestContext InProcessContext(const Principal& principal, std::string_view region);
  // Validation, authorization and the handler, then the observers.
  StatusOr<Document> Run(RequestContext& ctx, const Document& input);
  StatusOr<Document> RunHandler(RequestContext& ctx, const Document& input);
  void WriteAuthFailure(const Route& route, const AuthFailure& failure, const std::string& request_id,
                        http::Response& response) const;

  DispatcherOptions options_;
  const CredentialResolver* credentials_;
  const HandlerTable* handlers_;
  Authorizer* authorizer_;
  std::vector<RequestObserver*> observers_;
};

}  // namespace gantry::aws
