// Pull requests, their approval rules, approvals and overrides, and their event log: one handler per
// model operation. Every change is one store transaction that re-reads the pull request inside it;
// EventBridge events follow the commit. Merges, comments and approval rule templates live in
// merge_handlers.cc, comment_handlers.cc and approval_rule_template_handlers.cc.
#include "core/common/strings.h"
#include "services/codecommit/approval_rules.h"
#include "services/codecommit/handlers.h"
#include "services/codecommit/pull_requests.h"

namespace gantry::services::codecommit {

namespace {

constexpr int kMaxApprovalRules = 25;

Status AlreadyClosed(const Document& pr) {
  return Status::FailedPrecondition("The pull request status cannot be updated because pull request " +
                                        pr.value("pullRequestId", "") + " is already closed.",
                                    "PullRequestAlreadyClosedException");
}

Status RequireOpen(const Document& pr) {
  return pr.value("pullRequestStatus", "") == "OPEN" ? Status::Ok() : AlreadyClosed(pr);
}

// The pull request, once the caller is authorized on its repository, brought in step with its
// branches.
StatusOr<store::Record> LoadPullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, RequirePullRequest(*deps.store, ctx.Scope(), Str(input, "pullRequestId")));
  GANTRY_RETURN_IF_ERROR(AuthorizeOnRepository(*deps.store, ctx, record.doc));
  return RefreshPullRequest(deps, ctx.Scope(), record, ctx.principal.arn);
}

Status RequireKnownRevision(const Document& pr, const std::string& revision_id) {
  if (revision_id.empty()) {
    return Status::InvalidArgument("A revision ID is required, but was not provided.", "RevisionIdRequiredException");
  }
  for (const Document& known : pr.value("revisions", Document::array())) {
    if (known == revision_id) return Status::Ok();
  }
  return Status::InvalidArgument("The revision ID " + revision_id + " is not a revision of pull request " +
                                     pr.value("pullRequestId", "") + ". Use GetPullRequest to determine the value.",
                                 "InvalidRevisionIdException");
}

Status RequireCurrentRevision(const Document& pr, const std::string& revision_id) {
  GANTRY_RETURN_IF_ERROR(RequireKnownRevision(pr, revision_id));
  if (revision_id != pr.value("revisionId", "")) {
    return Status::FailedPrecondition("The revision ID " + revision_id +
                                          " does not match the current revision ID of pull request " +
                                          pr.value("pullRequestId", "") +
                                          ". Use GetPullRequest to retrieve the current revision ID.",
                                      "RevisionNotCurrentException");
  }
  return Status::Ok();
}

// Applies change to the pull request inside a transaction that re-reads it and refuses to act on a
// newer revision than the one checked; records the event rows change asks for.
using Change = std::function<Status(Document& pr, store::Transaction& tx, double now)>;
StatusOr<Document> ChangePullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const store::Record& record,
                                     const Change& change) {
  double now = ToEpochSeconds(deps.clock->Now());
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kPullRequestTable, ctx.Scope(), record.key));
    if (!current) return RequirePullRequest(tx, ctx.Scope(), record.doc.value("pullRequestId", "")).status();
    Document pr = current->doc;
    if (pr.value("revisionId", "") != record.doc.value("revisionId", "")) {
      return Status::Conflict("Pull request " + pr.value("pullRequestId", "") +
                                  " was updated by a push while this request ran; try again.",
                              "RevisionNotCurrentException");
    }
    GANTRY_RETURN_IF_ERROR(change(pr, tx, now));
    pr["lastActivityDate"] = now;
    GANTRY_RETURN_IF_ERROR(tx.Update(kPullRequestTable, ctx.Scope(), record.key, pr, current->version).status());
    out = std::move(pr);
    return Status::Ok();
  }));
  return out;
}

// --- Create, read, list -------------------------------------------------------------------------

Status ValidateTitle(const std::string& title) {
  if (Trim(title).empty()) {
    return Status::InvalidArgument("A pull request title is required. It cannot be empty or null.",
                                   "TitleRequiredException");
  }
  return Status::Ok();
}

StatusOr<Document> CreatePullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string title = Str(input, "title");
  GANTRY_RETURN_IF_ERROR(ValidateTitle(title));
  const Document& targets = input["targets"];
  if (targets.empty()) {
    return Status::InvalidArgument("An array of target objects is required. It cannot be empty or null.",
                                   "TargetsRequiredException");
  }
  if (targets.size() > 1) {
    return Status::InvalidArgument(
        "You cannot include more than one repository in a pull request. Make sure you have specified only one "
        "repository name in your request, and then try again.",
        "MultipleRepositoriesInPullRequestException");
  }
  const Document& target = targets[0];
  const std::string scope = ctx.Scope();
  const std::string token = Str(input, "clientRequestToken");
  const Document request = {{"title", title}, {"description", input.value("description", "")}, {"targets", targets}};
  if (!token.empty()) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> used, deps.store->Get(kPullRequestTokenTable, scope, token));
    if (used) {
      if (used->doc["request"] != request) {
        return Status::InvalidArgument("The client request token " + token +
                                           " was already used for a different pull request request.",
                                       "IdempotencyParameterMismatchException");
      }
      GANTRY_ASSIGN_OR_RETURN(store::Record existing,
                              RequirePullRequest(*deps.store, scope, used->doc.value("pullRequestId", "")));
      return Document{{"pullRequest", PullRequestShape(existing.doc)}};
    }
  }
  GANTRY_ASSIGN_OR_RETURN(store::Record repository,
                          RequireRepository(*deps.store, scope, target.value("repositoryName", "")));
  const std::string repository_name = repository.key;
  GANTRY_ASSIGN_OR_RETURN(std::string source_ref, BranchReference(target.value("sourceReference", "")));
  std::string destination_ref;
  if (target.contains("destinationReference")) {
    GANTRY_ASSIGN_OR_RETURN(destination_ref, BranchReference(target["destinationReference"].get<std::string>()));
  } else if (repository.doc.contains("defaultBranch")) {
    destination_ref = "refs/heads/" + repository.doc["defaultBranch"].get<std::string>();
  } else {
    return Status::NotFound("The repository " + repository_name +
                                " has no default branch; give the pull request a destinationReference.",
                            "ReferenceDoesNotExistException");
  }
  if (source_ref == destination_ref) {
    return Status::InvalidArgument("The source branch and destination branch for the pull request are the same (" +
                                       source_ref + "). You must specify different branches for the source and "
                                       "destination.",
                                   "SourceAndDestinationAreSameException");
  }
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository.doc));
  std::optional<git_oid> tips[2];
  const std::string* refs[2] = {&source_ref, &destination_ref};
  for (int i = 0; i < 2; ++i) {
    GANTRY_ASSIGN_OR_RETURN(tips[i], ReferenceTip(repo.get(), *refs[i]));
    if (!tips[i]) {
      return Status::NotFound("The reference " + *refs[i] + " does not exist in repository " + repository_name + ".",
                              "ReferenceDoesNotExistException");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> base, MergeBaseOf(repo.get(), *tips[1], *tips[0]));
  // A source already in the destination has nothing to merge: CreatePullRequest has no error for it
  // in AWS's model, so the pull request is made and closed as merged (by its author) at once, as it
  // would be when the branches are merged outside it.
  int contained = git_oid_equal(&*tips[0], &*tips[1]) ? 1 : git_graph_descendant_of(repo.get(), &*tips[1], &*tips[0]);
  if (contained < 0) return git::Error(contained, "walking history");
  const bool already_merged = contained == 1;
  GANTRY_ASSIGN_OR_RETURN(std::vector<Document> templates,
                          AssociatedTemplates(*deps.store, scope, repository.doc.value("repositoryId", "")));

  const double now = ToEpochSeconds(deps.clock->Now());
  const std::string caller = ctx.principal.arn;
  Document pr = {{"title", title},
                 {"authorArn", caller},
                 {"creationDate", now},
                 {"lastActivityDate", now},
                 {"pullRequestStatus", "OPEN"},
                 {"accountId", ctx.account_id},
                 {"region", ctx.region},
                 {"repositoryId", repository.doc.value("repositoryId", "")},
                 {"repositoryName", repository_name},
                 {"sourceReference", source_ref},
                 {"destinationReference", destination_ref},
                 {"sourceCommit", git::OidHex(*tips[0])},
                 {"destinationCommit", git::OidHex(*tips[1])},
                 {"mergeMetadata", {{"isMerged", false}}},
                 {"approvals", Document::object()},
                 {"approvalRules", Document::array()}};
  if (base) pr["mergeBase"] = git::OidHex(*base);
  if (input.contains("description")) pr["description"] = input["description"];
  if (!token.empty()) pr["clientRequestToken"] = token;
  for (const Document& t : templates) {
    StatusOr<ApprovalRuleContent> content =
        ParseApprovalRuleContent(t.value("approvalRuleTemplateContent", ""), RuleContentOwner::kTemplate);
    if (!content.ok() || !AppliesToDestination(*content, destination_ref)) continue;
    pr["approvalRules"].push_back({{"approvalRuleId", deps.ids->Uuid()},
                                   {"approvalRuleName", t.value("approvalRuleTemplateName", "")},
                                   {"approvalRuleContent", t.value("approvalRuleTemplateContent", "")},
                                   {"ruleContentSha256", t.value("ruleContentSha256", "")},
                                   {"creationDate", now},
                                   {"lastModifiedDate", now},
                                   {"lastModifiedUser", caller},
                                   {"originApprovalRuleTemplate",
                                    {{"approvalRuleTemplateId", t.value("approvalRuleTemplateId", "")},
                                     {"approvalRuleTemplateName", t.value("approvalRuleTemplateName", "")}}}});
  }
  Document stored;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> used, tx.Get(kPullRequestTokenTable, scope, token));
      if (used) {
        return Status::Conflict("The client request token " + token + " is being used by a concurrent request.",
                                "IdempotencyParameterMismatchException");
      }
    }
    GANTRY_ASSIGN_OR_RETURN(int64_t id, tx.NextSequence("codecommit.pull_request/" + scope));
    pr["pullRequestId"] = std::to_string(id);
    std::string revision = NextRevisionId(pr, pr["sourceCommit"].get<std::string>());
    pr["revisionId"] = revision;
    pr["revisions"] = Document::array({revision});
    stored = pr;
    if (already_merged) MarkClosedAsMerged(stored, caller);
    GANTRY_RETURN_IF_ERROR(tx.Create(kPullRequestTable, scope, Padded(id), stored).status());
    GANTRY_RETURN_IF_ERROR(
        tx.Put(kPullRequestIndexTable, scope, pr.value("repositoryId", "") + "/" + Padded(id), Document::object())
            .status());
    if (!token.empty()) {
      GANTRY_RETURN_IF_ERROR(
          tx.Create(kPullRequestTokenTable, scope, token, {{"pullRequestId", std::to_string(id)}, {"request", request}})
              .status());
    }
    GANTRY_RETURN_IF_ERROR(RecordPullRequestEvent(tx, scope, pr, "PULL_REQUEST_CREATED", caller,
                                                  {{"pullRequestCreatedEventMetadata",
                                                    {{"repositoryName", repository_name},
                                                     {"sourceCommitId", pr["sourceCommit"]},
                                                     {"destinationCommitId", pr["destinationCommit"]},
                                                     {"mergeBase", pr.value("mergeBase", "")}}}},
                                                  now));
    return already_merged ? RecordClosedAsMerged(tx, scope, stored, caller, now) : Status::Ok();
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestCreated", caller,
                          "Event: Created. The pull request was created with the following information: Pull Request "
                          "ID as " + pr.value("pullRequestId", "") + " and title as " + title + ".");
  if (already_merged) PublishClosedAsMerged(deps, stored, caller);
  return Document{{"pullRequest", PullRequestShape(stored)}};
}

StatusOr<Document> GetPullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  return Document{{"pullRequest", PullRequestShape(record.doc)}};
}

StatusOr<Document> ListPullRequests(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
  const std::string author = Str(input, "authorArn");
  if (input.contains("authorArn") && author.rfind("arn:", 0) != 0) {
    return Status::InvalidArgument("The author ARN " + author + " is not valid. Make sure that you have provided the "
                                   "full ARN for the author of the pull request, and then try again.",
                                   "InvalidAuthorArnException");
  }
  const std::string status = Str(input, "pullRequestStatus");
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 1000));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  const std::string prefix = repository.doc.value("repositoryId", "") + "/";
  if (!after.empty() && after.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument("The specified continuation token is not valid.", "InvalidContinuationTokenException");
  }
  Document ids = Document::array();
  std::string next;
  while (true) {
    store::ListOptions options;
    options.prefix = prefix;
    options.start_after = after;
    options.limit = 100;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kPullRequestIndexTable, scope, options));
    for (const store::Record& entry : page.records) {
      if (static_cast<int>(ids.size()) == max) {
        next = after;
        break;
      }
      after = entry.key;
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record,
                              deps.store->Get(kPullRequestTable, scope, entry.key.substr(prefix.size())));
      if (!record) continue;
      store::Record pr = std::move(*record);
      if (pr.doc.value("pullRequestStatus", "") == "OPEN") {
        GANTRY_ASSIGN_OR_RETURN(pr, RefreshPullRequest(deps, scope, pr, ctx.principal.arn));
      }
      if (!author.empty() && pr.doc.value("authorArn", "") != author) continue;
      if (!status.empty() && pr.doc.value("pullRequestStatus", "") != status) continue;
      ids.push_back(pr.doc.value("pullRequestId", ""));
    }
    if (!next.empty() || page.next_token.empty()) break;
  }
  Document out = {{"pullRequestIds", ids}};
  if (!next.empty()) out["nextToken"] = TokenAfter(next);
  return out;
}

// --- Status, title, description -----------------------------------------------------------------

StatusOr<Document> UpdatePullRequestStatus(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string wanted = Str(input, "pullRequestStatus");
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  if (wanted != "CLOSED") {
    return Status::InvalidArgument("The pull request status update is not valid: pull request " +
                                       record.doc.value("pullRequestId", "") +
                                       " is already OPEN. The only valid update is from OPEN to CLOSED.",
                                   "InvalidPullRequestStatusUpdateException");
  }
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    p["pullRequestStatus"] = "CLOSED";
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_STATUS_CHANGED", ctx.principal.arn,
                                  {{"pullRequestStatusChangedEventMetadata", {{"pullRequestStatus", "CLOSED"}}}}, now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestStatusChanged", ctx.principal.arn,
                          "Event: Updated. Pull request: " + pr.value("pullRequestId", "") +
                              ". The pull request status has been updated. The status is closed.");
  return Document{{"pullRequest", PullRequestShape(pr)}};
}

StatusOr<Document> UpdatePullRequestTitle(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string title = Str(input, "title");
  GANTRY_RETURN_IF_ERROR(ValidateTitle(title));
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction&, double) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    p["title"] = title;
    return Status::Ok();
  }));
  return Document{{"pullRequest", PullRequestShape(pr)}};
}

StatusOr<Document> UpdatePullRequestDescription(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction&, double) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    p["description"] = input["description"];
    return Status::Ok();
  }));
  return Document{{"pullRequest", PullRequestShape(pr)}};
}

// --- Events -------------------------------------------------------------------------------------

StatusOr<Document> DescribePullRequestEvents(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                             const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string type = Str(input, "pullRequestEventType");
  const std::string actor = Str(input, "actorArn");
  if (input.contains("actorArn") && actor.rfind("arn:", 0) != 0) {
    return Status::InvalidArgument("The actor ARN " + actor + " is not valid. Make sure that you have provided the "
                                   "full ARN for the user who initiated the change for the pull request, and then try "
                                   "again.",
                                   "InvalidActorArnException");
  }
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 100));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  const std::string prefix = record.key + "/";
  Document events = Document::array();
  std::string next;
  while (next.empty()) {
    store::ListOptions options;
    options.prefix = prefix;
    options.start_after = after;
    options.limit = 100;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kPullRequestEventTable, ctx.Scope(), options));
    for (const store::Record& event : page.records) {
      if (static_cast<int>(events.size()) == max) {
        next = after;
        break;
      }
      after = event.key;
      if (!type.empty() && event.doc.value("pullRequestEventType", "") != type) continue;
      if (!actor.empty() && event.doc.value("actorArn", "") != actor) continue;
      events.push_back(event.doc);
    }
    if (page.next_token.empty()) break;
  }
  Document out = {{"pullRequestEvents", events}};
  if (!next.empty()) out["nextToken"] = TokenAfter(next);
  return out;
}

// --- Approvals and overrides --------------------------------------------------------------------

StatusOr<Document> UpdatePullRequestApprovalState(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                  const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string revision = Str(input, "revisionId");
  const std::string state = Str(input, "approvalState");
  const std::string caller = ctx.principal.arn;
  GANTRY_RETURN_IF_ERROR(RequireCurrentRevision(record.doc, revision));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  if (state == "APPROVE" && caller == record.doc.value("authorArn", "")) {
    return Status::PermissionDenied(
        "The approval cannot be applied because the user approving the pull request matches the user who created "
        "the pull request. You cannot approve a pull request that you created.",
        "PullRequestCannotBeApprovedByAuthorException");
  }
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    Document& approvers = p["approvals"][revision];
    if (!approvers.is_array()) approvers = Document::array();
    Document kept = Document::array();
    for (const Document& arn : approvers) {
      if (arn != caller) kept.push_back(arn);
    }
    if (state == "APPROVE") kept.push_back(caller);
    approvers = kept;
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_APPROVAL_STATE_CHANGED", caller,
                                  {{"approvalStateChangedEventMetadata",
                                    {{"revisionId", revision}, {"approvalStatus", state}}}},
                                  now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestApprovalStateChanged", caller,
                          "Event: Updated. Pull request name: " + pr.value("pullRequestId", "") +
                              ". Additional information: A user has changed their approval state for the pull "
                              "request. State change: " + state + ".",
                          {{"approvalStatus", state}});
  return Document::object();
}

StatusOr<Document> GetPullRequestApprovalStates(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string revision = Str(input, "revisionId");
  GANTRY_RETURN_IF_ERROR(RequireKnownRevision(record.doc, revision));
  Document approvals = Document::array();
  for (const std::string& arn : Approvers(record.doc, revision)) {
    approvals.push_back({{"userArn", arn}, {"approvalState", "APPROVE"}});
  }
  return Document{{"approvals", approvals}};
}

StatusOr<Document> EvaluatePullRequestApprovalRules(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                    const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string revision = Str(input, "revisionId");
  GANTRY_RETURN_IF_ERROR(RequireCurrentRevision(record.doc, revision));
  Evaluation e = EvaluateApprovalRules(record.doc, revision);
  return Document{{"evaluation",
                   {{"approved", e.approved},
                    {"overridden", e.overridden},
                    {"approvalRulesSatisfied", e.satisfied},
                    {"approvalRulesNotSatisfied", e.not_satisfied}}}};
}

StatusOr<Document> GetPullRequestOverrideState(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                               const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string revision = Str(input, "revisionId");
  GANTRY_RETURN_IF_ERROR(RequireKnownRevision(record.doc, revision));
  Document out = {{"overridden", Overridden(record.doc, revision)}};
  if (Overridden(record.doc, revision)) out["overrider"] = record.doc["override"].value("overrider", "");
  return out;
}

StatusOr<Document> OverridePullRequestApprovalRules(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                    const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  const std::string revision = Str(input, "revisionId");
  const std::string status = Str(input, "overrideStatus");
  const std::string caller = ctx.principal.arn;
  GANTRY_RETURN_IF_ERROR(RequireCurrentRevision(record.doc, revision));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    if (status == "OVERRIDE") {
      if (Overridden(p, revision)) {
        return Status::FailedPrecondition("The approval rules of pull request " + p.value("pullRequestId", "") +
                                              " are already overridden for revision " + revision + ".",
                                          "OverrideAlreadySetException");
      }
      p["override"] = {{"revisionId", revision}, {"overrider", caller}};
    } else {
      p.erase("override");
    }
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_APPROVAL_RULE_OVERRIDDEN", caller,
                                  {{"approvalRuleOverriddenEventMetadata",
                                    {{"revisionId", revision}, {"overrideStatus", status}}}},
                                  now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestApprovalRuleOverridden", caller,
                          "Event: Updated. Pull request name: " + pr.value("pullRequestId", "") +
                              ". Additional information: An override event has occurred for the approval rules for "
                              "this pull request. Override status: " + status + ".",
                          {{"overrideStatus", status}});
  return Document::object();
}

// --- Approval rules -----------------------------------------------------------------------------

Status ValidateRuleName(const std::string& name) {
  if (name.empty()) {
    return Status::InvalidArgument("An approval rule name is required, but was not specified.",
                                   "ApprovalRuleNameRequiredException");
  }
  return Status::Ok();
}

Document* FindRule(Document& pr, const std::string& name) {
  for (Document& rule : pr["approvalRules"]) {
    if (rule.value("approvalRuleName", "") == name) return &rule;
  }
  return nullptr;
}

Status RuleDoesNotExist(const Document& pr, const std::string& name) {
  return Status::NotFound("The approval rule " + name + " does not exist on pull request " +
                              pr.value("pullRequestId", "") + ".",
                          "ApprovalRuleDoesNotExistException");
}

Document RuleEventMetadata(const Document& rule) {
  return {{"approvalRuleEventMetadata",
           {{"approvalRuleName", rule.value("approvalRuleName", "")},
            {"approvalRuleId", rule.value("approvalRuleId", "")},
            {"approvalRuleContent", rule.value("approvalRuleContent", "")}}}};
}

Document RuleEventExtra(const Document& rule) {
  return {{"approvalRuleContentSha256", rule.value("ruleContentSha256", "")},
          {"approvalRuleId", rule.value("approvalRuleId", "")},
          {"approvalRuleName", rule.value("approvalRuleName", "")}};
}

StatusOr<Document> CreatePullRequestApprovalRule(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  const std::string name = Str(input, "approvalRuleName");
  const std::string content = Str(input, "approvalRuleContent");
  GANTRY_RETURN_IF_ERROR(ValidateRuleName(name));
  GANTRY_RETURN_IF_ERROR(ParseApprovalRuleContent(content, RuleContentOwner::kPullRequest).status());
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  const std::string caller = ctx.principal.arn;
  Document rule;
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    if (FindRule(p, name) != nullptr) {
      return Status::AlreadyExists("An approval rule named " + name + " already exists on pull request " +
                                       p.value("pullRequestId", "") +
                                       ". Approval rule names must be unique within the scope of a pull request.",
                                   "ApprovalRuleNameAlreadyExistsException");
    }
    if (static_cast<int>(p["approvalRules"].size()) >= kMaxApprovalRules) {
      return Status::ResourceExhausted("Pull request " + p.value("pullRequestId", "") + " already has " +
                                           std::to_string(kMaxApprovalRules) + " approval rules, the maximum.",
                                       "NumberOfRulesExceededException");
    }
    rule = {{"approvalRuleId", deps.ids->Uuid()},
            {"approvalRuleName", name},
            {"approvalRuleContent", content},
            {"ruleContentSha256", RuleContentSha256(content)},
            {"creationDate", now},
            {"lastModifiedDate", now},
            {"lastModifiedUser", caller}};
    p["approvalRules"].push_back(rule);
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_APPROVAL_RULE_CREATED", caller,
                                  RuleEventMetadata(rule), now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestApprovalRuleCreated", caller,
                          "Event: Updated. Pull request: " + pr.value("pullRequestId", "") +
                              ". Additional information: An approval rule has been created with the following name: " +
                              name + ".",
                          RuleEventExtra(rule));
  return Document{{"approvalRule", rule}};
}

StatusOr<Document> UpdatePullRequestApprovalRuleContent(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                        const Document& input) {
  const std::string name = Str(input, "approvalRuleName");
  const std::string content = Str(input, "newRuleContent");
  const std::string expected_sha = Str(input, "existingRuleContentSha256");
  GANTRY_RETURN_IF_ERROR(ValidateRuleName(name));
  GANTRY_RETURN_IF_ERROR(ParseApprovalRuleContent(content, RuleContentOwner::kPullRequest).status());
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  const std::string caller = ctx.principal.arn;
  Document rule;
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    Document* found = FindRule(p, name);
    if (found == nullptr) return RuleDoesNotExist(p, name);
    if (found->contains("originApprovalRuleTemplate")) {
      return Status::FailedPrecondition("The approval rule " + name +
                                            " cannot be modified for the pull request because it was created by an "
                                            "approval rule template and applied to the pull request automatically.",
                                        "CannotModifyApprovalRuleFromTemplateException");
    }
    if (!expected_sha.empty() && expected_sha != found->value("ruleContentSha256", "")) {
      return Status::InvalidArgument("The SHA-256 hash signature " + expected_sha +
                                         " does not match the current content of approval rule " + name + ".",
                                     "InvalidRuleContentSha256Exception");
    }
    (*found)["approvalRuleContent"] = content;
    (*found)["ruleContentSha256"] = RuleContentSha256(content);
    (*found)["lastModifiedDate"] = now;
    (*found)["lastModifiedUser"] = caller;
    rule = *found;
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_APPROVAL_RULE_UPDATED", caller,
                                  RuleEventMetadata(rule), now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestApprovalRuleUpdated", caller,
                          "Event: Updated. Pull request name: " + pr.value("pullRequestId", "") +
                              ". The content of an approval rule has been updated for the pull request. The name of "
                              "the updated rule is: " + name + ".",
                          RuleEventExtra(rule));
  return Document{{"approvalRule", rule}};
}

StatusOr<Document> DeletePullRequestApprovalRule(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  const std::string name = Str(input, "approvalRuleName");
  GANTRY_RETURN_IF_ERROR(ValidateRuleName(name));
  GANTRY_ASSIGN_OR_RETURN(store::Record record, LoadPullRequest(deps, ctx, input));
  GANTRY_RETURN_IF_ERROR(RequireOpen(record.doc));
  const std::string caller = ctx.principal.arn;
  Document rule;
  GANTRY_ASSIGN_OR_RETURN(Document pr, ChangePullRequest(deps, ctx, record, [&](Document& p, store::Transaction& tx, double now) {
    GANTRY_RETURN_IF_ERROR(RequireOpen(p));
    Document* found = FindRule(p, name);
    if (found == nullptr) return RuleDoesNotExist(p, name);
    if (found->contains("originApprovalRuleTemplate")) {
      return Status::FailedPrecondition("The approval rule " + name +
                                            " cannot be deleted from the pull request because it was created by an "
                                            "approval rule template and applied to the pull request automatically.",
                                        "CannotDeleteApprovalRuleFromTemplateException");
    }
    rule = *found;
    Document kept = Document::array();
    for (const Document& r : p["approvalRules"]) {
      if (r.value("approvalRuleName", "") != name) kept.push_back(r);
    }
    p["approvalRules"] = kept;
    return RecordPullRequestEvent(tx, ctx.Scope(), p, "PULL_REQUEST_APPROVAL_RULE_DELETED", caller,
                                  RuleEventMetadata(rule), now);
  }));
  PublishPullRequestEvent(deps, pr, "pullRequestApprovalRuleDeleted", caller,
                          "Event: Updated. Pull request: " + pr.value("pullRequestId", "") +
                              ". Additional information: An approval rule has been deleted: " + name + " was deleted.",
                          RuleEventExtra(rule));
  return Document{{"approvalRuleId", rule.value("approvalRuleId", "")}};
}

}  // namespace

void RegisterPullRequestHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "CreatePullRequest", CreatePullRequest);
  AddHandler(table, deps, "GetPullRequest", GetPullRequest);
  AddHandler(table, deps, "ListPullRequests", ListPullRequests);
  AddHandler(table, deps, "UpdatePullRequestStatus", UpdatePullRequestStatus);
  AddHandler(table, deps, "UpdatePullRequestTitle", UpdatePullRequestTitle);
  AddHandler(table, deps, "UpdatePullRequestDescription", UpdatePullRequestDescription);
  AddHandler(table, deps, "DescribePullRequestEvents", DescribePullRequestEvents);
  AddHandler(table, deps, "UpdatePullRequestApprovalState", UpdatePullRequestApprovalState);
  AddHandler(table, deps, "GetPullRequestApprovalStates", GetPullRequestApprovalStates);
  AddHandler(table, deps, "EvaluatePullRequestApprovalRules", EvaluatePullRequestApprovalRules);
  AddHandler(table, deps, "GetPullRequestOverrideState", GetPullRequestOverrideState);
  AddHandler(table, deps, "OverridePullRequestApprovalRules", OverridePullRequestApprovalRules);
  AddHandler(table, deps, "CreatePullRequestApprovalRule", CreatePullRequestApprovalRule);
  AddHandler(table, deps, "UpdatePullRequestApprovalRuleContent", UpdatePullRequestApprovalRuleContent);
  AddHandler(table, deps, "DeletePullRequestApprovalRule", DeletePullRequestApprovalRule);
  RegisterMergeHandlers(table, deps);
  RegisterCommentHandlers(table, deps);
  RegisterApprovalRuleTemplateHandlers(table, deps);
}

}  // namespace gantry::services::codecommit
