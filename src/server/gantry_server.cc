#include "server/gantry_server.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/aws/sigv2.h"
#include "core/common/log.h"
#include "core/store/sqlite_store.h"
#include "server/services.h"

namespace gantry::server {

namespace {

constexpr uint64_t kMaxApiBody = 16ull << 20;      // JSON/XML/form API bodies
constexpr uint64_t kMaxStreamingBody = 5ull << 30;  // S3 object and part uploads stream to disk

class RootCredentialResolver final : public aws::CredentialResolver {
 public:
  RootCredentialResolver(RootKey key, std::string account_id) : key_(std::move(key)), account_id_(std::move(account_id)) {}
  std::optional<aws::Credential> Lookup(std::string_view access_key_id) const override {
    if (access_key_id != key_.access_key_id) return std::nullopt;
    aws::Credential c;
    c.access_key_id = key_.access_key_id;
    c.secret_access_key = key_.secret_access_key;
    c.account_id = account_id_;
    c.principal_arn = "arn:aws:iam::" + account_id_ + ":root";
    c.user_id = account_id_;
    return c;
  }

 private:
  RootKey key_;
  std::string account_id_;
};

// The root key first, then the credentials services issue (IAM access keys, STS sessions).
class CredentialChain final : public aws::CredentialResolver {
 public:
  void Add(const aws::CredentialResolver* resolver) { resolvers_.push_back(resolver); }
  std::optional<aws::Credential> Lookup(std::string_view access_key_id) const override {
    for (const auto* resolver : resolvers_) {
      if (auto credential = resolver->Lookup(access_key_id)) return credential;
    }
    return std::nullopt;
  }

 private:
  std::vector<const aws::CredentialResolver*> resolvers_;
};

Status MakeDir(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::Internal("cannot create " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return Status::Ok();
}

// Request bodies spooled by a previous run that was killed mid-upload: never acknowledged, so
// nothing refers to them.
Status EmptyDir(const std::string& path) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) return Status::Internal("cannot remove " + entry.path().string() + ": " + ec.message());
  }
  if (ec) return Status::Internal("cannot list " + path + ": " + ec.message());
  return Status::Ok();
}

// Signed with SigV4 or SigV2 (header or presigned query): an AWS API request.
bool IsAwsSigned(const http::Request& request) {
  return aws::PeekCredentialScope(request).has_value() || aws::IsSigV2Request(request);
}

// A git smart HTTP POST (CodeCommit's /v1/repos/<name>/git-upload-pack or git-receive-pack): git
// sends Basic credentials or none, never an AWS signature.
bool IsGitRpc(const http::Request& head) {
  auto ends_with = [&](std::string_view suffix) {
    return head.path.size() >= suffix.size() && head.path.compare(head.path.size() - suffix.size(), suffix.size(),
                                                                  suffix) == 0;
  };
  return head.method == "POST" && head.path.rfind("/v1/repos/", 0) == 0 &&
         (ends_with("/git-upload-pack") || ends_with("/git-receive-pack")) && !IsAwsSigned(head);
}

// S3 object and part uploads, and git pushes, are the only bodies allowed past the API limit; they
// go to disk.
http::BodyPolicy ChooseBodyPolicy(const http::Request& head) {
  // Without credentials the request gets a 401 (git then asks its helper): no reason to take a big body.
  if (IsGitRpc(head)) {
    return head.headers.Has("Authorization") ? http::BodyPolicy{http::BodySink::kFile, kMaxStreamingBody}
                                             : http::BodyPolicy{http::BodySink::kMemory, kMaxApiBody};
  }
  bool put = head.method == "PUT" || head.method == "POST";
  std::string_view authorization = head.headers.Get("Authorization");
  bool s3 = authorization.find("/s3/aws4_request") != std::string_view::npos ||
            head.query.find("X-Amz-Credential=") != std::string::npos ||
            authorization.substr(0, 4) == "AWS " ||                      // SigV2 header (S3 only)
            head.query.find("AWSAccessKeyId=") != std::string::npos;     // SigV2 presigned URL (S3 only)
  if (put && s3 && !head.headers.Has("X-Amz-Target")) return {http::BodySink::kFile, kMaxStreamingBody};
  return {http::BodySink::kMemory, kMaxApiBody};
}

}  // namespace

GantryServer::GantryServer(Config config) : config_(std::move(config)) {}

GantryServer::~GantryServer() { Stop(); }

Status GantryServer::Start() {
  started_ = SystemClock::Instance()->Now();
  GANTRY_RETURN_IF_ERROR(MakeDir(config_.state_dir, 0700));
  GANTRY_RETURN_IF_ERROR(MakeDir(config_.state_dir + "/tmp", 0700));
  GANTRY_RETURN_IF_ERROR(EmptyDir(config_.state_dir + "/tmp"));
  GANTRY_ASSIGN_OR_RETURN(root_key_, LoadOrCreateRootKey(config_.state_dir, *RandomIdSource::Instance()));
  root_credentials_ = std::make_unique<RootCredentialResolver>(root_key_, config_.account_id);
  auto chain = std::make_unique<CredentialChain>();
  chain->Add(root_credentials_.get());

  GANTRY_ASSIGN_OR_RETURN(store_, store::OpenSqliteStore(config_.state_dir + "/gantry.db"));

  aws::DispatcherOptions options;
  options.account_id = config_.account_id;
  options.default_region = config_.region;
  options.accept_any_credentials = config_.accept_any_credentials;
  dispatcher_ = std::make_unique<aws::Dispatcher>(options, chain.get(), &handlers_, nullptr);
  // The dispatcher reads the handler table only when requests arrive, after registration.
  request_metrics_ = std::make_unique<RequestMetrics>(SystemClock::Instance());
  dispatcher_->AddObserver(request_metrics_.get());

  ServiceDeps deps;
  deps.state_dir = config_.state_dir;
  deps.account_id = config_.account_id;
  deps.region = config_.region;
  deps.store = store_.get();
  deps.clock = SystemClock::Instance();
  deps.ids = RandomIdSource::Instance();
  deps.client = dispatcher_.get();
  deps.oidc_jwks_file = config_.oidc_jwks;
  deps.concurrent_builds = config_.concurrent_builds;
  deps.endpoint = [this] {
    std::string host = config_.host.find(':') != std::string::npos ? "[" + config_.host + "]" : config_.host;
    if (host == "0.0.0.0" || host == "[::]") host = "localhost";
    return "http://" + host + ":" + std::to_string(port());
  };
  services_ = MakeServices(deps);
  for (auto& service : services_) {
    service->RegisterHandlers(handlers_);
    if (const aws::CredentialResolver* resolver = service->credentials()) chain->Add(resolver);
    if (aws::Authorizer* authorizer = service->authorizer()) {
      dispatcher_->SetAuthorizer(authorizer);
      http_context_.authorizer = authorizer;
    }
    if (const aws::ServicePasswordVerifier* verifier = service->service_passwords()) {
      http_context_.service_passwords = verifier;
    }
    if (aws::RequestObserver* observer = service->observer()) dispatcher_->AddObserver(observer);
  }
  credentials_ = std::move(chain);
  http_context_.account_id = config_.account_id;
  http_context_.region = config_.region;
  http_context_.accept_any_credentials = config_.accept_any_credentials;
  http_context_.credentials = credentials_.get();
  for (auto& service : services_) GANTRY_RETURN_IF_ERROR(service->Start());

  http::ServerOptions http_options;
  http_options.host = config_.host;
  http_options.port = config_.port;
  http_options.spool_dir = config_.state_dir + "/tmp";
  http_options.body_policy = ChooseBodyPolicy;
  http_options.error_responder = [this](const http::Request* head, int status, std::string_view message,
                                        http::Response& out) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    dispatcher_->WriteTransportError(head, status, message, out);
  };
  http_ = std::make_unique<http::Server>(http_options, [this](http::Request& req, http::Response& resp) {
    Route(req, resp);
  });
  return http_->Start();
}

uint16_t GantryServer::port() const { return http_ ? http_->port() : 0; }

void GantryServer::Stop() {
  if (http_) {
    http_->Stop();
    http_.reset();
  }
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) (*it)->Stop();
  services_.clear();
  store_.reset();
}

void GantryServer::Route(http::Request& request, http::Response& response) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (request.method == "GET" || request.method == "HEAD") {
    if (request.path == "/_gantry/health") return WriteHealth(false, response);
    if (request.path == "/_localstack/health") return WriteHealth(true, response);
    if (request.path == "/_gantry/metrics") return WriteMetrics(response);
    if (request.path.rfind("/_gantry/", 0) == 0 && ServeAdmin(request, response)) return;
  }
  if (!IsAwsSigned(request)) {
    for (auto& service : services_) {
      if (service->ServeHttp(request, http_context_, response)) {
        if (response.status >= 400) errors_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
  }
  dispatcher_->Handle(request, response);
  if (response.status >= 400) errors_.fetch_add(1, std::memory_order_relaxed);
}

bool GantryServer::ServeAdmin(const http::Request& request, http::Response& response) {
  std::string_view rest = std::string_view(request.path).substr(std::string_view("/_gantry/").size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view name = rest.substr(0, slash);
  for (auto& service : services_) {
    if (service->name() == name) {
      return service->ServeAdmin(rest.substr(slash + 1), request, config_.account_id, config_.region, response);
    }
  }
  return false;
}

void GantryServer::WriteHealth(bool localstack_shape, http::Response& response) const {
  aws::Document services = aws::Document::object();
  for (const auto& service : services_) services[std::string(service->name())] = "running";
  aws::Document body;
  if (localstack_shape) {
    body = {{"services", services}, {"edition", "community"}, {"version", GANTRY_VERSION}};
  } else {
    body = {{"status", "running"},
            {"version", GANTRY_VERSION},
            {"account_id", config_.account_id},
            {"region", config_.region},
            {"services", services}};
  }
  response.status = 200;
  response.headers.Set("Content-Type", "application/json");
  response.body = body.dump();
}

void GantryServer::WriteMetrics(http::Response& response) const {
  double uptime = std::chrono::duration<double>(SystemClock::Instance()->Now() - started_).count();
  response.status = 200;
  response.headers.Set("Content-Type", "text/plain; version=0.0.4");
  response.body = "# HELP gantry_requests_total HTTP requests received.\n"
                  "# TYPE gantry_requests_total counter\ngantry_requests_total " + std::to_string(requests_.load()) +
                  "\n# HELP gantry_request_errors_total HTTP requests answered with a status of 400 or more.\n"
                  "# TYPE gantry_request_errors_total counter\ngantry_request_errors_total " +
                  std::to_string(errors_.load()) +
                  "\n# HELP gantry_uptime_seconds Seconds since the server started.\n"
                  "# TYPE gantry_uptime_seconds gauge\ngantry_uptime_seconds " + std::to_string(uptime) + "\n";
  if (request_metrics_) request_metrics_->WritePrometheus(response.body);
  WriteProcessMetrics(response.body);
}

}  // namespace gantry::server
