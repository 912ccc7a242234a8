// libFuzzer target for what CodeCommit's pull request side parses or compares from untrusted input:
// the input is split at NUL bytes into approval rule content, an approver ARN, and three file
// versions (base, destination, source). The content is parsed as a pull request rule and as a
// template, evaluated for the approver and matched against a destination; the three versions go
// through the line-hunk merge of DescribeMergeConflicts. Any input must yield a Status or a
// result, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/codecommit/approval_rules.h"
#include "services/codecommit/git.h"
#include "services/codecommit/merge.h"

namespace cc = gantry::services::codecommit;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cc::git::Init();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < 4) {
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  parts.resize(5);
  const std::string approver(parts[1].empty() ? "arn:aws:iam::111111111111:user/Mary_Major" : parts[1]);
  for (auto owner : {cc::RuleContentOwner::kPullRequest, cc::RuleContentOwner::kTemplate}) {
    auto rule = cc::ParseApprovalRuleContent(parts[0], owner);
    if (!rule.ok()) continue;
    (void)cc::RuleSatisfied(*rule, {approver, "arn:aws:sts::111111111111:assumed-role/Review/Li_Juan"});
    (void)cc::AppliesToDestination(*rule, "refs/heads/main");
    for (const cc::ApprovalStatement& statement : rule->statements) {
      for (const std::string& member : statement.pool) (void)cc::PoolMemberMatches(member, approver);
    }
  }
  for (const cc::MergeHunk& hunk : cc::LineHunks(parts[2], parts[3], parts[4])) {
    if (hunk.base.end_line < hunk.base.start_line - 1) __builtin_trap();
  }
  return 0;
}
