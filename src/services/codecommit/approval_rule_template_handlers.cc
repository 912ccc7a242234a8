// Approval rule templates and their associations with repositories: one handler per model
// operation. Associations are kept by id on both sides (t/<templateId>/<repositoryId> and
// r/<repositoryId>/<templateId>), so renaming a template or a repository keeps them. A template
// applies its rule to pull requests created afterwards in an associated repository whose destination
// matches the template's DestinationReferences (CreatePullRequest reads AssociatedTemplates).
// Changes emit "CodeCommit Approval Rule Template Change" events as AWS does.
#include <map>

#include "core/common/log.h"
#include "services/codecommit/approval_rules.h"
#include "services/codecommit/pull_requests.h"

namespace gantry::services::codecommit {

namespace {

constexpr int kMaxTemplatesPerRepository = 25;
constexpr size_t kMaxBatchRepositories = 100;

Status TemplateDoesNotExist(const std::string& name) {
  return Status::NotFound("The approval rule template " + name +
                              " does not exist. Verify that the name is correct and that you are signed in to the AWS "
                              "Region where the template was created, and then try again.",
                          "ApprovalRuleTemplateDoesNotExistException");
}

Status ValidateTemplateName(const std::string& name) {
  if (name.empty()) {
    return Status::InvalidArgument("An approval rule template name is required, but was not specified.",
                                   "ApprovalRuleTemplateNameRequiredException");
  }
  return Status::Ok();
}

StatusOr<store::Record> RequireTemplate(store::RecordOperations& ops, const std::string& scope, const std::string& name) {
  GANTRY_RETURN_IF_ERROR(ValidateTemplateName(name));
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kTemplateTable, scope, name));
  if (!record) return TemplateDoesNotExist(name);
  return std::move(*record);
}


void PublishTemplateEvent(const CodeCommitDeps& deps, const aws::RequestContext& ctx, const Document& t,
                          std::string_view event, std::string_view what, const Document& repositories,
                          const std::vector<std::string>& resources) {
  Document detail = {{"approvalRuleTemplateContentSha256", t.value("ruleContentSha256", "")},
                     {"approvalRuleTemplateId", t.value("approvalRuleTemplateId", "")},
                     {"approvalRuleTemplateName", t.value("approvalRuleTemplateName", "")},
                     {"callerUserArn", ctx.principal.arn},
                     {"creationDate", EventDate(t.value("creationDate", 0.0))},
                     {"event", event},
                     {"lastModifiedDate", EventDate(t.value("lastModifiedDate", 0.0))},
                     {"notificationBody", "A approval rule template event occurred in the following AWS CodeCommit "
                                          "account: " + ctx.account_id + ". User: " + ctx.principal.arn +
                                              ". Additional information: " + std::string(what)},
                     {"repositories", repositories}};
  Status emitted = EmitEvent(deps, ctx.account_id, ctx.region, "CodeCommit Approval Rule Template Change", resources, detail);
  if (!emitted.ok()) {
    GANTRY_LOG(kWarn, "codecommit: approval rule template " << t.value("approvalRuleTemplateName", "") << ": "
                                                            << emitted.ToString());
  }
}

// Lists the keys under prefix in an association table, one page (after, max) at a time.
StatusOr<store::ListPage> AssociationPage(const CodeCommitDeps& deps, const std::string& scope, const std::string& prefix,
                                          const Document& input, int max) {
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  if (!after.empty() && after.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument("The specified continuation token is not valid.", "InvalidContinuationTokenException");
  }
  store::ListOptions options;
  options.prefix = prefix;
  options.start_after = after;
  options.limit = max;
  return deps.store->List(kTemplateAssociationTable, scope, options);
}

StatusOr<std::map<std::string, std::string>> RepositoryNamesById(const CodeCommitDeps& deps, const std::string& scope) {
  std::map<std::string, std::string> names;
  std::string after;
  while (true) {
    store::ListOptions options;
    options.start_after = after;
    options.limit = 500;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kRepositoryTable, scope, options));
    for (const store::Record& r : page.records) names[r.doc.value("repositoryId", "")] = r.key;
    if (page.next_token.empty()) return names;
    after = page.next_token;
  }
}

// --- Templates ----------------------------------------------------------------------------------

StatusOr<Document> CreateApprovalRuleTemplate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string name = Str(input, "approvalRuleTemplateName");
  const std::string content = Str(input, "approvalRuleTemplateContent");
  GANTRY_RETURN_IF_ERROR(ValidateTemplateName(name));
  GANTRY_RETURN_IF_ERROR(ParseApprovalRuleContent(content, RuleContentOwner::kTemplate).status());
  const double now = ToEpochSeconds(deps.clock->Now());
  Document t = {{"approvalRuleTemplateId", deps.ids->Uuid()},
                {"approvalRuleTemplateName", name},
                {"approvalRuleTemplateDescription", input.value("approvalRuleTemplateDescription", "")},
                {"approvalRuleTemplateContent", content},
                {"ruleContentSha256", RuleContentSha256(content)},
                {"creationDate", now},
                {"lastModifiedDate", now},
                {"lastModifiedUser", ctx.principal.arn}};
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    StatusOr<int64_t> created = tx.Create(kTemplateTable, ctx.Scope(), name, t);
    if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("An approval rule template named " + name +
                                       " already exists in this AWS Region for your AWS account. Approval rule "
                                       "template names must be unique.",
                                   "ApprovalRuleTemplateNameAlreadyExistsException");
    }
    GANTRY_RETURN_IF_ERROR(created.status());
    return tx.Create(kTemplateIdTable, ctx.Scope(), t["approvalRuleTemplateId"].get<std::string>(), {{"name", name}})
        .status();
  }));
  PublishTemplateEvent(deps, ctx, t, "approvalRuleTemplateCreated",
                       "An approval rule template with the following name has been created: " + name + ".",
                       Document::object(), {});
  return Document{{"approvalRuleTemplate", t}};
}

StatusOr<Document> GetApprovalRuleTemplate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record t, RequireTemplate(*deps.store, ctx.Scope(), Str(input, "approvalRuleTemplateName")));
  return Document{{"approvalRuleTemplate", t.doc}};
}

StatusOr<Document> ListApprovalRuleTemplates(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 100));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  store::ListOptions options;
  options.start_after = after;
  options.limit = max;
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kTemplateTable, ctx.Scope(), options));
  Document names = Document::array();
  for (const store::Record& r : page.records) names.push_back(r.key);
  Document out = {{"approvalRuleTemplateNames", names}};
  if (!page.next_token.empty()) out["nextToken"] = TokenAfter(page.next_token);
  return out;
}

StatusOr<Document> DeleteApprovalRuleTemplate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string name = Str(input, "approvalRuleTemplateName");
  Document deleted;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record t, RequireTemplate(tx, ctx.Scope(), name));
    const std::string id = t.doc.value("approvalRuleTemplateId", "");
    GANTRY_ASSIGN_OR_RETURN(int64_t associations, tx.Count(kTemplateAssociationTable, ctx.Scope(), "t/" + id + "/"));
    if (associations > 0) {
      return Status::FailedPrecondition("The approval rule template " + name + " is associated with " +
                                            std::to_string(associations) +
                                            " repositories. You cannot delete a template that is associated with a "
                                            "repository. Remove all associations, and then try again.",
                                        "ApprovalRuleTemplateInUseException");
    }
    GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateTable, ctx.Scope(), name).status());
    GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateIdTable, ctx.Scope(), id).status());
    deleted = t.doc;
    return Status::Ok();
  }));
  PublishTemplateEvent(deps, ctx, deleted, "approvalRuleTemplateDeleted",
                       "An approval rule template with the following name has been deleted: " + name + ".",
                       Document::object(), {});
  return Document{{"approvalRuleTemplateId", deleted.value("approvalRuleTemplateId", "")}};
}

// Changes a template in one transaction (change may rename it: it returns the new key).
StatusOr<Document> ChangeTemplate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const std::string& name,
                                  const std::function<StatusOr<std::string>(Document&, store::Transaction&)>& change) {
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record t, RequireTemplate(tx, ctx.Scope(), name));
    Document doc = t.doc;
    GANTRY_ASSIGN_OR_RETURN(std::string key, change(doc, tx));
    doc["lastModifiedDate"] = ToEpochSeconds(deps.clock->Now());
    doc["lastModifiedUser"] = ctx.principal.arn;
    if (key == name) {
      GANTRY_RETURN_IF_ERROR(tx.Update(kTemplateTable, ctx.Scope(), name, doc, t.version).status());
    } else {
      GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateTable, ctx.Scope(), name).status());
      StatusOr<int64_t> created = tx.Create(kTemplateTable, ctx.Scope(), key, doc);
      if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("An approval rule template named " + key +
                                         " already exists in this AWS Region for your AWS account. Approval rule "
                                         "template names must be unique.",
                                     "ApprovalRuleTemplateNameAlreadyExistsException");
      }
      GANTRY_RETURN_IF_ERROR(created.status());
      GANTRY_RETURN_IF_ERROR(
          tx.Put(kTemplateIdTable, ctx.Scope(), doc.value("approvalRuleTemplateId", ""), {{"name", key}}).status());
    }
    out = std::move(doc);
    return Status::Ok();
  }));
  PublishTemplateEvent(deps, ctx, out, "approvalRuleTemplateUpdated",
                       "An approval rule template with the following name has been updated: " +
                           out.value("approvalRuleTemplateName", "") + ".",
                       Document::object(), {});
  return Document{{"approvalRuleTemplate", out}};
}

StatusOr<Document> UpdateApprovalRuleTemplateContent(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                     const Document& input) {
  const std::string content = Str(input, "newRuleContent");
  const std::string expected = Str(input, "existingRuleContentSha256");
  GANTRY_RETURN_IF_ERROR(ParseApprovalRuleContent(content, RuleContentOwner::kTemplate).status());
  const std::string name = Str(input, "approvalRuleTemplateName");
  return ChangeTemplate(deps, ctx, name, [&](Document& t, store::Transaction&) -> StatusOr<std::string> {
    if (!expected.empty() && expected != t.value("ruleContentSha256", "")) {
      return Status::InvalidArgument("The SHA-256 hash signature " + expected +
                                         " does not match the current content of approval rule template " + name + ".",
                                     "InvalidRuleContentSha256Exception");
    }
    t["approvalRuleTemplateContent"] = content;
    t["ruleContentSha256"] = RuleContentSha256(content);
    return name;
  });
}

StatusOr<Document> UpdateApprovalRuleTemplateName(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                  const Document& input) {
  const std::string new_name = Str(input, "newApprovalRuleTemplateName");
  GANTRY_RETURN_IF_ERROR(ValidateTemplateName(new_name));
  return ChangeTemplate(deps, ctx, Str(input, "oldApprovalRuleTemplateName"),
                        [&](Document& t, store::Transaction&) -> StatusOr<std::string> {
                          t["approvalRuleTemplateName"] = new_name;
                          return new_name;
                        });
}

StatusOr<Document> UpdateApprovalRuleTemplateDescription(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                         const Document& input) {
  const std::string name = Str(input, "approvalRuleTemplateName");
  return ChangeTemplate(deps, ctx, name, [&](Document& t, store::Transaction&) -> StatusOr<std::string> {
    t["approvalRuleTemplateDescription"] = Str(input, "approvalRuleTemplateDescription");
    return name;
  });
}

// --- Associations -------------------------------------------------------------------------------

// Associates or disassociates one repository inside tx; returns the repository record.
StatusOr<store::Record> SetAssociation(store::Transaction& tx, const std::string& scope, const Document& t,
                                       const std::string& repository_name, bool associate) {
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(tx, scope, repository_name));
  const std::string template_id = t.value("approvalRuleTemplateId", "");
  const std::string repository_id = repository.doc.value("repositoryId", "");
  const std::string forward = "t/" + template_id + "/" + repository_id;
  const std::string backward = "r/" + repository_id + "/" + template_id;
  if (!associate) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateAssociationTable, scope, forward).status());
    GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateAssociationTable, scope, backward).status());
    return repository;
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> existing, tx.Get(kTemplateAssociationTable, scope, forward));
  if (existing) return repository;
  GANTRY_ASSIGN_OR_RETURN(int64_t count, tx.Count(kTemplateAssociationTable, scope, "r/" + repository_id + "/"));
  if (count >= kMaxTemplatesPerRepository) {
    return Status::ResourceExhausted("The repository " + repository_name + " already has " +
                                         std::to_string(kMaxTemplatesPerRepository) +
                                         " approval rule templates associated, the maximum.",
                                     "MaximumRuleTemplatesAssociatedWithRepositoryException");
  }
  GANTRY_RETURN_IF_ERROR(tx.Put(kTemplateAssociationTable, scope, forward, Document::object()).status());
  GANTRY_RETURN_IF_ERROR(tx.Put(kTemplateAssociationTable, scope, backward, Document::object()).status());
  return repository;
}

StatusOr<Document> Associate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input, bool associate) {
  const std::string name = Str(input, "approvalRuleTemplateName");
  const std::string repository_name = Str(input, "repositoryName");
  Document t, repository;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireTemplate(tx, ctx.Scope(), name));
    t = record.doc;
    GANTRY_ASSIGN_OR_RETURN(store::Record r, SetAssociation(tx, ctx.Scope(), t, repository_name, associate));
    repository = r.doc;
    return Status::Ok();
  }));
  PublishTemplateEvent(deps, ctx, t,
                       associate ? "approvalRuleTemplateAssociatedWithRepository"
                                 : "approvalRuleTemplateDisassociatedFromRepository",
                       std::string("An approval rule template has been ") +
                           (associate ? "associated with" : "disassociated from") + " the following repository: " +
                           repository_name + ".",
                       {{repository_name, repository.value("repositoryId", "")}}, {repository.value("arn", "")});
  return Document::object();
}

StatusOr<Document> AssociateApprovalRuleTemplateWithRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                               const Document& input) {
  return Associate(deps, ctx, input, true);
}

StatusOr<Document> DisassociateApprovalRuleTemplateFromRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                                  const Document& input) {
  return Associate(deps, ctx, input, false);
}

StatusOr<Document> BatchAssociate(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input,
                                  bool associate) {
  const std::string name = Str(input, "approvalRuleTemplateName");
  const Document& names = input["repositoryNames"];
  if (names.empty()) {
    return Status::InvalidArgument("At least one repository name object is required, but was not specified.",
                                   "RepositoryNamesRequiredException");
  }
  if (names.size() > kMaxBatchRepositories) {
    return Status::InvalidArgument("The maximum number of allowed repository names (100) was exceeded: " +
                                       std::to_string(names.size()) + " were given.",
                                   "MaximumRepositoryNamesExceededException");
  }
  Document t;
  Document done = Document::array();
  Document errors = Document::array();
  Document repositories = Document::object();
  std::vector<std::string> arns;
  GANTRY_ASSIGN_OR_RETURN(store::Record record, RequireTemplate(*deps.store, ctx.Scope(), name));
  t = record.doc;
  for (const Document& entry : names) {
    const std::string repository_name = entry.get<std::string>();
    Document repository;
    Status status = deps.store->Transact([&](store::Transaction& tx) -> Status {
      GANTRY_RETURN_IF_ERROR(RequireTemplate(tx, ctx.Scope(), name).status());
      GANTRY_ASSIGN_OR_RETURN(store::Record r, SetAssociation(tx, ctx.Scope(), t, repository_name, associate));
      repository = r.doc;
      return Status::Ok();
    });
    if (status.ok()) {
      done.push_back(repository_name);
      repositories[repository_name] = repository.value("repositoryId", "");
      arns.push_back(repository.value("arn", ""));
    } else if (status.code() == StatusCode::kInternal) {
      return status;
    } else {
      errors.push_back({{"repositoryName", repository_name}, {"errorCode", status.aws_code()}, {"errorMessage", status.message()}});
    }
  }
  if (!done.empty()) {
    PublishTemplateEvent(deps, ctx, t,
                         associate ? "batchAssociateApprovalRuleTemplateWithRepositories"
                                   : "batchDisassociateApprovalRuleTemplateFromRepositories",
                         std::string("An approval rule template has been batch ") +
                             (associate ? "associated with" : "disassociated from") + " the following repository names: [" +
                             [&] {
                               std::string joined;
                               for (const Document& n : done) joined += (joined.empty() ? "" : ", ") + n.get<std::string>();
                               return joined;
                             }() + "].",
                         repositories, arns);
  }
  return Document{{associate ? "associatedRepositoryNames" : "disassociatedRepositoryNames", done}, {"errors", errors}};
}

StatusOr<Document> BatchAssociateApprovalRuleTemplateWithRepositories(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                                      const Document& input) {
  return BatchAssociate(deps, ctx, input, true);
}

StatusOr<Document> BatchDisassociateApprovalRuleTemplateFromRepositories(const CodeCommitDeps& deps,
                                                                         aws::RequestContext& ctx, const Document& input) {
  return BatchAssociate(deps, ctx, input, false);
}

StatusOr<Document> ListAssociatedApprovalRuleTemplatesForRepository(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                                    const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 100));
  const std::string prefix = "r/" + repository.doc.value("repositoryId", "") + "/";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, AssociationPage(deps, ctx.Scope(), prefix, input, max));
  Document names = Document::array();
  for (const store::Record& r : page.records) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> id,
                            deps.store->Get(kTemplateIdTable, ctx.Scope(), r.key.substr(prefix.size())));
    if (id) names.push_back(id->doc.value("name", ""));
  }
  Document out = {{"approvalRuleTemplateNames", names}};
  if (!page.next_token.empty()) out["nextToken"] = TokenAfter(page.next_token);
  return out;
}

StatusOr<Document> ListRepositoriesForApprovalRuleTemplate(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                           const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record t, RequireTemplate(*deps.store, ctx.Scope(), Str(input, "approvalRuleTemplateName")));
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 100));
  const std::string prefix = "t/" + t.doc.value("approvalRuleTemplateId", "") + "/";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, AssociationPage(deps, ctx.Scope(), prefix, input, max));
  GANTRY_ASSIGN_OR_RETURN(auto by_id, RepositoryNamesById(deps, ctx.Scope()));
  Document names = Document::array();
  for (const store::Record& r : page.records) {
    auto found = by_id.find(r.key.substr(prefix.size()));
    if (found != by_id.end()) names.push_back(found->second);
  }
  Document out = {{"repositoryNames", names}};
  if (!page.next_token.empty()) out["nextToken"] = TokenAfter(page.next_token);
  return out;
}

}  // namespace

StatusOr<std::vector<Document>> AssociatedTemplates(store::RecordOperations& ops, const std::string& scope,
                                                    const std::string& repository_id) {
  store::ListOptions options;
  options.prefix = "r/" + repository_id + "/";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, ops.List(kTemplateAssociationTable, scope, options));
  std::map<std::string, Document> by_name;
  for (const store::Record& r : page.records) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> id,
                            ops.Get(kTemplateIdTable, scope, r.key.substr(options.prefix.size())));
    if (!id) continue;
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> t, ops.Get(kTemplateTable, scope, id->doc.value("name", "")));
    if (t) by_name[t->key] = t->doc;
  }
  std::vector<Document> out;
  for (auto& [name, doc] : by_name) out.push_back(std::move(doc));
  return out;
}

void RegisterApprovalRuleTemplateHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "CreateApprovalRuleTemplate", CreateApprovalRuleTemplate);
  AddHandler(table, deps, "GetApprovalRuleTemplate", GetApprovalRuleTemplate);
  AddHandler(table, deps, "ListApprovalRuleTemplates", ListApprovalRuleTemplates);
  AddHandler(table, deps, "DeleteApprovalRuleTemplate", DeleteApprovalRuleTemplate);
  AddHandler(table, deps, "UpdateApprovalRuleTemplateContent", UpdateApprovalRuleTemplateContent);
  AddHandler(table, deps, "UpdateApprovalRuleTemplateName", UpdateApprovalRuleTemplateName);
  AddHandler(table, deps, "UpdateApprovalRuleTemplateDescription", UpdateApprovalRuleTemplateDescription);
  AddHandler(table, deps, "AssociateApprovalRuleTemplateWithRepository", AssociateApprovalRuleTemplateWithRepository);
  AddHandler(table, deps, "DisassociateApprovalRuleTemplateFromRepository", DisassociateApprovalRuleTemplateFromRepository);
  AddHandler(table, deps, "BatchAssociateApprovalRuleTemplateWithRepositories", BatchAssociateApprovalRuleTemplateWithRepositories);
  AddHandler(table, deps, "BatchDisassociateApprovalRuleTemplateFromRepositories",
      BatchDisassociateApprovalRuleTemplateFromRepositories);
  AddHandler(table, deps, "ListAssociatedApprovalRuleTemplatesForRepository", ListAssociatedApprovalRuleTemplatesForRepository);
  AddHandler(table, deps, "ListRepositoriesForApprovalRuleTemplate", ListRepositoriesForApprovalRuleTemplate);
}

}  // namespace gantry::services::codecommit
