// libFuzzer target for IAM policy documents (core/policy): the input is split at the first NUL
// byte into a policy document and a request (JSON: action, resource, context). The document is
// parsed as an identity, a resource-based and a trust policy; every policy that parses is
// evaluated against the request and a few fixed ones. Any input must yield a Status or a
// decision, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/policy/evaluate.h"
#include "core/policy/policy.h"

namespace {

gantry::policy::Request RequestFrom(std::string_view text) {
  gantry::policy::Request r;
  r.action = "s3:GetObject";
  r.resource = "arn:aws:s3:::bucket/home/alice/x";
  r.caller.arn = "arn:aws:iam::111122223333:user/alice";
  r.caller.account = "111122223333";
  r.context.Set("aws:username", "alice");
  r.context.Set("aws:SourceIp", "127.0.0.1");
  r.context.Set("aws:CurrentTime", "2026-01-01T00:00:00Z");
  r.context.Set("aws:TagKeys", std::vector<std::string>{"env", "team"});
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return r;
  if (j.contains("action") && j["action"].is_string()) r.action = j["action"].get<std::string>();
  if (j.contains("resource") && j["resource"].is_string()) r.resource = j["resource"].get<std::string>();
  if (j.contains("context") && j["context"].is_object()) {
    for (auto it = j["context"].begin(); it != j["context"].end(); ++it) {
      if (it.value().is_string()) r.context.Set(it.key(), it.value().get<std::string>());
      if (it.value().is_array()) {
        std::vector<std::string> values;
        for (const auto& v : it.value()) {
          if (v.is_string()) values.push_back(v.get<std::string>());
        }
        r.context.Set(it.key(), std::move(values));
      }
    }
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view document = input.substr(0, nul);
  gantry::policy::Request request =
      RequestFrom(nul == std::string_view::npos ? std::string_view("{}") : input.substr(nul + 1));
  for (auto kind : {gantry::policy::PolicyKind::kIdentity, gantry::policy::PolicyKind::kResource,
                    gantry::policy::PolicyKind::kTrust}) {
    auto policy = gantry::policy::Policy::Parse(document, {kind});
    if (!policy.ok()) continue;
    (void)gantry::policy::ConditionKeysOf(*policy);
    gantry::policy::PolicySet set;
    if (kind == gantry::policy::PolicyKind::kIdentity) {
      set.identity.push_back(&*policy);
      set.has_boundary = true;
      set.boundary.push_back(&*policy);
    } else {
      set.resource.push_back(&*policy);
      set.resource_required = kind == gantry::policy::PolicyKind::kTrust;
    }
    (void)gantry::policy::Decide(set, request);
    gantry::policy::Request other = request;
    other.action = "sts:AssumeRole";
    other.resource = "*";
    other.caller.service = "codebuild.amazonaws.com";
    (void)gantry::policy::Evaluate(*policy, other);
  }
  return 0;
}
