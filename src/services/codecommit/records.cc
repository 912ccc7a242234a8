#include "services/codecommit/records.h"

#include <cctype>

#include "core/common/arn.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/codecommit/pull_requests.h"
#include "services/codecommit/triggers.h"

namespace gantry::services::codecommit {

namespace {

bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

std::string ShortName(std::string_view full_name, std::string& type) {
  for (auto [prefix, kind] : {std::pair{"refs/heads/", "branch"}, std::pair{"refs/tags/", "tag"}}) {
    std::string_view p(prefix);
    if (full_name.substr(0, p.size()) == p) {
      type = kind;
      return std::string(full_name.substr(p.size()));
    }
  }
  type = "reference";
  return std::string(full_name);
}

}  // namespace

std::string RepositoryArn(std::string_view region, std::string_view account, std::string_view name) {
  Arn arn;
  arn.service = "codecommit";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = std::string(name);
  return arn.ToString();
}

Status ValidateRepositoryName(std::string_view name) {
  if (name.empty()) {
    return Status::InvalidArgument("A repository name is required, but was not specified.",
                                   "RepositoryNameRequiredException");
  }
  bool valid = name.size() <= 100;
  for (char c : name) valid = valid && NameChar(c);
  if (name.size() >= 4 && name.substr(name.size() - 4) == ".git") valid = false;
  if (!valid) {
    return Status::InvalidArgument(
        "The repository name " + std::string(name) +
            " is not valid. Repository names can be any valid combination of letters, numbers, periods, "
            "underscores, and dashes between 1 and 100 characters in length, and cannot end in .git.",
        "InvalidRepositoryNameException");
  }
  return Status::Ok();
}

StatusOr<store::Record> RequireRepository(store::RecordOperations& ops, const std::string& scope,
                                          std::string_view name) {
  GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(name));
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kRepositoryTable, scope, name));
  if (!record) {
    return Status::NotFound(std::string(name) + " does not exist", "RepositoryDoesNotExistException");
  }
  return std::move(*record);
}

std::string RepositoryPath(const CodeCommitDeps& deps, std::string_view repository_id) {
  return deps.repos_root + "/" + std::string(repository_id);
}

StatusOr<git::Repository> OpenRepository(const CodeCommitDeps& deps, const Document& repository) {
  return git::Open(RepositoryPath(deps, repository.value("repositoryId", "")));
}

StatusOr<OpenedRepository> OpenRepositoryNamed(const CodeCommitDeps& deps, const std::string& scope,
                                               std::string_view name) {
  OpenedRepository out;
  GANTRY_ASSIGN_OR_RETURN(out.record, RequireRepository(*deps.store, scope, name));
  GANTRY_ASSIGN_OR_RETURN(out.git, OpenRepository(deps, out.record.doc));
  return out;
}

Status EmitEvent(const CodeCommitDeps& deps, std::string_view account, std::string_view region,
                 std::string_view detail_type, const std::vector<std::string>& resources, const Document& detail) {
  if (deps.client == nullptr) return Status::Ok();
  aws::Principal principal;
  principal.account_id = std::string(account);
  principal.arn = std::string(kServicePrincipal);
  principal.user_id = std::string(kServicePrincipal);
  principal.service = std::string(kServicePrincipal);
  principal.internal = true;
  Document entry = {{"Source", kEventSource},
                    {"DetailType", detail_type},
                    {"Detail", detail.dump(-1, ' ', false, Document::error_handler_t::replace)},
                    {"Resources", resources}};
  GANTRY_ASSIGN_OR_RETURN(Document result,
                          deps.client->Call(principal, "events", "PutEvents", {{"Entries", {entry}}}, region));
  if (result.value("FailedEntryCount", 0) > 0) {
    const Document& failed = result["Entries"][0];
    return Status::Internal("EventBridge refused the " + std::string(detail_type) + " event: " +
                            failed.value("ErrorCode", "") + " " + failed.value("ErrorMessage", ""));
  }
  return Status::Ok();
}

Status SetDefaultBranch(const CodeCommitDeps& deps, const Document& repository, const std::string& branch) {
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository));
  return git::Check(git_repository_set_head(repo.get(), ("refs/heads/" + branch).c_str()),
                    "pointing HEAD of " + repository.value("repositoryName", "") + " at " + branch);
}

namespace {

// The branch a repository without a default branch adopts after the changes: the one HEAD names
// (git's initial HEAD) if it exists, else the first branch the changes created or updated, else
// the first existing branch by name (a repository whose first push was never published); nullopt
// when it has no branch. A name that is not UTF-8 cannot be the default: the API cannot name it.
std::optional<std::string> DefaultBranchCandidate(const CodeCommitDeps& deps, const Document& repository,
                                                  const std::vector<ReferenceChange>& changes) {
  constexpr std::string_view kHeads = "refs/heads/";
  StatusOr<git::Repository> repo = OpenRepository(deps, repository);
  if (!repo.ok()) {
    GANTRY_LOG(kWarn, "codecommit: " << repo.status().ToString());
    return std::nullopt;
  }
  auto usable = [&](std::string_view full_name) {
    git_reference* ref = nullptr;
    if (full_name.substr(0, kHeads.size()) != kHeads || !IsValidUtf8(full_name) ||
        git_reference_lookup(&ref, repo->get(), std::string(full_name).c_str()) != 0) {
      return false;
    }
    git::Reference owned(ref);
    return true;
  };
  git_reference* head = nullptr;
  if (git_reference_lookup(&head, repo->get(), "HEAD") == 0) {
    git::Reference owned(head);
    const char* target = git_reference_symbolic_target(head);
    if (target != nullptr && usable(target)) return std::string(target).substr(kHeads.size());
  }
  for (const ReferenceChange& change : changes) {
    if (!change.commit_id.empty() && usable(change.full_name)) return change.full_name.substr(kHeads.size());
  }
  git_branch_iterator* raw_iterator = nullptr;
  if (git_branch_iterator_new(&raw_iterator, repo->get(), GIT_BRANCH_LOCAL) != 0) return std::nullopt;
  git::BranchIterator iterator(raw_iterator);
  std::optional<std::string> first;
  git_reference* ref = nullptr;
  git_branch_t type;
  while (git_branch_next(&ref, &type, raw_iterator) == 0) {
    git::Reference owned(ref);
    std::string name = std::string(git_reference_name(ref)).substr(kHeads.size());
    if (IsValidUtf8(name) && (!first || name < *first)) first = name;
  }
  return first;
}

// Makes `branch` the default of a repository that still has none; the record as it now is.
Document AdoptDefaultBranch(const CodeCommitDeps& deps, const Document& repository, const std::string& branch) {
  const std::string scope = repository.value("accountId", "") + "/" + repository.value("region", "");
  const std::string name = repository.value("repositoryName", "");
  Document current = repository;
  bool adopted = false;
  Status updated = deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kRepositoryTable, scope, name));
    if (!record || record->doc.value("repositoryId", "") != repository.value("repositoryId", "")) return Status::Ok();
    current = record->doc;
    if (current.contains("defaultBranch")) return Status::Ok();
    current["defaultBranch"] = branch;
    adopted = true;
    return tx.Update(kRepositoryTable, scope, name, current, record->version).status();
  });
  if (!updated.ok()) {
    GANTRY_LOG(kWarn, "codecommit: setting the default branch of " << name << ": " << updated.ToString());
    return repository;
  }
  if (adopted) {
    Status head = SetDefaultBranch(deps, current, branch);
    if (!head.ok()) GANTRY_LOG(kWarn, "codecommit: " << head.ToString());
  }
  return current;
}

}  // namespace

void PublishReferenceChanges(const CodeCommitDeps& deps, const Document& given,
                             const std::vector<ReferenceChange>& changes, std::string_view caller_arn) {
  Document repository = given;
  if (!repository.contains("defaultBranch")) {
    if (std::optional<std::string> branch = DefaultBranchCandidate(deps, repository, changes)) {
      repository = AdoptDefaultBranch(deps, repository, *branch);
    }
  }
  const std::string account = repository.value("accountId", "");
  const std::string region = repository.value("region", "");
  const std::string arn = repository.value("arn", "");
  for (const ReferenceChange& change : changes) {
    std::string type;
    std::string name = ShortName(change.full_name, type);
    Document detail = {
        {"callerUserArn", caller_arn},
        {"event", change.old_commit_id.empty() ? "referenceCreated"
                  : change.commit_id.empty()   ? "referenceDeleted"
                                               : "referenceUpdated"},
        {"referenceFullName", change.full_name},
        {"referenceName", name},
        {"referenceType", type},
        {"repositoryId", repository.value("repositoryId", "")},
        {"repositoryName", repository.value("repositoryName", "")},
    };
    if (!change.commit_id.empty()) detail["commitId"] = change.commit_id;
    if (!change.old_commit_id.empty()) detail["oldCommitId"] = change.old_commit_id;
    for (const auto& [key, value] : change.merge_detail.items()) detail[key] = value;
    Status emitted = EmitEvent(deps, account, region, kRepositoryStateChange, {arn}, detail);
    if (!emitted.ok()) {
      GANTRY_LOG(kWarn, "codecommit: " << arn << " " << change.full_name << ": " << emitted.ToString());
    }
  }
  FireTriggers(deps, repository, changes, caller_arn);
  RefreshPullRequestsAfterPush(deps, repository, changes, caller_arn);
}

}  // namespace gantry::services::codecommit
