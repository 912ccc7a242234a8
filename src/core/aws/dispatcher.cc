#include "core/aws/dispatcher.h"

#include "core/aws/aws_chunked.h"
#include "core/aws/codecs.h"
#include "core/aws/content_encoding.h"
#include "core/aws/sigv2.h"
#include "core/aws/validator.h"
#include "core/common/ids.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::aws {

namespace {

bool IsForm(const http::Request& request) {
  return ToLower(request.headers.Get("Content-Type")).find("application/x-www-form-urlencoded") != std::string::npos;
}

bool HasQueryAction(const http::Request& request) {
  return request.query.find("Action=") != std::string::npos;
}

// The largest body a Content-Encoding: gzip request may inflate to (the server's API body limit).
constexpr uint64_t kMaxInflatedBody = 16ull << 20;

// The ServiceName of an rpcv2 path "/service/{ServiceName}/operation/{OperationName}", or "".
std::string_view RpcV2ServiceName(const http::Request& request) {
  std::string_view path = request.path;
  constexpr std::string_view kService = "/service/";
  size_t at = path.rfind(kService);
  if (at == std::string_view::npos) return {};
  path.remove_prefix(at + kService.size());
  size_t op = path.find("/operation/");
  return op == std::string_view::npos ? std::string_view() : path.substr(0, op);
}

// The protocol a request speaks when the service is unknown or the model lists several.
Protocol GuessProtocol(const http::Request& request) {
  if (request.headers.Get("smithy-protocol") == "rpc-v2-cbor" ||
      (request.method == "POST" && !RpcV2ServiceName(request).empty() &&
       ToLower(request.headers.Get("Content-Type")).find("application/cbor") != std::string::npos)) {
    return Protocol::kRpcV2Cbor;
  }
  if (request.headers.Has("X-Amz-Target")) return Protocol::kJson;
  if (IsForm(request) || HasQueryAction(request)) return Protocol::kQuery;
  std::string_view ct = request.headers.Get("Content-Type");
  if (ct.find("json") != std::string_view::npos) return Protocol::kRestJson;
  return Protocol::kRestXml;
}

struct AuthError {
  const char* query;
  const char* json;
  const char* xml;
  int query_status;
  int json_status;
  int xml_status;
};

AuthError AuthErrorFor(AuthFailureKind kind) {
  switch (kind) {
    case AuthFailureKind::kMissingAuthentication:
      return {"MissingAuthenticationToken", "MissingAuthenticationTokenException", "AccessDenied", 403, 400, 403};
    case AuthFailureKind::kIncompleteSignature:
      return {"IncompleteSignature", "IncompleteSignatureException", "AuthorizationHeaderMalformed", 400, 400, 400};
    case AuthFailureKind::kUnknownAccessKey:
      return {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", 403, 400, 403};
    case AuthFailureKind::kSignatureMismatch:
      return {"SignatureDoesNotMatch", "InvalidSignatureException", "SignatureDoesNotMatch", 403, 400, 403};
    case AuthFailureKind::kRequestExpired:
      return {"SignatureDoesNotMatch", "InvalidSignatureException", "AccessDenied", 403, 400, 403};
    case AuthFailureKind::kClockSkew:
      return {"SignatureDoesNotMatch", "InvalidSignatureException", "RequestTimeTooSkewed", 403, 400, 403};
    case AuthFailureKind::kExpiredToken:
      return {"ExpiredToken", "ExpiredTokenException", "ExpiredToken", 403, 400, 400};
    case AuthFailureKind::kInvalidToken:
      return {"InvalidClientTokenId", "UnrecognizedClientException", "InvalidToken", 403, 400, 400};
    case AuthFailureKind::kContentSha256Mismatch:
      return {"SignatureDoesNotMatch", "InvalidSignatureException", "XAmzContentSHA256Mismatch", 403, 400, 400};
    case AuthFailureKind::kInvalidContentSha256:
      return {"SignatureDoesNotMatch", "InvalidSignatureException", "InvalidArgument", 403, 400, 400};
  }
  return {"AccessDenied", "AccessDeniedException", "AccessDenied", 403, 400, 403};
}

// Whether the request names an operation its model lets clients send unsigned (STS
// AssumeRoleWithWebIdentity and AssumeRoleWithSAML).
bool IsUnsignedOperation(const ServiceModel* model, const ProtocolCodec& codec, const http::Request& request) {
  if (model == nullptr) return false;
  auto op = codec.ResolveOperation(*model, request);
  return op.ok() && (*op)->no_auth;
}

}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, const CredentialResolver* credentials, const HandlerTable* handlers,
                       Authorizer* authorizer)
    : options_(std::move(options)), credentials_(credentials), handlers_(handlers), authorizer_(authorizer) {
  if (options_.clock == nullptr) options_.clock = SystemClock::Instance();
}

Dispatcher::Route Dispatcher::Identify(const http::Request& request) const {
  Route route;
  ModelRegistry& models = ModelRegistry::Instance();
  std::string_view target = request.headers.Get("X-Amz-Target");
  if (!target.empty()) {
    size_t dot = target.rfind('.');
    route.scope_service = std::string(target.substr(0, dot));
    route.model = models.FindByTargetPrefix(route.scope_service);
  }
  if (route.model == nullptr && GuessProtocol(request) == Protocol::kRpcV2Cbor) {
    route.scope_service = std::string(RpcV2ServiceName(request));
    route.model = models.FindByTargetPrefix(route.scope_service);
  }
  if (route.model == nullptr) {
    if (auto scope = PeekCredentialScope(request)) {
      route.scope_service = scope->service;
      route.model = models.FindBySigningName(scope->service);
    }
  }
  if (route.model == nullptr && !PeekCredentialScope(request) && GuessProtocol(request) == Protocol::kQuery) {
    // Unsigned query requests name no service; only an operation that may be unsigned can be meant.
    for (const std::string& name : models.ServiceNames()) {
      const ServiceModel* model = models.Get(name);
      if (model && model->protocol() == Protocol::kQuery && IsUnsignedOperation(model, QueryCodec(), request)) {
        route.model = model;
        route.scope_service = model->signing_name();
        break;
      }
    }
  }
  if (route.model == nullptr && IsSigV2Request(request)) {  // only S3 ever took SigV2
    route.scope_service = "s3";
    route.model = models.Get("s3");
  }
  route.protocol = route.model ? route.model->protocol() : GuessProtocol(request);
  if (route.model && route.model->protocols().size() > 1) {
    Protocol guessed = GuessProtocol(request);
    if (route.model->SupportsProtocol(guessed)) route.protocol = guessed;
  }
  return route;
}

void Dispatcher::WriteAuthFailure(const Route& route, const AuthFailure& failure, const std::string& request_id,
                                  http::Response& response) const {
  AuthError e = AuthErrorFor(failure.kind);
  AwsError error;
  error.message = failure.message;
  switch (route.protocol) {
    case Protocol::kQuery:
      error.code = e.query;
      error.http_status = e.query_status;
      break;
    case Protocol::kRestXml:
      error.code = e.xml;
      error.http_status = e.xml_status;
      if (!failure.access_key_id.empty() && failure.kind == AuthFailureKind::kUnknownAccessKey) {
        error.extra.emplace_back("AWSAccessKeyId", failure.access_key_id);
      }
      if (failure.kind == AuthFailureKind::kSignatureMismatch) {
        error.extra.emplace_back("AWSAccessKeyId", failure.access_key_id);
        error.extra.emplace_back("StringToSign", failure.string_to_sign);
        error.extra.emplace_back("SignatureProvided", failure.signature_provided);
        error.extra.emplace_back("CanonicalRequest", failure.canonical_request);
      }
      break;
    default:
      error.code = e.json;
      error.http_status = e.json_status;
      break;
  }
  CodecFor(route.protocol).WriteError(route.model, error, request_id, response);
}

void Dispatcher::Handle(http::Request& request, http::Response& response) {
  Route route = Identify(request);
  const ProtocolCodec& codec = CodecFor(route.protocol);
  RequestContext ctx;
  ctx.request_id = request.request_id;
  ctx.time = options_.clock->Now();
  ctx.source_ip = request.remote_address;
  ctx.http = &request;
  ctx.response = &response;
  ctx.client = this;
  ctx.authorizer = authorizer_;
  ctx.model = route.model;

  auto fail = [&](const Status& status) {
    AwsError error = ToAwsError(status, route.model, route.protocol);
    error.extra.insert(error.extra.end(), ctx.error_extra.begin(), ctx.error_extra.end());
    error.members = ctx.error_members;
    codec.WriteError(route.model, error, ctx.request_id, response);
  };

  // Authenticate.
  std::optional<CredentialScope> scope = PeekCredentialScope(request);
  if (options_.accept_any_credentials) {
    ctx.principal = Principal::Root(options_.account_id);
    if (Status decoded = DecodeUnverifiedAwsChunkedRequest(request); !decoded.ok()) {
      fail(decoded);
      return;
    }
  } else {
    auto verified = IsSigV2Request(request) ? VerifySigV2(request, *credentials_, ctx.time)
                                            : VerifySigV4(request, *credentials_, ctx.time);
    if (auto* failure = std::get_if<AuthFailure>(&verified)) {
      if (failure->kind != AuthFailureKind::kMissingAuthentication ||
          !IsUnsignedOperation(route.model, codec, request)) {
        WriteAuthFailure(route, *failure, ctx.request_id, response);
        return;
      }
      ctx.principal.account_id = options_.account_id;  // anonymous: empty ARN, not root
    } else {
      const SignedRequestInfo& info = std::get<SignedRequestInfo>(verified);
      if (Status decoded = DecodeAwsChunkedRequest(request, info); !decoded.ok()) {
        fail(decoded);
        return;
      }
      ctx.principal.account_id = info.credential.account_id;
      ctx.principal.arn = info.credential.principal_arn;
      ctx.principal.access_key_id = info.credential.access_key_id;
      ctx.principal.is_root = ctx.principal.arn == "arn:aws:iam::" + info.credential.account_id + ":root";
      ctx.principal.user_id = ctx.principal.is_root ? info.credential.account_id : info.credential.user_id;
    }
  }
  // Compressed bodies (botocore's request compression) are inflated once the signature over the
  // compressed bytes is checked; REST bodies keep their Content-Encoding (S3 stores it).
  if (route.protocol == Protocol::kJson || route.protocol == Protocol::kQuery ||
      route.protocol == Protocol::kRpcV2Cbor) {
    if (Status inflated = DecodeContentEncoding(request, kMaxInflatedBody,
                                                route.protocol == Protocol::kQuery ? "" : "SerializationException");
        !inflated.ok()) {
      fail(inflated);
      return;
    }
  }
  ctx.account_id = ctx.principal.account_id;
  ctx.region = scope && !scope->region.empty() ? scope->region : options_.default_region;

  if (route.model == nullptr) {
    std::string name = route.scope_service.empty() ? "(unsigned)" : route.scope_service;
    fail(Status::InvalidArgument("Gantry does not provide the service '" + name + "'.",
                                 route.protocol == Protocol::kQuery ? "InvalidAction" : "UnknownOperationException"));
    return;
  }
  auto op = codec.ResolveOperation(*route.model, request);
  if (!op.ok()) {
    fail(op.status());
    return;
  }
  ctx.operation = *op;
  auto input = codec.ParseInput(*route.model, **op, request);
  if (!input.ok()) {
    fail(input.status());
    return;
  }
  auto output = Run(ctx, *input);
  if (!output.ok()) {
    fail(output.status());
    return;
  }
  codec.WriteOutput(*route.model, **op, *output, ctx.request_id, response);
  if (ctx.response_status != 0) response.status = ctx.response_status;
}

StatusOr<Document> Dispatcher::Run(RequestContext& ctx, const Document& input) {
  StatusOr<Document> result = RunHandler(ctx, input);
  if (!observers_.empty()) {
    Status status = result.status();
    for (RequestObserver* observer : observers_) observer->OnRequestComplete(ctx, input, status);
  }
  return result;
}

StatusOr<Document> Dispatcher::RunHandler(RequestContext& ctx, const Document& input) {
  const Operation& op = *ctx.operation;
  if (op.input) GANTRY_RETURN_IF_ERROR(ValidateInput(*op.input, input));
  if (authorizer_) GANTRY_RETURN_IF_ERROR(authorizer_->Authorize(ctx, input));
  const HandlerFn* handler = handlers_->Find(ctx.model->service(), op.name);
  if (handler == nullptr) {
    std::string what = handlers_->HasService(ctx.model->service())
                           ? "Gantry does not implement " + ctx.model->signing_name() + ":" + op.name + " yet."
                           : "Gantry does not implement the " + ctx.model->service() + " service yet.";
    return Status::Unimplemented(what);
  }
  try {
    return (*handler)(ctx, input);
  } catch (const std::exception& e) {
    GANTRY_LOG(kError, "handler " << ctx.model->service() << ":" << op.name << " threw: " << e.what());
    return Status::Internal("An internal error occurred while processing " + op.name + ".");
  }
}

StatusOr<Document> Dispatcher::Call(const Principal& principal, std::string_view service, std::string_view operation,
                                    const Document& input, std::string_view region) {
  const ServiceModel* model = ModelRegistry::Instance().Get(service);
  if (model == nullptr) return Status::InvalidArgument("unknown service " + std::string(service));
  const Operation* op = model->FindOperation(operation);
  if (op == nullptr) return Status::InvalidArgument("unknown operation " + std::string(service) + ":" + std::string(operation));
  RequestContext ctx = InProcessContext(principal, region);
  ctx.model = model;
  ctx.operation = op;
  return Run(ctx, input);
}

RequestContext Dispatcher::InProcessContext(const Principal& principal, std::string_view region) {
  RequestContext ctx;
  ctx.request_id = RandomIdSource::Instance()->Uuid();
  ctx.region = region.empty() ? options_.default_region : std::string(region);
  ctx.account_id = principal.account_id;
  ctx.principal = principal;
  ctx.time = options_.clock->Now();
  ctx.client = this;
  ctx.authorizer = authorizer_;
  return ctx;
}

Status Dispatcher::AuthorizeAs(const Principal& principal, std::string_view action, std::string_view resource,
                               std::string_view region) {
  if (authorizer_ == nullptr) return Status::Ok();
  return authorizer_->AuthorizeAction(InProcessContext(principal, region), action, resource);
}

void Dispatcher::WriteTransportError(const http::Request* head, int status, std::string_view message,
                                     http::Response& response) const {
  Route route;
  if (head) route = Identify(*head);
  AwsError error;
  error.http_status = status;
  error.message = std::string(message);
  if (status == 413) {
    error.code = route.protocol == Protocol::kRestXml ? "EntityTooLarge" : "RequestEntityTooLarge";
  } else if (status >= 500) {
    error.code = route.protocol == Protocol::kRestXml ? "InternalError" : "InternalFailure";
  } else {
    error.code = route.protocol == Protocol::kRestXml ? "BadRequest" : "MalformedHttpRequestException";
  }
  error.sender_fault = status < 500;
  CodecFor(route.protocol).WriteError(route.model, error, head ? head->request_id : std::string(), response);
}

}  // namespace gantry::aws
