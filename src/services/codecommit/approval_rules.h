// Approval rule content as CodeCommit writes it (pull request approval rules and approval rule
// templates), parsed and validated, and evaluated against the users who approved a revision:
//
//   {"Version": "2018-11-08",
//    "DestinationReferences": ["refs/heads/main"],          templates: the branches a rule goes to
//    "Statements": [{"Type": "Approvers",
//                    "NumberOfApprovalsNeeded": 2,
//                    "ApprovalPoolMembers": ["CodeCommitApprovers:111111111111:Mary_Major",
//                                            "arn:aws:sts::111111111111:assumed-role/Review/*"]}]}
//
// A pool member is either CodeCommitApprovers:<account>:<name> (the IAM user or federated user of
// that name in the account; a name with wildcards also matches "<role>/<session>" of an assumed
// role) or an IAM/STS ARN, with '*' and '?' wildcards. A statement without a pool counts every
// approver. A rule is satisfied when every statement has its number of matching approvers.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::services::codecommit {

inline constexpr std::string_view kApprovalRuleVersion = "2018-11-08";
inline constexpr int kMaxApprovalsNeeded = 25;

struct ApprovalStatement {
  int approvals_needed = 0;
  std::vector<std::string> pool;  // empty: every approver counts
};

struct ApprovalRuleContent {
  std::vector<std::string> destination_references;  // full refs; empty: every destination
  std::vector<ApprovalStatement> statements;
};

// Whose content is parsed: the error code differs (InvalidApprovalRuleContentException or
// InvalidApprovalRuleTemplateContentException).
enum class RuleContentOwner { kPullRequest, kTemplate };

StatusOr<ApprovalRuleContent> ParseApprovalRuleContent(std::string_view text, RuleContentOwner owner);

// Whether an approver's ARN is in one pool member.
bool PoolMemberMatches(std::string_view member, std::string_view approver_arn);

// Whether the approvers satisfy every statement of the rule.
bool RuleSatisfied(const ApprovalRuleContent& rule, const std::vector<std::string>& approver_arns);

// Whether a template's rule applies to pull requests into destination_reference (refs/heads/x).
bool AppliesToDestination(const ApprovalRuleContent& rule, std::string_view destination_reference);

// '*' (any run) and '?' (one character) wildcards, as IAM ARNs use them.
bool WildcardMatch(std::string_view pattern, std::string_view text);

// The hex SHA-256 of the content text (ruleContentSha256).
std::string RuleContentSha256(std::string_view content);

}  // namespace gantry::services::codecommit
