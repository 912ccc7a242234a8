// Comments on pull requests and on compared commits, replies, edits and deletions: one handler per
// model operation.
//
// Layout (scope "<account>/<region>"):
//   codecommit.comment        key <commentId>  {commentId, content, inReplyTo?, creationDate,
//                             lastModifiedDate, authorArn, deleted, clientRequestToken?, repositoryName,
//                             repositoryId, pullRequestId?, beforeCommitId?, afterCommitId, beforeBlobId?,
//                             afterBlobId?, location?}
//   codecommit.comment_index  key pr/<20-digit pull request id>/<20-digit sequence> or
//                             commit/<repositoryId>/<beforeCommitId>/<afterCommitId>/<20-digit sequence>
//                             {commentId}: the comments of a pull request or a comparison, oldest first
//   codecommit.comment_token  key <clientRequestToken>  {commentId, request}  (idempotency)
// Events: "CodeCommit Comment on Pull Request" (commentOnPullRequestCreated/Updated) and
// "CodeCommit Comment on Commit" (commentOnCommitCreated/Updated), as AWS sends them.
#include <algorithm>

#include "core/common/log.h"
#include "services/codecommit/commits.h"
#include "services/codecommit/pull_requests.h"

namespace gantry::services::codecommit {

namespace {

constexpr std::string_view kCommentTable = "codecommit.comment";
constexpr std::string_view kCommentIndexTable = "codecommit.comment_index";
constexpr std::string_view kCommentTokenTable = "codecommit.comment_token";
constexpr size_t kMaxCommentLength = 10240;

Status ValidateContent(const std::string& content) {
  if (content.empty()) {
    return Status::InvalidArgument("The comment is empty. You must provide some content for a comment. The content "
                                   "cannot be null.",
                                   "CommentContentRequiredException");
  }
  if (content.size() > kMaxCommentLength) {
    return Status::InvalidArgument("The comment is too large (" + std::to_string(content.size()) +
                                       " characters). Comments are limited to 10,240 characters.",
                                   "CommentContentSizeLimitExceededException");
  }
  return Status::Ok();
}

Document CommentShape(const Document& c) {
  Document out = {{"commentId", c.value("commentId", "")},
                  {"content", c.value("content", "")},
                  {"creationDate", c.value("creationDate", 0.0)},
                  {"lastModifiedDate", c.value("lastModifiedDate", 0.0)},
                  {"authorArn", c.value("authorArn", "")},
                  {"deleted", c.value("deleted", false)},
                  {"callerReactions", Document::array()},
                  {"reactionCounts", Document::object()}};
  for (const char* member : {"inReplyTo", "clientRequestToken"}) {
    if (c.contains(member)) out[member] = c[member];
  }
  return out;
}

// The members a comment's context shares with its group (CommentsForPullRequest / ForComparedCommit).
Document ContextShape(const Document& c) {
  Document out = {{"repositoryName", c.value("repositoryName", "")}};
  for (const char* member : {"pullRequestId", "beforeCommitId", "afterCommitId", "beforeBlobId", "afterBlobId", "location"}) {
    if (c.contains(member)) out[member] = c[member];
  }
  return out;
}

StatusOr<git_oid> RequireCommit(git_repository* repo, const std::string& id, const char* member) {
  if (id.empty()) return Status::InvalidArgument(std::string("A commit ID (") + member + ") was not specified.", "CommitIdRequiredException");
  git_oid oid;
  if (!git::ParseOid(id, oid)) {
    return Status::InvalidArgument("The commit ID " + id + " is not a full commit ID.", "InvalidCommitIdException");
  }
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo, &oid);
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("The commit " + id + " does not exist in the repository.", "CommitDoesNotExistException");
  }
  if (rc < 0) return git::Error(rc, "reading commit " + id);
  git_commit_free(raw);
  return oid;
}

// The blob at path in a commit; nullopt when the path is not a file there.
StatusOr<std::optional<git_oid>> BlobAt(git_repository* repo, const git_oid& commit_id, const std::string& path) {
  git_commit* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_lookup(&raw, repo, &commit_id), "reading a commit"));
  git::Commit commit(raw);
  git_tree* raw_tree = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&raw_tree, commit.get()), "reading a tree"));
  git::Tree tree(raw_tree);
  git_tree_entry* raw_entry = nullptr;
  int rc = git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str());
  if (rc == GIT_ENOTFOUND) return std::optional<git_oid>();
  if (rc < 0) return git::Error(rc, "reading " + path);
  git::TreeEntry entry(raw_entry);
  if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB) return std::optional<git_oid>();
  return std::optional<git_oid>(*git_tree_entry_id(entry.get()));
}

StatusOr<size_t> LineCount(git_repository* repo, const git_oid& blob_id) {
  git_blob* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_blob_lookup(&raw, repo, &blob_id), "reading a blob"));
  git::Blob blob(raw);
  std::string_view text(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                        static_cast<size_t>(git_blob_rawsize(blob.get())));
  size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

// Checks the commits and location of a new comment and fills its context members.
Status FillContext(git_repository* repo, const Document& input, bool before_required, Document& comment) {
  const std::string before = Str(input, "beforeCommitId");
  const std::string after = Str(input, "afterCommitId");
  std::optional<git_oid> before_oid;
  if (before_required || !before.empty()) {
    GANTRY_ASSIGN_OR_RETURN(before_oid, RequireCommit(repo, before, "beforeCommitId"));
    comment["beforeCommitId"] = before;
  }
  GANTRY_ASSIGN_OR_RETURN(git_oid after_oid, RequireCommit(repo, after, "afterCommitId"));
  comment["afterCommitId"] = after;
  if (before == after) {
    return Status::InvalidArgument("The before commit ID and the after commit ID are the same (" + after +
                                       "). They must be different commit IDs.",
                                   "BeforeCommitIdAndAfterCommitIdAreSameException");
  }
  if (!input.contains("location")) return Status::Ok();
  const Document& location = input["location"];
  GANTRY_ASSIGN_OR_RETURN(const std::string path, NormalizeFilePath(location.value("filePath", "")));
  const std::string version = location.value("relativeFileVersion", "AFTER");
  std::optional<git_oid> before_blob, after_blob;
  if (before_oid) {
    GANTRY_ASSIGN_OR_RETURN(before_blob, BlobAt(repo, *before_oid, path));
  }
  GANTRY_ASSIGN_OR_RETURN(after_blob, BlobAt(repo, after_oid, path));
  const std::optional<git_oid>& commented = version == "BEFORE" ? before_blob : after_blob;
  if (!commented) {
    return Status::NotFound("The file " + path + " does not exist in the " + version + " commit (" +
                                (version == "BEFORE" ? before : after) + ").",
                            "PathDoesNotExistException");
  }
  if (location.contains("filePosition")) {
    int64_t position = location["filePosition"].get<int64_t>();
    GANTRY_ASSIGN_OR_RETURN(size_t lines, LineCount(repo, *commented));
    if (position < 0 || static_cast<size_t>(position) > lines) {
      return Status::InvalidArgument("The position " + std::to_string(position) + " is not a line of " + path +
                                         " (" + std::to_string(lines) + " lines) in the " + version + " version.",
                                     "InvalidFilePositionException");
    }
  }
  if (before_blob) comment["beforeBlobId"] = git::OidHex(*before_blob);
  if (after_blob) comment["afterBlobId"] = git::OidHex(*after_blob);
  Document stored_location = {{"filePath", path}, {"relativeFileVersion", version}};
  if (location.contains("filePosition")) stored_location["filePosition"] = location["filePosition"];
  comment["location"] = stored_location;
  return Status::Ok();
}

void PublishCommentEvent(const CodeCommitDeps& deps, const Document& comment, const Document& repository,
                         std::string_view event, std::string_view caller) {
  bool on_pull_request = comment.contains("pullRequestId");
  Document detail = {{"event", event},
                     {"callerUserArn", caller},
                     {"commentId", comment.value("commentId", "")},
                     {"repositoryId", comment.value("repositoryId", "")},
                     {"repositoryName", comment.value("repositoryName", "")},
                     {"afterCommitId", comment.value("afterCommitId", "")},
                     {"notificationBody", "A comment event occurred in the following AWS CodeCommit repository: " +
                                              comment.value("repositoryName", "") + ". The user " +
                                              std::string(caller) + " made a comment. The comment was made on the "
                                              "following " +
                                              (on_pull_request ? "Pull Request: " + comment.value("pullRequestId", "")
                                                               : "comment ID: " + comment.value("commentId", "")) +
                                              "."}};
  for (const char* member : {"beforeCommitId", "inReplyTo", "pullRequestId"}) {
    if (comment.contains(member)) detail[member] = comment[member];
  }
  Status emitted = EmitEvent(deps, repository.value("accountId", ""), repository.value("region", ""),
                             on_pull_request ? "CodeCommit Comment on Pull Request" : "CodeCommit Comment on Commit",
                             {repository.value("arn", "")}, detail);
  if (!emitted.ok()) GANTRY_LOG(kWarn, "codecommit: comment " << comment.value("commentId", "") << ": " << emitted.ToString());
}

// Stores a new comment with its index entry (honouring the client request token) and returns it;
// `existing` is set when the token had already created it.
StatusOr<Document> StoreComment(const CodeCommitDeps& deps, const std::string& scope, Document comment,
                                const std::string& index_prefix, const Document& input, bool& existing) {
  const std::string token = Str(input, "clientRequestToken");
  Document request = input;
  request.erase("clientRequestToken");
  existing = false;
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    if (!token.empty()) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> used, tx.Get(kCommentTokenTable, scope, token));
      if (used) {
        if (used->doc["request"] != request) {
          return Status::InvalidArgument("The client request token " + token + " was already used for a different comment.",
                                         "IdempotencyParameterMismatchException");
        }
        GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> first,
                                tx.Get(kCommentTable, scope, used->doc.value("commentId", "")));
        if (!first) return Status::Internal("comment of token " + token + " is missing");
        out = first->doc;
        existing = true;
        return Status::Ok();
      }
      comment["clientRequestToken"] = token;
    }
    GANTRY_ASSIGN_OR_RETURN(int64_t sequence, tx.NextSequence("codecommit.comment"));
    const std::string id = comment.value("commentId", "");
    GANTRY_RETURN_IF_ERROR(tx.Create(kCommentTable, scope, id, comment).status());
    GANTRY_RETURN_IF_ERROR(tx.Put(kCommentIndexTable, scope, index_prefix + Padded(sequence), {{"commentId", id}}).status());
    if (!token.empty()) {
      GANTRY_RETURN_IF_ERROR(tx.Create(kCommentTokenTable, scope, token, {{"commentId", id}, {"request", request}}).status());
    }
    out = comment;
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::string> PullRequestIndexPrefix(const std::string& pull_request_id) {
  GANTRY_ASSIGN_OR_RETURN(std::string key, PullRequestKey(pull_request_id));
  return "pr/" + key + "/";
}

std::string CommitIndexPrefix(const Document& c) {
  return "commit/" + c.value("repositoryId", "") + "/" + c.value("beforeCommitId", "") + "/" +
         c.value("afterCommitId", "") + "/";
}

// Lists the comments under an index prefix, grouped into consecutive runs of the same context.
StatusOr<Document> ListGrouped(const CodeCommitDeps& deps, const std::string& scope, const std::string& prefix,
                               const Document& input, const std::function<bool(const Document&)>& keep) {
  GANTRY_ASSIGN_OR_RETURN(int max, MaxResults(input, 100, 100));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  if (!after.empty() && after.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument("The specified continuation token is not valid.", "InvalidContinuationTokenException");
  }
  Document groups = Document::array();
  int count = 0;
  std::string next;
  while (next.empty()) {
    store::ListOptions options;
    options.prefix = prefix;
    options.start_after = after;
    options.limit = 100;
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kCommentIndexTable, scope, options));
    for (const store::Record& entry : page.records) {
      if (count == max) {
        next = after;
        break;
      }
      after = entry.key;
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> comment,
                              deps.store->Get(kCommentTable, scope, entry.doc.value("commentId", "")));
      if (!comment || !keep(comment->doc)) continue;
      Document context = ContextShape(comment->doc);
      if (groups.empty() || [&] {
            Document last = groups.back();
            last.erase("comments");
            return last != context;
          }()) {
        context["comments"] = Document::array();
        groups.push_back(context);
      }
      groups.back()["comments"].push_back(CommentShape(comment->doc));
      ++count;
    }
    if (page.next_token.empty()) break;
  }
  Document out = {{"groups", groups}};
  if (!next.empty()) out["nextToken"] = TokenAfter(next);
  return out;
}

// --- Pull request comments ----------------------------------------------------------------------

StatusOr<Document> PostCommentForPullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  const std::string content = Str(input, "content");
  GANTRY_RETURN_IF_ERROR(ValidateContent(content));
  GANTRY_ASSIGN_OR_RETURN(store::Record pr, RequirePullRequest(*deps.store, scope, Str(input, "pullRequestId")));
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
  if (pr.doc.value("repositoryId", "") != repository.doc.value("repositoryId", "")) {
    return Status::InvalidArgument("The repository " + repository.key + " does not contain pull request " +
                                       pr.doc.value("pullRequestId", "") + ".",
                                   "RepositoryNotAssociatedWithPullRequestException");
  }
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository.doc));
  const double now = ToEpochSeconds(deps.clock->Now());
  Document comment = {{"commentId", deps.ids->Uuid()},
                      {"content", content},
                      {"creationDate", now},
                      {"lastModifiedDate", now},
                      {"authorArn", ctx.principal.arn},
                      {"deleted", false},
                      {"repositoryName", repository.key},
                      {"repositoryId", repository.doc.value("repositoryId", "")},
                      {"pullRequestId", pr.doc.value("pullRequestId", "")}};
  GANTRY_RETURN_IF_ERROR(FillContext(repo.get(), input, true, comment));
  GANTRY_ASSIGN_OR_RETURN(std::string prefix, PullRequestIndexPrefix(pr.doc.value("pullRequestId", "")));
  bool existing = false;
  GANTRY_ASSIGN_OR_RETURN(comment, StoreComment(deps, scope, comment, prefix, input, existing));
  if (!existing) PublishCommentEvent(deps, comment, repository.doc, "commentOnPullRequestCreated", ctx.principal.arn);
  Document out = ContextShape(comment);
  out["comment"] = CommentShape(comment);
  return out;
}

StatusOr<Document> GetCommentsForPullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(store::Record pr, RequirePullRequest(*deps.store, scope, Str(input, "pullRequestId")));
  GANTRY_RETURN_IF_ERROR(AuthorizeOnRepository(*deps.store, ctx, pr.doc));
  const std::string before = Str(input, "beforeCommitId");
  const std::string after = Str(input, "afterCommitId");
  if (input.contains("repositoryName")) {
    GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
    if (pr.doc.value("repositoryId", "") != repository.doc.value("repositoryId", "")) {
      return Status::InvalidArgument("The repository " + repository.key + " does not contain pull request " +
                                         pr.doc.value("pullRequestId", "") + ".",
                                     "RepositoryNotAssociatedWithPullRequestException");
    }
    if (before.empty() || after.empty()) {
      return Status::InvalidArgument("beforeCommitId and afterCommitId must be specified when repositoryName is.",
                                     "CommitIdRequiredException");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(std::string prefix, PullRequestIndexPrefix(pr.doc.value("pullRequestId", "")));
  GANTRY_ASSIGN_OR_RETURN(Document listed,
                          ListGrouped(deps, scope, prefix, input,
                                      [&](const Document& c) {
                                        return (before.empty() || c.value("beforeCommitId", "") == before) &&
                                               (after.empty() || c.value("afterCommitId", "") == after);
                                      }));
  Document out = {{"commentsForPullRequestData", listed["groups"]}};
  if (listed.contains("nextToken")) out["nextToken"] = listed["nextToken"];
  return out;
}

// --- Commit comments ----------------------------------------------------------------------------

StatusOr<Document> PostCommentForComparedCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                const Document& input) {
  const std::string scope = ctx.Scope();
  const std::string content = Str(input, "content");
  GANTRY_RETURN_IF_ERROR(ValidateContent(content));
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository.doc));
  const double now = ToEpochSeconds(deps.clock->Now());
  Document comment = {{"commentId", deps.ids->Uuid()},
                      {"content", content},
                      {"creationDate", now},
                      {"lastModifiedDate", now},
                      {"authorArn", ctx.principal.arn},
                      {"deleted", false},
                      {"repositoryName", repository.key},
                      {"repositoryId", repository.doc.value("repositoryId", "")}};
  GANTRY_RETURN_IF_ERROR(FillContext(repo.get(), input, false, comment));
  bool existing = false;
  GANTRY_ASSIGN_OR_RETURN(comment, StoreComment(deps, scope, comment, CommitIndexPrefix(comment), input, existing));
  if (!existing) PublishCommentEvent(deps, comment, repository.doc, "commentOnCommitCreated", ctx.principal.arn);
  Document out = ContextShape(comment);
  out["comment"] = CommentShape(comment);
  return out;
}

StatusOr<Document> GetCommentsForComparedCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                const Document& input) {
  const std::string scope = ctx.Scope();
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository.doc));
  if (input.contains("beforeCommitId")) {
    GANTRY_RETURN_IF_ERROR(RequireCommit(repo.get(), Str(input, "beforeCommitId"), "beforeCommitId").status());
  }
  GANTRY_RETURN_IF_ERROR(RequireCommit(repo.get(), Str(input, "afterCommitId"), "afterCommitId").status());
  Document key = {{"repositoryId", repository.doc.value("repositoryId", "")},
                  {"beforeCommitId", Str(input, "beforeCommitId")},
                  {"afterCommitId", Str(input, "afterCommitId")}};
  GANTRY_ASSIGN_OR_RETURN(Document listed,
                          ListGrouped(deps, scope, CommitIndexPrefix(key), input, [](const Document&) { return true; }));
  Document out = {{"commentsForComparedCommitData", listed["groups"]}};
  if (listed.contains("nextToken")) out["nextToken"] = listed["nextToken"];
  return out;
}

// --- Single comments ----------------------------------------------------------------------------

// The comment, once the caller is authorized on its repository (AuthorizeOnRepository).
StatusOr<store::Record> RequireComment(const CodeCommitDeps& deps, const aws::RequestContext& ctx, const std::string& id) {
  if (id.empty()) {
    return Status::InvalidArgument("The comment ID is missing or null. A comment ID is required.",
                                   "CommentIdRequiredException");
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> comment, deps.store->Get(kCommentTable, ctx.Scope(), id));
  if (!comment) {
    return Status::NotFound("No comment exists with the ID " + id + ". Verify that you have used the correct ID, and "
                            "then try again.",
                            "CommentDoesNotExistException");
  }
  GANTRY_RETURN_IF_ERROR(AuthorizeOnRepository(*deps.store, ctx, comment->doc));
  return std::move(*comment);
}

Status CommentDeleted(const std::string& id) {
  return Status::FailedPrecondition("Comment " + id + " has already been deleted. You cannot edit or delete a deleted "
                                    "comment.",
                                    "CommentDeletedException");
}

StatusOr<Document> GetComment(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record comment, RequireComment(deps, ctx, Str(input, "commentId")));
  if (comment.doc.value("deleted", false)) return CommentDeleted(comment.key);
  return Document{{"comment", CommentShape(comment.doc)}};
}

// Changes a comment in a transaction that re-reads it; refuses deleted comments.
StatusOr<Document> ChangeComment(const CodeCommitDeps& deps, const std::string& scope, const std::string& id,
                                 const std::function<Status(Document&)>& change) {
  Document out;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kCommentTable, scope, id));
    if (!current) return Status::NotFound("No comment exists with the ID " + id + ".", "CommentDoesNotExistException");
    if (current->doc.value("deleted", false)) return CommentDeleted(id);
    Document comment = current->doc;
    GANTRY_RETURN_IF_ERROR(change(comment));
    comment["lastModifiedDate"] = ToEpochSeconds(deps.clock->Now());
    GANTRY_RETURN_IF_ERROR(tx.Update(kCommentTable, scope, id, comment, current->version).status());
    out = std::move(comment);
    return Status::Ok();
  }));
  return out;
}

void PublishUpdated(const CodeCommitDeps& deps, const std::string& scope, const Document& comment, std::string_view caller) {
  StatusOr<std::optional<store::Record>> repository =
      deps.store->Get(kRepositoryTable, scope, comment.value("repositoryName", ""));
  if (!repository.ok() || !*repository) return;
  PublishCommentEvent(deps, comment, (*repository)->doc,
                      comment.contains("pullRequestId") ? "commentOnPullRequestUpdated" : "commentOnCommitUpdated", caller);
}

StatusOr<Document> UpdateComment(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string content = Str(input, "content");
  GANTRY_RETURN_IF_ERROR(ValidateContent(content));
  GANTRY_ASSIGN_OR_RETURN(store::Record existing, RequireComment(deps, ctx, Str(input, "commentId")));
  GANTRY_ASSIGN_OR_RETURN(Document comment, ChangeComment(deps, ctx.Scope(), existing.key, [&](Document& c) {
    if (c.value("authorArn", "") != ctx.principal.arn) {
      return Status::PermissionDenied("You cannot modify comment " + existing.key +
                                          ". Only comment authors can modify or delete their comments.",
                                      "CommentNotCreatedByCallerException");
    }
    c["content"] = content;
    return Status::Ok();
  }));
  PublishUpdated(deps, ctx.Scope(), comment, ctx.principal.arn);
  return Document{{"comment", CommentShape(comment)}};
}

StatusOr<Document> DeleteCommentContent(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(store::Record existing, RequireComment(deps, ctx, Str(input, "commentId")));
  GANTRY_ASSIGN_OR_RETURN(Document comment, ChangeComment(deps, ctx.Scope(), existing.key, [&](Document& c) {
    c["content"] = "";
    c["deleted"] = true;
    return Status::Ok();
  }));
  return Document{{"comment", CommentShape(comment)}};
}

StatusOr<Document> PostCommentReply(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const std::string scope = ctx.Scope();
  const std::string content = Str(input, "content");
  GANTRY_RETURN_IF_ERROR(ValidateContent(content));
  GANTRY_ASSIGN_OR_RETURN(store::Record parent, RequireComment(deps, ctx, Str(input, "inReplyTo")));
  const double now = ToEpochSeconds(deps.clock->Now());
  Document reply = ContextShape(parent.doc);
  reply["repositoryId"] = parent.doc.value("repositoryId", "");
  reply["commentId"] = deps.ids->Uuid();
  reply["content"] = content;
  reply["inReplyTo"] = parent.key;
  reply["creationDate"] = now;
  reply["lastModifiedDate"] = now;
  reply["authorArn"] = ctx.principal.arn;
  reply["deleted"] = false;
  std::string prefix = CommitIndexPrefix(reply);
  if (reply.contains("pullRequestId")) {
    GANTRY_ASSIGN_OR_RETURN(prefix, PullRequestIndexPrefix(reply.value("pullRequestId", "")));
  }
  bool existing = false;
  GANTRY_ASSIGN_OR_RETURN(reply, StoreComment(deps, scope, reply, prefix, input, existing));
  if (!existing) PublishUpdated(deps, scope, reply, ctx.principal.arn);
  return Document{{"comment", CommentShape(reply)}};
}

}  // namespace

void RegisterCommentHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "PostCommentForPullRequest", PostCommentForPullRequest);
  AddHandler(table, deps, "GetCommentsForPullRequest", GetCommentsForPullRequest);
  AddHandler(table, deps, "PostCommentForComparedCommit", PostCommentForComparedCommit);
  AddHandler(table, deps, "GetCommentsForComparedCommit", GetCommentsForComparedCommit);
  AddHandler(table, deps, "GetComment", GetComment);
  AddHandler(table, deps, "UpdateComment", UpdateComment);
  AddHandler(table, deps, "DeleteCommentContent", DeleteCommentContent);
  AddHandler(table, deps, "PostCommentReply", PostCommentReply);
}

}  // namespace gantry::services::codecommit
