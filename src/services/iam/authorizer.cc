#include "services/iam/authorizer.h"

#include "core/common/strings.h"
#include "core/common/time_format.h"

namespace gantry::services::iam {

namespace {

// Entries older than this are rebuilt even without a local IAM write (other servers may write).
constexpr auto kPrincipalCacheTtl = std::chrono::seconds(10);
constexpr size_t kMaxCachedResourcePolicies = 512;

bool IsServicePrincipal(const aws::Principal& p) {
  return !p.service.empty() && p.arn.rfind("arn:", 0) != 0;
}

bool IsAnonymous(const aws::Principal& p) { return p.arn.empty() && p.service.empty() && !p.is_root; }

bool IsAssumeRoleAction(std::string_view action) { return action.rfind("sts:AssumeRole", 0) == 0; }

// "127.0.0.1", "::1" from "127.0.0.1:5555", "[::1]:5555" or a bare address.
std::string SourceAddress(const std::string& remote) {
  if (remote.empty()) return remote;
  if (remote.front() == '[') {
    size_t close = remote.find(']');
    return close == std::string::npos ? remote : remote.substr(1, close - 1);
  }
  size_t colon = remote.find(':');
  if (colon != std::string::npos && remote.find(':', colon + 1) == std::string::npos) return remote.substr(0, colon);
  return remote;
}

aws::Principal InternalPrincipal(const std::string& account) {
  aws::Principal p = aws::Principal::Root(account);
  p.service = "iam.amazonaws.com";
  p.internal = true;
  return p;
}

}  // namespace

void AddGlobalContext(const aws::RequestContext& ctx, const ResolvedPrincipal* principal,
                      policy::ConditionContext& context) {
  context.Set("aws:CurrentTime", FormatIso8601(ctx.time));
  context.Set("aws:EpochTime",
              std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ctx.time.time_since_epoch()).count()));
  context.Set("aws:RequestedRegion", ctx.region);
  if (!ctx.source_ip.empty()) context.Set("aws:SourceIp", SourceAddress(ctx.source_ip));
  if (ctx.http != nullptr) context.Set("aws:SecureTransport", "false");
  context.Set("aws:ViaAWSService", ctx.http == nullptr ? "true" : "false");
  context.Set("aws:PrincipalIsAWSService", "false");
  context.Set("aws:PrincipalAccount", ctx.principal.account_id);
  if (principal == nullptr || !principal->found) return;
  context.Set("aws:PrincipalArn", principal->principal_arn);
  context.Set("aws:PrincipalType", principal->principal_type);
  context.Set("aws:userid", principal->userid);
  if (!principal->username.empty()) context.Set("aws:username", principal->username);
  for (const auto& [key, value] : principal->tags) context.Set("aws:PrincipalTag/" + key, value);
  if (principal->issued) context.Set("aws:TokenIssueTime", FormatIso8601(*principal->issued));
  if (!principal->source_identity.empty()) context.Set("aws:SourceIdentity", principal->source_identity);
}

std::string AccessDeniedMessage(std::string_view principal_arn, std::string_view action, std::string_view resource,
                                policy::DenyReason reason, bool quote_resource) {
  std::string who = principal_arn.empty() ? "anonymous" : std::string(principal_arn);
  std::string what = quote_resource ? "\"" + std::string(resource) + "\"" : std::string(resource);
  std::string message = "User: " + who + " is not authorized to perform: " + std::string(action) +
                        " on resource: " + what;
  // STS words role assumption failures without a reason.
  if (IsAssumeRoleAction(action) || action == "sts:TagSession") return message;
  std::string tail = policy::DenyReasonText(reason, action);
  return tail.empty() ? message : message + " " + tail;
}

StatusOr<std::shared_ptr<const ResolvedPrincipal>> IamAuthorizer::Resolve(const aws::Principal& principal) {
  std::string key = principal.access_key_id.empty() ? principal.arn : principal.access_key_id;
  uint64_t generation = deps_.generation->load();
  TimePoint now = deps_.clock->Now();
  {
    std::lock_guard lock(mu_);
    auto it = principals_.find(key);
    if (it != principals_.end() && it->second.generation == generation && now - it->second.built < kPrincipalCacheTtl &&
        now >= it->second.built) {
      return it->second.principal;
    }
  }
  GANTRY_ASSIGN_OR_RETURN(ResolvedPrincipal resolved, ResolvePrincipal(*deps_.store, principal));
  auto shared = std::make_shared<const ResolvedPrincipal>(std::move(resolved));
  std::lock_guard lock(mu_);
  if (principals_.size() > 4096) principals_.clear();
  principals_[key] = CacheEntry{generation, now, shared};
  return shared;
}

std::shared_ptr<const policy::Policy> IamAuthorizer::ParseResourcePolicy(const std::string& text,
                                                                         policy::PolicyKind kind) {
  std::string key = std::string(kind == policy::PolicyKind::kTrust ? "t:" : "r:") + text;
  {
    std::lock_guard lock(mu_);
    if (auto it = resource_policies_.find(key); it != resource_policies_.end()) return it->second;
  }
  auto parsed = ParseStored(text, kind);
  if (!parsed) return nullptr;
  std::lock_guard lock(mu_);
  if (resource_policies_.size() >= kMaxCachedResourcePolicies) resource_policies_.clear();
  resource_policies_[key] = parsed;
  return parsed;
}

std::optional<std::string> IamAuthorizer::BucketPolicy(const aws::RequestContext& ctx, const std::string& bucket) {
  if (client_ == nullptr) return std::nullopt;
  auto out = client_->Call(InternalPrincipal(ctx.account_id), "s3", "GetBucketPolicy", Document{{"Bucket", bucket}},
                           ctx.region);
  if (!out.ok() || !out->contains("Policy") || !(*out)["Policy"].is_string()) return std::nullopt;
  return (*out)["Policy"].get<std::string>();
}

std::optional<SecretInfo> IamAuthorizer::Secret(const aws::RequestContext& ctx, std::string_view secret_id) {
  if (client_ == nullptr) return std::nullopt;
  auto out = client_->Call(InternalPrincipal(ctx.account_id), "secretsmanager", "GetResourcePolicy",
                           Document{{"SecretId", std::string(secret_id)}}, ctx.region);
  if (!out.ok() || !out->contains("ARN")) return std::nullopt;
  SecretInfo info;
  info.arn = (*out)["ARN"].get<std::string>();
  if (out->contains("ResourcePolicy") && (*out)["ResourcePolicy"].is_string()) {
    info.policy = (*out)["ResourcePolicy"].get<std::string>();
  }
  return info;
}

std::optional<std::string> IamAuthorizer::TrustPolicy(const std::string& account, const std::string& role_arn) {
  std::optional<std::string> name = RoleNameOfArn(role_arn);
  if (!name) return std::nullopt;
  auto role = deps_.store->Get(kRoleTable, account, Key(*name));
  if (!role.ok() || !*role || (**role).doc.value("Arn", "") != role_arn) return std::nullopt;
  return (**role).doc.value("AssumeRolePolicyDocument", "");
}

Status IamAuthorizer::CheckAll(const aws::RequestContext& ctx, const ActionTargets& targets,
                               const ResolvedPrincipal* principal, const policy::Caller& caller,
                               const std::vector<std::shared_ptr<const policy::Policy>>& resource) {
  policy::ConditionContext context = targets.context;
  for (const auto& [key, value] : ctx.condition_keys) context.Set(key, value);
  AddGlobalContext(ctx, principal, context);
  if (!ctx.principal.service.empty() && principal == nullptr) context.Set("aws:PrincipalIsAWSService", "true");
  policy::PolicySet set;
  if (principal != nullptr && principal->found) set = ToPolicySet(principal->policies);
  for (const auto& p : resource) set.resource.push_back(p.get());
  set.resource_required = targets.policy_source == ResourcePolicySource::kRoleTrust;
  policy::Request request;
  request.caller = caller;
  request.context = std::move(context);
  for (const ActionCheck& check : targets.checks) {
    request.action = check.action;
    request.resource = check.resource;
    policy::Decision decision = policy::Decide(set, request);
    if (!decision.allowed) {
      return Status::PermissionDenied(AccessDeniedMessage(ctx.principal.arn.empty() ? caller.arn : ctx.principal.arn,
                                                          check.action, check.resource, decision.reason,
                                                          targets.quote_resource));
    }
  }
  return Status::Ok();
}

Status IamAuthorizer::Authorize(const aws::RequestContext& ctx, const Document& input) {
  const aws::Principal& p = ctx.principal;
  if (p.is_root || ctx.model == nullptr || ctx.operation == nullptr) return Status::Ok();
  // Anyone may ask who they are, and any user may authenticate for a session token, whatever
  // their policies say (AWS: "no permissions are required").
  if (ctx.model->service() == "sts" &&
      (ctx.operation->name == "GetCallerIdentity" || ctx.operation->name == "GetSessionToken")) {
    return Status::Ok();
  }
  // Unsigned operations (web identity, SAML) prove themselves with their token and the trust policy.
  if (ctx.operation->no_auth) return Status::Ok();
  if (IsAnonymous(p)) {
    return Status::PermissionDenied(AccessDeniedMessage("", ActionPrefix(*ctx.model) + ":" + ctx.operation->name, "*",
                                                        policy::DenyReason::kNoAllow, false));
  }

  std::optional<SecretInfo> secret;
  TargetLookups lookups;
  lookups.iam = [&](std::string_view kind, std::string_view name) -> std::optional<IamEntity> {
    std::string_view table = kind == "user"    ? kUserTable
                             : kind == "group" ? kGroupTable
                             : kind == "role"  ? kRoleTable
                                               : kInstanceProfileTable;
    auto record = deps_.store->Get(table, ctx.account_id, Key(name));
    if (!record.ok() || !*record) return std::nullopt;
    return IamEntity{(**record).doc.value("Arn", ""), (**record).doc.value("Tags", Document::array())};
  };
  lookups.secret = [&](std::string_view id) -> std::optional<SecretInfo> {
    if (!secret) secret = Secret(ctx, id);
    return secret;
  };

  bool service_principal = IsServicePrincipal(p);
  if (service_principal && !(ctx.model->service() == "sts" && ctx.operation->name.rfind("AssumeRole", 0) == 0)) {
    return Status::Ok();
  }
  ActionTargets targets = TargetsFor(ctx, input, lookups);

  std::shared_ptr<const ResolvedPrincipal> principal;
  policy::Caller caller;
  caller.account = p.account_id;
  if (service_principal) {
    caller.service = p.service;
    caller.arn = p.service;
  } else {
    GANTRY_ASSIGN_OR_RETURN(principal, Resolve(p));
    caller.arn = principal->found ? principal->arn : p.arn;
    caller.role_arn = principal->role_arn;
    if (principal->found && principal->expiration && ctx.time >= *principal->expiration) {
      return Status::Unauthenticated("The security token included in the request is expired", "ExpiredToken");
    }
  }

  std::vector<std::shared_ptr<const policy::Policy>> resource;
  std::optional<std::string> text;
  policy::PolicyKind kind = policy::PolicyKind::kResource;
  switch (targets.policy_source) {
    case ResourcePolicySource::kNone: break;
    case ResourcePolicySource::kRoleTrust:
      text = TrustPolicy(ctx.account_id, targets.policy_id);
      kind = policy::PolicyKind::kTrust;
      break;
    case ResourcePolicySource::kBucketPolicy: text = BucketPolicy(ctx, targets.policy_id); break;
    case ResourcePolicySource::kSecretPolicy:
      if (secret && !secret->policy.empty()) text = secret->policy;
      break;
  }
  if (text && !text->empty()) {
    if (auto parsed = ParseResourcePolicy(*text, kind)) resource.push_back(parsed);
  }

  // Credentials from GetSessionToken cannot call IAM, nor STS beyond AssumeRole and GetCallerIdentity.
  if (principal && principal->session_token) {
    const std::string& service = ctx.model->service();
    if (service == "iam" || (service == "sts" && ctx.operation->name != "AssumeRole")) {
      const ActionCheck& check = targets.checks.front();
      return Status::PermissionDenied(AccessDeniedMessage(principal->arn, check.action, check.resource,
                                                          policy::DenyReason::kNoAllow, false));
    }
  }
  return CheckAll(ctx, targets, principal.get(), caller, resource);
}

Status IamAuthorizer::AuthorizeAction(const aws::RequestContext& ctx, std::string_view action,
                                      std::string_view resource) {
  const aws::Principal& p = ctx.principal;
  if (p.is_root || IsServicePrincipal(p)) return Status::Ok();
  ActionTargets targets;
  targets.checks.push_back({std::string(action), std::string(resource)});
  if (action == "iam:PassRole" && ctx.model != nullptr) {
    targets.context.Set("iam:PassedToService", ctx.model->signing_name() + ".amazonaws.com");
  }
  policy::Caller caller;
  caller.account = p.account_id;
  if (IsAnonymous(p)) return CheckAll(ctx, targets, nullptr, caller, {});
  GANTRY_ASSIGN_OR_RETURN(std::shared_ptr<const ResolvedPrincipal> principal, Resolve(p));
  caller.arn = principal->found ? principal->arn : p.arn;
  caller.role_arn = principal->role_arn;
  return CheckAll(ctx, targets, principal.get(), caller, {});
}

}  // namespace gantry::services::iam
