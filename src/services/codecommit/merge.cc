#include "services/codecommit/merge.h"

#include <algorithm>
#include <chrono>
#include <map>

namespace gantry::services::codecommit {

namespace {

using ConflictIterator = std::unique_ptr<git_index_conflict_iterator, git::Free<git_index_conflict_iterator_free>>;
using Patch = std::unique_ptr<git_patch, git::Free<git_patch_free>>;

constexpr size_t kMaxResolutionEntries = 100;

Status ManualMergeRequired() {
  return Status::FailedPrecondition(
      "The pull request cannot be merged automatically into the destination branch. You must manually merge the "
      "branches and resolve any conflicts.",
      "ManualMergeRequiredException");
}

PathVersion VersionOf(git_repository* repo, const git_tree_entry* entry) {
  PathVersion v;
  v.exists = true;
  v.oid = *git_tree_entry_id(entry);
  v.raw_mode = git_tree_entry_filemode_raw(entry);
  switch (git_tree_entry_filemode(entry)) {
    case GIT_FILEMODE_TREE:
      v.object_type = "DIRECTORY";
      return v;
    case GIT_FILEMODE_COMMIT:
      v.object_type = "GIT_LINK";
      return v;
    case GIT_FILEMODE_LINK:
      v.object_type = "SYMBOLIC_LINK";
      v.file_mode = "SYMLINK";
      break;
    case GIT_FILEMODE_BLOB_EXECUTABLE:
      v.object_type = "FILE";
      v.file_mode = "EXECUTABLE";
      break;
    default:
      v.object_type = "FILE";
      v.file_mode = "NORMAL";
      break;
  }
  git_blob* raw = nullptr;
  if (git_blob_lookup(&raw, repo, &v.oid) == 0) {
    git::Blob blob(raw);
    v.size = static_cast<int64_t>(git_blob_rawsize(blob.get()));
    v.binary = git_blob_is_binary(blob.get()) == 1;
  }
  return v;
}

// The path in tree (null tree: nothing there).
StatusOr<PathVersion> VersionAt(git_repository* repo, git_tree* tree, const std::string& path) {
  if (tree == nullptr) return PathVersion{};
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
  if (rc == GIT_ENOTFOUND) return PathVersion{};
  if (rc < 0) return git::Error(rc, "reading " + path);
  git::TreeEntry entry(raw);
  return VersionOf(repo, entry.get());
}

bool IsBlobLike(const PathVersion& v) { return v.exists && v.object_type != "DIRECTORY"; }

bool SameVersion(const PathVersion& a, const PathVersion& b) {
  if (a.exists != b.exists) return false;
  return !a.exists || (git_oid_equal(&a.oid, &b.oid) && a.raw_mode == b.raw_mode);
}

std::string Operation(const PathVersion& base, const PathVersion& side) {
  if (SameVersion(base, side)) return "";
  if (!base.exists) return "A";
  if (!side.exists) return "D";
  return "M";
}

StatusOr<git::Commit> LookupCommit(git_repository* repo, const git_oid& oid) {
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo, &oid);
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("Could not find commit " + git::OidHex(oid) + ".", "CommitDoesNotExistException");
  }
  if (rc < 0) return git::Error(rc, "reading commit " + git::OidHex(oid));
  return git::Commit(raw);
}

StatusOr<git::Tree> CommitTree(const git_commit* commit) {
  git_tree* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&raw, commit), "reading a commit's tree"));
  return git::Tree(raw);
}

// Each path that differs between base (may be null) and side, with the side's version.
struct SideChange {
  bool exists = false;
  git_oid oid{};
  uint32_t mode = 0;
};
StatusOr<std::map<std::string, SideChange>> ChangedPaths(git_repository* repo, git_tree* base, git_tree* side) {
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
  git_diff* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_diff_tree_to_tree(&raw, repo, base, side, &options), "comparing trees"));
  git::Diff diff(raw);
  std::map<std::string, SideChange> out;
  for (size_t i = 0, n = git_diff_num_deltas(diff.get()); i < n; ++i) {
    const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
    SideChange change;
    change.exists = delta->status != GIT_DELTA_DELETED;
    if (change.exists) {
      change.oid = delta->new_file.id;
      change.mode = delta->new_file.mode;
    }
    out[delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path] = change;
  }
  return out;
}

StatusOr<git::Index> MergeIndex(git_repository* repo, git_commit* destination, git_commit* source,
                                git_merge_file_favor_t favor) {
  git_merge_options options = GIT_MERGE_OPTIONS_INIT;
  options.flags = 0;  // no rename detection: CodeCommit reports adds and deletes
  options.file_favor = favor;
  git_index* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_merge_commits(&raw, repo, destination, source, &options), "merging commits"));
  return git::Index(raw);
}

StatusOr<std::set<std::string>> IndexConflicts(git_index* index) {
  std::set<std::string> out;
  git_index_conflict_iterator* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_index_conflict_iterator_new(&raw, index), "listing conflicts"));
  ConflictIterator it(raw);
  const git_index_entry* ancestor = nullptr;
  const git_index_entry* ours = nullptr;
  const git_index_entry* theirs = nullptr;
  int rc;
  while ((rc = git_index_conflict_next(&ancestor, &ours, &theirs, it.get())) == 0) {
    const git_index_entry* any = ours != nullptr ? ours : theirs != nullptr ? theirs : ancestor;
    out.insert(any->path);
  }
  if (rc != GIT_ITEROVER) return git::Error(rc, "listing conflicts");
  return out;
}

bool UnderPath(std::string_view candidate, std::string_view path) {
  return candidate.size() > path.size() && candidate.substr(0, path.size()) == path && candidate[path.size()] == '/';
}

Status AddBlobEntry(git_index* index, const std::string& path, const git_oid& oid, uint32_t mode) {
  git_index_entry entry{};
  entry.path = path.c_str();
  entry.mode = mode;
  entry.id = oid;
  return git::Check(git_index_add(index, &entry), "writing " + path + " into the merge");
}

Status AddTree(git_repository* repo, git_index* index, const git_tree* tree, const std::string& prefix) {
  for (size_t i = 0, n = git_tree_entrycount(tree); i < n; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
    std::string path = prefix + "/" + git_tree_entry_name(entry);
    if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
      git_tree* raw = nullptr;
      GANTRY_RETURN_IF_ERROR(git::Check(git_tree_lookup(&raw, repo, git_tree_entry_id(entry)), "reading " + path));
      git::Tree sub(raw);
      GANTRY_RETURN_IF_ERROR(AddTree(repo, index, sub.get(), path));
    } else {
      GANTRY_RETURN_IF_ERROR(AddBlobEntry(index, path, *git_tree_entry_id(entry), git_tree_entry_filemode_raw(entry)));
    }
  }
  return Status::Ok();
}

// Removes path, everything under it and their conflict entries from index.
Status ClearPath(git_index* index, const std::string& path) {
  GANTRY_ASSIGN_OR_RETURN(std::set<std::string> conflicts, IndexConflicts(index));
  for (const std::string& conflict : conflicts) {
    if (conflict == path || UnderPath(conflict, path)) {
      GANTRY_RETURN_IF_ERROR(git::Check(git_index_conflict_remove(index, conflict.c_str()), "resolving " + conflict));
    }
  }
  int rc = git_index_remove(index, path.c_str(), 0);
  if (rc < 0 && rc != GIT_ENOTFOUND) return git::Error(rc, "resolving " + path);
  return git::Check(git_index_remove_directory(index, path.c_str(), 0), "resolving " + path);
}

// Makes path in index what it is in tree (absent when tree lacks it or is null).
Status TakeVersion(git_repository* repo, git_index* index, git_tree* tree, const std::string& path) {
  GANTRY_RETURN_IF_ERROR(ClearPath(index, path));
  if (tree == nullptr) return Status::Ok();
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
  if (rc == GIT_ENOTFOUND) return Status::Ok();
  if (rc < 0) return git::Error(rc, "reading " + path);
  git::TreeEntry entry(raw);
  if (git_tree_entry_type(entry.get()) == GIT_OBJECT_TREE) {
    git_tree* sub_raw = nullptr;
    GANTRY_RETURN_IF_ERROR(git::Check(git_tree_lookup(&sub_raw, repo, git_tree_entry_id(entry.get())), "reading " + path));
    git::Tree sub(sub_raw);
    return AddTree(repo, index, sub.get(), path);
  }
  return AddBlobEntry(index, path, *git_tree_entry_id(entry.get()), git_tree_entry_filemode_raw(entry.get()));
}

uint32_t RawMode(std::string_view file_mode) {
  if (file_mode == "EXECUTABLE") return GIT_FILEMODE_BLOB_EXECUTABLE;
  if (file_mode == "SYMLINK") return GIT_FILEMODE_LINK;
  return GIT_FILEMODE_BLOB;
}

bool PathInIndex(git_index* index, const std::string& path) {
  if (git_index_get_bypath(index, path.c_str(), 0) != nullptr) return true;
  size_t at = 0;
  if (git_index_find_prefix(&at, index, (path + "/").c_str()) == 0) return true;
  return false;
}

// When keep_empty_folders, a folder that deleting path left empty keeps a .gitkeep file.
Status KeepFolder(git_repository* repo, git_index* index, const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return Status::Ok();
  std::string folder = path.substr(0, slash);
  if (PathInIndex(index, folder)) return Status::Ok();
  git_oid empty;
  GANTRY_RETURN_IF_ERROR(git::Check(git_blob_create_from_buffer(&empty, repo, "", 0), "writing .gitkeep"));
  return AddBlobEntry(index, folder + "/.gitkeep", empty, GIT_FILEMODE_BLOB);
}

StatusOr<FileConflict> DescribeConflict(git_repository* repo, const MergeAnalysis& analysis, git_tree* base,
                                        git_tree* source, git_tree* destination, const std::string& path,
                                        bool line_conflict) {
  FileConflict c;
  c.path = path;
  GANTRY_ASSIGN_OR_RETURN(c.source, VersionAt(repo, source, path));
  GANTRY_ASSIGN_OR_RETURN(c.destination, VersionAt(repo, destination, path));
  GANTRY_ASSIGN_OR_RETURN(c.base, VersionAt(repo, base, path));
  c.source_operation = Operation(c.base, c.source);
  c.destination_operation = Operation(c.base, c.destination);
  if (c.source.exists && c.destination.exists) {
    c.object_type_conflict = c.source.object_type != c.destination.object_type;
    if (IsBlobLike(c.source) && IsBlobLike(c.destination)) {
      bool both_changed_content = !git_oid_equal(&c.source.oid, &c.destination.oid) &&
                                  (!c.base.exists || (!git_oid_equal(&c.base.oid, &c.source.oid) &&
                                                      !git_oid_equal(&c.base.oid, &c.destination.oid)));
      c.content_conflict = both_changed_content &&
                           (analysis.level == ConflictDetailLevel::kFileLevel || line_conflict);
      c.file_mode_conflict = !c.object_type_conflict && c.source.raw_mode != c.destination.raw_mode &&
                             (!c.base.exists || (c.base.raw_mode != c.source.raw_mode &&
                                                 c.base.raw_mode != c.destination.raw_mode));
    }
  }
  int hunks = 0;
  if (c.content_conflict) {
    GANTRY_ASSIGN_OR_RETURN(std::vector<MergeHunk> merge_hunks, ConflictHunks(repo, c));
    for (const MergeHunk& hunk : merge_hunks) hunks += hunk.conflict ? 1 : 0;
    hunks = std::max(hunks, 1);
  }
  c.number_of_conflicts =
      std::max(1, hunks + (c.file_mode_conflict ? 1 : 0) + (c.object_type_conflict ? 1 : 0));
  return c;
}

git_tree* Side(ConflictResolutionStrategy strategy, git_tree* source, git_tree* destination) {
  return strategy == ConflictResolutionStrategy::kAcceptSource ? source : destination;
}

struct Trees {
  git::Commit source_commit, destination_commit;
  git::Tree base, source, destination;
};

StatusOr<Trees> LoadTrees(git_repository* repo, const MergeAnalysis& analysis) {
  Trees t;
  GANTRY_ASSIGN_OR_RETURN(t.source_commit, LookupCommit(repo, analysis.source));
  GANTRY_ASSIGN_OR_RETURN(t.destination_commit, LookupCommit(repo, analysis.destination));
  GANTRY_ASSIGN_OR_RETURN(t.source, CommitTree(t.source_commit.get()));
  GANTRY_ASSIGN_OR_RETURN(t.destination, CommitTree(t.destination_commit.get()));
  if (analysis.base) {
    GANTRY_ASSIGN_OR_RETURN(git::Commit base_commit, LookupCommit(repo, *analysis.base));
    GANTRY_ASSIGN_OR_RETURN(t.base, CommitTree(base_commit.get()));
  }
  return t;
}

StatusOr<bool> DescendantOf(git_repository* repo, const git_oid& commit, const git_oid& ancestor) {
  if (git_oid_equal(&commit, &ancestor)) return true;
  int rc = git_graph_descendant_of(repo, &commit, &ancestor);
  if (rc < 0) return git::Error(rc, "walking history");
  return rc == 1;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size() - 1;
    lines.emplace_back(text.substr(start, end - start + 1));
    start = end + 1;
  }
  return lines;
}

// One changed region of a side against base: base lines [base_begin, base_end) became side lines
// [side_begin, side_end) (0-based, half-open).
struct Edit {
  int base_begin, base_end, side_begin, side_end;
};

std::vector<Edit> LineEdits(std::string_view base, std::string_view side) {
  std::vector<Edit> edits;
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.context_lines = 0;
  options.interhunk_lines = 0;
  options.flags = GIT_DIFF_FORCE_TEXT;
  git_patch* raw = nullptr;
  if (git_patch_from_buffers(&raw, base.data(), base.size(), nullptr, side.data(), side.size(), nullptr, &options) <
      0) {
    return edits;
  }
  Patch patch(raw);
  for (size_t i = 0, n = git_patch_num_hunks(patch.get()); i < n; ++i) {
    const git_diff_hunk* hunk = nullptr;
    size_t lines = 0;
    if (git_patch_get_hunk(&hunk, &lines, patch.get(), i) < 0) continue;
    // Unified-diff numbering: an empty range starts after the line it names.
    int base_begin = hunk->old_lines > 0 ? hunk->old_start - 1 : hunk->old_start;
    int side_begin = hunk->new_lines > 0 ? hunk->new_start - 1 : hunk->new_start;
    edits.push_back({base_begin, base_begin + hunk->old_lines, side_begin, side_begin + hunk->new_lines});
  }
  return edits;
}

std::string JoinLines(const std::vector<std::string>& lines, int begin, int end) {
  std::string out;
  for (int i = begin; i < end && i < static_cast<int>(lines.size()); ++i) out += lines[static_cast<size_t>(i)];
  return out;
}

HunkSide MakeSide(const std::vector<std::string>& lines, int begin, int end) {
  return {begin + 1, end, JoinLines(lines, begin, end)};
}

StatusOr<std::string> BlobContent(git_repository* repo, const PathVersion& v) {
  git_blob* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_blob_lookup(&raw, repo, &v.oid), "reading blob " + git::OidHex(v.oid)));
  git::Blob blob(raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

Status ValidateResolution(const MergeAnalysis& analysis, const ConflictResolution& resolution) {
  size_t entries = resolution.replace_contents.size() + resolution.delete_files.size() +
                   resolution.set_file_modes.size();
  if (entries > kMaxResolutionEntries) {
    return Status::ResourceExhausted("The conflict resolution has " + std::to_string(entries) +
                                         " entries; at most " + std::to_string(kMaxResolutionEntries) + " are allowed.",
                                     "MaximumConflictResolutionEntriesExceededException");
  }
  std::set<std::string> seen;
  auto check_path = [&](const std::string& path) -> Status {
    if (path.empty()) return Status::InvalidArgument("A conflict resolution entry needs a filePath.", "PathRequiredException");
    if (!analysis.conflict_paths.contains(path)) {
      return Status::InvalidArgument("The conflict resolution names " + path +
                                         ", which is not in conflict between the source and destination.",
                                     "InvalidConflictResolutionException");
    }
    if (!seen.insert(path).second) {
      return Status::InvalidArgument(
          "More than one conflict resolution entries exists for the conflict. A conflict can have only one conflict "
          "resolution entry. Path: " + path,
          "MultipleConflictResolutionEntriesException");
    }
    return Status::Ok();
  };
  for (const ReplaceContent& replace : resolution.replace_contents) {
    GANTRY_RETURN_IF_ERROR(check_path(replace.path));
    if (replace.replacement_type == "USE_NEW_CONTENT" && !replace.content) {
      return Status::InvalidArgument("USE_NEW_CONTENT was specified, but no replacement content has been provided for " +
                                         replace.path + ".",
                                     "ReplacementContentRequiredException");
    }
    if (replace.replacement_type != "USE_NEW_CONTENT" && replace.content) {
      return Status::InvalidArgument("Replacement content was provided for " + replace.path + ", but its replacement type is " +
                                         replace.replacement_type + "; content goes only with USE_NEW_CONTENT.",
                                     "InvalidReplacementContentException");
    }
  }
  for (const std::string& path : resolution.delete_files) GANTRY_RETURN_IF_ERROR(check_path(path));
  for (const auto& [path, mode] : resolution.set_file_modes) GANTRY_RETURN_IF_ERROR(check_path(path));
  return Status::Ok();
}

}  // namespace

MergeOption ParseMergeOption(std::string_view name) {
  if (name == "FAST_FORWARD_MERGE") return MergeOption::kFastForward;
  if (name == "SQUASH_MERGE") return MergeOption::kSquash;
  return MergeOption::kThreeWay;
}

std::string MergeOptionName(MergeOption option) {
  switch (option) {
    case MergeOption::kFastForward:
      return "FAST_FORWARD_MERGE";
    case MergeOption::kSquash:
      return "SQUASH_MERGE";
    case MergeOption::kThreeWay:
      break;
  }
  return "THREE_WAY_MERGE";
}

ConflictDetailLevel ParseConflictDetailLevel(std::string_view name) {
  return name == "LINE_LEVEL" ? ConflictDetailLevel::kLineLevel : ConflictDetailLevel::kFileLevel;
}

ConflictResolutionStrategy ParseConflictResolutionStrategy(std::string_view name) {
  if (name == "ACCEPT_SOURCE") return ConflictResolutionStrategy::kAcceptSource;
  if (name == "ACCEPT_DESTINATION") return ConflictResolutionStrategy::kAcceptDestination;
  if (name == "AUTOMERGE") return ConflictResolutionStrategy::kAutomerge;
  return ConflictResolutionStrategy::kNone;
}

StatusOr<MergeAnalysis> AnalyzeMerge(git_repository* repo, const git_oid& source, const git_oid& destination,
                                     ConflictDetailLevel level, ConflictResolutionStrategy strategy) {
  MergeAnalysis a;
  a.source = source;
  a.destination = destination;
  a.level = level;
  a.strategy = strategy;
  git_oid base;
  int rc = git_merge_base(&base, repo, &destination, &source);
  if (rc == 0) {
    a.base = base;
  } else if (rc != GIT_ENOTFOUND) {
    return git::Error(rc, "finding the merge base");
  }
  GANTRY_ASSIGN_OR_RETURN(Trees trees, LoadTrees(repo, a));
  GANTRY_ASSIGN_OR_RETURN(a.fast_forward, DescendantOf(repo, source, destination));
  GANTRY_ASSIGN_OR_RETURN(a.up_to_date, DescendantOf(repo, destination, source));

  GANTRY_ASSIGN_OR_RETURN(a.merged, MergeIndex(repo, trees.destination_commit.get(), trees.source_commit.get(),
                                               GIT_MERGE_FILE_FAVOR_NORMAL));
  GANTRY_ASSIGN_OR_RETURN(a.line_conflict_paths, IndexConflicts(a.merged.get()));
  const std::set<std::string>& line_conflicts = a.line_conflict_paths;
  a.conflict_paths = line_conflicts;
  if (level == ConflictDetailLevel::kFileLevel) {
    GANTRY_ASSIGN_OR_RETURN(auto source_changes, ChangedPaths(repo, trees.base.get(), trees.source.get()));
    GANTRY_ASSIGN_OR_RETURN(auto destination_changes, ChangedPaths(repo, trees.base.get(), trees.destination.get()));
    for (const auto& [path, change] : source_changes) {
      auto other = destination_changes.find(path);
      if (other == destination_changes.end()) continue;
      bool same = change.exists == other->second.exists &&
                  (!change.exists || (git_oid_equal(&change.oid, &other->second.oid) && change.mode == other->second.mode));
      if (!same) a.conflict_paths.insert(path);
    }
  }

  std::set<std::string> unresolved;
  switch (strategy) {
    case ConflictResolutionStrategy::kNone:
      unresolved = a.conflict_paths;
      break;
    case ConflictResolutionStrategy::kAutomerge:
      unresolved = line_conflicts;
      break;
    case ConflictResolutionStrategy::kAcceptSource:
    case ConflictResolutionStrategy::kAcceptDestination: {
      git_tree* side = Side(strategy, trees.source.get(), trees.destination.get());
      if (level == ConflictDetailLevel::kLineLevel) {
        git_merge_file_favor_t favor = strategy == ConflictResolutionStrategy::kAcceptSource
                                           ? GIT_MERGE_FILE_FAVOR_THEIRS
                                           : GIT_MERGE_FILE_FAVOR_OURS;
        GANTRY_ASSIGN_OR_RETURN(a.merged, MergeIndex(repo, trees.destination_commit.get(), trees.source_commit.get(), favor));
        GANTRY_ASSIGN_OR_RETURN(std::set<std::string> remaining, IndexConflicts(a.merged.get()));
        for (const std::string& path : remaining) GANTRY_RETURN_IF_ERROR(TakeVersion(repo, a.merged.get(), side, path));
      } else {
        for (const std::string& path : a.conflict_paths) {
          GANTRY_RETURN_IF_ERROR(TakeVersion(repo, a.merged.get(), side, path));
        }
      }
      break;
    }
  }
  for (const std::string& path : unresolved) {
    GANTRY_ASSIGN_OR_RETURN(FileConflict conflict,
                            DescribeConflict(repo, a, trees.base.get(), trees.source.get(), trees.destination.get(),
                                             path, line_conflicts.contains(path)));
    a.conflicts.push_back(std::move(conflict));
  }
  return a;
}

StatusOr<FileConflict> DescribePath(git_repository* repo, const MergeAnalysis& analysis, const std::string& path) {
  for (const FileConflict& conflict : analysis.conflicts) {
    if (conflict.path == path) return conflict;
  }
  GANTRY_ASSIGN_OR_RETURN(Trees trees, LoadTrees(repo, analysis));
  FileConflict c;
  c.path = path;
  GANTRY_ASSIGN_OR_RETURN(c.source, VersionAt(repo, trees.source.get(), path));
  GANTRY_ASSIGN_OR_RETURN(c.destination, VersionAt(repo, trees.destination.get(), path));
  GANTRY_ASSIGN_OR_RETURN(c.base, VersionAt(repo, trees.base.get(), path));
  if (!c.source.exists && !c.destination.exists && !c.base.exists) {
    return Status::NotFound("The file " + path + " exists in neither the source, the destination nor their merge base.",
                            "FileDoesNotExistException");
  }
  c.source_operation = Operation(c.base, c.source);
  c.destination_operation = Operation(c.base, c.destination);
  return c;
}

bool Mergeable(const MergeAnalysis& analysis, MergeOption option) {
  if (analysis.up_to_date) return true;
  if (option == MergeOption::kFastForward) return analysis.fast_forward;
  return analysis.conflicts.empty();
}

StatusOr<MergeOutcome> Merge(git_repository* repo, MergeAnalysis& analysis, MergeOption option,
                             const ConflictResolution& resolution, const CommitInfo& info) {
  GANTRY_ASSIGN_OR_RETURN(Trees trees, LoadTrees(repo, analysis));
  MergeOutcome outcome;
  if (analysis.up_to_date || option == MergeOption::kFastForward) {
    if (!analysis.up_to_date && !analysis.fast_forward) return ManualMergeRequired();
    const git_commit* tip = analysis.up_to_date ? trees.destination_commit.get() : trees.source_commit.get();
    outcome.commit = *git_commit_id(tip);
    outcome.tree = *git_commit_tree_id(tip);
    return outcome;
  }
  GANTRY_RETURN_IF_ERROR(ValidateResolution(analysis, resolution));
  git_index* index = analysis.merged.get();
  std::set<std::string> resolved;
  std::vector<std::string> deleted;
  for (const ReplaceContent& replace : resolution.replace_contents) {
    const std::string& path = replace.path;
    if (replace.replacement_type == "USE_NEW_CONTENT") {
      GANTRY_RETURN_IF_ERROR(ClearPath(index, path));
      git_oid blob;
      GANTRY_RETURN_IF_ERROR(git::Check(
          git_blob_create_from_buffer(&blob, repo, replace.content->data(), replace.content->size()), "writing " + path));
      uint32_t mode = GIT_FILEMODE_BLOB;
      if (!replace.file_mode.empty()) {
        mode = RawMode(replace.file_mode);
      } else {
        GANTRY_ASSIGN_OR_RETURN(PathVersion current, VersionAt(repo, trees.destination.get(), path));
        if (!IsBlobLike(current)) {
          GANTRY_ASSIGN_OR_RETURN(current, VersionAt(repo, trees.source.get(), path));
        }
        if (IsBlobLike(current) && current.object_type == "FILE") mode = current.raw_mode;
      }
      GANTRY_RETURN_IF_ERROR(AddBlobEntry(index, path, blob, mode));
    } else {
      git_tree* tree = replace.replacement_type == "KEEP_BASE"     ? trees.base.get()
                       : replace.replacement_type == "KEEP_SOURCE" ? trees.source.get()
                                                                   : trees.destination.get();
      GANTRY_RETURN_IF_ERROR(TakeVersion(repo, index, tree, path));
      if (!PathInIndex(index, path)) deleted.push_back(path);
      if (!replace.file_mode.empty()) {
        const git_index_entry* entry = git_index_get_bypath(index, path.c_str(), 0);
        if (entry != nullptr) GANTRY_RETURN_IF_ERROR(AddBlobEntry(index, path, entry->id, RawMode(replace.file_mode)));
      }
    }
    resolved.insert(path);
  }
  for (const std::string& path : resolution.delete_files) {
    GANTRY_RETURN_IF_ERROR(ClearPath(index, path));
    deleted.push_back(path);
    resolved.insert(path);
  }
  for (const auto& [path, mode] : resolution.set_file_modes) {
    const git_index_entry* entry = git_index_get_bypath(index, path.c_str(), 0);
    if (entry == nullptr) {
      // A conflicting path has no merged entry yet: start from the destination's version.
      GANTRY_RETURN_IF_ERROR(TakeVersion(repo, index, trees.destination.get(), path));
      entry = git_index_get_bypath(index, path.c_str(), 0);
    }
    if (entry == nullptr) {
      return Status::InvalidArgument("The file mode of " + path + " cannot be set: the merge has no file there.",
                                     "InvalidConflictResolutionException");
    }
    git_oid id = entry->id;
    GANTRY_RETURN_IF_ERROR(ClearPath(index, path));
    GANTRY_RETURN_IF_ERROR(AddBlobEntry(index, path, id, RawMode(mode)));
    resolved.insert(path);
  }
  for (const FileConflict& conflict : analysis.conflicts) {
    if (!resolved.contains(conflict.path)) return ManualMergeRequired();
  }
  if (git_index_has_conflicts(index)) return ManualMergeRequired();
  if (info.keep_empty_folders) {
    for (const std::string& path : deleted) GANTRY_RETURN_IF_ERROR(KeepFolder(repo, index, path));
  }
  GANTRY_RETURN_IF_ERROR(git::Check(git_index_write_tree_to(&outcome.tree, index, repo), "writing the merged tree"));

  git_signature* raw_signature = nullptr;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(info.time.time_since_epoch()).count();
  GANTRY_RETURN_IF_ERROR(git::Check(
      git_signature_new(&raw_signature, info.author_name.c_str(), info.email.c_str(), static_cast<git_time_t>(seconds), 0),
      "making the commit's signature"));
  git::Signature signature(raw_signature);
  std::vector<const git_commit*> parents = {trees.destination_commit.get()};
  if (option == MergeOption::kThreeWay) parents.push_back(trees.source_commit.get());
  git_tree* tree_raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_tree_lookup(&tree_raw, repo, &outcome.tree), "reading the merged tree"));
  git::Tree tree(tree_raw);
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_create(&outcome.commit, repo, nullptr, signature.get(), signature.get(),
                                                      nullptr, info.message.c_str(), tree.get(), parents.size(),
                                                      parents.data()),
                                    "writing the merge commit"));
  outcome.created = true;
  return outcome;
}

std::vector<MergeHunk> LineHunks(std::string_view base, std::string_view destination, std::string_view source) {
  git::Init();  // the line diffs are libgit2's
  std::vector<std::string> base_lines = SplitLines(base);
  std::vector<std::string> destination_lines = SplitLines(destination);
  std::vector<std::string> source_lines = SplitLines(source);
  std::vector<Edit> destination_edits = LineEdits(base, destination);
  std::vector<Edit> source_edits = LineEdits(base, source);

  std::vector<MergeHunk> hunks;
  size_t di = 0, si = 0;
  int destination_shift = 0, source_shift = 0;  // side line = base line + shift, before the region
  while (di < destination_edits.size() || si < source_edits.size()) {
    // Start a region with the edit that begins first in base, then absorb every edit of either side
    // that overlaps or touches it.
    bool from_destination =
        si >= source_edits.size() ||
        (di < destination_edits.size() && destination_edits[di].base_begin <= source_edits[si].base_begin);
    int begin = from_destination ? destination_edits[di].base_begin : source_edits[si].base_begin;
    int end = from_destination ? destination_edits[di].base_end : source_edits[si].base_end;
    const size_t d_first = di, s_first = si;
    bool grew = true;
    while (grew) {
      grew = false;
      while (di < destination_edits.size() && destination_edits[di].base_begin <= end) {
        end = std::max(end, destination_edits[di].base_end);
        ++di;
        grew = true;
      }
      while (si < source_edits.size() && source_edits[si].base_begin <= end) {
        end = std::max(end, source_edits[si].base_end);
        ++si;
        grew = true;
      }
    }
    auto side_range = [&](const std::vector<Edit>& edits, size_t first, size_t last, int shift) {
      if (first == last) return std::pair{begin + shift, end + shift};
      int side_begin = begin + shift;
      int after_shift = shift;
      for (size_t i = first; i < last; ++i) after_shift += (edits[i].side_end - edits[i].side_begin) -
                                                           (edits[i].base_end - edits[i].base_begin);
      return std::pair{side_begin, end + after_shift};
    };
    auto [d_begin, d_end] = side_range(destination_edits, d_first, di, destination_shift);
    auto [s_begin, s_end] = side_range(source_edits, s_first, si, source_shift);
    MergeHunk hunk;
    hunk.base = MakeSide(base_lines, begin, end);
    hunk.destination = MakeSide(destination_lines, d_begin, d_end);
    hunk.source = MakeSide(source_lines, s_begin, s_end);
    hunk.conflict = d_first != di && s_first != si && hunk.destination.content != hunk.source.content;
    hunks.push_back(std::move(hunk));
    destination_shift += (d_end - d_begin) - (end - begin);
    source_shift += (s_end - s_begin) - (end - begin);
  }
  return hunks;
}

StatusOr<std::vector<MergeHunk>> ConflictHunks(git_repository* repo, const FileConflict& conflict) {
  std::vector<MergeHunk> hunks;
  bool text = [&] {
    for (const PathVersion* v : {&conflict.source, &conflict.destination, &conflict.base}) {
      if (v->exists && (!IsBlobLike(*v) || v->object_type == "GIT_LINK" || v->binary)) return false;
    }
    return conflict.source.exists || conflict.destination.exists;
  }();
  if (!text) return hunks;
  std::string base, destination, source;
  if (conflict.base.exists) {
    GANTRY_ASSIGN_OR_RETURN(base, BlobContent(repo, conflict.base));
  }
  if (conflict.destination.exists) {
    GANTRY_ASSIGN_OR_RETURN(destination, BlobContent(repo, conflict.destination));
  }
  if (conflict.source.exists) {
    GANTRY_ASSIGN_OR_RETURN(source, BlobContent(repo, conflict.source));
  }
  return LineHunks(base, destination, source);
}

}  // namespace gantry::services::codecommit
