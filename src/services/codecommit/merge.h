// Merging as CodeCommit does it, on an opened repository: the merge base of a source and a
// destination commit, whether a fast-forward is possible, the conflicts a merge meets at a conflict
// detail level once a resolution strategy has been applied, the line hunks of one conflicting file,
// and the commit a fast-forward, squash or three-way merge produces. Nothing here moves a ref or
// touches the store; handlers do that.
//
// Semantics (destination is git's "ours", source is git's "theirs"; renames are not detected):
//   FILE_LEVEL   a file is in conflict when both sides changed it (content, mode or type) and the
//                results differ, even where a line merge would be clean.
//   LINE_LEVEL   a file is in conflict when git's three-way merge of it fails (overlapping line
//                changes, modify/delete, add/add, mode or file/directory conflicts).
//   NONE                conflicts stay; they must be resolved by a ConflictResolution.
//   AUTOMERGE           files changed on both sides are merged line by line; only what git
//                       cannot merge stays in conflict.
//   ACCEPT_SOURCE/      conflicts are resolved with that side: at FILE_LEVEL the whole file, at
//   ACCEPT_DESTINATION  LINE_LEVEL the side's lines in conflicting hunks (the whole entry where the
//                       conflict is not about lines).
// A source already contained in the destination merges to the destination itself (no commit).
//
// libgit2 objects are single-threaded: everything here runs on the thread that opened repo.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "services/codecommit/git.h"

namespace gantry::services::codecommit {

enum class MergeOption { kFastForward, kSquash, kThreeWay };
enum class ConflictDetailLevel { kFileLevel, kLineLevel };
enum class ConflictResolutionStrategy { kNone, kAcceptSource, kAcceptDestination, kAutomerge };

// Wire names (the model's enums, so values are already validated; empty picks the default).
MergeOption ParseMergeOption(std::string_view name);
std::string MergeOptionName(MergeOption option);
ConflictDetailLevel ParseConflictDetailLevel(std::string_view name);               // default FILE_LEVEL
ConflictResolutionStrategy ParseConflictResolutionStrategy(std::string_view name);  // default NONE

// One path as one commit has it.
struct PathVersion {
  bool exists = false;
  std::string object_type;  // FILE, DIRECTORY, GIT_LINK or SYMBOLIC_LINK
  std::string file_mode;    // NORMAL, EXECUTABLE or SYMLINK; empty for directories and git links
  git_oid oid{};
  unsigned int raw_mode = 0;  // git's mode bits
  int64_t size = 0;           // blob size; 0 for other objects
  bool binary = false;
};

// A conflicting path, as GetMergeConflicts and DescribeMergeConflicts report it.
struct FileConflict {
  std::string path;
  PathVersion source, destination, base;
  bool content_conflict = false;
  bool file_mode_conflict = false;
  bool object_type_conflict = false;
  std::string source_operation;       // A, M or D against the base; empty when unchanged
  std::string destination_operation;  // likewise
  int number_of_conflicts = 0;        // conflicting hunks plus mode and type conflicts, at least 1
};

// What merging source into destination meets. merged holds git's merge of the two (conflicting
// entries resolved per the strategy where it resolves them).
struct MergeAnalysis {
  git_oid source{};
  git_oid destination{};
  std::optional<git_oid> base;
  bool fast_forward = false;  // destination is source or an ancestor of it
  bool up_to_date = false;    // source is destination or an ancestor of it
  ConflictDetailLevel level = ConflictDetailLevel::kFileLevel;
  ConflictResolutionStrategy strategy = ConflictResolutionStrategy::kNone;
  std::set<std::string> conflict_paths;       // conflicting at the detail level, before the strategy
  std::set<std::string> line_conflict_paths;  // where git's three-way merge itself fails
  std::vector<FileConflict> conflicts;   // still conflicting after the strategy, by path
  git::Index merged;
};

StatusOr<MergeAnalysis> AnalyzeMerge(git_repository* repo, const git_oid& source, const git_oid& destination,
                                     ConflictDetailLevel level, ConflictResolutionStrategy strategy);

// One path as the merge sees it: its conflict when it has one, else its versions and operations
// with no conflict flags and number_of_conflicts 0. FileDoesNotExistException when no side has it.
StatusOr<FileConflict> DescribePath(git_repository* repo, const MergeAnalysis& analysis, const std::string& path);

// Whether the option can merge without manual resolution.
bool Mergeable(const MergeAnalysis& analysis, MergeOption option);

// A conflict resolution as MergeBranchesByThreeWay/BySquash and the pull request merges take it.
struct ReplaceContent {
  std::string path;
  std::string replacement_type;  // KEEP_BASE, KEEP_SOURCE, KEEP_DESTINATION or USE_NEW_CONTENT
  std::optional<std::string> content;
  std::string file_mode;  // optional: NORMAL, EXECUTABLE or SYMLINK
};
struct ConflictResolution {
  std::vector<ReplaceContent> replace_contents;
  std::vector<std::string> delete_files;
  std::vector<std::pair<std::string, std::string>> set_file_modes;  // path, mode
  bool empty() const { return replace_contents.empty() && delete_files.empty() && set_file_modes.empty(); }
};

// Who and what a merge commit says; time from the injected clock.
struct CommitInfo {
  std::string author_name;
  std::string email;
  std::string message;
  TimePoint time;
  bool keep_empty_folders = false;
};

struct MergeOutcome {
  git_oid commit{};
  git_oid tree{};
  bool created = false;  // a new commit was written (squash and three-way merges that change something)
};

// Performs the merge: a fast-forward answers the source commit; squash writes one commit on the
// destination, three-way a commit with destination and source as parents; neither moves a ref.
// ManualMergeRequiredException when conflicts remain; the conflict resolution errors of the model.
StatusOr<MergeOutcome> Merge(git_repository* repo, MergeAnalysis& analysis, MergeOption option,
                             const ConflictResolution& resolution, const CommitInfo& info);

// One side of a merge hunk: 1-based first and last line (inclusive; an empty range has
// end_line = start_line - 1) and the lines themselves.
struct HunkSide {
  int start_line = 0;
  int end_line = 0;
  std::string content;
};
struct MergeHunk {
  bool conflict = false;
  HunkSide source, destination, base;
};

// The regions where source or destination differ from base, in file order; a region both sides
// changed differently is a conflict. Inputs are file contents.
std::vector<MergeHunk> LineHunks(std::string_view base, std::string_view destination, std::string_view source);

// The hunks of one conflicting file (empty for binary files and non-file entries).
StatusOr<std::vector<MergeHunk>> ConflictHunks(git_repository* repo, const FileConflict& conflict);

}  // namespace gantry::services::codecommit
