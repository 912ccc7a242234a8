// Repositories, tags and triggers: one handler per model operation. Record changes are store
// transactions that re-read the record inside them. Branches, commits and files are in
// branch_handlers.cc and file_handlers.cc.
#include <algorithm>
#include <filesystem>

#include "core/common/arn.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/codecommit/commits.h"
#include "services/codecommit/handler_support.h"
#include "services/codecommit/pull_requests.h"
#include "services/codecommit/triggers.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kRepositoriesPage = 1000;
constexpr size_t kMaxBatchRepositories = 25;
constexpr size_t kMaxTags = 50;

// scheme://host[:port] the client used (the Host header), else the server's endpoint.
std::string BaseUrl(const CodeCommitDeps& deps, const aws::RequestContext& ctx) {
  if (ctx.http != nullptr) {
    std::string_view host = ctx.http->headers.Get("Host");
    if (!host.empty()) return "http://" + std::string(host);
  }
  return deps.endpoint ? deps.endpoint() : "http://localhost:4566";
}

Document Metadata(const CodeCommitDeps& deps, const aws::RequestContext& ctx, const Document& doc) {
  std::string name = doc.value("repositoryName", "");
  Document out = {
      {"accountId", doc.value("accountId", "")},
      {"repositoryId", doc.value("repositoryId", "")},
      {"repositoryName", name},
      {"lastModifiedDate", doc.value("lastModifiedDate", 0.0)},
      {"creationDate", doc.value("creationDate", 0.0)},
      {"cloneUrlHttp", BaseUrl(deps, ctx) + "/v1/repos/" + name},
      {"cloneUrlSsh", "ssh://git-codecommit." + doc.value("region", "") + ".amazonaws.com/v1/repos/" + name},
      {"Arn", doc.value("arn", "")},
      {"kmsKeyId", doc.value("kmsKeyId", "")}};
  if (doc.contains("description")) out["repositoryDescription"] = doc["description"];
  if (doc.contains("defaultBranch")) out["defaultBranch"] = doc["defaultBranch"];
  return out;
}

Status CheckDescription(const Document& input) {
  std::string description = Str(input, "repositoryDescription");
  if (description.find_first_of("<>") != std::string::npos) {
    return Status::InvalidArgument("The repository description is not valid: it cannot contain the characters < and >.",
                                   "InvalidRepositoryDescriptionException");
  }
  return Status::Ok();
}

Status CheckTags(const Document& tags, const Document& existing = Document::object()) {
  size_t count = existing.size();
  for (auto it = tags.begin(); it != tags.end(); ++it) {
    if (it.key().rfind("aws:", 0) == 0) {
      return Status::InvalidArgument("The tag key " + it.key() + " uses the reserved prefix aws:.",
                                     "InvalidSystemTagUsageException");
    }
    if (!existing.contains(it.key())) ++count;
  }
  if (count > kMaxTags) {
    return Status::InvalidArgument("A repository can have at most 50 tags.", "TooManyTagsException");
  }
  return Status::Ok();
}

Status TouchAndUpdate(const CodeCommitDeps& deps, store::Transaction& tx, const std::string& scope,
                      store::Record& record) {
  record.doc["lastModifiedDate"] = ToEpochSeconds(deps.clock->Now());
  return tx.Update(kRepositoryTable, scope, record.key, record.doc, record.version).status();
}

// --- Repositories --------------------------------------------------------------------------------

StatusOr<Document> CreateRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "repositoryName");
  GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(name));
  GANTRY_RETURN_IF_ERROR(CheckDescription(input));
  Document tags = input.value("tags", Document::object());
  GANTRY_RETURN_IF_ERROR(CheckTags(tags));
  double now = ToEpochSeconds(deps.clock->Now());
  Document doc = {{"repositoryId", deps.ids->Uuid()},
                  {"repositoryName", name},
                  {"arn", RepositoryArn(ctx.region, ctx.account_id, name)},
                  {"accountId", ctx.account_id},
                  {"region", ctx.region},
                  {"creationDate", now},
                  {"lastModifiedDate", now},
                  {"kmsKeyId", input.value("kmsKeyId", "alias/aws/codecommit")},
                  {"tags", tags},
                  {"triggers", Document::array()}};
  if (input.contains("repositoryDescription")) doc["description"] = input["repositoryDescription"];
  std::string path = RepositoryPath(deps, doc["repositoryId"].get<std::string>());
  GANTRY_RETURN_IF_ERROR(git::InitBare(path).status());
  // The record is committed (durable) before the answer; a repository directory left behind by a
  // failure here is never referenced.
  StatusOr<int64_t> created = deps.store->Create(kRepositoryTable, ctx.Scope(), name, doc);
  if (!created.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (created.status().code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("Repository named " + name + " already exists", "RepositoryNameExistsException");
    }
    return created.status();
  }
  return Document{{"repositoryMetadata", Metadata(deps, ctx, doc)}};
}

StatusOr<Document> GetRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record,
                          RequireRepository(*deps.store, ctx.Scope(), Str(input, "repositoryName")));
  return Document{{"repositoryMetadata", Metadata(deps, ctx, record.doc)}};
}

StatusOr<Document> BatchGetRepositories(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document names = input.value("repositoryNames", Document::array());
  if (names.empty()) {
    return Status::InvalidArgument("At least one repository name is required, but none was specified.",
                                   "RepositoryNamesRequiredException");
  }
  if (names.size() > kMaxBatchRepositories) {
    return Status::InvalidArgument("The number of repository names exceeds 25.",
                                   "MaximumRepositoryNamesExceededException");
  }
  Document found = Document::array();
  Document missing = Document::array();
  for (const auto& n : names) {
    std::string name = n.get<std::string>();
    GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(name));
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kRepositoryTable, ctx.Scope(), name));
    if (record) {
      found.push_back(Metadata(deps, ctx, record->doc));
    } else {
      missing.push_back(name);
    }
  }
  return Document{{"repositories", found}, {"repositoriesNotFound", missing}, {"errors", Document::array()}};
}

StatusOr<Document> ListRepositories(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string sort_by = input.value("sortBy", "repositoryName");
  bool descending = input.value("order", "ascending") == "descending";
  size_t start = 0;
  if (input.contains("nextToken")) {
    std::optional<size_t> offset = OffsetToken(Str(input, "nextToken"), "o:");
    if (!offset) return Status::InvalidArgument("The nextToken is not valid.", "InvalidContinuationTokenException");
    start = *offset;
  }
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kRepositoryTable, ctx.Scope()));
  std::vector<const Document*> docs;
  for (const store::Record& r : page.records) docs.push_back(&r.doc);
  std::stable_sort(docs.begin(), docs.end(), [&](const Document* a, const Document* b) {
    if (sort_by == "lastModifiedDate") {
      double x = a->value("lastModifiedDate", 0.0), y = b->value("lastModifiedDate", 0.0);
      if (x != y) return descending ? x > y : x < y;
    }
    std::string x = a->value("repositoryName", ""), y = b->value("repositoryName", "");
    return descending ? x > y : x < y;
  });
  Document repositories = Document::array();
  start = std::min(start, docs.size());  // a token from before repositories were deleted
  for (size_t i = start; i < docs.size() && i < start + kRepositoriesPage; ++i) {
    repositories.push_back({{"repositoryName", docs[i]->value("repositoryName", "")},
                            {"repositoryId", docs[i]->value("repositoryId", "")}});
  }
  Document out = {{"repositories", repositories}};
  if (start + kRepositoriesPage < docs.size())
    out["nextToken"] = Base64Encode("o:" + std::to_string(start + kRepositoriesPage));
  return out;
}

StatusOr<Document> DeleteRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = Str(input, "repositoryName");
  GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(name));
  std::optional<store::Record> deleted;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(deleted, tx.Get(kRepositoryTable, ctx.Scope(), name));
    if (!deleted) return Status::Ok();
    GANTRY_RETURN_IF_ERROR(tx.Delete(kRepositoryTable, ctx.Scope(), name).status());
    return DeletePullRequestRowsOfRepository(tx, ctx.Scope(), deleted->doc.value("repositoryId", ""));
  }));
  // AWS answers a repository that does not exist with an empty result.
  if (!deleted) return Document::object();
  std::string id = deleted->doc.value("repositoryId", "");
  std::error_code ec;
  std::filesystem::remove_all(RepositoryPath(deps, id), ec);
  if (ec) GANTRY_LOG(kWarn, "codecommit: removing the git data of " << name << ": " << ec.message());
  return Document{{"repositoryId", id}};
}

StatusOr<Document> UpdateRepositoryName(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string old_name = Str(input, "oldName");
  std::string new_name = Str(input, "newName");
  GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(old_name));
  GANTRY_RETURN_IF_ERROR(ValidateRepositoryName(new_name));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), old_name));
    if (old_name == new_name) return Status::Ok();
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> taken, tx.Get(kRepositoryTable, ctx.Scope(), new_name));
    if (taken) {
      return Status::AlreadyExists("Repository named " + new_name + " already exists", "RepositoryNameExistsException");
    }
    record.doc["repositoryName"] = new_name;
    record.doc["arn"] = RepositoryArn(ctx.region, ctx.account_id, new_name);
    record.doc["lastModifiedDate"] = ToEpochSeconds(deps.clock->Now());
    GANTRY_RETURN_IF_ERROR(tx.Delete(kRepositoryTable, ctx.Scope(), old_name).status());
    return tx.Create(kRepositoryTable, ctx.Scope(), new_name, record.doc).status();
  }));
  return Document::object();
}

StatusOr<Document> UpdateRepositoryDescription(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                               const Document& input) {
  GANTRY_RETURN_IF_ERROR(CheckDescription(input));
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), Str(input, "repositoryName")));
    if (input.contains("repositoryDescription")) {
      record.doc["description"] = input["repositoryDescription"];
    } else {
      record.doc.erase("description");
    }
    return TouchAndUpdate(deps, tx, ctx.Scope(), record);
  }));
  return Document::object();
}

StatusOr<Document> UpdateDefaultBranch(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string branch = Str(input, "defaultBranchName");
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_RETURN_IF_ERROR(ValidateBranchName(branch));
  git_reference* ref = nullptr;
  if (git_reference_lookup(&ref, repo.git.get(), ("refs/heads/" + branch).c_str()) != 0) {
    return Status::NotFound("The branch " + branch + " does not exist in the repository.",
                            "BranchDoesNotExistException");
  }
  git_reference_free(ref);
  Document updated;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), repo.record.key));
    record.doc["defaultBranch"] = branch;
    updated = record.doc;
    return TouchAndUpdate(deps, tx, ctx.Scope(), record);
  }));
  GANTRY_RETURN_IF_ERROR(SetDefaultBranch(deps, updated, branch));
  return Document::object();
}

// --- Tags ------------------------------------------------------------------------------------------

// The repository name of a codecommit repository ARN in the caller's account and region.
StatusOr<std::string> RepositoryOfArn(const aws::RequestContext& ctx, const Document& input) {
  std::string text = Str(input, "resourceArn");
  if (text.empty()) {
    return Status::InvalidArgument("A resource ARN is required, but was not specified.",
                                   "ResourceArnRequiredException");
  }
  std::optional<Arn> arn = Arn::Parse(text);
  if (!arn || arn->service != "codecommit" || arn->resource.empty() || arn->resource.find('/') != std::string::npos) {
    return Status::InvalidArgument("The resource ARN " + text + " is not a CodeCommit repository ARN.",
                                   "InvalidResourceArnException");
  }
  if (arn->account != ctx.account_id || arn->region != ctx.region) {
    return Status::NotFound(arn->resource + " does not exist", "RepositoryDoesNotExistException");
  }
  return arn->resource;
}

StatusOr<Document> ListTagsForResource(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, RepositoryOfArn(ctx, input));
  GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(*deps.store, ctx.Scope(), name));
  return Document{{"tags", record.doc.value("tags", Document::object())}};
}

StatusOr<Document> TagResource(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, RepositoryOfArn(ctx, input));
  const Document tags = input.value("tags", Document::object());
  if (tags.empty()) return Status::InvalidArgument("A map of tags is required.", "TagsMapRequiredException");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), name));
    Document current = record.doc.value("tags", Document::object());
    GANTRY_RETURN_IF_ERROR(CheckTags(tags, current));
    current.update(tags);
    record.doc["tags"] = current;
    return tx.Update(kRepositoryTable, ctx.Scope(), name, record.doc, record.version).status();
  }));
  return Document::object();
}

StatusOr<Document> UntagResource(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, RepositoryOfArn(ctx, input));
  const Document keys = input.value("tagKeys", Document::array());
  if (keys.empty()) return Status::InvalidArgument("A list of tag keys is required.", "TagKeysListRequiredException");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), name));
    Document current = record.doc.value("tags", Document::object());
    for (const auto& key : keys) {
      std::string k = key.get<std::string>();
      if (k.rfind("aws:", 0) == 0) {
        return Status::InvalidArgument("The tag key " + k + " uses the reserved prefix aws:.",
                                       "InvalidSystemTagUsageException");
      }
      current.erase(k);
    }
    record.doc["tags"] = current;
    return tx.Update(kRepositoryTable, ctx.Scope(), name, record.doc, record.version).status();
  }));
  return Document::object();
}

// --- Triggers --------------------------------------------------------------------------------------

StatusOr<Document> PutRepositoryTriggers(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document triggers = input.value("triggers", Document());
  GANTRY_RETURN_IF_ERROR(ValidateTriggers(triggers, ctx.account_id, ctx.region));
  std::string configuration = deps.ids->Uuid();
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireRepository(tx, ctx.Scope(), Str(input, "repositoryName")));
    record.doc["triggers"] = triggers;
    record.doc["triggersConfigurationId"] = configuration;
    return tx.Update(kRepositoryTable, ctx.Scope(), record.key, record.doc, record.version).status();
  }));
  return Document{{"configurationId", configuration}};
}

StatusOr<Document> GetRepositoryTriggers(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record,
                          RequireRepository(*deps.store, ctx.Scope(), Str(input, "repositoryName")));
  Document out = {{"triggers", record.doc.value("triggers", Document::array())}};
  if (record.doc.contains("triggersConfigurationId")) out["configurationId"] = record.doc["triggersConfigurationId"];
  return out;
}

// Sends each trigger a TriggerEventTest for the tip of the default branch (or of the trigger's
// first branch), as AWS does, and reports which deliveries failed.
StatusOr<Document> TestRepositoryTriggers(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document triggers = input.value("triggers", Document());
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_RETURN_IF_ERROR(ValidateTriggers(triggers, ctx.account_id, ctx.region));
  Document succeeded = Document::array();
  Document failed = Document::array();
  for (const auto& trigger : triggers) {
    std::string branch = repo.record.doc.value("defaultBranch", "");
    const Document branches = trigger.value("branches", Document::array());
    if (!branches.empty()) branch = branches[0].get<std::string>();
    std::vector<ReferenceChange> changes;
    git_reference* ref = nullptr;
    if (!branch.empty() && git_reference_lookup(&ref, repo.git.get(), ("refs/heads/" + branch).c_str()) == 0) {
      git::Reference owned(ref);
      if (const git_oid* target = git_reference_target(ref)) {
        changes.push_back({"refs/heads/" + branch, git::OidHex(*target), git::OidHex(*target)});
      }
    }
    Status delivered = DeliverTrigger(deps, repo.record.doc, trigger, changes, ctx.principal.arn, /*test=*/true);
    if (delivered.ok()) {
      succeeded.push_back(trigger["name"]);
    } else {
      failed.push_back({{"trigger", trigger["name"]}, {"failureMessage", delivered.message()}});
    }
  }
  return Document{{"successfulExecutions", succeeded}, {"failedExecutions", failed}};
}

}  // namespace

void RegisterRepositoryHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "CreateRepository", CreateRepository);
  AddHandler(table, deps, "GetRepository", GetRepository);
  AddHandler(table, deps, "BatchGetRepositories", BatchGetRepositories);
  AddHandler(table, deps, "ListRepositories", ListRepositories);
  AddHandler(table, deps, "DeleteRepository", DeleteRepository);
  AddHandler(table, deps, "UpdateRepositoryName", UpdateRepositoryName);
  AddHandler(table, deps, "UpdateRepositoryDescription", UpdateRepositoryDescription);
  AddHandler(table, deps, "UpdateDefaultBranch", UpdateDefaultBranch);
  AddHandler(table, deps, "ListTagsForResource", ListTagsForResource);
  AddHandler(table, deps, "TagResource", TagResource);
  AddHandler(table, deps, "UntagResource", UntagResource);
  AddHandler(table, deps, "PutRepositoryTriggers", PutRepositoryTriggers);
  AddHandler(table, deps, "GetRepositoryTriggers", GetRepositoryTriggers);
  AddHandler(table, deps, "TestRepositoryTriggers", TestRepositoryTriggers);
  RegisterBranchHandlers(table, deps);
  RegisterFileHandlers(table, deps);
}

}  // namespace gantry::services::codecommit
