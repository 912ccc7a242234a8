#include "services/codecommit/commits.h"

#include <cstdio>
#include <map>
#include <set>

#include "core/common/strings.h"

namespace gantry::services::codecommit {

namespace {

Status Error(std::string code, std::string message) {
  return Status::InvalidArgument(std::move(message), std::move(code));
}
Status Missing(std::string code, std::string message) { return Status::NotFound(std::move(message), std::move(code)); }

Document Metadata(const std::string& path, const git_oid& blob, git_filemode_t mode) {
  return {{"absolutePath", path}, {"blobId", git::OidHex(blob)}, {"fileMode", FileModeName(mode)}};
}

bool IsBlobMode(git_filemode_t mode) {
  return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE || mode == GIT_FILEMODE_LINK;
}

// One edit positioned in the tree walk: the path's components.
struct Positioned {
  const FileEdit* edit;
  std::vector<std::string> parts;
  git_oid blob{};  // puts: the blob to write
  git_filemode_t mode = GIT_FILEMODE_BLOB;
};

std::string JoinParts(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

// Applies the edits below one tree (base may be null) and returns the written tree, or nullopt
// when it ends up empty.
StatusOr<std::optional<git_oid>> EditTree(git_repository* repo, const git_tree* base,
                                          const std::vector<Positioned*>& edits, size_t depth, bool keep_empty_folders,
                                          EditOutcome& out) {
  git_treebuilder* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_treebuilder_new(&raw, repo, base), "reading a tree"));
  git::TreeBuilder builder(raw);
  std::map<std::string, std::vector<Positioned*>> deeper;
  for (Positioned* p : edits) {
    const std::string& name = p->parts[depth];
    if (p->parts.size() > depth + 1) {
      deeper[name].push_back(p);
      continue;
    }
    const FileEdit& edit = *p->edit;
    const git_tree_entry* existing = git_treebuilder_get(builder.get(), name.c_str());
    git_filemode_t existing_mode = existing ? git_tree_entry_filemode(existing) : GIT_FILEMODE_UNREADABLE;
    if (existing && existing_mode == GIT_FILEMODE_COMMIT) {
      return Error("FilePathConflictsWithSubmodulePathException",
                   "The path " + edit.path + " is a submodule; files cannot be written there.");
    }
    if (edit.kind == FileEdit::Kind::kPut) {
      if (existing && existing_mode == GIT_FILEMODE_TREE) {
        return Error("FileNameConflictsWithDirectoryNameException",
                     "The file " + edit.path + " has the name of a folder that already exists at that path.");
      }
      git_filemode_t mode = edit.mode ? *edit.mode : existing ? existing_mode : p->mode;
      if (existing && git_oid_equal(git_tree_entry_id(existing), &p->blob) && existing_mode == mode) {
        out.unchanged_put = true;
      }
      (existing ? out.updated : out.added).push_back(Metadata(edit.path, p->blob, mode));
      GANTRY_RETURN_IF_ERROR(git::Check(git_treebuilder_insert(nullptr, builder.get(), name.c_str(), &p->blob, mode),
                                        "writing " + edit.path));
    } else {
      if (!existing || !IsBlobMode(existing_mode)) {
        return Missing("FileDoesNotExistException", "The file " + edit.path + " does not exist in the parent commit.");
      }
      git_oid blob = *git_tree_entry_id(existing);
      if (edit.kind == FileEdit::Kind::kDelete) {
        out.deleted.push_back(Metadata(edit.path, blob, existing_mode));
        GANTRY_RETURN_IF_ERROR(
            git::Check(git_treebuilder_remove(builder.get(), name.c_str()), "deleting " + edit.path));
      } else {
        out.updated.push_back(Metadata(edit.path, blob, *edit.mode));
        GANTRY_RETURN_IF_ERROR(
            git::Check(git_treebuilder_insert(nullptr, builder.get(), name.c_str(), &blob, *edit.mode),
                       "changing the mode of " + edit.path));
      }
    }
  }
  for (const auto& [name, below] : deeper) {
    const git_tree_entry* existing = git_treebuilder_get(builder.get(), name.c_str());
    const std::string folder = JoinParts(below.front()->parts, depth + 1);
    git::Tree subtree;
    if (existing) {
      git_filemode_t mode = git_tree_entry_filemode(existing);
      if (mode == GIT_FILEMODE_COMMIT) {
        return Error("FilePathConflictsWithSubmodulePathException",
                     "The folder " + folder + " is a submodule; files cannot be written under it.");
      }
      if (mode != GIT_FILEMODE_TREE) {
        for (Positioned* p : below) {
          if (p->edit->kind != FileEdit::Kind::kPut) {
            return Missing("FileDoesNotExistException",
                           "The file " + p->edit->path + " does not exist in the parent commit.");
          }
        }
        return Error("DirectoryNameConflictsWithFileNameException",
                     "The folder " + folder + " has the name of a file that already exists at that path.");
      }
      git_tree* raw_tree = nullptr;
      GANTRY_RETURN_IF_ERROR(
          git::Check(git_tree_lookup(&raw_tree, repo, git_tree_entry_id(existing)), "reading " + folder));
      subtree.reset(raw_tree);
    } else {
      for (Positioned* p : below) {
        if (p->edit->kind != FileEdit::Kind::kPut) {
          return Missing("FileDoesNotExistException",
                         "The file " + p->edit->path + " does not exist in the parent commit.");
        }
      }
    }
    GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> written,
                            EditTree(repo, subtree.get(), below, depth + 1, keep_empty_folders, out));
    if (written) {
      GANTRY_RETURN_IF_ERROR(
          git::Check(git_treebuilder_insert(nullptr, builder.get(), name.c_str(), &*written, GIT_FILEMODE_TREE),
                     "writing " + folder));
    } else if (existing) {
      GANTRY_RETURN_IF_ERROR(git::Check(git_treebuilder_remove(builder.get(), name.c_str()), "removing " + folder));
    }
  }
  if (git_treebuilder_entrycount(builder.get()) == 0 && depth > 0) {
    if (!keep_empty_folders) return std::optional<git_oid>();
    git_oid empty;
    GANTRY_RETURN_IF_ERROR(git::Check(git_blob_create_from_buffer(&empty, repo, "", 0), "writing .gitkeep"));
    GANTRY_RETURN_IF_ERROR(git::Check(
        git_treebuilder_insert(nullptr, builder.get(), ".gitkeep", &empty, GIT_FILEMODE_BLOB), "writing .gitkeep"));
  }
  git_oid tree;
  GANTRY_RETURN_IF_ERROR(git::Check(git_treebuilder_write(&tree, builder.get()), "writing a tree"));
  return std::optional<git_oid>(tree);
}

// No branch or tag yet (libgit2's git_repository_is_empty also wants HEAD to name
// init.defaultBranch, which says nothing about a repository whose HEAD was set to main).
StatusOr<bool> HasNoReferences(git_repository* repo) {
  git_reference_iterator* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_reference_iterator_new(&raw, repo), "listing references"));
  git::ReferenceIterator iterator(raw);
  const char* name = nullptr;
  return git_reference_next_name(&name, iterator.get()) == GIT_ITEROVER;
}

Status InvalidPath(std::string_view path, std::string_view why) {
  return Error("InvalidPathException", "The path " + std::string(path) + " is not valid: " + std::string(why) + ".");
}

Status CheckComponents(std::string_view original, std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return InvalidPath(original, "it contains a NUL character");
  for (std::string_view part : Split(path, '/')) {
    if (part.empty()) return InvalidPath(original, "it has an empty folder name");
    if (part == "." || part == "..") return InvalidPath(original, "'.' and '..' are not allowed in paths");
    if (EqualsIgnoreCase(part, ".git")) return InvalidPath(original, "'.git' is reserved by git");
  }
  return Status::Ok();
}

}  // namespace

std::string UserDate(const git_time& when) {
  int offset = when.offset;
  char sign = offset < 0 ? '-' : '+';
  if (offset < 0) offset = -offset;
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%lld %c%02d%02d", static_cast<long long>(when.time), sign, offset / 60,
                offset % 60);
  return buffer;
}

Document CommitShape(const git_commit* commit) {
  auto user = [](const git_signature* s) {
    return Document{{"name", s->name ? s->name : ""}, {"email", s->email ? s->email : ""}, {"date", UserDate(s->when)}};
  };
  Document parents = Document::array();
  for (unsigned i = 0; i < git_commit_parentcount(commit); ++i) {
    parents.push_back(git::OidHex(*git_commit_parent_id(commit, i)));
  }
  const char* message = git_commit_message(commit);
  return {{"commitId", git::OidHex(*git_commit_id(commit))},
          {"treeId", git::OidHex(*git_commit_tree_id(commit))},
          {"parents", parents},
          {"message", message ? message : ""},
          {"author", user(git_commit_author(commit))},
          {"committer", user(git_commit_committer(commit))},
          {"additionalData", ""}};
}

StatusOr<git::Commit> ResolveCommit(git_repository* repo, std::string_view specifier) {
  if (specifier.empty()) return Error("CommitRequiredException", "A commit was not specified.");
  std::string spec(specifier);
  git_object* object = nullptr;
  int rc = git_revparse_single(&object, repo, spec.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC) {
    return Missing("CommitDoesNotExistException", "The commit " + spec + " does not exist in the repository.");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "resolving " + spec));
  git::Object owned(object);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, object, GIT_OBJECT_COMMIT) < 0) {
    return Error("InvalidCommitException", "The specifier " + spec + " does not name a commit.");
  }
  return git::Commit(reinterpret_cast<git_commit*>(peeled));
}

StatusOr<git::Commit> HeadCommit(git_repository* repo) {
  git_object* object = nullptr;
  int rc = git_revparse_single(&object, repo, "HEAD");
  if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
    return Missing("CommitDoesNotExistException", "The repository has no commits on its default branch.");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "resolving HEAD"));
  git::Object owned(object);
  git_object* peeled = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_object_peel(&peeled, object, GIT_OBJECT_COMMIT), "resolving HEAD"));
  return git::Commit(reinterpret_cast<git_commit*>(peeled));
}

StatusOr<std::string> NormalizeFilePath(std::string_view path) {
  if (path.empty()) return Error("PathRequiredException", "A file path is required, but was not specified.");
  std::string_view trimmed = path;
  while (!trimmed.empty() && trimmed.front() == '/') trimmed.remove_prefix(1);
  if (trimmed.empty() || trimmed.back() == '/') return InvalidPath(path, "it names a folder, not a file");
  GANTRY_RETURN_IF_ERROR(CheckComponents(path, trimmed));
  return std::string(trimmed);
}

StatusOr<std::string> NormalizeFolderPath(std::string_view path) {
  std::string_view trimmed = path;
  while (!trimmed.empty() && trimmed.front() == '/') trimmed.remove_prefix(1);
  while (!trimmed.empty() && trimmed.back() == '/') trimmed.remove_suffix(1);
  if (trimmed.empty()) return std::string();
  GANTRY_RETURN_IF_ERROR(CheckComponents(path, trimmed));
  return std::string(trimmed);
}

std::string FileModeName(git_filemode_t mode) {
  switch (mode) {
    case GIT_FILEMODE_BLOB_EXECUTABLE:
      return "EXECUTABLE";
    case GIT_FILEMODE_LINK:
      return "SYMLINK";
    default:
      return "NORMAL";
  }
}

StatusOr<git_filemode_t> ParseFileMode(std::string_view name) {
  if (name == "NORMAL") return GIT_FILEMODE_BLOB;
  if (name == "EXECUTABLE") return GIT_FILEMODE_BLOB_EXECUTABLE;
  if (name == "SYMLINK") return GIT_FILEMODE_LINK;
  return Error("InvalidFileModeException",
               "The file mode " + std::string(name) + " is not valid: use NORMAL, EXECUTABLE or SYMLINK.");
}

std::string ModeOctal(git_filemode_t mode) {
  char buffer[16];
  std::snprintf(buffer, sizeof(buffer), "%06o", static_cast<unsigned>(mode));
  return buffer;
}

Status ValidateBranchName(std::string_view branch) {
  if (branch.empty()) return Error("BranchNameRequiredException", "A branch name is required, but was not specified.");
  std::string ref = "refs/heads/" + std::string(branch);
  if (branch.size() > 256 || git_reference_is_valid_name(ref.c_str()) != 1) {
    return Error("InvalidBranchNameException", "The branch name " + std::string(branch) + " is not valid.");
  }
  return Status::Ok();
}

StatusOr<EditOutcome> ApplyEdits(git_repository* repo, const git_tree* base, const std::vector<FileEdit>& edits,
                                 bool keep_empty_folders) {
  std::vector<Positioned> positioned;
  positioned.reserve(edits.size() * 2);
  std::vector<FileEdit> moves;  // the deletes implied by isMove, kept alive for Positioned
  moves.reserve(edits.size());
  std::set<std::string> paths;
  auto position = [&](const FileEdit& edit) -> Status {
    if (!paths.insert(edit.path).second) {
      return Error("SamePathRequestException",
                   "The path " + edit.path + " appears more than once in the request; each path can be changed once.");
    }
    Positioned p;
    p.edit = &edit;
    for (std::string_view part : Split(edit.path, '/')) p.parts.emplace_back(part);
    positioned.push_back(std::move(p));
    return Status::Ok();
  };
  for (const FileEdit& edit : edits) {
    if (edit.kind == FileEdit::Kind::kPut && !edit.content && !edit.source_path.empty() && edit.move) {
      FileEdit removal;
      removal.kind = FileEdit::Kind::kDelete;
      removal.path = edit.source_path;
      moves.push_back(std::move(removal));
    }
  }
  for (const FileEdit& edit : edits) GANTRY_RETURN_IF_ERROR(position(edit));
  for (const FileEdit& edit : moves) GANTRY_RETURN_IF_ERROR(position(edit));
  // A path may not be both a file and a folder of the same request.
  for (const std::string& path : paths) {
    for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      if (paths.count(path.substr(0, slash))) {
        return Error("PutFileEntryConflictException",
                     "The request changes both " + path.substr(0, slash) + " and " + path + ", a file inside it.");
      }
    }
  }
  for (Positioned& p : positioned) {
    const FileEdit& edit = *p.edit;
    if (edit.kind != FileEdit::Kind::kPut) continue;
    if (edit.content) {
      GANTRY_RETURN_IF_ERROR(
          git::Check(git_blob_create_from_buffer(&p.blob, repo, edit.content->data(), edit.content->size()),
                     "writing " + edit.path));
      continue;
    }
    git_tree_entry* source = nullptr;
    if (base == nullptr || git_tree_entry_bypath(&source, base, edit.source_path.c_str()) != 0) {
      return Missing("FileDoesNotExistException",
                     "The source file " + edit.source_path + " does not exist in the parent commit.");
    }
    git::TreeEntry owned(source);
    if (!IsBlobMode(git_tree_entry_filemode(source))) {
      return Missing("FileDoesNotExistException", "The source " + edit.source_path + " is not a file.");
    }
    p.blob = *git_tree_entry_id(source);
    p.mode = git_tree_entry_filemode(source);
  }
  std::vector<Positioned*> all;
  for (Positioned& p : positioned) all.push_back(&p);
  EditOutcome out;
  GANTRY_ASSIGN_OR_RETURN(std::optional<git_oid> tree, EditTree(repo, base, all, 0, keep_empty_folders, out));
  out.tree = *tree;
  return out;
}

StatusOr<BranchTip> CheckParent(git_repository* repo, std::string_view branch, std::string_view parent_commit_id,
                                bool parent_required) {
  GANTRY_RETURN_IF_ERROR(ValidateBranchName(branch));
  std::string name(branch);
  BranchTip out;
  git_reference* ref = nullptr;
  int rc = git_reference_lookup(&ref, repo, ("refs/heads/" + name).c_str());
  if (rc == 0) {
    git::Reference owned(ref);
    git_reference* resolved = nullptr;
    GANTRY_RETURN_IF_ERROR(git::Check(git_reference_resolve(&resolved, ref), "reading branch " + name));
    git::Reference resolved_owned(resolved);
    out.tip = *git_reference_target(resolved);
  } else if (rc != GIT_ENOTFOUND) {
    return git::Error(rc, "reading branch " + name);
  }
  if (!out.tip) {
    git_reference* tag = nullptr;
    if (git_reference_lookup(&tag, repo, ("refs/tags/" + name).c_str()) == 0) {
      git_reference_free(tag);
      return Error("BranchNameIsTagNameException", "The name " + name + " is a tag, not a branch.");
    }
    GANTRY_ASSIGN_OR_RETURN(bool empty, HasNoReferences(repo));
    if (!empty) {
      return Missing("BranchDoesNotExistException", "The branch " + name + " does not exist in the repository.");
    }
  }
  if (parent_commit_id.empty()) {
    if (out.tip && parent_required) {
      return Error("ParentCommitIdRequiredException", "A parent commit ID is required: the tip of " + name +
                                                          " (see GetBranch), as the branch is not empty.");
    }
  } else {
    git_oid parent;
    if (!git::ParseOid(parent_commit_id, parent)) {
      return Error("InvalidParentCommitIdException",
                   "The parent commit ID " + std::string(parent_commit_id) + " is not a full commit ID.");
    }
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, repo, &parent) != 0) {
      return Missing("ParentCommitDoesNotExistException",
                     "The parent commit ID " + std::string(parent_commit_id) + " does not exist in the repository.");
    }
    git_commit_free(commit);
    if (!out.tip || !git_oid_equal(&parent, &*out.tip)) {
      return Status::Conflict("The parent commit ID " + std::string(parent_commit_id) + " is not the tip of " + name +
                                  "; get the tip with GetBranch and try again.",
                              "ParentCommitIdOutdatedException");
    }
  }
  if (out.tip) {
    git_commit* commit = nullptr;
    GANTRY_RETURN_IF_ERROR(git::Check(git_commit_lookup(&commit, repo, &*out.tip), "reading the tip of " + name));
    out.commit.reset(commit);
  }
  return out;
}

StatusOr<ReferenceChange> CommitOnBranch(git_repository* repo, std::string_view branch, const BranchTip& parent,
                                         const git_oid& tree_id, const CommitAuthor& author, std::string_view message,
                                         TimePoint when) {
  git_tree* raw_tree = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_tree_lookup(&raw_tree, repo, &tree_id), "reading the new tree"));
  git::Tree tree(raw_tree);
  git_signature* raw_signature = nullptr;
  int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
  GANTRY_RETURN_IF_ERROR(git::Check(
      git_signature_new(&raw_signature, author.name.c_str(), author.email.c_str(), seconds, 0), "making the author"));
  git::Signature signature(raw_signature);
  const git_commit* parents[1] = {parent.commit.get()};
  git_oid commit_id;
  std::string text(message);
  GANTRY_RETURN_IF_ERROR(
      git::Check(git_commit_create(&commit_id, repo, nullptr, signature.get(), signature.get(), nullptr, text.c_str(),
                                   tree.get(), parent.commit ? 1 : 0, parents),
                 "writing the commit"));
  std::string ref_name = "refs/heads/" + std::string(branch);
  git_reference* ref = nullptr;
  int rc = parent.tip ? git_reference_create_matching(&ref, repo, ref_name.c_str(), &commit_id, 1, &*parent.tip,
                                                      "codecommit api")
                      : git_reference_create(&ref, repo, ref_name.c_str(), &commit_id, 0, "codecommit api");
  if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED) {
    return Status::Conflict("The branch " + std::string(branch) +
                                " moved while the commit was made; get its tip with GetBranch and try again.",
                            "ParentCommitIdOutdatedException");
  }
  GANTRY_RETURN_IF_ERROR(git::Check(rc, "moving " + ref_name));
  git_reference_free(ref);
  ReferenceChange change;
  change.full_name = ref_name;
  change.commit_id = git::OidHex(commit_id);
  if (parent.tip) change.old_commit_id = git::OidHex(*parent.tip);
  return change;
}

StatusOr<CommitAuthor> ResolveCommitAuthor(std::string name, std::string email, const std::string& caller_arn) {
  constexpr size_t kMaxNameBytes = 1024;
  CommitAuthor author{std::move(name), std::move(email)};
  if (author.name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("The name is longer than 1024 bytes.", "NameLengthExceededException");
  }
  if (author.email.find_first_of("<>\n") != std::string::npos) {
    return Status::InvalidArgument("The email address " + author.email + " is not valid.", "InvalidEmailException");
  }
  if (author.name.find_first_of("<>\n") != std::string::npos) {
    return Status::InvalidArgument("The name " + author.name + " cannot contain <, > or line breaks.",
                                   "NameLengthExceededException");
  }
  if (author.name.empty()) {
    author.name = caller_arn.empty() ? "gantry" : caller_arn.substr(caller_arn.find_last_of(":/") + 1);
  }
  if (author.email.empty()) author.email = caller_arn.empty() ? "gantry" : caller_arn;
  return author;
}

}  // namespace gantry::services::codecommit
