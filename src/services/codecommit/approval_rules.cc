#include "services/codecommit/approval_rules.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::codecommit {

namespace {

constexpr std::string_view kCodeCommitApprovers = "CodeCommitApprovers:";

Status Invalid(RuleContentOwner owner, const std::string& detail) {
  if (owner == RuleContentOwner::kTemplate) {
    return Status::InvalidArgument("The content of the approval rule template is not valid: " + detail,
                                   "InvalidApprovalRuleTemplateContentException");
  }
  return Status::InvalidArgument("The content for the approval rule is not valid: " + detail,
                                 "InvalidApprovalRuleContentException");
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// arn:aws:iam::<account>:<resource> or arn:aws:sts::... split into account and resource.
bool SplitPrincipalArn(std::string_view arn, std::string& account, std::string& resource) {
  std::vector<std::string_view> parts = Split(arn, ':');
  if (parts.size() < 6 || parts[0] != "arn" || (parts[2] != "iam" && parts[2] != "sts")) return false;
  account = std::string(parts[4]);
  size_t resource_at = 0;
  for (int i = 0; i < 5; ++i) resource_at = arn.find(':', resource_at) + 1;
  resource = std::string(arn.substr(resource_at));
  return true;
}

Status ValidatePoolMember(RuleContentOwner owner, const std::string& member) {
  if (member.rfind(kCodeCommitApprovers, 0) == 0) {
    std::string_view rest = std::string_view(member).substr(kCodeCommitApprovers.size());
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || !IsAccountId(rest.substr(0, colon)) || colon + 1 == rest.size()) {
      return Invalid(owner, "the approval pool member " + member +
                                " must have the form CodeCommitApprovers:<12-digit account id>:<name>.");
    }
    return Status::Ok();
  }
  std::string account, resource;
  if (!SplitPrincipalArn(member, account, resource) || resource.empty() ||
      (!IsAccountId(account) && account.find_first_of("*?") == std::string::npos)) {
    return Invalid(owner, "the approval pool member " + member +
                              " is neither CodeCommitApprovers:<account>:<name> nor an IAM or STS ARN.");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ApprovalRuleContent> ParseApprovalRuleContent(std::string_view text, RuleContentOwner owner) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Invalid(owner, "it is not a JSON object.");
  for (const auto& [key, value] : doc.items()) {
    if (key != "Version" && key != "DestinationReferences" && key != "Statements") {
      return Invalid(owner, "unknown field " + key + ".");
    }
  }
  if (!doc.contains("Version") || doc["Version"] != kApprovalRuleVersion) {
    return Invalid(owner, "Version must be \"" + std::string(kApprovalRuleVersion) + "\".");
  }
  ApprovalRuleContent rule;
  if (doc.contains("DestinationReferences")) {
    const nlohmann::json& refs = doc["DestinationReferences"];
    if (!refs.is_array()) return Invalid(owner, "DestinationReferences must be a list of branch references.");
    for (const nlohmann::json& ref : refs) {
      if (!ref.is_string() || ref.get<std::string>().rfind("refs/heads/", 0) != 0 ||
          ref.get<std::string>().size() == std::string_view("refs/heads/").size()) {
        return Invalid(owner, "each destination reference must be a full branch reference such as refs/heads/main.");
      }
      rule.destination_references.push_back(ref.get<std::string>());
    }
  }
  if (!doc.contains("Statements") || !doc["Statements"].is_array() || doc["Statements"].empty()) {
    return Invalid(owner, "Statements must be a non-empty list.");
  }
  for (const nlohmann::json& s : doc["Statements"]) {
    if (!s.is_object()) return Invalid(owner, "each statement must be a JSON object.");
    for (const auto& [key, value] : s.items()) {
      if (key != "Type" && key != "NumberOfApprovalsNeeded" && key != "ApprovalPoolMembers") {
        return Invalid(owner, "unknown statement field " + key + ".");
      }
    }
    if (s.value("Type", nlohmann::json()) != "Approvers") return Invalid(owner, "the statement Type must be \"Approvers\".");
    const nlohmann::json needed = s.value("NumberOfApprovalsNeeded", nlohmann::json());
    if (!needed.is_number_integer() || needed.get<int64_t>() < 1) {
      return Invalid(owner, "NumberOfApprovalsNeeded must be a whole number of at least 1.");
    }
    if (needed.get<int64_t>() > kMaxApprovalsNeeded) {
      return Status::InvalidArgument("The number of approvals required for the approval rule (" +
                                         std::to_string(needed.get<int64_t>()) + ") exceeds the maximum of " +
                                         std::to_string(kMaxApprovalsNeeded) + ".",
                                     "MaximumNumberOfApprovalsExceededException");
    }
    ApprovalStatement statement;
    statement.approvals_needed = static_cast<int>(needed.get<int64_t>());
    if (s.contains("ApprovalPoolMembers")) {
      const nlohmann::json& pool = s["ApprovalPoolMembers"];
      if (!pool.is_array()) return Invalid(owner, "ApprovalPoolMembers must be a list.");
      for (const nlohmann::json& member : pool) {
        if (!member.is_string()) return Invalid(owner, "each approval pool member must be a string.");
        GANTRY_RETURN_IF_ERROR(ValidatePoolMember(owner, member.get<std::string>()));
        statement.pool.push_back(member.get<std::string>());
      }
    }
    rule.statements.push_back(std::move(statement));
  }
  return rule;
}

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool PoolMemberMatches(std::string_view member, std::string_view approver_arn) {
  if (member.substr(0, kCodeCommitApprovers.size()) != kCodeCommitApprovers) {
    return WildcardMatch(member, approver_arn);
  }
  std::string_view rest = member.substr(kCodeCommitApprovers.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view account = rest.substr(0, colon);
  std::string_view name = rest.substr(colon + 1);
  std::string approver_account, resource;
  if (!SplitPrincipalArn(approver_arn, approver_account, resource) || approver_account != account) return false;
  std::string candidate;
  for (std::string_view prefix : {"user/", "federated-user/"}) {
    if (resource.rfind(prefix, 0) == 0) {
      std::string_view rest_of = std::string_view(resource).substr(prefix.size());
      size_t slash = rest_of.rfind('/');
      candidate = std::string(slash == std::string_view::npos ? rest_of : rest_of.substr(slash + 1));
    }
  }
  if (resource.rfind("assumed-role/", 0) == 0) {
    // Only a wildcard name reaches a role session: "*Mary_Major" matches "Review/Mary_Major".
    if (name.find_first_of("*?") == std::string_view::npos) return false;
    candidate = resource.substr(std::string_view("assumed-role/").size());
  }
  return !candidate.empty() && WildcardMatch(name, candidate);
}

bool RuleSatisfied(const ApprovalRuleContent& rule, const std::vector<std::string>& approver_arns) {
  for (const ApprovalStatement& statement : rule.statements) {
    std::set<std::string> counted;
    for (const std::string& approver : approver_arns) {
      bool in_pool = statement.pool.empty();
      for (const std::string& member : statement.pool) in_pool = in_pool || PoolMemberMatches(member, approver);
      if (in_pool) counted.insert(approver);
    }
    if (static_cast<int>(counted.size()) < statement.approvals_needed) return false;
  }
  return true;
}

bool AppliesToDestination(const ApprovalRuleContent& rule, std::string_view destination_reference) {
  if (rule.destination_references.empty()) return true;
  for (const std::string& ref : rule.destination_references) {
    if (ref == destination_reference) return true;
  }
  return false;
}

std::string RuleContentSha256(std::string_view content) { return HexEncode(Sha256(content)); }

}  // namespace gantry::services::codecommit
