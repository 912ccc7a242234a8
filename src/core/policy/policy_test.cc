// Data-driven tests for the policy engine: tests/data/policy/{parse,evaluate}.txt hold one case
// per block:
//
//   === name of the case
//   key: single-line value
//   key:
//     multi-line value, indented by two spaces
//
// parse.txt:    policy, kind (identity|resource|trust), managed (true), error (the exact
//               MalformedPolicyDocument message) or statements (the count when valid).
// evaluate.txt: a single policy ("policy", "kind") with expect allow|deny|none, or a policy set
//               ("identity", "identity2", "resource_policy", "boundary", "session") with expect the
//               decision's name (allow, explicit-identity, no-allow, no-boundary-allow, ...).
//               Both take action, resource, context (a JSON object of key → string or list) and
//               caller (a JSON object with arn, account, role_arn, service, federated).
// Lines starting with '#' between fields are comments.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/policy/evaluate.h"
#include "core/policy/policy.h"
#include "core/policy/values.h"
#include "test_support/case_file.h"

namespace gantry::policy {
namespace {

using test_support::Case;
using test_support::CaseName;
using test_support::Where;

std::vector<Case> LoadCases(const std::string& file) { return test_support::LoadCases("policy", file); }

PolicyKind KindOf(const std::string& s) {
  if (s == "resource") return PolicyKind::kResource;
  if (s == "trust") return PolicyKind::kTrust;
  return PolicyKind::kIdentity;
}

// ---- Parsing ----

class ParseCase : public testing::TestWithParam<Case> {};

TEST_P(ParseCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  ParseOptions options;
  options.kind = KindOf(c.Get("kind"));
  options.require_current_version = c.Get("managed") == "true";
  StatusOr<Policy> policy = Policy::Parse(c.Get("policy"), options);
  if (c.Has("error")) {
    ASSERT_FALSE(policy.ok()) << "policy unexpectedly valid";
    EXPECT_EQ(policy.status().message(), c.Get("error"));
    EXPECT_EQ(policy.status().aws_code(), "MalformedPolicyDocument");
    return;
  }
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  if (c.Has("statements")) {
    EXPECT_EQ(std::to_string(policy->statements().size()), c.Get("statements"));
  }
  if (c.Has("condition_keys")) {
    std::string joined;
    for (const std::string& k : ConditionKeysOf(*policy)) {
      joined += (joined.empty() ? "" : " ") + k;
    }
    EXPECT_EQ(joined, c.Get("condition_keys"));
  }
}

INSTANTIATE_TEST_SUITE_P(Policy, ParseCase, testing::ValuesIn(LoadCases("parse.txt")), CaseName);

// ---- Evaluation ----

Request RequestOf(const Case& c) {
  Request r;
  r.action = c.Get("action");
  r.resource = c.Has("resource") ? c.Get("resource") : "*";
  r.caller.arn = "arn:aws:iam::111122223333:user/alice";
  r.caller.account = "111122223333";
  if (c.Has("caller")) {
    nlohmann::json caller = nlohmann::json::parse(c.Get("caller"));
    r.caller.arn = caller.value("arn", "");
    r.caller.account = caller.value("account", "");
    r.caller.role_arn = caller.value("role_arn", "");
    r.caller.service = caller.value("service", "");
    r.caller.federated = caller.value("federated", "");
  }
  if (c.Has("context")) {
    nlohmann::json ctx = nlohmann::json::parse(c.Get("context"));
    for (auto it = ctx.begin(); it != ctx.end(); ++it) {
      if (it.value().is_array()) {
        r.context.Set(it.key(), it.value().get<std::vector<std::string>>());
      } else {
        r.context.Set(it.key(), it.value().get<std::string>());
      }
    }
  }
  return r;
}

class EvaluateCase : public testing::TestWithParam<Case> {};

TEST_P(EvaluateCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  Request request = RequestOf(c);
  if (c.Has("policy")) {
    ParseOptions options;
    options.kind = KindOf(c.Get("kind"));
    StatusOr<Policy> policy = Policy::Parse(c.Get("policy"), options);
    ASSERT_TRUE(policy.ok()) << policy.status().message();
    PolicyOutcome o = Evaluate(*policy, request);
    std::string got = o.outcome == Outcome::kAllow ? "allow" : o.outcome == Outcome::kDeny ? "deny" : "none";
    EXPECT_EQ(got, c.Get("expect"));
    return;
  }
  std::vector<std::unique_ptr<Policy>> owned;
  PolicySet set;
  auto add = [&](const std::string& field, PolicyKind kind, std::vector<const Policy*>& into) {
    if (!c.Has(field)) return false;
    ParseOptions options;
    options.kind = kind;
    StatusOr<Policy> p = Policy::Parse(c.Get(field), options);
    EXPECT_TRUE(p.ok()) << field << ": " << p.status().message();
    if (!p.ok()) return false;
    owned.push_back(std::make_unique<Policy>(std::move(*p)));
    into.push_back(owned.back().get());
    return true;
  };
  add("identity", PolicyKind::kIdentity, set.identity);
  add("identity2", PolicyKind::kIdentity, set.identity);
  add("resource_policy", c.Get("resource_kind") == "trust" ? PolicyKind::kTrust : PolicyKind::kResource, set.resource);
  set.resource_required = c.Get("resource_kind") == "trust";
  set.has_boundary = add("boundary", PolicyKind::kIdentity, set.boundary);
  set.has_session = add("session", PolicyKind::kIdentity, set.session);
  Decision d = Decide(set, request);
  EXPECT_EQ(std::string(DenyReasonName(d.allowed ? DenyReason::kNone : d.reason)), c.Get("expect"));
  if (c.Has("message")) {
    EXPECT_EQ(DenyReasonText(d.reason, request.action), c.Get("message"));
  }
}

INSTANTIATE_TEST_SUITE_P(Policy, EvaluateCase, testing::ValuesIn(LoadCases("evaluate.txt")), CaseName);

// ---- Properties that are not one case each ----

TEST(PolicyCaseFilesTest, AllFilesHaveCases) {
  EXPECT_GE(LoadCases("parse.txt").size(), 40u);
  EXPECT_GE(LoadCases("evaluate.txt").size(), 80u);
}

TEST(WildcardTest, Basics) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*c", "abbbc"));
  EXPECT_TRUE(WildcardMatch("a?c", "abc"));
  EXPECT_FALSE(WildcardMatch("a?c", "ac"));
  EXPECT_TRUE(WildcardMatch("s3:get*", "s3:GetObject", true));
  EXPECT_FALSE(WildcardMatch("s3:get*", "s3:GetObject", false));
  EXPECT_TRUE(WildcardMatch("a\\*b", "a*b", false, true));
  EXPECT_FALSE(WildcardMatch("a\\*b", "axb", false, true));
  EXPECT_TRUE(WildcardMatch("a\\\\b", "a\\b", false, true));
  EXPECT_TRUE(WildcardMatch("*a*a*a*a*a*b", std::string(2000, 'a') + "b"));
  EXPECT_FALSE(WildcardMatch("*a*a*a*a*a*b", std::string(2000, 'a')));
}

TEST(WildcardTest, ArnPartsDoNotSpan) {
  EXPECT_TRUE(ArnMatch("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b"));
  EXPECT_FALSE(ArnMatch("arn:aws:events:*:rule/x", "arn:aws:events:us-east-1:111122223333:rule/x"));
  EXPECT_TRUE(ArnMatch("arn:aws:events:*:*:rule/x", "arn:aws:events:us-east-1:111122223333:rule/x"));
  EXPECT_TRUE(ArnMatch("arn:aws:logs:*:*:log-group:g:*", "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"));
}

TEST(ValuesTest, IpRanges) {
  auto r = ParseIpRange("203.0.113.0/24");
  ASSERT_TRUE(r);
  EXPECT_TRUE(IpInRange(*r, "203.0.113.9"));
  EXPECT_FALSE(IpInRange(*r, "203.0.114.9"));
  EXPECT_TRUE(IpInRange(*r, "::ffff:203.0.113.1"));
  auto v6 = ParseIpRange("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(IpInRange(*v6, "2001:db8:1::5"));
  EXPECT_FALSE(IpInRange(*v6, "203.0.113.9"));
  EXPECT_FALSE(ParseIpRange("1.2.3.4/33"));
  EXPECT_FALSE(ParseIpRange("nonsense"));
  auto zero = ParseIpRange("0.0.0.0/0");
  ASSERT_TRUE(zero);
  EXPECT_TRUE(IpInRange(*zero, "127.0.0.1"));
}

TEST(ValuesTest, Dates) {
  EXPECT_TRUE(ParseDateValue("2024-01-02"));
  EXPECT_TRUE(ParseDateValue("2024-01-02T03:04:05Z"));
  EXPECT_TRUE(ParseDateValue("2024-01-02T03:04:05.123Z"));
  EXPECT_TRUE(ParseDateValue("2024-01-02T03:04Z"));
  EXPECT_TRUE(ParseDateValue("1700000000"));
  EXPECT_FALSE(ParseDateValue("yesterday"));
  EXPECT_EQ(*ParseDateValue("1970-01-02"), *ParseDateValue("86400"));
}

// Every prefix and a few mutations of every document in the case files parse or fail cleanly.
TEST(PolicyRobustnessTest, TruncatedAndMutatedDocumentsNeverCrash) {
  Request request;
  request.action = "s3:GetObject";
  request.resource = "arn:aws:s3:::b/k";
  request.context.Set("aws:username", "alice");
  for (const char* file : {"parse.txt", "evaluate.txt"}) {
    for (const Case& c : LoadCases(file)) {
      for (const char* field : {"policy", "identity", "resource_policy"}) {
        const std::string p = c.Get(field);
        for (size_t n = 0; n <= p.size(); n += 3) {
          StatusOr<Policy> r = Policy::Parse(p.substr(0, n), {KindOf(c.Get("kind"))});
          if (!r.ok()) {
            EXPECT_EQ(r.status().aws_code(), "MalformedPolicyDocument");
          }
        }
        for (size_t i = 0; i < p.size(); i += 2) {
          for (char repl : {'{', '}', '[', ']', '"', '*', '$', '\x01'}) {
            std::string m = p;
            m[i] = repl;
            StatusOr<Policy> r = Policy::Parse(m, {KindOf(c.Get("kind"))});
            if (r.ok()) Evaluate(*r, request);
          }
        }
      }
    }
  }
}

TEST(PolicyTest, DeepNestingIsRefusedNotRecursed) {
  std::string deep = R"({"Version":"2012-10-17","Statement":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  StatusOr<Policy> p = Policy::Parse(deep);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "Syntax errors in policy.");
}

TEST(PolicyTest, SharedPolicyEvaluatesConcurrently) {
  StatusOr<Policy> p = Policy::Parse(R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"},
    {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        Request r;
        r.action = "s3:GetObject";
        std::string user = "u" + std::to_string(t);
        r.context.Set("aws:username", user);
        r.resource = "arn:aws:s3:::home/" + user + "/x";
        if (Evaluate(*p, r).outcome != Outcome::kAllow) {
          ++failures;
        }
        r.action = "s3:DeleteObject";
        if (Evaluate(*p, r).outcome != Outcome::kDeny) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace gantry::policy
