// What a service plugs into the AWS layer: handlers (one function per operation, keyed by the
// model's operation name), the request context they receive, the principal a request runs as,
// and the in-process client through which one service calls another with the same validation,
// authorization and errors as an HTTP request (services never include each other's headers).
// HandlerTable is filled once at start and read-only afterwards (thread-safe to read).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/model.h"
#include "core/aws/sigv4.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::aws {

// Who a request runs as.
struct Principal {
  std::string account_id;
  std::string arn;            // arn:aws:iam::<account>:root, ...:user/x, arn:aws:sts::<account>:assumed-role/r/s
  std::string user_id;        // the account id for root, AIDA.../AROA...:session otherwise
  std::string access_key_id;  // empty for in-process service principals
  bool is_root = false;
  // Set when an AWS service itself makes the call (e.g. "codecommit.amazonaws.com"); such callers
  // may publish events with the reserved "aws." sources.
  std::string service;
  // Gantry's own bookkeeping, not an API call anyone made (the authorizer reading a bucket or
  // secret policy): validated and authorized like any call, but not recorded in the audit trail.
  bool internal = false;
  // The resource on whose behalf a service acts (aws:SourceArn): the EventBridge rule of a target
  // call, the pipeline of a CodePipeline action. Empty for calls a client made.
  std::string source_arn;

  static Principal Root(const std::string& account_id);
};

class Client;
class Authorizer;

struct RequestContext {
  std::string request_id;
  std::string region;
  std::string account_id;  // the principal's account; state is scoped by account and region
  Principal principal;
  const ServiceModel* model = nullptr;
  const Operation* operation = nullptr;
  TimePoint time;
  std::string source_ip;                 // empty for in-process calls
  const http::Request* http = nullptr;   // null for in-process calls
  http::Response* response = nullptr;    // for handlers that stream a body (null in-process)
  Client* client = nullptr;              // for calls to other services
  Authorizer* authorizer = nullptr;      // null when no policy evaluation is wired (allow all)
  // Service-specific condition keys of this request, for policy evaluation (codecommit:References).
  std::vector<std::pair<std::string, std::string>> condition_keys;
  // Set by handlers whose answer the model cannot express: a success status other than the
  // operation's (S3's 206 Partial Content), and extra members of an error body (S3's Key, BucketName).
  int response_status = 0;
  std::vector<std::pair<std::string, std::string>> error_extra;
  // Structured members of the error shape a handler's error carries (AwsError::members).
  Document error_members;

  // "<account>/<region>": the store scope of regional resources.
  std::string Scope() const { return account_id + "/" + region; }

  // Checks an extra action a handler needs beyond the operation's own (iam:PassRole when a role is
  // handed to a target or project), as the request's principal on `resource`.
  Status Authorize(std::string_view action, std::string_view resource) const;
};

using HandlerFn = std::function<StatusOr<Document>(RequestContext&, const Document& input)>;

class HandlerTable {
 public:
  void Add(std::string_view service, std::string_view operation, HandlerFn fn);
  const HandlerFn* Find(std::string_view service, std::string_view operation) const;
  bool HasService(std::string_view service) const;

 private:
  std::map<std::string, std::map<std::string, HandlerFn, std::less<>>, std::less<>> handlers_;
};

// Calls an operation of any service as a given principal, in-process.
class Client {
 public:
  virtual ~Client() = default;
  virtual StatusOr<Document> Call(const Principal& principal, std::string_view service, std::string_view operation,
                                  const Document& input, std::string_view region) = 0;
  // Whether principal may perform an action that is no API operation (CodeBuild's
  // codebuild:BatchPutTestCases for a build's role) on resource; Ok when no policy evaluation is
  // wired.
  virtual Status AuthorizeAs(const Principal& principal, std::string_view action, std::string_view resource,
                             std::string_view region) {
    (void)principal, (void)action, (void)resource, (void)region;
    return Status::Ok();
  }
};

// Decides whether a principal may perform an action (IAM policy evaluation plugs in here).
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Status Authorize(const RequestContext& ctx, const Document& input) = 0;
  // One more action on one resource for the same request (e.g. "iam:PassRole" on a role ARN).
  virtual Status AuthorizeAction(const RequestContext& ctx, std::string_view action, std::string_view resource) {
    return Status::Ok();
  }
};

// Sees every request that reached an operation, HTTP or in-process, after it completed (the audit
// trail plugs in here). Called on the request's thread; must be thread-safe and must not block.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnRequestComplete(const RequestContext& ctx, const Document& input, const Status& result) = 0;
};

// Verifies the user name and password of a service-specific credential (IAM's HTTPS Git
// credentials, CreateServiceSpecificCredential). Must be thread-safe.
class ServicePasswordVerifier {
 public:
  virtual ~ServicePasswordVerifier() = default;
  // The owner of the active credential for service_name ("codecommit.amazonaws.com") with this
  // user name and password, or nullopt.
  virtual std::optional<Principal> VerifyServicePassword(std::string_view service_name, std::string_view user_name,
                                                         std::string_view password) const = 0;
};

// What the server hands a service serving HTTP paths of its own, outside the AWS protocols
// (CodeCommit's git smart HTTP): the server's defaults and the request chain's pieces, so the
// service authenticates and authorizes such requests itself.
struct HttpServeContext {
  std::string account_id;
  std::string region;
  bool accept_any_credentials = false;                          // every request runs as root
  const CredentialResolver* credentials = nullptr;              // access keys: root, IAM, STS
  Authorizer* authorizer = nullptr;                             // null: allow all
  const ServicePasswordVerifier* service_passwords = nullptr;   // null: none issued
};

// For ServeAdmin views: the store scope ("<account>/<region>") a view shows, from the request's
// ?account= and ?region= or else the server's defaults.
std::string AdminViewScope(const http::Request& request, const std::string& default_account,
                           const std::string& default_region);
// For ServeAdmin views: 200 with {"<member>": records} as JSON, or 500 with the error's message.
void WriteAdminView(const StatusOr<Document>& records, std::string_view member, http::Response& response);

// A service: a model name, its handlers, and lifecycle hooks for its engine. A service may also
// contribute to the request chain: credentials it issues (IAM keys, STS sessions), the
// authorizer (IAM policy evaluation), an observer (CloudTrail). The server wires what is offered.
class Service {
 public:
  virtual ~Service() = default;
  virtual std::string_view name() const = 0;  // botocore model name, e.g. "events"
  virtual void RegisterHandlers(HandlerTable& table) = 0;
  // Resumes or resolves work left in flight by a previous run, starts schedulers.
  virtual Status Start() { return Status::Ok(); }
  // Stops schedulers; state is already durable.
  virtual void Stop() {}

  // Gantry's own read-only views of a service, served unsigned at GET /_gantry/<name>/<subpath>
  // (e.g. /_gantry/events/invocations). account_id and region are the server's defaults. Returns
  // false when the subpath is not the service's.
  virtual bool ServeAdmin(std::string_view subpath, const http::Request& request, const std::string& account_id,
                          const std::string& region, http::Response& response) {
    return false;
  }

  // A request that is not AWS-signed (no SigV4/SigV2) for a path the service may own outside the
  // AWS protocols, e.g. CodeCommit's /v1/repos/<name>/... Returns false when it is not the service's.
  virtual bool ServeHttp(http::Request& request, const HttpServeContext& context, http::Response& response) {
    return false;
  }

  virtual const CredentialResolver* credentials() const { return nullptr; }
  virtual const ServicePasswordVerifier* service_passwords() const { return nullptr; }
  virtual Authorizer* authorizer() { return nullptr; }
  virtual RequestObserver* observer() { return nullptr; }
};

}  // namespace gantry::aws
