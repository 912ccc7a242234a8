#include "services/codecommit/pull_requests.h"

#include <time.h>

#include <cctype>
#include <charconv>

#include "core/common/crypto.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "services/codecommit/approval_rules.h"

namespace gantry::services::codecommit {

namespace {


std::string Capitalized(std::string status) {
  for (size_t i = 1; i < status.size(); ++i) status[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(status[i])));
  return status;
}

// The repository's current name (a rename keeps its id), or the stored one when it is gone.
StatusOr<std::string> CurrentRepositoryName(store::RecordOperations& ops, const std::string& scope, const Document& pr) {
  const std::string name = pr.value("repositoryName", "");
  const std::string id = pr.value("repositoryId", "");
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kRepositoryTable, scope, name));
  if (record && record->doc.value("repositoryId", "") == id) return name;
  std::string after;
  while (true) {
    store::ListOptions options;
    options.start_after = after;
    options.limit = 200;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, ops.List(kRepositoryTable, scope, options));
    for (const store::Record& r : page.records) {
      if (r.doc.value("repositoryId", "") == id) return r.key;
    }
    if (page.next_token.empty()) return name;
    after = page.next_token;
  }
}

}  // namespace

std::string EventDate(double epoch_seconds) {
  time_t t = static_cast<time_t>(epoch_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buffer[64];
  strftime(buffer, sizeof(buffer), "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buffer;
}

StatusOr<std::string> StartAfter(const Document& input) {
  std::string token = Str(input, "nextToken");
  if (token.empty()) return std::string();
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("k:", 0) != 0) {
    return Status::InvalidArgument("The specified continuation token is not valid.", "InvalidContinuationTokenException");
  }
  return decoded->substr(2);
}

std::string TokenAfter(const std::string& key) { return Base64Encode("k:" + key); }

StatusOr<int> MaxResults(const Document& input, int default_max, int limit) {
  if (!input.contains("maxResults")) return default_max;
  int64_t n = input["maxResults"].get<int64_t>();
  if (n < 1 || n > limit) {
    return Status::InvalidArgument("The specified number of maximum results (" + std::to_string(n) +
                                       ") is not valid: it must be between 1 and " + std::to_string(limit) + ".",
                                   "InvalidMaxResultsException");
  }
  return static_cast<int>(n);
}

std::string Padded(int64_t n) {
  std::string digits = std::to_string(n);
  return std::string(digits.size() < 20 ? 20 - digits.size() : 0, '0') + digits;
}

StatusOr<std::string> PullRequestKey(std::string_view pull_request_id) {
  if (pull_request_id.empty()) {
    return Status::InvalidArgument("A pull request ID is required, but none was provided.",
                                   "PullRequestIdRequiredException");
  }
  int64_t id = 0;
  const char* end = pull_request_id.data() + pull_request_id.size();
  auto [stop, error] = std::from_chars(pull_request_id.data(), end, id);
  if (error != std::errc() || stop != end || id < 0) {
    return Status::InvalidArgument("The pull request ID " + std::string(pull_request_id) +
                                       " is not valid. Make sure that you have provided the full ID and that the pull "
                                       "request is in the specified repository, and then try again.",
                                   "InvalidPullRequestIdException");
  }
  return Padded(id);
}

StatusOr<store::Record> RequirePullRequest(store::RecordOperations& ops, const std::string& scope,
                                           std::string_view pull_request_id) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, PullRequestKey(pull_request_id));
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, ops.Get(kPullRequestTable, scope, key));
  if (!record) {
    return Status::NotFound("The pull request ID " + std::string(pull_request_id) +
                                " could not be found. Make sure that you have specified the correct repository name "
                                "and pull request ID, and then try again.",
                            "PullRequestDoesNotExistException");
  }
  return std::move(*record);
}

Status AuthorizeOnRepository(store::RecordOperations& ops, const aws::RequestContext& ctx, const Document& record) {
  GANTRY_ASSIGN_OR_RETURN(std::string name, CurrentRepositoryName(ops, ctx.Scope(), record));
  return ctx.Authorize("codecommit:" + ctx.operation->name, RepositoryArn(ctx.region, ctx.account_id, name));
}

Status DeletePullRequestRowsOfRepository(store::Transaction& tx, const std::string& scope,
                                         const std::string& repository_id) {
  // Both directions of each template association: the repository's r/<repositoryId>/<templateId>
  // rows name the templates whose t/<templateId>/<repositoryId> rows go too.
  const std::string associations = "r/" + repository_id + "/";
  store::ListOptions options;
  options.prefix = associations;
  GANTRY_ASSIGN_OR_RETURN(store::ListPage templates, tx.List(kTemplateAssociationTable, scope, options));
  for (const store::Record& row : templates.records) {
    const std::string template_id = row.key.substr(associations.size());
    GANTRY_RETURN_IF_ERROR(tx.Delete(kTemplateAssociationTable, scope, row.key).status());
    GANTRY_RETURN_IF_ERROR(
        tx.Delete(kTemplateAssociationTable, scope, "t/" + template_id + "/" + repository_id).status());
  }
  options.prefix = repository_id + "/";
  GANTRY_ASSIGN_OR_RETURN(store::ListPage index, tx.List(kPullRequestIndexTable, scope, options));
  for (const store::Record& row : index.records) {
    GANTRY_RETURN_IF_ERROR(tx.Delete(kPullRequestIndexTable, scope, row.key).status());
  }
  return Status::Ok();
}

Document PullRequestShape(const Document& pr) {
  Document target = {{"repositoryName", pr.value("repositoryName", "")},
                     {"sourceReference", pr.value("sourceReference", "")},
                     {"destinationReference", pr.value("destinationReference", "")},
                     {"sourceCommit", pr.value("sourceCommit", "")},
                     {"destinationCommit", pr.value("destinationCommit", "")},
                     {"mergeMetadata", pr.value("mergeMetadata", Document{{"isMerged", false}})}};
  if (pr.contains("mergeBase")) target["mergeBase"] = pr["mergeBase"];
  Document out = {{"pullRequestId", pr.value("pullRequestId", "")},
                  {"title", pr.value("title", "")},
                  {"lastActivityDate", pr.value("lastActivityDate", 0.0)},
                  {"creationDate", pr.value("creationDate", 0.0)},
                  {"pullRequestStatus", pr.value("pullRequestStatus", "")},
                  {"authorArn", pr.value("authorArn", "")},
                  {"pullRequestTargets", Document::array({target})},
                  {"revisionId", pr.value("revisionId", "")},
                  {"approvalRules", pr.value("approvalRules", Document::array())}};
  for (const char* member : {"description", "clientRequestToken"}) {
    if (pr.contains(member)) out[member] = pr[member];
  }
  return out;
}

StatusOr<std::string> BranchReference(std::string_view reference) {
  std::string full;
  if (reference.rfind("refs/", 0) == 0) {
    if (reference.rfind("refs/heads/", 0) != 0) {
      return Status::InvalidArgument("The reference " + std::string(reference) +
                                         " is not a branch. Pull requests are between branches (refs/heads/...).",
                                     "ReferenceTypeNotSupportedException");
    }
    full = std::string(reference);
  } else {
    full = "refs/heads/" + std::string(reference);
  }
  int valid = 0;
  if (reference.empty() || git_reference_name_is_valid(&valid, full.c_str()) < 0 || !valid) {
    return Status::InvalidArgument("The reference name " + std::string(reference) + " is not a valid git branch name.",
                                   "InvalidReferenceNameException");
  }
  return full;
}

StatusOr<std::optional<git_oid>> ReferenceTip(git_repository* repo, const std::string& full_reference) {
  git_oid oid;
  int rc = git_reference_name_to_id(&oid, repo, full_reference.c_str());
  if (rc == GIT_ENOTFOUND) return std::optional<git_oid>();
  if (rc < 0) return git::Error(rc, "reading " + full_reference);
  return std::optional<git_oid>(oid);
}

StatusOr<std::optional<git_oid>> MergeBaseOf(git_repository* repo, const git_oid& a, const git_oid& b) {
  git_oid base;
  int rc = git_merge_base(&base, repo, &a, &b);
  if (rc == GIT_ENOTFOUND) return std::optional<git_oid>();
  if (rc < 0) return git::Error(rc, "finding the merge base");
  return std::optional<git_oid>(base);
}

std::string NextRevisionId(const Document& pr, std::string_view source_commit) {
  size_t revisions = pr.contains("revisions") ? pr["revisions"].size() : 0;
  return HexEncode(Sha256(pr.value("accountId", "") + "/" + pr.value("region", "") + "/" +
                          pr.value("pullRequestId", "") + "/" + std::to_string(revisions) + "/" +
                          std::string(source_commit)));
}

std::vector<std::string> Approvers(const Document& pr, const std::string& revision_id) {
  std::vector<std::string> out;
  if (!pr.contains("approvals") || !pr["approvals"].contains(revision_id)) return out;
  for (const Document& arn : pr["approvals"][revision_id]) out.push_back(arn.get<std::string>());
  return out;
}

bool Overridden(const Document& pr, const std::string& revision_id) {
  return pr.contains("override") && pr["override"].value("revisionId", "") == revision_id;
}

Evaluation EvaluateApprovalRules(const Document& pr, const std::string& revision_id) {
  Evaluation e;
  std::vector<std::string> approvers = Approvers(pr, revision_id);
  for (const Document& rule : pr.value("approvalRules", Document::array())) {
    const std::string name = rule.value("approvalRuleName", "");
    StatusOr<ApprovalRuleContent> content =
        ParseApprovalRuleContent(rule.value("approvalRuleContent", ""), RuleContentOwner::kPullRequest);
    if (content.ok() && RuleSatisfied(*content, approvers)) {
      e.satisfied.push_back(name);
    } else {
      e.not_satisfied.push_back(name);
    }
  }
  e.approved = e.not_satisfied.empty();
  e.overridden = Overridden(pr, revision_id);
  return e;
}

Status RecordPullRequestEvent(store::Transaction& tx, const std::string& scope, const Document& pr,
                              std::string_view type, std::string_view actor_arn, const Document& metadata,
                              double event_date) {
  GANTRY_ASSIGN_OR_RETURN(int64_t sequence, tx.NextSequence("codecommit.pull_request_event"));
  const std::string id = pr.value("pullRequestId", "");
  Document event = {{"pullRequestId", id},
                    {"eventDate", event_date},
                    {"pullRequestEventType", type},
                    {"actorArn", actor_arn}};
  for (const auto& [key, value] : metadata.items()) event[key] = value;
  GANTRY_ASSIGN_OR_RETURN(std::string key, PullRequestKey(id));
  return tx.Put(kPullRequestEventTable, scope, key + "/" + Padded(sequence), event).status();
}

void PublishPullRequestEvent(const CodeCommitDeps& deps, const Document& pr, std::string_view event,
                             std::string_view caller_arn, std::string_view notification, const Document& extra) {
  const std::string account = pr.value("accountId", "");
  const std::string region = pr.value("region", "");
  const std::string repository = pr.value("repositoryName", "");
  const Document merge = pr.value("mergeMetadata", Document{{"isMerged", false}});
  Document detail = {
      {"author", pr.value("authorArn", "")},
      {"callerUserArn", caller_arn},
      {"creationDate", EventDate(pr.value("creationDate", 0.0))},
      {"destinationCommit", pr.value("destinationCommit", "")},
      {"destinationReference", pr.value("destinationReference", "")},
      {"event", event},
      {"isMerged", merge.value("isMerged", false) ? "True" : "False"},
      {"lastModifiedDate", EventDate(pr.value("lastActivityDate", 0.0))},
      {"notificationBody", "A pull request event occurred in the following AWS CodeCommit repository: " + repository +
                               ". User: " + std::string(caller_arn) + ". " + std::string(notification)},
      {"pullRequestId", pr.value("pullRequestId", "")},
      {"pullRequestStatus", Capitalized(pr.value("pullRequestStatus", ""))},
      {"repositoryNames", Document::array({repository})},
      {"revisionId", pr.value("revisionId", "")},
      {"sourceCommit", pr.value("sourceCommit", "")},
      {"sourceReference", pr.value("sourceReference", "")},
      {"title", pr.value("title", "")},
  };
  if (pr.contains("description")) detail["description"] = pr["description"];
  for (const auto& [key, value] : extra.items()) detail[key] = value;
  Status emitted = EmitEvent(deps, account, region, kPullRequestStateChange,
                             {RepositoryArn(region, account, repository)}, detail);
  if (!emitted.ok()) {
    GANTRY_LOG(kWarn, "codecommit: pull request " << pr.value("pullRequestId", "") << " " << event << ": "
                                                  << emitted.ToString());
  }
}

void MarkClosedAsMerged(Document& pr, std::string_view caller_arn) {
  pr["pullRequestStatus"] = "CLOSED";
  pr["mergeMetadata"] = {{"isMerged", true}, {"mergedBy", caller_arn}};
}

Status RecordClosedAsMerged(store::Transaction& tx, const std::string& scope, const Document& pr,
                            std::string_view caller_arn, double now) {
  GANTRY_RETURN_IF_ERROR(RecordPullRequestEvent(
      tx, scope, pr, "PULL_REQUEST_MERGE_STATE_CHANGED", caller_arn,
      {{"pullRequestMergedStateChangedEventMetadata",
        {{"repositoryName", pr.value("repositoryName", "")},
         {"destinationReference", pr.value("destinationReference", "")},
         {"mergeMetadata", pr["mergeMetadata"]}}}},
      now));
  return RecordPullRequestEvent(tx, scope, pr, "PULL_REQUEST_STATUS_CHANGED", caller_arn,
                                {{"pullRequestStatusChangedEventMetadata", {{"pullRequestStatus", "CLOSED"}}}}, now);
}

void PublishClosedAsMerged(const CodeCommitDeps& deps, const Document& pr, std::string_view caller_arn) {
  PublishPullRequestEvent(deps, pr, "pullRequestMergeStatusUpdated", caller_arn,
                          "Event: Updated. Pull request: " + pr.value("pullRequestId", "") +
                              ". The pull request merge status has been updated. The status is merged.");
}

StatusOr<store::Record> RefreshPullRequest(const CodeCommitDeps& deps, const std::string& scope,
                                           const store::Record& record, std::string_view caller_arn) {
  Document pr = record.doc;
  GANTRY_ASSIGN_OR_RETURN(std::string repository_name, CurrentRepositoryName(*deps.store, scope, pr));
  bool renamed = repository_name != pr.value("repositoryName", "");
  pr["repositoryName"] = repository_name;
  bool source_moved = false, merged_outside = false, destination_moved = false;
  if (pr.value("pullRequestStatus", "") == "OPEN") {
    StatusOr<git::Repository> repo = git::Open(RepositoryPath(deps, pr.value("repositoryId", "")));
    if (repo.ok()) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> source, ReferenceTip(repo->get(), pr.value("sourceReference", "")));
      GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> destination,
                              ReferenceTip(repo->get(), pr.value("destinationReference", "")));
      if (source && destination) {
        const std::string source_hex = git::OidHex(*source);
        const std::string destination_hex = git::OidHex(*destination);
        source_moved = source_hex != pr.value("sourceCommit", "");
        destination_moved = destination_hex != pr.value("destinationCommit", "");
        if (source_moved) {
          std::string revision = NextRevisionId(pr, source_hex);
          pr["revisionId"] = revision;
          pr["revisions"].push_back(revision);
          pr["sourceCommit"] = source_hex;
        }
        pr["destinationCommit"] = destination_hex;
        if (source_moved || destination_moved) {
          GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> base, MergeBaseOf(repo->get(), *destination, *source));
          if (base) {
            pr["mergeBase"] = git::OidHex(*base);
          } else {
            pr.erase("mergeBase");
          }
        }
        int contained = git_oid_equal(&*source, &*destination)
                            ? 1
                            : git_graph_descendant_of(repo->get(), &*destination, &*source);
        if (contained < 0) return git::Error(contained, "walking history");
        if (contained == 1) {
          merged_outside = true;
          MarkClosedAsMerged(pr, caller_arn);
        }
      }
    }
  }
  if (!renamed && !source_moved && !destination_moved && !merged_outside) return record;

  double now = ToEpochSeconds(deps.clock->Now());
  if (source_moved || merged_outside) pr["lastActivityDate"] = now;
  store::Record out = record;
  bool stale = false;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    StatusOr<int64_t> updated = tx.Update(kPullRequestTable, scope, record.key, pr, record.version);
    if (!updated.ok() && updated.status().code() == StatusCode::kConflict) {
      stale = true;  // someone else refreshed or changed it meanwhile: theirs is at least as current
      return Status::Ok();
    }
    if (!updated.ok()) return updated.status();
    out.version = *updated;
    if (source_moved) {
      GANTRY_RETURN_IF_ERROR(RecordPullRequestEvent(
          tx, scope, pr, "PULL_REQUEST_SOURCE_REFERENCE_UPDATED", caller_arn,
          {{"pullRequestSourceReferenceUpdatedEventMetadata",
            {{"repositoryName", repository_name},
             {"beforeCommitId", pr.value("destinationCommit", "")},
             {"afterCommitId", pr.value("sourceCommit", "")},
             {"mergeBase", pr.value("mergeBase", "")}}}},
          now));
    }
    if (merged_outside) return RecordClosedAsMerged(tx, scope, pr, caller_arn, now);
    return Status::Ok();
  }));
  if (stale) {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, deps.store->Get(kPullRequestTable, scope, record.key));
    if (!current) return record;
    return std::move(*current);
  }
  out.doc = pr;
  const std::string id = pr.value("pullRequestId", "");
  if (source_moved) {
    PublishPullRequestEvent(deps, pr, "pullRequestSourceBranchUpdated", caller_arn,
                            "Event: Updated. The user updated the following pull request: " + id +
                                ". The pull request was updated with one or more commits to the source branch: " +
                                pr.value("sourceReference", "").substr(std::string_view("refs/heads/").size()) + ".");
  }
  if (merged_outside) PublishClosedAsMerged(deps, pr, caller_arn);
  return out;
}

void RefreshPullRequestsAfterPush(const CodeCommitDeps& deps, const Document& repository,
                                  const std::vector<ReferenceChange>& changes, std::string_view caller_arn) {
  const std::string scope = repository.value("accountId", "") + "/" + repository.value("region", "");
  const std::string prefix = repository.value("repositoryId", "") + "/";
  std::string after;
  while (true) {
    store::ListOptions options;
    options.prefix = prefix;
    options.start_after = after;
    options.limit = 200;
    StatusOr<store::ListPage> page = deps.store->List(kPullRequestIndexTable, scope, options);
    if (!page.ok()) {
      GANTRY_LOG(kWarn, "codecommit: listing pull requests after a push: " << page.status().ToString());
      return;
    }
    for (const store::Record& entry : page->records) {
      std::string id = entry.key.substr(prefix.size());
      StatusOr<std::optional<store::Record>> record = deps.store->Get(kPullRequestTable, scope, id);
      if (!record.ok() || !*record || (*record)->doc.value("pullRequestStatus", "") != "OPEN") continue;
      const Document& pr = (*record)->doc;
      bool affected = false;
      for (const ReferenceChange& change : changes) {
        affected = affected || change.full_name == pr.value("sourceReference", "") ||
                   change.full_name == pr.value("destinationReference", "");
      }
      if (!affected) continue;
      StatusOr<store::Record> refreshed = RefreshPullRequest(deps, scope, **record, caller_arn);
      if (!refreshed.ok()) {
        GANTRY_LOG(kWarn, "codecommit: refreshing pull request " << pr.value("pullRequestId", "") << ": "
                                                                 << refreshed.status().ToString());
      }
    }
    if (page->next_token.empty()) return;
    after = page->next_token;
  }
}

}  // namespace gantry::services::codecommit
