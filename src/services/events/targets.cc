#include "services/events/targets.h"

#include <cctype>

#include "core/aws/error.h"
#include "core/aws/model.h"
#include "core/common/arn.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "services/events/outbox.h"

namespace gantry::services::events {

namespace {

constexpr std::string_view kEventsPrincipal = "events.amazonaws.com";

DeliveryOutcome Failure(std::string code, std::string message, bool transient = false) {
  DeliveryOutcome outcome;
  outcome.ok = false;
  outcome.transient = transient;
  outcome.error_code = std::move(code);
  outcome.error_message = std::move(message);
  return outcome;
}

bool IsTransient(const Status& status, const std::string& code) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kInternal:
    case StatusCode::kConflict:
      return true;
    default:
      return code.find("Throttl") != std::string::npos || code == "TooManyRequestsException";
  }
}

// A stable stand-in for the unique id IAM gives a role (17 upper-case characters).
std::string RoleId(const std::string& role_arn) {
  std::string id = HexEncode(Sha256(role_arn)).substr(0, 17);
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return id;
}

// The principal a target call runs as: the target's (or rule's) role, else EventBridge itself.
aws::Principal PrincipalFor(const TargetDelivery& delivery) {
  std::string role = delivery.target.value("RoleArn", "");
  if (role.empty()) role = delivery.rule.value("RoleArn", "");
  aws::Principal principal;
  principal.source_arn = delivery.rule.value("Arn", "");
  auto arn = Arn::Parse(role);
  if (arn && arn->service == "iam" && arn->resource.rfind("role/", 0) == 0) {
    std::string name = arn->resource.substr(arn->resource.rfind('/') + 1);
    std::string session = delivery.event.value("id", "events");
    principal.account_id = arn->account;
    principal.arn = "arn:aws:sts::" + arn->account + ":assumed-role/" + name + "/" + session;
    principal.user_id = "AROA" + RoleId(role) + ":" + session;
    return principal;
  }
  principal.account_id = delivery.account;
  principal.arn = std::string(kEventsPrincipal);
  principal.user_id = std::string(kEventsPrincipal);
  principal.service = std::string(kEventsPrincipal);
  return principal;
}

std::string QueryPart(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string query;
  for (const auto& [key, value] : params) {
    query += (query.empty() ? "" : "&") + UriEncode(key) + "=" + UriEncode(value);
  }
  return query;
}

std::string WithQuery(std::string url, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string query = QueryPart(params);
  if (query.empty()) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + query;
}

// A connection's InvocationHttpParameters / OAuthHttpParameters: [{Key, Value, IsValueSecret}].
void AddParameters(const Document& list, std::vector<std::pair<std::string, std::string>>& out) {
  if (!list.is_array()) return;
  for (const auto& p : list) out.emplace_back(p.value("Key", ""), p.value("Value", ""));
}

StatusOr<std::string> FetchOAuthToken(HttpSender& http, const Document& oauth) {
  const Document& client = oauth.value("ClientParameters", Document::object());
  const Document& params = oauth.value("OAuthHttpParameters", Document::object());
  HttpCall call;
  call.method = oauth.value("HttpMethod", "POST");
  std::vector<std::pair<std::string, std::string>> query;
  AddParameters(params.value("QueryStringParameters", Document::array()), query);
  call.url = WithQuery(oauth.value("AuthorizationEndpoint", ""), query);
  AddParameters(params.value("HeaderParameters", Document::array()), call.headers);
  call.headers.emplace_back(
      "Authorization", "Basic " + Base64Encode(client.value("ClientID", "") + ":" + client.value("ClientSecret", "")));
  std::vector<std::pair<std::string, std::string>> form = {{"grant_type", "client_credentials"}};
  AddParameters(params.value("BodyParameters", Document::array()), form);
  call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  call.body = QueryPart(form);
  GANTRY_ASSIGN_OR_RETURN(HttpReply reply, http.Send(call));
  if (reply.status < 200 || reply.status > 299) {
    return Status::Unavailable("The authorization endpoint answered " + std::to_string(reply.status) + ".");
  }
  Document token = Document::parse(reply.body, nullptr, false);
  if (!token.is_object() || !token.contains("access_token") || !token["access_token"].is_string()) {
    return Status::Unavailable("The authorization endpoint's answer holds no access_token.");
  }
  return token["access_token"].get<std::string>();
}

}  // namespace

bool HasShapedInput(const Document& target) {
  return target.contains("Input") || target.contains("InputPath") || target.contains("InputTransformer");
}

::gantry::events::TargetInput InputSpecOf(const Document& target) {
  ::gantry::events::TargetInput spec;
  if (target.contains("Input")) spec.input = target["Input"].get<std::string>();
  if (target.contains("InputPath")) spec.input_path = target["InputPath"].get<std::string>();
  if (target.contains("InputTransformer")) {
    const Document& t = target["InputTransformer"];
    ::gantry::events::InputTransformer transformer;
    transformer.input_template = t.value("InputTemplate", "");
    const Document paths = t.value("InputPathsMap", Document::object());
    for (const auto& [name, path] : paths.items()) {
      transformer.input_paths_map[name] = path.get<std::string>();
    }
    spec.input_transformer = std::move(transformer);
  }
  return spec;
}

DeliveryOutcome TargetInvoker::Invoke(const TargetDelivery& delivery) {
  std::string target_arn = delivery.target.value("Arn", "");
  auto arn = Arn::Parse(target_arn);
  if (!arn) return Failure("ValidationException", "The target ARN " + target_arn + " is not valid.");
  std::string region = arn->region.empty() ? delivery.region : arn->region;
  std::string account = arn->account.empty() ? delivery.account : arn->account;
  const std::string& resource = arn->resource;

  if (arn->service == "events") {
    if (resource.rfind("event-bus/", 0) == 0) return ToBus(delivery, region, account, resource.substr(10));
    if (resource.rfind("api-destination/", 0) == 0) {
      std::string rest = resource.substr(16);
      return ToApiDestination(delivery, region, account, rest.substr(0, rest.find('/')));
    }
  }
  if (arn->service == "codebuild" && resource.rfind("project/", 0) == 0) {
    Document input = Document::object();
    if (HasShapedInput(delivery.target)) {
      Document overrides = Document::parse(delivery.payload, nullptr, false);
      if (overrides.is_object()) input = std::move(overrides);
    }
    input["projectName"] = resource.substr(8);
    return Call(delivery, "codebuild", "StartBuild", input, region);
  }
  if (arn->service == "codepipeline") {
    return Call(delivery, "codepipeline", "StartPipelineExecution", {{"name", resource}}, region);
  }
  if (arn->service == "logs" && resource.rfind("log-group:", 0) == 0) {
    std::string group = resource.substr(10);
    if (group.size() > 2 && group.compare(group.size() - 2, 2, ":*") == 0) group.resize(group.size() - 2);
    const Document& event = delivery.event;
    std::string stream = event.value("id", "events");
    auto time = ParseIso8601(event.value("time", ""));
    int64_t millis = ToEpochMillis(time ? *time : deps_.clock->Now());
    DeliveryOutcome created =
        Call(delivery, "logs", "CreateLogStream", {{"logGroupName", group}, {"logStreamName", stream}}, region);
    if (!created.ok && created.error_code != "ResourceAlreadyExistsException") return created;
    Document put = {{"logGroupName", group},
                    {"logStreamName", stream},
                    {"logEvents", Document::array({{{"timestamp", millis}, {"message", delivery.payload}}})}};
    return Call(delivery, "logs", "PutLogEvents", put, region);
  }
  return Failure("NotImplemented",
                 "Gantry does not deliver events to " + arn->service + " targets (" + target_arn + ").");
}

DeliveryOutcome TargetInvoker::Call(const TargetDelivery& delivery, const std::string& service,
                                    const std::string& operation, const Document& input, const std::string& region) {
  auto result = deps_.client->Call(PrincipalFor(delivery), service, operation, input, region);
  if (result.ok()) return DeliveryOutcome{};
  aws::AwsError error = aws::ToAwsError(result.status(), aws::ModelRegistry::Instance().Get(service));
  return Failure(error.code, result.status().message(), IsTransient(result.status(), error.code));
}

DeliveryOutcome TargetInvoker::ToBus(const TargetDelivery& delivery, const std::string& region,
                                     const std::string& account, const std::string& bus) {
  std::string target_arn = BusArn(region, account, bus);
  Document path = delivery.path;
  path.push_back(BusArn(delivery.region, delivery.account, delivery.bus));
  for (const auto& crossed : path) {
    if (crossed == target_arn) {
      return Failure("ValidationException",
                     "The event already crossed event bus " + target_arn + "; it is not delivered there again.");
    }
  }
  TimePoint now = deps_.clock->Now();
  std::string scope = ScopeOf(account, region);
  Status queued = deps_.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_RETURN_IF_ERROR(LoadBus(txn, scope, account, region, bus, now).status());
    Document entry = EventEntry(account, region, bus, delivery.event, now);
    entry["path"] = path;
    return Enqueue(txn, entry);
  });
  if (queued.code() == StatusCode::kNotFound) return Failure("ResourceNotFoundException", queued.message());
  if (!queued.ok()) return Failure("InternalException", queued.message(), true);
  if (deps_.delivery_wakeup) deps_.delivery_wakeup->Ring();
  return DeliveryOutcome{};
}

DeliveryOutcome TargetInvoker::ToApiDestination(const TargetDelivery& delivery, const std::string& region,
                                                const std::string& account, const std::string& name) {
  std::string scope = ScopeOf(account, region);
  auto destination = deps_.store->Get(kApiDestinationTable, scope, name);
  if (!destination.ok()) return Failure("InternalException", destination.status().message(), true);
  if (!*destination) {
    return Failure("ResourceNotFoundException", "An api-destination '" + name + "' does not exist.");
  }
  const Document& api = (*destination)->doc;
  if (api.value("ApiDestinationState", "ACTIVE") != "ACTIVE") {
    return Failure("ValidationException", "The api-destination '" + name + "' is not ACTIVE.");
  }
  auto connection_arn = Arn::Parse(api.value("ConnectionArn", ""));
  std::string connection_name;
  if (connection_arn && connection_arn->resource.rfind("connection/", 0) == 0) {
    std::string rest = connection_arn->resource.substr(11);
    connection_name = rest.substr(0, rest.find('/'));
  }
  auto connection_record = deps_.store->Get(kConnectionTable, scope, connection_name);
  if (!connection_record.ok()) return Failure("InternalException", connection_record.status().message(), true);
  if (!*connection_record) {
    return Failure("ResourceNotFoundException", "Connection '" + connection_name + "' does not exist.");
  }
  const Document& connection = (*connection_record)->doc;
  if (connection.value("ConnectionState", "") != "AUTHORIZED") {
    return Failure("ValidationException", "Connection '" + connection_name + "' is not authorized.");
  }
  StatusOr<Document> opened = OpenAuth(deps_, connection);
  if (!opened.ok()) return Failure("InternalException", opened.status().message());
  const Document& auth = *opened;
  const Document& invocation = auth.value("InvocationHttpParameters", Document::object());
  const Document& target_http = delivery.target.value("HttpParameters", Document::object());

  HttpCall call;
  call.method = api.value("HttpMethod", "POST");
  std::string url = api.value("InvocationEndpoint", "");
  const Document& path_values = target_http.value("PathParameterValues", Document::array());
  size_t next_value = 0;
  for (size_t star = url.find('*'); star != std::string::npos && next_value < path_values.size();
       star = url.find('*', star)) {
    std::string value = path_values[next_value++].get<std::string>();
    url.replace(star, 1, value);
    star += value.size();
  }
  std::vector<std::pair<std::string, std::string>> query;
  AddParameters(invocation.value("QueryStringParameters", Document::array()), query);
  const Document target_query = target_http.value("QueryStringParameters", Document::object());
  for (const auto& [key, value] : target_query.items()) {
    query.emplace_back(key, value.get<std::string>());
  }
  call.url = WithQuery(url, query);

  call.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  call.headers.emplace_back("User-Agent", "Amazon/EventBridge/ApiDestinations");
  AddParameters(invocation.value("HeaderParameters", Document::array()), call.headers);
  const Document target_headers = target_http.value("HeaderParameters", Document::object());
  for (const auto& [key, value] : target_headers.items()) {
    call.headers.emplace_back(key, value.get<std::string>());
  }
  std::string type = connection.value("AuthorizationType", "");
  if (type == "BASIC") {
    const Document& basic = auth.value("BasicAuthParameters", Document::object());
    call.headers.emplace_back("Authorization",
                              "Basic " + Base64Encode(basic.value("Username", "") + ":" + basic.value("Password", "")));
  } else if (type == "API_KEY") {
    const Document& key = auth.value("ApiKeyAuthParameters", Document::object());
    call.headers.emplace_back(key.value("ApiKeyName", ""), key.value("ApiKeyValue", ""));
  } else if (type == "OAUTH_CLIENT_CREDENTIALS") {
    auto token = FetchOAuthToken(*http_, auth.value("OAuthParameters", Document::object()));
    if (!token.ok()) return Failure("OAuthFailure", token.status().message(), true);
    call.headers.emplace_back("Authorization", "Bearer " + *token);
  }

  call.body = delivery.payload;
  const Document& body_parameters = invocation.value("BodyParameters", Document::array());
  if (!body_parameters.empty()) {
    Document body = Document::parse(call.body, nullptr, false);
    if (body.is_object()) {
      for (const auto& p : body_parameters) body[p.value("Key", "")] = p.value("Value", "");
      call.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }

  auto reply = http_->Send(call);
  if (!reply.ok()) {
    bool transient = reply.status().code() == StatusCode::kUnavailable;
    return Failure(transient ? "ServiceUnavailable" : "ValidationException", reply.status().message(), transient);
  }
  if (reply->status >= 200 && reply->status <= 299) return DeliveryOutcome{};
  std::string excerpt;
  for (char c : reply->body.substr(0, 256)) excerpt.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  bool transient = reply->status == 429 || reply->status == 408 || reply->status >= 500;
  return Failure(
      "HTTP" + std::to_string(reply->status),
      "The endpoint answered HTTP " + std::to_string(reply->status) + (excerpt.empty() ? "" : ": " + excerpt) + ".",
      transient);
}

}  // namespace gantry::services::events
