#include "services/codecommit/records.h"

#include <cctype>

#include "core/common/arn.h"
#include "core/common/log.h"
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
  Document entry = {{"Source", kEventSource}, {"DetailType", detail_type}, {"Detail", detail.dump()},
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

// The branch a repository without a default branch gets from the changes: the one HEAD already
// names (git's initial HEAD) if it was created, else the first branch created; nullopt if none.
std::optional<std::string> FirstBranch(const CodeCommitDeps& deps, const Document& repository,
                                       const std::vector<ReferenceChange>& changes) {
  std::vector<std::string> created;
  for (const ReferenceChange& change : changes) {
    if (change.old_commit_id.empty() && !change.commit_id.empty() && change.full_name.rfind("refs/heads/", 0) == 0) {
      created.push_back(change.full_name.substr(11));
    }
  }
  if (created.empty()) return std::nullopt;
  if (StatusOr<git::Repository> repo = OpenRepository(deps, repository); repo.ok()) {
    git_reference* head = nullptr;
    if (git_reference_lookup(&head, repo->get(), "HEAD") == 0) {
      git::Reference owned(head);
      const char* target = git_reference_symbolic_target(head);
      for (const std::string& branch : created) {
        if (target != nullptr && "refs/heads/" + branch == target) return branch;
      }
    }
  }
  return created.front();
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
    if (std::optional<std::string> branch = FirstBranch(deps, repository, changes)) {
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
