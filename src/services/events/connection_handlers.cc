// Connections (how to authorize to an HTTP endpoint) and API destinations (an endpoint and method
// reached through a connection). AWS keeps a connection's secrets in a Secrets Manager secret
// whose ARN it reports; Gantry keeps them in the connection record, sealed with the master key
// (SealAuth/OpenAuth in resources.h), reports the same kind of ARN, and never returns a secret from
// an operation.
#include "core/common/arn.h"
#include "services/events/handlers.h"

namespace gantry::services::events {

namespace {

constexpr std::string_view kAlphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

Status ConnectionNotFound(const std::string& name) {
  return Status::NotFound("Failed to describe the connection(s). Connection '" + name + "' does not exist.",
                          "ResourceNotFoundException");
}

Status ApiDestinationNotFound(const std::string& name) {
  return Status::NotFound(
      "Failed to describe the api-destination(s). An api-destination '" + name + "' does not exist.",
      "ResourceNotFoundException");
}

// The auth member that each authorization type requires.
const char* AuthMemberFor(const std::string& type) {
  if (type == "BASIC") return "BasicAuthParameters";
  if (type == "API_KEY") return "ApiKeyAuthParameters";
  return "OAuthParameters";
}

Status CheckAuth(const std::string& type, const Document& auth) {
  const char* member = AuthMemberFor(type);
  if (auth.contains(member)) return Status::Ok();
  return Status::InvalidArgument("Parameter AuthParameters is not valid. Reason: " + std::string(member) +
                                     " must be specified for authorization type " + type + ".",
                                 "ValidationException");
}

// Header, query string and body parameters without the values marked secret.
Document PublicParameters(const Document& http) {
  Document out = Document::object();
  for (const char* list : {"HeaderParameters", "QueryStringParameters", "BodyParameters"}) {
    if (!http.contains(list)) continue;
    out[list] = Document::array();
    for (Document p : http[list]) {
      if (p.value("IsValueSecret", false)) p.erase("Value");
      out[list].push_back(std::move(p));
    }
  }
  return out;
}

Document PublicAuth(const Document& auth) {
  Document out = Document::object();
  if (auth.contains("BasicAuthParameters")) {
    out["BasicAuthParameters"] = Without(auth["BasicAuthParameters"], {"Password"});
  }
  if (auth.contains("ApiKeyAuthParameters")) {
    out["ApiKeyAuthParameters"] = Without(auth["ApiKeyAuthParameters"], {"ApiKeyValue"});
  }
  if (auth.contains("OAuthParameters")) {
    Document oauth = auth["OAuthParameters"];
    if (oauth.contains("ClientParameters"))
      oauth["ClientParameters"] = Without(oauth["ClientParameters"], {"ClientSecret"});
    if (oauth.contains("OAuthHttpParameters"))
      oauth["OAuthHttpParameters"] = PublicParameters(oauth["OAuthHttpParameters"]);
    out["OAuthParameters"] = std::move(oauth);
  }
  if (auth.contains("InvocationHttpParameters")) {
    out["InvocationHttpParameters"] = PublicParameters(auth["InvocationHttpParameters"]);
  }
  return out;
}

Document ConnectionSummary(const Document& connection, std::string_view state) {
  Document out = {{"ConnectionArn", connection["ConnectionArn"]}, {"ConnectionState", state}};
  for (const char* member : {"CreationTime", "LastModifiedTime", "LastAuthorizedTime"}) {
    if (connection.contains(member)) out[member] = connection[member];
  }
  return out;
}

// The name of the connection an ARN names (connection/<name>/<uuid>).
std::string ConnectionNameOf(const std::string& connection_arn) {
  auto arn = Arn::Parse(connection_arn);
  if (!arn || arn->resource.rfind("connection/", 0) != 0) return "";
  std::string rest = arn->resource.substr(11);
  return rest.substr(0, rest.find('/'));
}

// Merges the members of `update` into `base`, object by object.
void MergeObjects(Document& base, const Document& update) {
  for (const auto& [key, value] : update.items()) {
    if (value.is_object() && base.contains(key) && base[key].is_object()) {
      MergeObjects(base[key], value);
    } else {
      base[key] = value;
    }
  }
}

StatusOr<Document> CreateConnection(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string type = input["AuthorizationType"].get<std::string>();
  const Document& auth = input["AuthParameters"];
  GANTRY_RETURN_IF_ERROR(CheckAuth(type, auth));
  std::string uuid = deps.ids->Uuid();
  double now = ToEpochSeconds(deps.clock->Now());
  Arn secret;
  secret.service = "secretsmanager";
  secret.region = ctx.region;
  secret.account = ctx.account_id;
  secret.resource = "secret:events!connection/" + name + "/" + uuid + "-" + deps.ids->FromAlphabet(6, kAlphanumeric);
  Document connection = {{"Name", name},
                         {"ConnectionArn", ResourceArn(ctx.region, ctx.account_id, "connection/" + name + "/" + uuid)},
                         {"AuthorizationType", type},
                         {"ConnectionState", "AUTHORIZED"},
                         {"SecretArn", secret.ToString()},
                         {"CreationTime", now},
                         {"LastModifiedTime", now},
                         {"LastAuthorizedTime", now}};
  for (const char* member : {"Description", "KmsKeyIdentifier", "InvocationConnectivityParameters"}) {
    if (input.contains(member)) connection[member] = input[member];
  }
  GANTRY_RETURN_IF_ERROR(SealAuth(deps, connection, auth));
  Status status = deps.store->Create(kConnectionTable, ctx.Scope(), name, connection).status();
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Connection " + name + " already exists.", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  return Without(ConnectionSummary(connection, "AUTHORIZED"), {"LastAuthorizedTime"});
}

StatusOr<Document> DescribeConnection(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kConnectionTable, ctx.Scope(), name));
  if (!record) return ConnectionNotFound(name);
  GANTRY_ASSIGN_OR_RETURN(Document auth, OpenAuth(deps, record->doc));
  Document out = Without(record->doc, {"SealedAuthParameters"});
  out["AuthParameters"] = PublicAuth(auth);
  return out;
}

StatusOr<Document> ListConnections(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string state = input.value("ConnectionState", "");
  auto keep = [&](const store::Record& r) { return state.empty() || r.doc.value("ConnectionState", "") == state; };
  GANTRY_ASSIGN_OR_RETURN(
      Page page, ListPage(*deps.store, kConnectionTable, ctx.Scope(), input.value("NamePrefix", ""), input, keep));
  Document connections = Document::array();
  for (const auto& record : page.records) {
    connections.push_back(Without(
        record.doc, {"AuthParameters", "SealedAuthParameters", "SecretArn", "Description", "KmsKeyIdentifier"}));
  }
  Document out = {{"Connections", connections}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> DeleteConnection(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string scope = ctx.Scope();
  Document connection;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kConnectionTable, scope, name));
    if (!record) return ConnectionNotFound(name);
    connection = record->doc;
    return txn.Delete(kConnectionTable, scope, name).status();
  }));
  return ConnectionSummary(connection, "DELETING");
}

StatusOr<Document> UpdateConnection(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string scope = ctx.Scope();
  double now = ToEpochSeconds(deps.clock->Now());
  Document connection;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kConnectionTable, scope, name));
    if (!record) return ConnectionNotFound(name);
    connection = record->doc;
    for (const char* member :
         {"Description", "AuthorizationType", "KmsKeyIdentifier", "InvocationConnectivityParameters"}) {
      if (input.contains(member)) connection[member] = input[member];
    }
    GANTRY_ASSIGN_OR_RETURN(Document auth, OpenAuth(deps, connection));
    if (input.contains("AuthParameters")) {
      if (input.contains("AuthorizationType")) {
        // A new authorization type replaces the old type's parameters.
        for (const char* member : {"BasicAuthParameters", "ApiKeyAuthParameters", "OAuthParameters"}) {
          auth.erase(member);
        }
      }
      MergeObjects(auth, input["AuthParameters"]);
    }
    GANTRY_RETURN_IF_ERROR(CheckAuth(connection.value("AuthorizationType", ""), auth));
    GANTRY_RETURN_IF_ERROR(SealAuth(deps, connection, auth));
    connection["ConnectionState"] = "AUTHORIZED";
    connection["LastModifiedTime"] = now;
    connection["LastAuthorizedTime"] = now;
    return txn.Put(kConnectionTable, scope, name, connection).status();
  }));
  return ConnectionSummary(connection, "AUTHORIZED");
}

StatusOr<Document> DeauthorizeConnection(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  std::string scope = ctx.Scope();
  Document connection;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kConnectionTable, scope, name));
    if (!record) return ConnectionNotFound(name);
    connection = record->doc;
    GANTRY_ASSIGN_OR_RETURN(Document auth, OpenAuth(deps, connection));
    GANTRY_RETURN_IF_ERROR(SealAuth(deps, connection, PublicAuth(auth)));
    connection["ConnectionState"] = "DEAUTHORIZED";
    connection["LastModifiedTime"] = ToEpochSeconds(deps.clock->Now());
    return txn.Put(kConnectionTable, scope, name, connection).status();
  }));
  return ConnectionSummary(connection, "DEAUTHORIZING");
}

Status CheckConnection(const EventsDeps& deps, aws::RequestContext& ctx, const std::string& connection_arn) {
  std::string name = ConnectionNameOf(connection_arn);
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kConnectionTable, ctx.Scope(), name));
  if (!record || record->doc.value("ConnectionArn", "") != connection_arn) {
    return Status::NotFound("Connection '" + (name.empty() ? connection_arn : name) + "' does not exist.",
                            "ResourceNotFoundException");
  }
  return Status::Ok();
}

Document ApiDestinationSummary(const Document& destination) {
  return {{"ApiDestinationArn", destination["ApiDestinationArn"]},
          {"ApiDestinationState", destination["ApiDestinationState"]},
          {"CreationTime", destination["CreationTime"]},
          {"LastModifiedTime", destination["LastModifiedTime"]}};
}

StatusOr<Document> CreateApiDestination(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  GANTRY_RETURN_IF_ERROR(CheckConnection(deps, ctx, input["ConnectionArn"].get<std::string>()));
  double now = ToEpochSeconds(deps.clock->Now());
  Document destination = {{"Name", name},
                          {"ApiDestinationArn",
                           ResourceArn(ctx.region, ctx.account_id, "api-destination/" + name + "/" + deps.ids->Uuid())},
                          {"ApiDestinationState", "ACTIVE"},
                          {"ConnectionArn", input["ConnectionArn"]},
                          {"InvocationEndpoint", input["InvocationEndpoint"]},
                          {"HttpMethod", input["HttpMethod"]},
                          {"InvocationRateLimitPerSecond", input.value("InvocationRateLimitPerSecond", 300)},
                          {"CreationTime", now},
                          {"LastModifiedTime", now}};
  if (input.contains("Description")) destination["Description"] = input["Description"];
  Status status = deps.store->Create(kApiDestinationTable, ctx.Scope(), name, destination).status();
  if (status.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("An api-destination '" + name + "' already exists.", "ResourceAlreadyExistsException");
  }
  GANTRY_RETURN_IF_ERROR(status);
  return ApiDestinationSummary(destination);
}

StatusOr<Document> DescribeApiDestination(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(auto record, deps.store->Get(kApiDestinationTable, ctx.Scope(), name));
  if (!record) return ApiDestinationNotFound(name);
  return record->doc;
}

StatusOr<Document> ListApiDestinations(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string connection = input.value("ConnectionArn", "");
  auto keep = [&](const store::Record& r) {
    return connection.empty() || r.doc.value("ConnectionArn", "") == connection;
  };
  GANTRY_ASSIGN_OR_RETURN(
      Page page, ListPage(*deps.store, kApiDestinationTable, ctx.Scope(), input.value("NamePrefix", ""), input, keep));
  Document destinations = Document::array();
  for (const auto& record : page.records) destinations.push_back(Without(record.doc, {"Description"}));
  Document out = {{"ApiDestinations", destinations}};
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

StatusOr<Document> DeleteApiDestination(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(bool deleted, deps.store->Delete(kApiDestinationTable, ctx.Scope(), name));
  if (!deleted) return ApiDestinationNotFound(name);
  return Document::object();
}

StatusOr<Document> UpdateApiDestination(const EventsDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["Name"].get<std::string>();
  if (input.contains("ConnectionArn")) {
    GANTRY_RETURN_IF_ERROR(CheckConnection(deps, ctx, input["ConnectionArn"].get<std::string>()));
  }
  std::string scope = ctx.Scope();
  Document destination;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    GANTRY_ASSIGN_OR_RETURN(auto record, txn.Get(kApiDestinationTable, scope, name));
    if (!record) return ApiDestinationNotFound(name);
    destination = record->doc;
    for (const char* member :
         {"Description", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "InvocationRateLimitPerSecond"}) {
      if (input.contains(member)) destination[member] = input[member];
    }
    destination["LastModifiedTime"] = ToEpochSeconds(deps.clock->Now());
    return txn.Put(kApiDestinationTable, scope, name, destination).status();
  }));
  return ApiDestinationSummary(destination);
}

}  // namespace

void RegisterConnectionHandlers(aws::HandlerTable& table, const EventsDeps& deps) {
  AddHandler(table, deps, "CreateConnection", CreateConnection);
  AddHandler(table, deps, "DescribeConnection", DescribeConnection);
  AddHandler(table, deps, "ListConnections", ListConnections);
  AddHandler(table, deps, "DeleteConnection", DeleteConnection);
  AddHandler(table, deps, "UpdateConnection", UpdateConnection);
  AddHandler(table, deps, "DeauthorizeConnection", DeauthorizeConnection);
  AddHandler(table, deps, "CreateApiDestination", CreateApiDestination);
  AddHandler(table, deps, "DescribeApiDestination", DescribeApiDestination);
  AddHandler(table, deps, "ListApiDestinations", ListApiDestinations);
  AddHandler(table, deps, "DeleteApiDestination", DeleteApiDestination);
  AddHandler(table, deps, "UpdateApiDestination", UpdateApiDestination);
}

}  // namespace gantry::services::events
