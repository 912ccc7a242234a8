#include "services/sts/sts_service.h"

#include <fstream>
#include <sstream>

#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "core/policy/evaluate.h"
#include "core/policy/policy.h"
#include "services/sts/web_identity.h"

namespace gantry::services {

namespace {

using aws::Document;
using Deps = StsService::Deps;

constexpr int kDefaultRoleSession = 3600;
constexpr int kChainedRoleMaxSession = 3600;
constexpr int kDefaultUserSession = 43200;
constexpr int kRootMaxSession = 3600;
constexpr size_t kMaxSessionPolicy = 2048;
constexpr auto kSessionRetention = std::chrono::hours(24);

aws::Principal Internal(const std::string& account) {
  aws::Principal p = aws::Principal::Root(account);
  p.service = "sts.amazonaws.com";
  return p;
}

std::string Str(const Document& input, const char* member) { return input.value(member, std::string()); }

Status AccessDenied(std::string message) { return Status::PermissionDenied(std::move(message), "AccessDenied"); }

std::string CallerArn(const aws::RequestContext& ctx) {
  return ctx.principal.arn.empty() ? "anonymous" : ctx.principal.arn;
}

Status NotAuthorizedToAssume(const aws::RequestContext& ctx, std::string_view action, const std::string& role_arn) {
  return AccessDenied("User: " + CallerArn(ctx) + " is not authorized to perform: " + std::string(action) +
                      " on resource: " + role_arn);
}

struct RoleInfo {
  std::string arn;
  std::string name;
  std::string id;
  std::string trust;
  int max_session = kDefaultRoleSession;
};

// The role behind an ARN, read through IAM's API; nullopt when there is none.
StatusOr<std::optional<RoleInfo>> LoadRole(const Deps& deps, const aws::RequestContext& ctx, const std::string& arn) {
  std::string prefix = "arn:aws:iam::" + ctx.account_id + ":role/";
  if (arn.rfind(prefix, 0) != 0 || arn.back() == '/') return std::optional<RoleInfo>();
  std::string name = arn.substr(arn.rfind('/') + 1);
  auto out = deps.client->Call(Internal(ctx.account_id), "iam", "GetRole", Document{{"RoleName", name}}, ctx.region);
  if (!out.ok()) {
    if (out.status().code() == StatusCode::kNotFound) return std::optional<RoleInfo>();
    return out.status();
  }
  const Document& role = (*out)["Role"];
  if (role.value("Arn", "") != arn) return std::optional<RoleInfo>();
  RoleInfo info;
  info.arn = arn;
  info.name = role.value("RoleName", name);
  info.id = role.value("RoleId", "");
  info.trust = UriDecode(role.value("AssumeRolePolicyDocument", "")).value_or("");
  info.max_session = role.value("MaxSessionDuration", kDefaultRoleSession);
  return std::optional<RoleInfo>(std::move(info));
}

// Session policies of a request (Policy, PolicyArns): validated; the packed size in percent.
StatusOr<int> CheckSessionPolicies(const Document& input) {
  size_t size = 0;
  if (input.contains("Policy")) {
    std::string text = Str(input, "Policy");
    if (text.size() > kMaxSessionPolicy) {
      return Status::InvalidArgument("Policy exceeds the maximum allowed size of " + std::to_string(kMaxSessionPolicy) +
                                     " characters.", "ValidationError");
    }
    auto parsed = policy::Policy::Parse(text, {policy::PolicyKind::kIdentity});
    if (!parsed.ok()) return parsed.status();
    size += text.size();
  }
  for (const Document& p : input.value("PolicyArns", Document::array())) {
    std::string arn = p.value("arn", "");
    if (arn.rfind("arn:aws:iam::", 0) != 0 || arn.find(":policy/") == std::string::npos) {
      return Status::InvalidArgument("The policy " + arn + " is not a valid managed policy ARN.", "ValidationError");
    }
    size += 64;
  }
  if (input.contains("Tags")) size += input["Tags"].dump().size();
  int packed = static_cast<int>(size * 100 / 2048 / 3);
  if (packed > 100) {
    return Status::InvalidArgument("Packed policy consumes " + std::to_string(packed) + "% of allotted space, please "
                                   "use smaller policy.", "PackedPolicyTooLarge");
  }
  return packed;
}

// Creates and stores a session; returns the Credentials structure.
StatusOr<Document> IssueSession(const Deps& deps, const aws::RequestContext& ctx, Document session, int duration) {
  TimePoint now = deps.clock->Now();
  int64_t issued = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string key = "ASIA" + deps.ids->FromAlphabet(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  std::string secret = deps.ids->FromAlphabet(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  std::string token = "IQoJb3JpZ2luX2VjE" + Base64Encode(deps.ids->Bytes(180));
  session["AccessKeyId"] = key;
  session["SecretAccessKey"] = secret;
  session["SessionToken"] = token;
  session["IssuedAt"] = static_cast<double>(issued);
  session["Expiration"] = static_cast<double>(issued + duration);
  GANTRY_RETURN_IF_ERROR(deps.store->Create(kStsSessionTable, ctx.account_id, key, session).status());
  return Document{{"AccessKeyId", key},
                  {"SecretAccessKey", secret},
                  {"SessionToken", token},
                  {"Expiration", static_cast<double>(issued + duration)}};
}

void CopySessionPolicies(const Document& input, Document& session) {
  if (input.contains("Policy")) session["Policy"] = input["Policy"];
  Document arns = Document::array();
  for (const Document& p : input.value("PolicyArns", Document::array())) arns.push_back(p.value("arn", ""));
  if (!arns.empty()) session["PolicyArns"] = arns;
}

StatusOr<Document> GetCallerIdentity(const Deps&, aws::RequestContext& ctx, const Document&) {
  return Document{
      {"UserId", ctx.principal.user_id},
      {"Account", ctx.principal.account_id},
      {"Arn", ctx.principal.arn},
  };
}

StatusOr<Document> AssumeRole(const Deps& deps, aws::RequestContext& ctx, const Document& input) {
  if (ctx.principal.is_root) return AccessDenied("Roles may not be assumed by root accounts.");
  std::string role_arn = Str(input, "RoleArn");
  std::string session_name = Str(input, "RoleSessionName");
  GANTRY_ASSIGN_OR_RETURN(std::optional<RoleInfo> role, LoadRole(deps, ctx, role_arn));
  if (!role) return NotAuthorizedToAssume(ctx, "sts:AssumeRole", role_arn);
  bool chained = ctx.principal.arn.find(":assumed-role/") != std::string::npos;
  int duration = input.value("DurationSeconds", kDefaultRoleSession);
  if (chained && duration > kChainedRoleMaxSession) {
    return Status::InvalidArgument(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        "ValidationError");
  }
  if (duration > role->max_session) {
    return Status::InvalidArgument("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                                   "ValidationError");
  }
  GANTRY_ASSIGN_OR_RETURN(int packed, CheckSessionPolicies(input));
  std::string session_arn = "arn:aws:sts::" + ctx.account_id + ":assumed-role/" + role->name + "/" + session_name;
  std::string assumed_id = role->id + ":" + session_name;
  Document session = {{"Type", "AssumedRole"},
                      {"Arn", session_arn},
                      {"UserId", assumed_id},
                      {"RoleArn", role->arn},
                      {"RoleName", role->name},
                      {"SessionName", session_name},
                      {"Caller", CallerArn(ctx)},
                      {"Chained", chained}};
  CopySessionPolicies(input, session);
  if (input.contains("Tags")) session["Tags"] = input["Tags"];
  if (input.contains("SourceIdentity")) session["SourceIdentity"] = input["SourceIdentity"];
  GANTRY_ASSIGN_OR_RETURN(Document credentials, IssueSession(deps, ctx, session, duration));
  Document out = {{"Credentials", credentials}, {"AssumedRoleUser", {{"AssumedRoleId", assumed_id}, {"Arn", session_arn}}}};
  if (input.contains("Policy") || input.contains("PolicyArns") || input.contains("Tags")) out["PackedPolicySize"] = packed;
  if (input.contains("SourceIdentity")) out["SourceIdentity"] = input["SourceIdentity"];
  return out;
}

StatusOr<Document> GetSessionToken(const Deps& deps, aws::RequestContext& ctx, const Document& input) {
  if (ctx.principal.access_key_id.rfind("ASIA", 0) == 0 || ctx.principal.arn.find(":assumed-role/") != std::string::npos) {
    return AccessDenied("Cannot call GetSessionToken with session credentials");
  }
  int duration = input.value("DurationSeconds", ctx.principal.is_root ? kRootMaxSession : kDefaultUserSession);
  if (ctx.principal.is_root) duration = std::min(duration, kRootMaxSession);
  Document session = {{"Type", "SessionToken"}, {"Arn", ctx.principal.arn}, {"UserId", ctx.principal.user_id}};
  if (!ctx.principal.is_root) session["UserName"] = ctx.principal.arn.substr(ctx.principal.arn.rfind('/') + 1);
  GANTRY_ASSIGN_OR_RETURN(Document credentials, IssueSession(deps, ctx, session, duration));
  return Document{{"Credentials", credentials}};
}

StatusOr<std::string> ReadJwks(const Deps& deps) {
  if (deps.options.jwks_file.empty()) {
    return Status::InvalidArgument(
        "Couldn't retrieve verification key from your identity provider: Gantry has no JWKS for web identity tokens "
        "(start it with --oidc-jwks FILE).",
        "InvalidIdentityToken");
  }
  std::ifstream in(deps.options.jwks_file);
  if (!in) {
    return Status::InvalidArgument("Couldn't read the identity provider's keys from " + deps.options.jwks_file + ".",
                                   "IDPCommunicationError");
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

StatusOr<Document> AssumeRoleWithWebIdentity(const Deps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string role_arn = Str(input, "RoleArn");
  std::string session_name = Str(input, "RoleSessionName");
  GANTRY_ASSIGN_OR_RETURN(std::string jwks, ReadJwks(deps));
  GANTRY_ASSIGN_OR_RETURN(WebIdentityClaims claims, VerifyWebIdentityToken(Str(input, "WebIdentityToken"), jwks));
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(deps.clock->Now().time_since_epoch()).count();
  if (*claims.expires <= now) {
    return Status::InvalidArgument("Token expired: current date/time " + std::to_string(now) +
                                       " must be before the expiration date/time " + std::to_string(*claims.expires),
                                   "ExpiredTokenException");
  }
  if (claims.not_before && *claims.not_before > now + 300) {
    return Status::InvalidArgument("Token is not yet valid: current date/time " + std::to_string(now) +
                                       " is before the not-before date/time " + std::to_string(*claims.not_before),
                                   "InvalidIdentityToken");
  }
  std::string provider = claims.issuer;
  if (provider.rfind("https://", 0) == 0) provider = provider.substr(8);
  while (!provider.empty() && provider.back() == '/') provider.pop_back();
  std::string provider_arn = "arn:aws:iam::" + ctx.account_id + ":oidc-provider/" + provider;
  auto found = deps.client->Call(Internal(ctx.account_id), "iam", "GetOpenIDConnectProvider",
                                 Document{{"OpenIDConnectProviderArn", provider_arn}}, ctx.region);
  if (!found.ok()) {
    if (found.status().code() == StatusCode::kNotFound) {
      return Status::InvalidArgument("No OpenIDConnect provider found in your account for " + claims.issuer,
                                     "InvalidIdentityToken");
    }
    return found.status();
  }
  const Document client_ids = found->value("ClientIDList", Document::array());
  std::string audience;
  for (const std::string& aud : claims.audiences) {
    if (std::find(client_ids.begin(), client_ids.end(), Document(aud)) != client_ids.end()) {
      audience = aud;
      break;
    }
  }
  if (audience.empty()) return Status::InvalidArgument("Incorrect token audience", "InvalidIdentityToken");

  GANTRY_ASSIGN_OR_RETURN(std::optional<RoleInfo> role, LoadRole(deps, ctx, role_arn));
  if (!role) return AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
  auto trust = policy::Policy::Parse(role->trust, {policy::PolicyKind::kTrust});
  if (!trust.ok()) return AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
  policy::Request request;
  request.action = "sts:AssumeRoleWithWebIdentity";
  request.resource = role->arn;
  request.caller.account = ctx.account_id;
  request.caller.federated = provider_arn;
  request.context.Set(provider + ":aud", audience);
  request.context.Set(provider + ":sub", claims.subject);
  if (claims.payload.contains("amr")) request.context.Set(provider + ":amr", claims.payload["amr"].dump());
  request.context.Set("aws:FederatedProvider", provider_arn);
  request.context.Set("sts:RoleSessionName", session_name);
  request.context.Set("aws:CurrentTime", FormatIso8601(deps.clock->Now()));
  request.context.Set("aws:EpochTime", std::to_string(now));
  request.context.Set("aws:RequestedRegion", ctx.region);
  if (!ctx.source_ip.empty()) request.context.Set("aws:SourceIp", ctx.source_ip);
  policy::PolicySet set;
  set.resource.push_back(&*trust);
  set.resource_required = true;
  if (!policy::Decide(set, request).allowed) return AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity");

  int duration = input.value("DurationSeconds", kDefaultRoleSession);
  if (duration > role->max_session) {
    return Status::InvalidArgument("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                                   "ValidationError");
  }
  GANTRY_ASSIGN_OR_RETURN(int packed, CheckSessionPolicies(input));
  std::string session_arn = "arn:aws:sts::" + ctx.account_id + ":assumed-role/" + role->name + "/" + session_name;
  std::string assumed_id = role->id + ":" + session_name;
  Document session = {{"Type", "WebIdentity"},
                      {"Arn", session_arn},
                      {"UserId", assumed_id},
                      {"RoleArn", role->arn},
                      {"RoleName", role->name},
                      {"SessionName", session_name},
                      {"Provider", provider_arn},
                      {"Subject", claims.subject}};
  CopySessionPolicies(input, session);
  GANTRY_ASSIGN_OR_RETURN(Document credentials, IssueSession(deps, ctx, session, duration));
  Document out = {{"Credentials", credentials},
                  {"SubjectFromWebIdentityToken", claims.subject},
                  {"AssumedRoleUser", {{"AssumedRoleId", assumed_id}, {"Arn", session_arn}}},
                  {"Provider", provider},
                  {"Audience", audience}};
  if (input.contains("Policy") || input.contains("PolicyArns")) out["PackedPolicySize"] = packed;
  return out;
}

StatusOr<Document> GetAccessKeyInfo(const Deps& deps, aws::RequestContext& ctx, const Document&) {
  return Document{{"Account", deps.options.account_id}};
}

using Handler = StatusOr<Document> (*)(const Deps&, aws::RequestContext&, const Document&);

void Add(aws::HandlerTable& table, const Deps& deps, std::string_view operation, Handler fn) {
  table.Add("sts", operation, [&deps, fn](aws::RequestContext& ctx, const Document& input) {
    return fn(deps, ctx, input);
  });
}

}  // namespace

std::optional<aws::Credential> SessionResolver::Lookup(std::string_view access_key_id) const {
  if (access_key_id.substr(0, 4) != "ASIA") return std::nullopt;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(std::string(access_key_id)); it != cache_.end()) return it->second;
  }
  auto record = store_->Get(kStsSessionTable, account_id_, access_key_id);
  if (!record.ok() || !*record) return std::nullopt;
  const Document& s = (**record).doc;
  aws::Credential credential;
  credential.access_key_id = std::string(access_key_id);
  credential.secret_access_key = s.value("SecretAccessKey", "");
  credential.session_token = s.value("SessionToken", "");
  credential.expiration = FromEpochSeconds(s.value("Expiration", 0.0));
  credential.principal_arn = s.value("Arn", "");
  credential.user_id = s.value("UserId", "");
  credential.account_id = account_id_;
  std::lock_guard lock(mu_);
  if (cache_.size() > 10000) cache_.clear();
  cache_[credential.access_key_id] = credential;
  return credential;
}

void SessionResolver::Forget() const {
  std::lock_guard lock(mu_);
  cache_.clear();
}

StsService::StsService(store::Store* store, Clock* clock, IdSource* ids, aws::Client* client, StsOptions options)
    : deps_{store, clock, ids, client, options}, sessions_(store, options.account_id) {}

void StsService::RegisterHandlers(aws::HandlerTable& table) {
  Add(table, deps_, "GetCallerIdentity", GetCallerIdentity);
  Add(table, deps_, "AssumeRole", AssumeRole);
  Add(table, deps_, "GetSessionToken", GetSessionToken);
  Add(table, deps_, "AssumeRoleWithWebIdentity", AssumeRoleWithWebIdentity);
  Add(table, deps_, "GetAccessKeyInfo", GetAccessKeyInfo);
}

Status StsService::Start() {
  double cutoff = ToEpochSeconds(deps_.clock->Now() - kSessionRetention);
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps_.store->List(kStsSessionTable, deps_.options.account_id));
  for (const store::Record& r : page.records) {
    if (r.doc.value("Expiration", 0.0) < cutoff) {
      GANTRY_RETURN_IF_ERROR(deps_.store->Delete(kStsSessionTable, deps_.options.account_id, r.key).status());
    }
  }
  sessions_.Forget();
  return Status::Ok();
}

}  // namespace gantry::services
