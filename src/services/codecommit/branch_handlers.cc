// Branches, commits and differences, read from and written to the repository's git data with
// libgit2. Branch changes publish their ref events like pushes do.
#include <algorithm>

#include "core/common/strings.h"
#include "services/codecommit/commits.h"
#include "services/codecommit/handler_support.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kBranchesPage = 100;
constexpr size_t kMaxBatchCommits = 100;
constexpr int64_t kDefaultDifferences = 100;

// The commit a branch points at, or BranchDoesNotExistException.
StatusOr<git_oid> BranchTarget(git_repository* repo, const std::string& branch) {
  git_reference* ref = nullptr;
  int rc = git_reference_lookup(&ref, repo, ("refs/heads/" + branch).c_str());
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("The branch " + branch + " does not exist in the repository.",
                            "BranchDoesNotExistException");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "reading branch " + branch));
  git::Reference owned(ref);
  git_reference* resolved = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_reference_resolve(&resolved, ref), "reading branch " + branch));
  git_oid target = *git_reference_target(resolved);
  git_reference_free(resolved);
  return target;
}

// A full commit id (40 hex digits) of a request: CommitIdRequiredException / InvalidCommitIdException.
StatusOr<git_oid> CommitIdOf(std::string_view id) {
  if (id.empty())
    return Status::InvalidArgument("A commit ID is required, but was not specified.", "CommitIdRequiredException");
  git_oid oid;
  if (!git::ParseOid(id, oid)) {
    return Status::InvalidArgument("The commit ID " + std::string(id) + " is not a full commit ID.",
                                   "InvalidCommitIdException");
  }
  return oid;
}

StatusOr<Document> CreateBranch(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  std::string branch = Str(input, "branchName");
  GANTRY_RETURN_IF_ERROR(ValidateBranchName(branch));
  GANTRY_ASSIGN_OR_RETURN(git_oid commit_id, CommitIdOf(Str(input, "commitId")));
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo.git.get(), &commit_id) != 0) {
    return Status::NotFound("The commit " + Str(input, "commitId") + " does not exist in the repository.",
                            "CommitDoesNotExistException");
  }
  git_commit_free(commit);
  git_reference* ref = nullptr;
  int rc = git_reference_create(&ref, repo.git.get(), ("refs/heads/" + branch).c_str(), &commit_id, 0, "CreateBranch");
  if (rc == GIT_EEXISTS) {
    return Status::AlreadyExists("The branch " + branch + " already exists in the repository.",
                                 "BranchNameExistsException");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "creating branch " + branch));
  git_reference_free(ref);
  PublishReferenceChanges(deps, repo.record.doc, {{"refs/heads/" + branch, git::OidHex(commit_id), ""}},
                          ctx.principal.arn);
  return Document::object();
}

StatusOr<Document> GetBranch(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  std::string branch = Str(input, "branchName");
  GANTRY_RETURN_IF_ERROR(ValidateBranchName(branch));
  GANTRY_ASSIGN_OR_RETURN(git_oid target, BranchTarget(repo.git.get(), branch));
  return Document{{"branch", {{"branchName", branch}, {"commitId", git::OidHex(target)}}}};
}

StatusOr<Document> ListBranches(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  std::string after;
  if (input.contains("nextToken")) {
    std::optional<std::string> decoded = Base64Decode(Str(input, "nextToken"));
    if (!decoded || decoded->rfind("b:", 0) != 0) {
      return Status::InvalidArgument("The nextToken is not valid.", "InvalidContinuationTokenException");
    }
    after = decoded->substr(2);
  }
  git_reference_iterator* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(
      git::Check(git_reference_iterator_glob_new(&raw, repo.git.get(), "refs/heads/*"), "listing branches"));
  git::ReferenceIterator iterator(raw);
  std::vector<std::string> names;
  const char* name = nullptr;
  while (git_reference_next_name(&name, iterator.get()) == 0) names.emplace_back(name + 11);
  std::sort(names.begin(), names.end());
  Document branches = Document::array();
  auto it = std::upper_bound(names.begin(), names.end(), after);
  if (after.empty()) it = names.begin();
  for (; it != names.end() && branches.size() < kBranchesPage; ++it) branches.push_back(*it);
  Document out = {{"branches", branches}};
  if (it != names.end()) out["nextToken"] = Base64Encode("b:" + branches.back().get<std::string>());
  return out;
}

StatusOr<Document> DeleteBranch(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  std::string branch = Str(input, "branchName");
  GANTRY_RETURN_IF_ERROR(ValidateBranchName(branch));
  if (repo.record.doc.value("defaultBranch", "") == branch) {
    return Status::FailedPrecondition("The branch " + branch +
                                          " is the default branch of the repository and cannot be deleted. Make "
                                          "another branch the default first.",
                                      "DefaultBranchCannotBeDeletedException");
  }
  // AWS answers a branch that does not exist with an empty result.
  auto missing = [](const StatusOr<git_oid>& target) {
    return !target.ok() && target.status().aws_code() == "BranchDoesNotExistException";
  };
  if (StatusOr<git_oid> exists = BranchTarget(repo.git.get(), branch); missing(exists)) return Document::object();
  // The tip is read under the ref's lock (git's own, which pushes take too), so the commit deleted
  // is the one reported and published.
  const std::string ref_name = "refs/heads/" + branch;
  git_transaction* raw_tx = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_transaction_new(&raw_tx, repo.git.get()), "deleting branch " + branch));
  std::unique_ptr<git_transaction, git::Free<git_transaction_free>> tx(raw_tx);
  int rc = git_transaction_lock_ref(tx.get(), ref_name.c_str());
  if (rc == GIT_ELOCKED) {
    return Status::Conflict("The branch " + branch + " cannot be deleted because it is being updated (a push or a "
                            "merge is in progress). Wait a few moments, and then try again.",
                            "ConcurrentReferenceUpdateException");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "locking branch " + branch));
  StatusOr<git_oid> target = BranchTarget(repo.git.get(), branch);
  if (missing(target)) return Document::object();
  if (!target.ok()) return target.status();
  GANTRY_RETURN_IF_ERROR(git::Check(git_transaction_remove(tx.get(), ref_name.c_str()), "deleting branch " + branch));
  GANTRY_RETURN_IF_ERROR(git::Check(git_transaction_commit(tx.get()), "deleting branch " + branch));
  std::string commit = git::OidHex(*target);
  PublishReferenceChanges(deps, repo.record.doc, {{"refs/heads/" + branch, "", commit}}, ctx.principal.arn);
  return Document{{"deletedBranch", {{"branchName", branch}, {"commitId", commit}}}};
}

// --- Commits -------------------------------------------------------------------------------------

StatusOr<Document> GetCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(git_oid id, CommitIdOf(Str(input, "commitId")));
  git_commit* commit = nullptr;
  if (git_commit_lookup(&commit, repo.git.get(), &id) != 0) {
    return Status::NotFound("The commit ID " + Str(input, "commitId") + " does not exist in the repository.",
                            "CommitIdDoesNotExistException");
  }
  git::Commit owned(commit);
  return Document{{"commit", CommitShape(commit)}};
}

StatusOr<Document> BatchGetCommits(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document ids = input.value("commitIds", Document::array());
  if (ids.empty()) {
    return Status::InvalidArgument(
        "A list of commit IDs is required, but was either not specified or the list was empty.",
        "CommitIdsListRequiredException");
  }
  if (ids.size() > kMaxBatchCommits) {
    return Status::InvalidArgument("The maximum number of allowed commit IDs in a batch request is 100.",
                                   "CommitIdsLimitExceededException");
  }
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  Document commits = Document::array();
  Document errors = Document::array();
  for (const auto& id_doc : ids) {
    std::string id = id_doc.get<std::string>();
    git_oid oid;
    git_commit* commit = nullptr;
    if (!git::ParseOid(id, oid)) {
      errors.push_back({{"commitId", id},
                        {"errorCode", "InvalidCommitIdException"},
                        {"errorMessage", "The commit ID " + id + " is not a full commit ID."}});
    } else if (git_commit_lookup(&commit, repo.git.get(), &oid) != 0) {
      errors.push_back({{"commitId", id},
                        {"errorCode", "CommitDoesNotExistException"},
                        {"errorMessage", "The commit " + id + " does not exist in the repository."}});
    } else {
      git::Commit owned(commit);
      commits.push_back(CommitShape(commit));
    }
  }
  return Document{{"commits", commits}, {"errors", errors}};
}

// --- Differences ---------------------------------------------------------------------------------

// The tree at path in a commit's tree (the root when path is empty), or the file there
// (file_entry set instead). PathDoesNotExistException when there is nothing at path.
struct PathTarget {
  git::Tree tree;
  git::TreeEntry file_entry;
};

StatusOr<PathTarget> TargetAt(git_repository* repo, const git_commit* commit, const std::string& path) {
  PathTarget out;
  if (commit == nullptr) return out;  // an empty tree
  git_tree* root = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&root, commit), "reading a commit's tree"));
  git::Tree root_owned(root);
  if (path.empty()) {
    out.tree = std::move(root_owned);
    return out;
  }
  git_tree_entry* entry = nullptr;
  if (git_tree_entry_bypath(&entry, root, path.c_str()) != 0) {
    return Status::NotFound(
        "The path " + path + " does not exist in commit " + git::OidHex(*git_commit_id(commit)) + ".",
        "PathDoesNotExistException");
  }
  git::TreeEntry owned(entry);
  if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
    git_tree* tree = nullptr;
    GANTRY_RETURN_IF_ERROR(git::Check(git_tree_lookup(&tree, repo, git_tree_entry_id(entry)), "reading " + path));
    out.tree.reset(tree);
  } else {
    out.file_entry = std::move(owned);
  }
  return out;
}

Document BlobMetadata(const git_diff_file& file, const std::string& prefix) {
  std::string path = prefix.empty() ? file.path : prefix + "/" + file.path;
  return {
      {"blobId", git::OidHex(file.id)}, {"path", path}, {"mode", ModeOctal(static_cast<git_filemode_t>(file.mode))}};
}

StatusOr<Document> GetDifferences(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  int64_t max_results = input.value("MaxResults", kDefaultDifferences);
  if (max_results <= 0) {
    return Status::InvalidArgument(
        "The MaxResults " + std::to_string(max_results) + " is not valid: use a positive number.",
        "InvalidMaxResultsException");
  }
  size_t start = 0;
  if (input.contains("NextToken")) {
    std::optional<size_t> offset = OffsetToken(Str(input, "NextToken"), "d:");
    if (!offset) return Status::InvalidArgument("The NextToken is not valid.", "InvalidContinuationTokenException");
    start = *offset;
  }
  GANTRY_ASSIGN_OR_RETURN(git::Commit after, ResolveCommit(repo.git.get(), Str(input, "afterCommitSpecifier")));
  git::Commit before;
  if (input.contains("beforeCommitSpecifier")) {
    GANTRY_ASSIGN_OR_RETURN(before, ResolveCommit(repo.git.get(), Str(input, "beforeCommitSpecifier")));
  }
  std::string before_path_text = input.contains("beforePath") ? Str(input, "beforePath") : Str(input, "afterPath");
  std::string after_path_text = input.contains("afterPath") ? Str(input, "afterPath") : Str(input, "beforePath");
  GANTRY_ASSIGN_OR_RETURN(std::string before_path, NormalizeFolderPath(before_path_text));
  GANTRY_ASSIGN_OR_RETURN(std::string after_path, NormalizeFolderPath(after_path_text));
  GANTRY_ASSIGN_OR_RETURN(PathTarget old_side, TargetAt(repo.git.get(), before.get(), before_path));
  GANTRY_ASSIGN_OR_RETURN(PathTarget new_side, TargetAt(repo.git.get(), after.get(), after_path));

  Document differences = Document::array();
  if (old_side.file_entry || new_side.file_entry) {
    // A single file on either side: compare the two blobs.
    auto blob = [&](const git::TreeEntry& entry, const std::string& path) -> Document {
      if (!entry) return nullptr;
      return {{"blobId", git::OidHex(*git_tree_entry_id(entry.get()))},
              {"path", path},
              {"mode", ModeOctal(git_tree_entry_filemode(entry.get()))}};
    };
    Document b = blob(old_side.file_entry, before_path);
    Document a = blob(new_side.file_entry, after_path);
    if (b.is_null() || a.is_null() || b["blobId"] != a["blobId"] || b["mode"] != a["mode"]) {
      Document d = {{"changeType", b.is_null() ? "A" : a.is_null() ? "D" : "M"}};
      if (!b.is_null()) d["beforeBlob"] = b;
      if (!a.is_null()) d["afterBlob"] = a;
      differences.push_back(d);
    }
  } else {
    git_diff* raw = nullptr;
    GANTRY_RETURN_IF_ERROR(
        git::Check(git_diff_tree_to_tree(&raw, repo.git.get(), old_side.tree.get(), new_side.tree.get(), nullptr),
                   "comparing trees"));
    git::Diff diff(raw);
    size_t count = git_diff_num_deltas(diff.get());
    for (size_t i = 0; i < count; ++i) {
      const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
      Document d;
      switch (delta->status) {
        case GIT_DELTA_ADDED:
          d["changeType"] = "A";
          break;
        case GIT_DELTA_DELETED:
          d["changeType"] = "D";
          break;
        default:
          d["changeType"] = "M";
          break;
      }
      if (delta->status != GIT_DELTA_ADDED) d["beforeBlob"] = BlobMetadata(delta->old_file, before_path);
      if (delta->status != GIT_DELTA_DELETED) d["afterBlob"] = BlobMetadata(delta->new_file, after_path);
      differences.push_back(std::move(d));
    }
  }
  Document page = Document::array();
  start = std::min(start, differences.size());
  for (size_t i = start; i < differences.size() && page.size() < static_cast<size_t>(max_results); ++i) {
    page.push_back(differences[i]);
  }
  Document out = {{"differences", page}};
  if (start + page.size() < differences.size())
    out["NextToken"] = Base64Encode("d:" + std::to_string(start + page.size()));
  return out;
}

}  // namespace

void RegisterBranchHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "CreateBranch", CreateBranch);
  AddHandler(table, deps, "GetBranch", GetBranch);
  AddHandler(table, deps, "ListBranches", ListBranches);
  AddHandler(table, deps, "DeleteBranch", DeleteBranch);
  AddHandler(table, deps, "GetCommit", GetCommit);
  AddHandler(table, deps, "BatchGetCommits", BatchGetCommits);
  AddHandler(table, deps, "GetDifferences", GetDifferences);
}

}  // namespace gantry::services::codecommit
