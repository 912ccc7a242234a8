// Data-driven tests of approval rule content: tests/data/codecommit/approval_rules.txt holds one
// case per block. A case with "content:" parses it (as a template's when "owner: template") and
// expects either "error: <code>" (and, when given, "message: <text>") or a rule; then every
// "approvers:" line (space-separated ARNs, possibly none) is evaluated against "satisfied:" lines in
// the same order, and "applies:"/"does not apply:" name destination references. A case with
// "member:" checks one approval pool member against "match:"/"no match:" ARNs.
#include "services/codecommit/approval_rules.h"

#include <gtest/gtest.h>

#include "core/common/strings.h"
#include "test_support/case_file.h"

namespace gantry::services::codecommit {
namespace {

using test_support::Case;
using test_support::CaseName;
using test_support::Where;

std::vector<Case> Cases() { return test_support::LoadCases("codecommit", "approval_rules.txt"); }

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  for (std::string_view word : Split(line, ' ')) {
    if (!word.empty()) out.emplace_back(word);
  }
  return out;
}

class ApprovalRuleCase : public testing::TestWithParam<Case> {};

TEST_P(ApprovalRuleCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  if (c.Has("member")) {
    ASSERT_TRUE(c.Has("match") || c.Has("no match")) << "a member case needs match: or no match: lines";
    for (const std::string& arn : c.All("match")) EXPECT_TRUE(PoolMemberMatches(c.Get("member"), arn)) << arn;
    for (const std::string& arn : c.All("no match")) EXPECT_FALSE(PoolMemberMatches(c.Get("member"), arn)) << arn;
    return;
  }
  ASSERT_TRUE(c.Has("content")) << "a case needs content: or member:";
  RuleContentOwner owner = c.Get("owner") == "template" ? RuleContentOwner::kTemplate : RuleContentOwner::kPullRequest;
  StatusOr<ApprovalRuleContent> rule = ParseApprovalRuleContent(c.Get("content"), owner);
  if (c.Has("error")) {
    ASSERT_FALSE(rule.ok()) << "content unexpectedly valid";
    EXPECT_EQ(rule.status().aws_code(), c.Get("error"));
    if (c.Has("message")) {
      EXPECT_EQ(rule.status().message(), c.Get("message"));
    }
    return;
  }
  ASSERT_TRUE(rule.ok()) << rule.status().ToString();
  std::vector<std::string> approvers = c.All("approvers");
  std::vector<std::string> satisfied = c.All("satisfied");
  ASSERT_EQ(approvers.size(), satisfied.size()) << "each approvers: line needs its satisfied: line";
  for (size_t i = 0; i < approvers.size(); ++i) {
    EXPECT_EQ(RuleSatisfied(*rule, Words(approvers[i])), satisfied[i] == "true") << "approvers: " << approvers[i];
  }
  for (const std::string& ref : c.All("applies")) EXPECT_TRUE(AppliesToDestination(*rule, ref)) << ref;
  for (const std::string& ref : c.All("does not apply")) EXPECT_FALSE(AppliesToDestination(*rule, ref)) << ref;
}

INSTANTIATE_TEST_SUITE_P(ApprovalRules, ApprovalRuleCase, testing::ValuesIn(Cases()), CaseName);

TEST(ApprovalRules, CaseFileIsNotEmpty) { EXPECT_GT(Cases().size(), 20u); }

TEST(ApprovalRules, WildcardMatch) {
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a*c", "abbbc"));
  EXPECT_TRUE(WildcardMatch("a?c", "abc"));
  EXPECT_FALSE(WildcardMatch("a?c", "ac"));
  EXPECT_TRUE(WildcardMatch("*Mary*", "Review/Mary_Major"));
  EXPECT_FALSE(WildcardMatch("abc", "abcd"));
}

TEST(ApprovalRules, ContentShaIsHexSha256) {
  EXPECT_EQ(RuleContentSha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace gantry::services::codecommit
