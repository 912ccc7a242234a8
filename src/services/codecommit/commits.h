// Git objects as the CodeCommit API shows them, and the commits its file operations make: commit
// specifiers, paths, file modes, the Commit and UserInfo shapes, and tree edits (put, delete,
// change mode, copy or move a file) applied to a commit's tree with libgit2, then committed on a
// branch with a compare-and-swap of the branch ref (git's own ref lock), so a concurrent push or
// API commit makes the loser fail with ParentCommitIdOutdatedException instead of being lost.
//
// Errors carry CodeCommit's error codes. Functions are thread-safe for distinct git_repository
// handles (libgit2 objects belong to one thread).
#pragma once

#include <git2.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"
#include "services/codecommit/git.h"
#include "services/codecommit/records.h"

namespace gantry::services::codecommit {

// "1484167798 -0800": how CodeCommit shows a signature's time.
std::string UserDate(const git_time& when);
// The Commit shape (commitId, treeId, parents, message, author, committer, additionalData).
Document CommitShape(const git_commit* commit);

// The commit a specifier names: a branch, a tag, a full or abbreviated commit id, or another
// revision git understands. Empty: CommitRequiredException; unknown: CommitDoesNotExistException.
StatusOr<git::Commit> ResolveCommit(git_repository* repo, std::string_view specifier);
// The commit of the repository's default branch (HEAD), for operations whose specifier is optional.
StatusOr<git::Commit> HeadCommit(git_repository* repo);

// A file path of a request, without leading '/': PathRequiredException when empty,
// InvalidPathException for empty, ".", ".." or ".git" components, NUL or a trailing '/'.
StatusOr<std::string> NormalizeFilePath(std::string_view path);
// A folder path: "" or "/" is the root (returned as "").
StatusOr<std::string> NormalizeFolderPath(std::string_view path);

// NORMAL, EXECUTABLE, SYMLINK.
std::string FileModeName(git_filemode_t mode);
// InvalidFileModeException for other names.
StatusOr<git_filemode_t> ParseFileMode(std::string_view name);
// "100644", "100755", "120000", "040000", "160000".
std::string ModeOctal(git_filemode_t mode);

// The branch rules: BranchNameRequiredException, InvalidBranchNameException.
Status ValidateBranchName(std::string_view branch);

// One change of a commit made through the API.
struct FileEdit {
  enum class Kind { kPut, kDelete, kSetMode };
  Kind kind = Kind::kPut;
  std::string path;                    // normalized
  std::optional<std::string> content;  // kPut: the new content, or
  std::string source_path;             // kPut: copy (or move) this file of the parent commit
  bool move = false;
  std::optional<git_filemode_t> mode;  // kPut: default the existing file's mode, else NORMAL
};

struct EditOutcome {
  git_oid tree{};
  Document added = Document::array();  // FileMetadata {absolutePath, blobId, fileMode}
  Document updated = Document::array();
  Document deleted = Document::array();
  bool unchanged_put = false;  // a put wrote exactly the content and mode already there
};

// Applies edits to base (null: an empty tree) and writes the new tree. Conflicts and missing
// files are CodeCommit's errors (FileNameConflictsWithDirectoryNameException,
// DirectoryNameConflictsWithFileNameException, FilePathConflictsWithSubmodulePathException,
// FileDoesNotExistException, SamePathRequestException). keep_empty_folders leaves a ".gitkeep" in
// a folder a delete empties.
StatusOr<EditOutcome> ApplyEdits(git_repository* repo, const git_tree* base, const std::vector<FileEdit>& edits,
                                 bool keep_empty_folders);

// The tip of refs/heads/<branch> the commit goes on, checked against the request's parent commit
// id as PutFile, DeleteFile and CreateCommit check it.
struct BranchTip {
  std::optional<git_oid> tip;  // nullopt: the branch does not exist yet (empty repository)
  git::Commit commit;          // the tip's commit (null when no tip)
};
StatusOr<BranchTip> CheckParent(git_repository* repo, std::string_view branch, std::string_view parent_commit_id,
                                bool parent_required);

struct CommitAuthor {
  std::string name;
  std::string email;
};

// The author of a commit made through the API: name and email as the request gives them
// (validated), else the caller's (the last part of its ARN, and the ARN as email).
StatusOr<CommitAuthor> ResolveCommitAuthor(std::string name, std::string email, const std::string& caller_arn);

// Commits tree on the branch (parent: the tip) and moves the branch only if it still is at the
// tip (ParentCommitIdOutdatedException otherwise). The change to publish is returned.
StatusOr<ReferenceChange> CommitOnBranch(git_repository* repo, std::string_view branch, const BranchTip& parent,
                                         const git_oid& tree, const CommitAuthor& author, std::string_view message,
                                         TimePoint when);

}  // namespace gantry::services::codecommit
