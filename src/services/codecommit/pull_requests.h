// Pull requests as Gantry stores them, and what the pull request, comment, merge and approval rule
// template handlers share: the record layout, lookups with AWS's errors, the PullRequest wire shape,
// revisions, approval evaluation, the pull request event log (DescribePullRequestEvents) and the
// "CodeCommit Pull Request State Change" events, and keeping open pull requests in step with their
// branches.
//
// Layout (scope "<account>/<region>"):
//   codecommit.pull_request        key <20-digit id>  {pullRequestId, title, description?, authorArn,
//                                  creationDate, lastActivityDate, pullRequestStatus, clientRequestToken?,
//                                  accountId, region, repositoryId, repositoryName, sourceReference,
//                                  destinationReference (full refs), sourceCommit, destinationCommit,
//                                  mergeBase?, mergeMetadata, revisionId, revisions [ids, oldest first],
//                                  approvals {revisionId: [userArn]}, approvalRules [ApprovalRule],
//                                  override? {revisionId, overrider}}
//   codecommit.pull_request_index  key <repositoryId>/<20-digit id>  {}  (ListPullRequests)
//   codecommit.pull_request_token  key <clientRequestToken>  {pullRequestId, request}  (idempotency)
//   codecommit.pull_request_event  key <20-digit id>/<20-digit sequence>  PullRequestEvent shape
//   codecommit.approval_rule_template        key <name>  ApprovalRuleTemplate shape
//   codecommit.approval_rule_template_id     key <approvalRuleTemplateId>  {name}
//   codecommit.approval_rule_template_association
//                                  key t/<templateId>/<repositoryId> and r/<repositoryId>/<templateId>  {}
// Ids come from the durable sequence "codecommit.pull_request/<scope>": 1, 2, 3 per account and
// region, as in AWS. A revision is one state of the source branch: it changes when the source
// branch moves, and approvals and an override belong to the revision they were given for.
//
// Open pull requests follow their branches: after refs move (RefreshPullRequestsAfterPush, called
// for every ref change) and on every read (RefreshPullRequest), a moved source branch makes a new
// revision (PULL_REQUEST_SOURCE_REFERENCE_UPDATED, pullRequestSourceBranchUpdated), and a source
// already contained in the destination marks the pull request merged and closed
// (pullRequestMergeStatusUpdated), as when someone merges the branches with git. A pull request
// created with its source already in its destination is closed so at once, merged by its author.
//
// Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/aws/service.h"
#include "core/common/status.h"
#include "core/store/store.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/git.h"
#include "services/codecommit/handler_support.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {

inline constexpr std::string_view kPullRequestTable = "codecommit.pull_request";
inline constexpr std::string_view kPullRequestIndexTable = "codecommit.pull_request_index";
inline constexpr std::string_view kPullRequestTokenTable = "codecommit.pull_request_token";
inline constexpr std::string_view kPullRequestEventTable = "codecommit.pull_request_event";
inline constexpr std::string_view kPullRequestStateChange = "CodeCommit Pull Request State Change";

inline constexpr std::string_view kTemplateTable = "codecommit.approval_rule_template";
inline constexpr std::string_view kTemplateIdTable = "codecommit.approval_rule_template_id";
inline constexpr std::string_view kTemplateAssociationTable = "codecommit.approval_rule_template_association";

// The approval rule templates associated with a repository (their records), by name.
StatusOr<std::vector<Document>> AssociatedTemplates(store::RecordOperations& ops, const std::string& scope,
                                                    const std::string& repository_id);

// The other pull-request-side handler groups (merge_handlers.cc, comment_handlers.cc,
// approval_rule_template_handlers.cc); RegisterPullRequestHandlers registers them too.
void RegisterMergeHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);
void RegisterCommentHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);
void RegisterApprovalRuleTemplateHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps);

// Shared by the pull request handler groups: AWS's continuation token (base64 of the last store
// key) and the maxResults rule.
StatusOr<std::string> StartAfter(const Document& input);
std::string TokenAfter(const std::string& key);
StatusOr<int> MaxResults(const Document& input, int default_max, int limit);

// Java's Date.toString() in UTC, the date form of CodeCommit's event details:
// "Wed Nov 06 19:10:58 UTC 2019".
std::string EventDate(double epoch_seconds);

// n as a fixed-width decimal (keys that sort numerically).
std::string Padded(int64_t n);

// The store key of a pull request id (decimal, at most 2^63-1); PullRequestIdRequiredException,
// InvalidPullRequestIdException.
StatusOr<std::string> PullRequestKey(std::string_view pull_request_id);

// The pull request record; PullRequestIdRequiredException, InvalidPullRequestIdException,
// PullRequestDoesNotExistException.
StatusOr<store::Record> RequirePullRequest(store::RecordOperations& ops, const std::string& scope,
                                           std::string_view pull_request_id);

// Checks the request's own action ("codecommit:<Operation>") on the ARN of the repository a pull
// request or comment record belongs to (under its current name), as the caller. IAM leaves the
// operations that name only a pull request or a comment to their handlers (action_targets.cc),
// which call this before acting on, or answering with, the record.
Status AuthorizeOnRepository(store::RecordOperations& ops, const aws::RequestContext& ctx, const Document& record);

// What a deleted repository leaves in the pull request tables, deleted inside its transaction: its
// approval rule template associations (both directions, so the templates can be deleted) and its
// pull request index.
Status DeletePullRequestRowsOfRepository(store::Transaction& tx, const std::string& scope,
                                         const std::string& repository_id);

// The PullRequest wire shape of a record.
Document PullRequestShape(const Document& pr);

// A branch name or refs/heads/<name> as the full reference; other refs (tags, refs/x) are
// ReferenceTypeNotSupportedException, an empty or malformed name InvalidReferenceNameException.
StatusOr<std::string> BranchReference(std::string_view reference);
// The commit a full reference points at, or nullopt when it does not exist.
StatusOr<std::optional<git_oid>> ReferenceTip(git_repository* repo, const std::string& full_reference);
// The merge base of two commits (nullopt for unrelated histories).
StatusOr<std::optional<git_oid>> MergeBaseOf(git_repository* repo, const git_oid& a, const git_oid& b);

// A new revision id for a pull request whose source is now at source_commit.
std::string NextRevisionId(const Document& pr, std::string_view source_commit);

// The revision's approvers (users who approved it and did not revoke).
std::vector<std::string> Approvers(const Document& pr, const std::string& revision_id);
bool Overridden(const Document& pr, const std::string& revision_id);

struct Evaluation {
  bool approved = false;  // every approval rule is satisfied
  bool overridden = false;
  std::vector<std::string> satisfied;
  std::vector<std::string> not_satisfied;
};
Evaluation EvaluateApprovalRules(const Document& pr, const std::string& revision_id);

// Appends one PullRequestEvent (DescribePullRequestEvents) to the pull request's log. metadata is
// the event's metadata member, e.g. {"pullRequestStatusChangedEventMetadata": {...}}.
Status RecordPullRequestEvent(store::Transaction& tx, const std::string& scope, const Document& pr,
                              std::string_view type, std::string_view actor_arn, const Document& metadata,
                              double event_date);

// Puts a "CodeCommit Pull Request State Change" event (event: pullRequestCreated, ...) on the
// default bus; extra members (mergeOption, approvalStatus, ...) are added to the detail. Failures
// are logged: the change has already been made.
void PublishPullRequestEvent(const CodeCommitDeps& deps, const Document& pr, std::string_view event,
                             std::string_view caller_arn, std::string_view notification, const Document& extra = {});

// A pull request whose source is already in its destination (merged outside the pull request, or
// from the start): MarkClosedAsMerged closes it as merged by caller_arn, RecordClosedAsMerged
// records its PULL_REQUEST_MERGE_STATE_CHANGED and PULL_REQUEST_STATUS_CHANGED events, and
// PublishClosedAsMerged puts "pullRequestMergeStatusUpdated" on the bus once that is committed.
void MarkClosedAsMerged(Document& pr, std::string_view caller_arn);
Status RecordClosedAsMerged(store::Transaction& tx, const std::string& scope, const Document& pr,
                            std::string_view caller_arn, double now);
void PublishClosedAsMerged(const CodeCommitDeps& deps, const Document& pr, std::string_view caller_arn);

// Brings an open pull request in step with its branches and its repository's current name (see
// above) and returns the current record.
StatusOr<store::Record> RefreshPullRequest(const CodeCommitDeps& deps, const std::string& scope,
                                           const store::Record& pr, std::string_view caller_arn);

// Called after refs of a repository moved: refreshes the open pull requests whose source or
// destination branch is among them. Failures are logged.
void RefreshPullRequestsAfterPush(const CodeCommitDeps& deps, const Document& repository,
                                  const std::vector<ReferenceChange>& changes, std::string_view caller_arn);

}  // namespace gantry::services::codecommit
