// Merges: conflict detection (GetMergeConflicts, DescribeMergeConflicts, BatchDescribeMergeConflicts,
// GetMergeOptions, GetMergeCommit), merging branches (MergeBranchesBy*, CreateUnreferencedMergeCommit)
// and merging pull requests (MergePullRequestBy*). The git work is merge.h's. A merge that moves a
// branch reads the branch's tip once, before the merge is computed, moves the branch only forward
// (the merge must contain that tip) and with a compare-and-swap expecting exactly that tip, so a
// push or merge in between makes it fail (ConcurrentReferenceUpdateException) rather than be
// overwritten; then it publishes the ref change like a push (PublishReferenceChanges).
#include <algorithm>
#include <charconv>

#include "core/common/strings.h"
#include "services/codecommit/commits.h"
#include "services/codecommit/merge.h"
#include "services/codecommit/pull_requests.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kMaxCommitMessage = 256 * 1024;

struct Resolved {
  store::Record repository;
  git::Repository repo;
  git_oid source{};
  git_oid destination{};
};

StatusOr<Resolved> ResolveSpecifiers(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  Resolved r;
  GANTRY_ASSIGN_OR_RETURN(r.repository, RequireRepository(*deps.store, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(r.repo, OpenRepository(deps, r.repository.doc));
  GANTRY_ASSIGN_OR_RETURN(git::Commit source, ResolveCommit(r.repo.get(), Str(input, "sourceCommitSpecifier")));
  GANTRY_ASSIGN_OR_RETURN(git::Commit destination, ResolveCommit(r.repo.get(), Str(input, "destinationCommitSpecifier")));
  r.source = *git_commit_id(source.get());
  r.destination = *git_commit_id(destination.get());
  return r;
}

StatusOr<MergeAnalysis> Analyze(Resolved& r, const Document& input) {
  return AnalyzeMerge(r.repo.get(), r.source, r.destination, ParseConflictDetailLevel(Str(input, "conflictDetailLevel")),
                      ParseConflictResolutionStrategy(Str(input, "conflictResolutionStrategy")));
}

Document Sides(const FileConflict& c, const std::function<Document(const PathVersion&)>& value) {
  Document out = Document::object();
  for (auto [name, v] : {std::pair{"source", &c.source}, std::pair{"destination", &c.destination},
                         std::pair{"base", &c.base}}) {
    if (!v->exists) continue;
    Document item = value(*v);
    if (!item.is_null()) out[name] = item;
  }
  return out;
}

Document ConflictMetadata(const FileConflict& c) {
  Document operations = Document::object();
  if (!c.source_operation.empty()) operations["source"] = c.source_operation;
  if (!c.destination_operation.empty()) operations["destination"] = c.destination_operation;
  return {{"filePath", c.path},
          {"fileSizes", Sides(c, [](const PathVersion& v) { return Document(v.size); })},
          {"fileModes", Sides(c, [](const PathVersion& v) {
             return v.file_mode.empty() ? Document() : Document(v.file_mode);
           })},
          {"objectTypes", Sides(c, [](const PathVersion& v) { return Document(v.object_type); })},
          {"isBinaryFile", Sides(c, [](const PathVersion& v) { return Document(v.binary); })},
          {"numberOfConflicts", c.number_of_conflicts},
          {"contentConflict", c.content_conflict},
          {"fileModeConflict", c.file_mode_conflict},
          {"objectTypeConflict", c.object_type_conflict},
          {"mergeOperations", operations}};
}

Document HunkShape(const MergeHunk& h) {
  auto side = [](const HunkSide& s) {
    return Document{{"startLine", s.start_line}, {"endLine", s.end_line}, {"hunkContent", s.content}};
  };
  return {{"isConflict", h.conflict},
          {"source", side(h.source)},
          {"destination", side(h.destination)},
          {"base", side(h.base)}};
}

void AddCommitIds(Document& out, const MergeAnalysis& a) {
  out["sourceCommitId"] = git::OidHex(a.source);
  out["destinationCommitId"] = git::OidHex(a.destination);
  if (a.base) out["baseCommitId"] = git::OidHex(*a.base);
}

// What AWS adds to a merge's referenceUpdated and unreferencedMergeCommitCreated events.
Document MergeEventDetail(const MergeAnalysis& a, MergeOption option, const Document& input) {
  Document detail = {{"sourceCommitId", git::OidHex(a.source)},
                     {"destinationCommitId", git::OidHex(a.destination)},
                     {"mergeOption", MergeOptionName(option)},
                     {"conflictDetailsLevel", input.value("conflictDetailLevel", "FILE_LEVEL")},
                     {"conflictResolutionStrategy", input.value("conflictResolutionStrategy", "NONE")}};
  if (a.base) detail["baseCommitId"] = git::OidHex(*a.base);
  return detail;
}

StatusOr<int> PositiveLimit(const Document& input, const char* member, int default_value, const char* code) {
  if (!input.contains(member)) return default_value;
  int64_t n = input[member].get<int64_t>();
  if (n < 1) {
    return Status::InvalidArgument("The specified value " + std::to_string(n) + " of " + member + " is not valid.",
                                   code);
  }
  return static_cast<int>(std::min<int64_t>(n, 1000));
}

ConflictResolution ParseResolution(const Document& input) {
  ConflictResolution out;
  if (!input.contains("conflictResolution")) return out;
  const Document& r = input["conflictResolution"];
  for (const Document& entry : r.value("replaceContents", Document::array())) {
    ReplaceContent replace;
    replace.path = entry.value("filePath", "");
    replace.replacement_type = entry.value("replacementType", "");
    replace.file_mode = entry.value("fileMode", "");
    if (entry.contains("content")) {
      const auto& bytes = entry["content"].get_binary();
      replace.content = std::string(bytes.begin(), bytes.end());
    }
    out.replace_contents.push_back(std::move(replace));
  }
  for (const Document& entry : r.value("deleteFiles", Document::array())) out.delete_files.push_back(entry.value("filePath", ""));
  for (const Document& entry : r.value("setFileModes", Document::array())) {
    out.set_file_modes.emplace_back(entry.value("filePath", ""), entry.value("fileMode", ""));
  }
  return out;
}

// Who and what a merge commit says: the request's authorName, email and commitMessage, else the
// caller as PutFile and CreateCommit name it (the last part of the ARN, and the ARN as email).
StatusOr<CommitInfo> CommitInfoFrom(const CodeCommitDeps& deps, const aws::RequestContext& ctx, const Document& input,
                                    std::string default_message) {
  GANTRY_ASSIGN_OR_RETURN(CommitAuthor author,
                          ResolveCommitAuthor(Str(input, "authorName"), Str(input, "email"), ctx.principal.arn));
  CommitInfo info;
  info.author_name = std::move(author.name);
  info.email = std::move(author.email);
  info.message = input.contains("commitMessage") ? Str(input, "commitMessage") : std::move(default_message);
  info.keep_empty_folders = input.value("keepEmptyFolders", false);
  info.time = deps.clock->Now();
  if (info.message.size() > kMaxCommitMessage) {
    return Status::InvalidArgument("The commit message is too long: " + std::to_string(info.message.size()) +
                                       " bytes, at most " + std::to_string(kMaxCommitMessage) + ".",
                                   "CommitMessageLengthExceededException");
  }
  return info;
}

// Moves branch (a full ref) from expected to target; ConcurrentReferenceUpdateException when it
// moved meanwhile or is being moved (a push holds its lock).
Status MoveBranch(git_repository* repo, const std::string& branch, const git_oid& target, const git_oid& expected) {
  git_reference* raw = nullptr;
  int rc = git_reference_create_matching(&raw, repo, branch.c_str(), &target, 1, &expected, "merge");
  if (rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
    return Status::Conflict("The merge cannot be completed because the branch " + branch +
                                " has been modified. Another user might have modified it while the merge was in "
                                "progress. Wait a few minutes, and then try again.",
                            "ConcurrentReferenceUpdateException");
  }
  if (rc < 0) return git::Error(rc, "updating " + branch);
  git_reference_free(raw);
  return Status::Ok();
}

// The branch a MergeBranchesBy* call moves and its tip when the merge began: targetBranch, else the
// destination when it names a branch, else none (empty name).
struct TargetBranchTip {
  std::string branch;  // a full ref
  git_oid tip{};
};

StatusOr<TargetBranchTip> TargetBranch(git_repository* repo, const Document& input) {
  if (input.contains("targetBranch")) {
    const std::string name = Str(input, "targetBranch");
    if (name.empty()) return Status::InvalidArgument("A branch name is required, but was not specified.", "BranchNameRequiredException");
    std::string full = "refs/heads/" + name;
    int valid = 0;
    if (git_reference_name_is_valid(&valid, full.c_str()) < 0 || !valid) {
      return Status::InvalidArgument("The target branch name " + name + " is not a valid branch name.",
                                     "InvalidTargetBranchException");
    }
    GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> tip, ReferenceTip(repo, full));
    if (!tip) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> tag, ReferenceTip(repo, "refs/tags/" + name));
      if (tag) {
        return Status::InvalidArgument("The target branch " + name + " is a tag name, not a branch.",
                                       "BranchNameIsTagNameException");
      }
      return Status::NotFound("The target branch " + name + " does not exist.", "BranchDoesNotExistException");
    }
    return TargetBranchTip{full, *tip};
  }
  const std::string destination = Str(input, "destinationCommitSpecifier");
  std::string full = destination.rfind("refs/heads/", 0) == 0 ? destination : "refs/heads/" + destination;
  int valid = 0;
  if (git_reference_name_is_valid(&valid, full.c_str()) < 0 || !valid) return TargetBranchTip{};  // e.g. main~1
  GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> tip, ReferenceTip(repo, full));
  if (!tip) return TargetBranchTip{};
  return TargetBranchTip{full, *tip};
}

// --- Conflict detection -------------------------------------------------------------------------

StatusOr<Document> GetMergeConflicts(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(int max, PositiveLimit(input, "maxConflictFiles", 100, "InvalidMaxConflictFilesException"));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  Document list = Document::array();
  std::string last;
  bool more = false;
  for (const FileConflict& c : a.conflicts) {
    if (!after.empty() && c.path <= after) continue;
    if (static_cast<int>(list.size()) == max) {
      more = true;
      break;
    }
    list.push_back(ConflictMetadata(c));
    last = c.path;
  }
  Document out = {{"mergeable", Mergeable(a, ParseMergeOption(Str(input, "mergeOption")))},
                  {"conflictMetadataList", list}};
  AddCommitIds(out, a);
  if (more) out["nextToken"] = TokenAfter(last);
  return out;
}

StatusOr<Document> DescribeMergeConflicts(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  if (ParseMergeOption(Str(input, "mergeOption")) == MergeOption::kFastForward) {
    return Status::InvalidArgument("DescribeMergeConflicts describes squash and three-way merges; a fast-forward "
                                   "merge has no conflicts to describe.",
                                   "InvalidMergeOptionException");
  }
  const std::string path = Str(input, "filePath");
  if (path.empty()) return Status::InvalidArgument("A file path is required, but was not specified.", "PathRequiredException");
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(int max, PositiveLimit(input, "maxMergeHunks", 1000, "InvalidMaxMergeHunksException"));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  int skip = 0;
  if (!after.empty()) {
    const char* end = after.data() + after.size();
    auto [stop, error] = std::from_chars(after.data(), end, skip);
    if (error != std::errc() || stop != end || skip <= 0) {
      return Status::InvalidArgument("The specified continuation token is not valid.", "InvalidContinuationTokenException");
    }
  }
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  GANTRY_ASSIGN_OR_RETURN(FileConflict c, DescribePath(r.repo.get(), a, path));
  GANTRY_ASSIGN_OR_RETURN(std::vector<MergeHunk> hunks, ConflictHunks(r.repo.get(), c));
  Document list = Document::array();
  for (size_t i = static_cast<size_t>(skip); i < hunks.size() && static_cast<int>(list.size()) < max; ++i) {
    list.push_back(HunkShape(hunks[i]));
  }
  Document out = {{"conflictMetadata", ConflictMetadata(c)}, {"mergeHunks", list}};
  AddCommitIds(out, a);
  size_t shown = static_cast<size_t>(skip) + list.size();
  if (shown < hunks.size()) out["nextToken"] = TokenAfter(std::to_string(shown));
  return out;
}

StatusOr<Document> BatchDescribeMergeConflicts(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                               const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(int max_files, PositiveLimit(input, "maxConflictFiles", 100, "InvalidMaxConflictFilesException"));
  GANTRY_ASSIGN_OR_RETURN(int max_hunks, PositiveLimit(input, "maxMergeHunks", 1000, "InvalidMaxMergeHunksException"));
  GANTRY_ASSIGN_OR_RETURN(std::string after, StartAfter(input));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  std::set<std::string> wanted;
  for (const Document& p : input.value("filePaths", Document::array())) wanted.insert(p.get<std::string>());
  Document conflicts = Document::array();
  std::string last;
  bool more = false;
  for (const FileConflict& c : a.conflicts) {
    if ((!wanted.empty() && !wanted.contains(c.path)) || (!after.empty() && c.path <= after)) continue;
    if (static_cast<int>(conflicts.size()) == max_files) {
      more = true;
      break;
    }
    GANTRY_ASSIGN_OR_RETURN(std::vector<MergeHunk> hunks, ConflictHunks(r.repo.get(), c));
    Document list = Document::array();
    for (const MergeHunk& h : hunks) {
      if (static_cast<int>(list.size()) == max_hunks) break;
      list.push_back(HunkShape(h));
    }
    conflicts.push_back({{"conflictMetadata", ConflictMetadata(c)}, {"mergeHunks", list}});
    last = c.path;
  }
  Document out = {{"conflicts", conflicts}, {"errors", Document::array()}};
  AddCommitIds(out, a);
  if (more) out["nextToken"] = TokenAfter(last);
  return out;
}

StatusOr<Document> GetMergeOptions(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  Document options = Document::array();
  for (MergeOption option : {MergeOption::kFastForward, MergeOption::kSquash, MergeOption::kThreeWay}) {
    if (Mergeable(a, option)) options.push_back(MergeOptionName(option));
  }
  Document out = {{"mergeOptions", options}};
  AddCommitIds(out, a);
  if (!out.contains("baseCommitId")) out["baseCommitId"] = "";
  return out;
}

// The commit in the destination's history that merged the source in (a commit with the source as
// one of several parents), nearest to the destination's tip; nullopt when there is none (not
// merged, or merged by fast-forward).
StatusOr<std::optional<git_oid>> FindMergeCommit(git_repository* repo, const git_oid& source, const git_oid& destination) {
  git_revwalk* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_revwalk_new(&raw, repo), "walking history"));
  git::Revwalk walk(raw);
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL);
  GANTRY_RETURN_IF_ERROR(git::Check(git_revwalk_push(walk.get(), &destination), "walking history"));
  git_revwalk_hide(walk.get(), &source);
  git_oid oid;
  while (git_revwalk_next(&oid, walk.get()) == 0) {
    git_commit* raw_commit = nullptr;
    if (git_commit_lookup(&raw_commit, repo, &oid) != 0) continue;
    git::Commit commit(raw_commit);
    unsigned int parents = git_commit_parentcount(commit.get());
    for (unsigned int i = 1; i < parents; ++i) {
      if (git_oid_equal(git_commit_parent_id(commit.get(), i), &source)) return std::optional<git_oid>(oid);
    }
  }
  return std::optional<git_oid>();
}

StatusOr<Document> GetMergeCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  Document out = {{"sourceCommitId", git::OidHex(r.source)}, {"destinationCommitId", git::OidHex(r.destination)}};
  GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> base, MergeBaseOf(r.repo.get(), r.destination, r.source));
  if (base) out["baseCommitId"] = git::OidHex(*base);
  GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> merged, FindMergeCommit(r.repo.get(), r.source, r.destination));
  if (merged) out["mergedCommitId"] = git::OidHex(*merged);
  return out;
}

// --- Merging branches ---------------------------------------------------------------------------

StatusOr<Document> MergeBranches(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input,
                                 MergeOption option) {
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  GANTRY_ASSIGN_OR_RETURN(TargetBranchTip target, TargetBranch(r.repo.get(), input));
  const ConflictResolution resolution = ParseResolution(input);
  GANTRY_ASSIGN_OR_RETURN(CommitInfo info, CommitInfoFrom(deps, ctx, input,
                                                          "Merge " + Str(input, "sourceCommitSpecifier") + " into " +
                                                              Str(input, "destinationCommitSpecifier")));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  GANTRY_ASSIGN_OR_RETURN(MergeOutcome outcome, Merge(r.repo.get(), a, option, resolution, info));
  if (!target.branch.empty() && !git_oid_equal(&target.tip, &outcome.commit)) {
    // The branch only moves forward: commits on it that the merge does not contain (pushed after
    // the destination was read, or a targetBranch the destination is not on) are never dropped.
    int contains = git_graph_descendant_of(r.repo.get(), &outcome.commit, &target.tip);
    if (contains < 0) return git::Error(contains, "walking history");
    if (contains == 0) {
      return Status::Conflict("The merge cannot be completed because the branch " + target.branch + " is at " +
                                  git::OidHex(target.tip) + ", which the merge of " +
                                  Str(input, "sourceCommitSpecifier") + " into " +
                                  Str(input, "destinationCommitSpecifier") + " (" + git::OidHex(a.destination) +
                                  ") does not contain. Another user might have modified the branch; merge into a "
                                  "destination that contains its tip, and then try again.",
                              "ConcurrentReferenceUpdateException");
    }
    GANTRY_RETURN_IF_ERROR(MoveBranch(r.repo.get(), target.branch, outcome.commit, target.tip));
    PublishReferenceChanges(
        deps, r.repository.doc,
        {{target.branch, git::OidHex(outcome.commit), git::OidHex(target.tip), MergeEventDetail(a, option, input)}},
        ctx.principal.arn);
  }
  return Document{{"commitId", git::OidHex(outcome.commit)}, {"treeId", git::OidHex(outcome.tree)}};
}

StatusOr<Document> MergeBranchesByFastForward(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return MergeBranches(deps, ctx, input, MergeOption::kFastForward);
}
StatusOr<Document> MergeBranchesBySquash(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return MergeBranches(deps, ctx, input, MergeOption::kSquash);
}
StatusOr<Document> MergeBranchesByThreeWay(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return MergeBranches(deps, ctx, input, MergeOption::kThreeWay);
}

StatusOr<Document> CreateUnreferencedMergeCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  MergeOption option = ParseMergeOption(Str(input, "mergeOption"));
  if (option == MergeOption::kFastForward) {
    return Status::InvalidArgument("CreateUnreferencedMergeCommit cannot be used with the fast-forward merge strategy "
                                   "because that strategy does not create a merge commit.",
                                   "InvalidMergeOptionException");
  }
  GANTRY_ASSIGN_OR_RETURN(Resolved r, ResolveSpecifiers(deps, ctx, input));
  const ConflictResolution resolution = ParseResolution(input);
  GANTRY_ASSIGN_OR_RETURN(CommitInfo info, CommitInfoFrom(deps, ctx, input,
                                                          "Merge " + Str(input, "sourceCommitSpecifier") + " into " +
                                                              Str(input, "destinationCommitSpecifier")));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a, Analyze(r, input));
  GANTRY_ASSIGN_OR_RETURN(MergeOutcome outcome, Merge(r.repo.get(), a, option, resolution, info));
  if (outcome.created) {
    const Document& repository = r.repository.doc;
    Document detail = MergeEventDetail(a, option, input);
    detail["event"] = "unreferencedMergeCommitCreated";
    detail["repositoryName"] = r.repository.key;
    detail["repositoryId"] = repository.value("repositoryId", "");
    detail["callerUserArn"] = ctx.principal.arn;
    detail["commitId"] = git::OidHex(outcome.commit);
    Status emitted = EmitEvent(deps, repository.value("accountId", ""), repository.value("region", ""),
                               kRepositoryStateChange, {repository.value("arn", "")}, detail);
    if (!emitted.ok()) return emitted;
  }
  return Document{{"commitId", git::OidHex(outcome.commit)}, {"treeId", git::OidHex(outcome.tree)}};
}

// --- Merging pull requests ----------------------------------------------------------------------

StatusOr<Document> MergePullRequest(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input,
                                    MergeOption option) {
  const std::string scope = ctx.Scope();
  const std::string caller = ctx.principal.arn;
  GANTRY_ASSIGN_OR_RETURN(store::Record record, RequirePullRequest(*deps.store, scope, Str(input, "pullRequestId")));
  GANTRY_ASSIGN_OR_RETURN(store::Record repository, RequireRepository(*deps.store, scope, Str(input, "repositoryName")));
  // The caller is authorized on repositoryName (IAM), so the pull request must be that repository's.
  const std::string id = record.doc.value("pullRequestId", "");
  if (record.doc.value("repositoryId", "") != repository.doc.value("repositoryId", "")) {
    return Status::InvalidArgument("The repository " + repository.key + " does not contain pull request " + id +
                                       ". Use GetPullRequest to verify the correct repository name for the pull "
                                       "request ID.",
                                   "RepositoryNotAssociatedWithPullRequestException");
  }
  GANTRY_ASSIGN_OR_RETURN(record, RefreshPullRequest(deps, scope, record, caller));
  const Document& pr = record.doc;
  if (pr.value("pullRequestStatus", "") != "OPEN") {
    return Status::FailedPrecondition("Pull request " + id + " is already closed.", "PullRequestAlreadyClosedException");
  }
  if (input.contains("sourceCommitId")) {
    const std::string expected = Str(input, "sourceCommitId");
    git_oid parsed;
    if (!git::ParseOid(expected, parsed)) {
      return Status::InvalidArgument("The source commit ID " + expected + " is not a full commit ID.",
                                     "InvalidCommitIdException");
    }
    if (expected != pr.value("sourceCommit", "")) {
      return Status::FailedPrecondition("The tip of the source branch " + pr.value("sourceReference", "") + " is " +
                                            pr.value("sourceCommit", "") + ", not " + expected +
                                            ". The pull request might have been updated. Make sure that you have the "
                                            "latest changes.",
                                        "TipOfSourceReferenceIsDifferentException");
    }
  }
  Evaluation evaluation = EvaluateApprovalRules(pr, pr.value("revisionId", ""));
  if (!evaluation.approved && !evaluation.overridden) {
    return Status::FailedPrecondition("Pull request " + id +
                                          " cannot be merged because these approval rules have conditions that have "
                                          "not been met: " + Join(evaluation.not_satisfied, ", ") + ".",
                                      "PullRequestApprovalRulesNotSatisfiedException");
  }
  GANTRY_ASSIGN_OR_RETURN(git::Repository repo, OpenRepository(deps, repository.doc));
  git_oid source, destination;
  git::ParseOid(pr.value("sourceCommit", ""), source);
  git::ParseOid(pr.value("destinationCommit", ""), destination);
  const ConflictResolution resolution = ParseResolution(input);
  GANTRY_ASSIGN_OR_RETURN(CommitInfo info,
                          CommitInfoFrom(deps, ctx, input, "Merge pull request " + id + ": " + pr.value("title", "")));
  GANTRY_ASSIGN_OR_RETURN(MergeAnalysis a,
                          AnalyzeMerge(repo.get(), source, destination,
                                       ParseConflictDetailLevel(Str(input, "conflictDetailLevel")),
                                       ParseConflictResolutionStrategy(Str(input, "conflictResolutionStrategy"))));
  GANTRY_ASSIGN_OR_RETURN(MergeOutcome outcome, Merge(repo.get(), a, option, resolution, info));
  const std::string destination_ref = pr.value("destinationReference", "");
  bool moved = !git_oid_equal(&outcome.commit, &destination);
  if (moved) GANTRY_RETURN_IF_ERROR(MoveBranch(repo.get(), destination_ref, outcome.commit, destination));

  // The branch has moved: the pull request is merged whatever happened to its record meanwhile.
  const double now = ToEpochSeconds(deps.clock->Now());
  Document merged;
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> current, tx.Get(kPullRequestTable, scope, record.key));
    if (!current) return Status::Ok();
    merged = current->doc;
    merged["pullRequestStatus"] = "CLOSED";
    merged["lastActivityDate"] = now;
    merged["mergeMetadata"] = {{"isMerged", true},
                               {"mergedBy", caller},
                               {"mergeCommitId", git::OidHex(outcome.commit)},
                               {"mergeOption", MergeOptionName(option)}};
    GANTRY_RETURN_IF_ERROR(tx.Update(kPullRequestTable, scope, record.key, merged, current->version).status());
    GANTRY_RETURN_IF_ERROR(RecordPullRequestEvent(
        tx, scope, merged, "PULL_REQUEST_MERGE_STATE_CHANGED", caller,
        {{"pullRequestMergedStateChangedEventMetadata",
          {{"repositoryName", repository.key},
           {"destinationReference", destination_ref},
           {"mergeMetadata", merged["mergeMetadata"]}}}},
        now));
    return RecordPullRequestEvent(tx, scope, merged, "PULL_REQUEST_STATUS_CHANGED", caller,
                                  {{"pullRequestStatusChangedEventMetadata", {{"pullRequestStatus", "CLOSED"}}}}, now);
  }));
  if (moved) {
    PublishReferenceChanges(deps, repository.doc,
                            {{destination_ref, git::OidHex(outcome.commit), git::OidHex(destination),
                              MergeEventDetail(a, option, input)}},
                            caller);
  }
  if (merged.is_null()) return Document::object();
  PublishPullRequestEvent(deps, merged, "pullRequestMergeStatusUpdated", caller,
                          "Event: Updated. Pull request: " + id +
                              ". The pull request merge status has been updated. The status is merged.",
                          {{"mergeOption", MergeOptionName(option)}});
  return Document{{"pullRequest", PullRequestShape(merged)}};
}

StatusOr<Document> MergePullRequestByFastForward(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                                 const Document& input) {
  return MergePullRequest(deps, ctx, input, MergeOption::kFastForward);
}
StatusOr<Document> MergePullRequestBySquash(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  return MergePullRequest(deps, ctx, input, MergeOption::kSquash);
}
StatusOr<Document> MergePullRequestByThreeWay(const CodeCommitDeps& deps, aws::RequestContext& ctx,
                                              const Document& input) {
  return MergePullRequest(deps, ctx, input, MergeOption::kThreeWay);
}

}  // namespace

void RegisterMergeHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "GetMergeConflicts", GetMergeConflicts);
  AddHandler(table, deps, "DescribeMergeConflicts", DescribeMergeConflicts);
  AddHandler(table, deps, "BatchDescribeMergeConflicts", BatchDescribeMergeConflicts);
  AddHandler(table, deps, "GetMergeOptions", GetMergeOptions);
  AddHandler(table, deps, "GetMergeCommit", GetMergeCommit);
  AddHandler(table, deps, "MergeBranchesByFastForward", MergeBranchesByFastForward);
  AddHandler(table, deps, "MergeBranchesBySquash", MergeBranchesBySquash);
  AddHandler(table, deps, "MergeBranchesByThreeWay", MergeBranchesByThreeWay);
  AddHandler(table, deps, "CreateUnreferencedMergeCommit", CreateUnreferencedMergeCommit);
  AddHandler(table, deps, "MergePullRequestByFastForward", MergePullRequestByFastForward);
  AddHandler(table, deps, "MergePullRequestBySquash", MergePullRequestBySquash);
  AddHandler(table, deps, "MergePullRequestByThreeWay", MergePullRequestByThreeWay);
}

}  // namespace gantry::services::codecommit
