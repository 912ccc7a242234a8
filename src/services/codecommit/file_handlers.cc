// Blobs, files and folders read from a commit, and the commits PutFile, DeleteFile and
// CreateCommit make on a branch (commits.h), each published as a ref change.
#include "core/common/strings.h"
#include "services/codecommit/commits.h"
#include "services/codecommit/handler_support.h"

namespace gantry::services::codecommit {

namespace {

constexpr size_t kMaxFileBytes = 6 * 1024 * 1024;  // GetBlob, GetFile and the content of a put
constexpr size_t kMaxCommitEntries = 100;          // puts + deletes + mode changes of CreateCommit
constexpr size_t kMaxMessageBytes = 256 * 1024;

Document Binary(const char* data, size_t size) {
  return Document::binary(
      std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(data), reinterpret_cast<const uint8_t*>(data) + size));
}

std::string BytesOf(const Document& value) {
  if (value.is_binary()) {
    const auto& bytes = value.get_binary();
    return std::string(bytes.begin(), bytes.end());
  }
  return value.is_string() ? value.get<std::string>() : std::string();
}

Status FileTooLarge(const std::string& what) {
  return Status::InvalidArgument(what +
                                     " is larger than 6 MB, the largest file the API returns; clone the repository "
                                     "to read it.",
                                 "FileTooLargeException");
}

// The size of a blob from its object header, without reading (inflating) its content; nullopt when
// the object does not exist or is not a blob.
StatusOr<std::optional<size_t>> BlobSize(git_repository* repo, const git_oid& id) {
  git_odb* raw = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_repository_odb(&raw, repo), "opening the object database"));
  git::Odb odb(raw);
  size_t size = 0;
  git_object_t type = GIT_OBJECT_INVALID;
  int rc = git_odb_read_header(&size, &type, odb.get(), &id);
  if (rc == GIT_ENOTFOUND || (rc == 0 && type != GIT_OBJECT_BLOB)) return std::optional<size_t>();
  if (rc < 0) return git::Error(rc, "reading the header of object " + git::OidHex(id));
  return std::optional<size_t>(size);
}

// The commit named by commitSpecifier, or the default branch's tip when there is none.
StatusOr<git::Commit> CommitOf(git_repository* repo, const Document& input) {
  if (input.contains("commitSpecifier")) return ResolveCommit(repo, Str(input, "commitSpecifier"));
  return HeadCommit(repo);
}

StatusOr<Document> GetBlob(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  std::string id = Str(input, "blobId");
  if (id.empty())
    return Status::InvalidArgument("A blob ID is required, but was not specified.", "BlobIdRequiredException");
  git_oid oid;
  if (!git::ParseOid(id, oid)) {
    return Status::InvalidArgument("The blob ID " + id + " is not a full blob ID.", "InvalidBlobIdException");
  }
  auto does_not_exist = [&] {
    return Status::NotFound("The blob " + id + " does not exist in the repository.", "BlobIdDoesNotExistException");
  };
  GANTRY_ASSIGN_OR_RETURN(std::optional<size_t> size, BlobSize(repo.git.get(), oid));
  if (!size) return does_not_exist();
  if (*size > kMaxFileBytes) return FileTooLarge("The blob " + id);
  git_blob* blob = nullptr;
  if (git_blob_lookup(&blob, repo.git.get(), &oid) != 0) return does_not_exist();
  git::Blob owned(blob);
  return Document{{"content", Binary(static_cast<const char*>(git_blob_rawcontent(blob)),
                                     static_cast<size_t>(git_blob_rawsize(blob)))}};
}

StatusOr<Document> GetFile(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  GANTRY_ASSIGN_OR_RETURN(std::string path, NormalizeFilePath(Str(input, "filePath")));
  GANTRY_ASSIGN_OR_RETURN(git::Commit commit, CommitOf(repo.git.get(), input));
  git_tree* tree = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&tree, commit.get()), "reading the commit's tree"));
  git::Tree tree_owned(tree);
  git_tree_entry* entry = nullptr;
  if (git_tree_entry_bypath(&entry, tree, path.c_str()) != 0) {
    return Status::NotFound(
        "The file " + path + " does not exist in commit " + git::OidHex(*git_commit_id(commit.get())) + ".",
        "FileDoesNotExistException");
  }
  git::TreeEntry entry_owned(entry);
  if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
    return Status::NotFound("The path " + path + " is not a file.", "FileDoesNotExistException");
  }
  GANTRY_ASSIGN_OR_RETURN(std::optional<size_t> header_size, BlobSize(repo.git.get(), *git_tree_entry_id(entry)));
  if (header_size && *header_size > kMaxFileBytes) return FileTooLarge("The file " + path);
  git_blob* blob = nullptr;
  GANTRY_RETURN_IF_ERROR(
      git::Check(git_blob_lookup(&blob, repo.git.get(), git_tree_entry_id(entry)), "reading " + path));
  git::Blob blob_owned(blob);
  size_t size = static_cast<size_t>(git_blob_rawsize(blob));
  return Document{{"commitId", git::OidHex(*git_commit_id(commit.get()))},
                  {"blobId", git::OidHex(*git_tree_entry_id(entry))},
                  {"filePath", path},
                  {"fileMode", FileModeName(git_tree_entry_filemode(entry))},
                  {"fileSize", size},
                  {"fileContent", Binary(static_cast<const char*>(git_blob_rawcontent(blob)), size)}};
}

StatusOr<Document> GetFolder(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  if (!input.contains("folderPath")) {
    return Status::InvalidArgument("A folder path is required, but was not specified.", "PathRequiredException");
  }
  GANTRY_ASSIGN_OR_RETURN(std::string path, NormalizeFolderPath(Str(input, "folderPath")));
  GANTRY_ASSIGN_OR_RETURN(git::Commit commit, CommitOf(repo.git.get(), input));
  git_tree* root = nullptr;
  GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&root, commit.get()), "reading the commit's tree"));
  git::Tree folder(root);
  if (!path.empty()) {
    git_tree_entry* entry = nullptr;
    if (git_tree_entry_bypath(&entry, root, path.c_str()) != 0 || git_tree_entry_type(entry) != GIT_OBJECT_TREE) {
      if (entry != nullptr) git_tree_entry_free(entry);
      return Status::NotFound(
          "The folder " + path + " does not exist in commit " + git::OidHex(*git_commit_id(commit.get())) + ".",
          "FolderDoesNotExistException");
    }
    git::TreeEntry owned(entry);
    git_tree* sub = nullptr;
    GANTRY_RETURN_IF_ERROR(
        git::Check(git_tree_lookup(&sub, repo.git.get(), git_tree_entry_id(entry)), "reading " + path));
    folder.reset(sub);
  }
  Document folders = Document::array(), files = Document::array(), links = Document::array(),
           modules = Document::array();
  for (size_t i = 0; i < git_tree_entrycount(folder.get()); ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(folder.get(), i);
    std::string name = git_tree_entry_name(entry);
    std::string absolute = path.empty() ? name : path + "/" + name;
    std::string id = git::OidHex(*git_tree_entry_id(entry));
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode == GIT_FILEMODE_TREE) {
      folders.push_back({{"treeId", id}, {"absolutePath", absolute}, {"relativePath", name}});
    } else if (mode == GIT_FILEMODE_COMMIT) {
      modules.push_back({{"commitId", id}, {"absolutePath", absolute}, {"relativePath", name}});
    } else {
      (mode == GIT_FILEMODE_LINK ? links : files)
          .push_back(
              {{"blobId", id}, {"absolutePath", absolute}, {"relativePath", name}, {"fileMode", FileModeName(mode)}});
    }
  }
  return Document{{"commitId", git::OidHex(*git_commit_id(commit.get()))},
                  {"folderPath", path.empty() ? "/" : path},
                  {"treeId", git::OidHex(*git_tree_id(folder.get()))},
                  {"subFolders", folders},
                  {"files", files},
                  {"symbolicLinks", links},
                  {"subModules", modules}};
}

// --- Commits through the API ----------------------------------------------------------------------

StatusOr<CommitAuthor> AuthorOf(const aws::RequestContext& ctx, const Document& input, const char* name_member) {
  return ResolveCommitAuthor(Str(input, name_member), Str(input, "email"), ctx.principal.arn);
}

StatusOr<std::string> MessageOf(const Document& input, std::string fallback) {
  std::string message = Str(input, "commitMessage");
  if (message.size() > kMaxMessageBytes) {
    return Status::InvalidArgument("The commit message is longer than 256 KB.", "CommitMessageLengthExceededException");
  }
  return message.empty() ? fallback : message;
}

// Commits edits on the branch, publishes the ref change, and returns the commit's outcome.
struct MadeCommit {
  std::string commit_id;
  EditOutcome edits;
};

StatusOr<MadeCommit> Commit(const CodeCommitDeps& deps, aws::RequestContext& ctx, OpenedRepository& repo,
                            const Document& input, const std::vector<FileEdit>& edits, const CommitAuthor& author,
                            const std::string& message, bool put_file) {
  std::string branch = Str(input, "branchName");
  GANTRY_ASSIGN_OR_RETURN(BranchTip tip, CheckParent(repo.git.get(), branch, Str(input, "parentCommitId"),
                                                     /*parent_required=*/true));
  git::Tree base;
  if (tip.commit) {
    git_tree* tree = nullptr;
    GANTRY_RETURN_IF_ERROR(git::Check(git_commit_tree(&tree, tip.commit.get()), "reading the parent's tree"));
    base.reset(tree);
  }
  MadeCommit out;
  GANTRY_ASSIGN_OR_RETURN(out.edits,
                          ApplyEdits(repo.git.get(), base.get(), edits, input.value("keepEmptyFolders", false)));
  if (put_file && out.edits.unchanged_put) {
    return Status::InvalidArgument("The file " + edits.front().path +
                                       " was not added or updated: its content and mode are the same as in the branch.",
                                   "SameFileContentException");
  }
  if (base && git_oid_equal(&out.edits.tree, git_tree_id(base.get()))) {
    return Status::InvalidArgument("The commit changes nothing: the tree is the same as the parent commit's.",
                                   "NoChangeException");
  }
  GANTRY_ASSIGN_OR_RETURN(ReferenceChange change,
                          CommitOnBranch(repo.git.get(), branch, tip, out.edits.tree, author, message, ctx.time));
  out.commit_id = change.commit_id;
  PublishReferenceChanges(deps, repo.record.doc, {change}, ctx.principal.arn);
  return out;
}

StatusOr<Document> PutFile(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  FileEdit edit;
  GANTRY_ASSIGN_OR_RETURN(edit.path, NormalizeFilePath(Str(input, "filePath")));
  if (!input.contains("fileContent")) {
    return Status::InvalidArgument("The file content is required, but was not specified.",
                                   "FileContentRequiredException");
  }
  edit.content = BytesOf(input["fileContent"]);
  if (edit.content->size() > kMaxFileBytes) {
    return Status::InvalidArgument("The file is larger than 6 MB; push it with git instead.",
                                   "FileContentSizeLimitExceededException");
  }
  if (input.contains("fileMode")) {
    GANTRY_ASSIGN_OR_RETURN(edit.mode, ParseFileMode(Str(input, "fileMode")));
  }
  GANTRY_ASSIGN_OR_RETURN(CommitAuthor author, AuthorOf(ctx, input, "name"));
  GANTRY_ASSIGN_OR_RETURN(std::string message, MessageOf(input, "Added or updated " + edit.path));
  GANTRY_ASSIGN_OR_RETURN(MadeCommit made, Commit(deps, ctx, repo, input, {edit}, author, message, /*put_file=*/true));
  const Document& written = made.edits.added.empty() ? made.edits.updated[0] : made.edits.added[0];
  return Document{
      {"commitId", made.commit_id}, {"blobId", written["blobId"]}, {"treeId", git::OidHex(made.edits.tree)}};
}

StatusOr<Document> DeleteFile(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  FileEdit edit;
  edit.kind = FileEdit::Kind::kDelete;
  GANTRY_ASSIGN_OR_RETURN(edit.path, NormalizeFilePath(Str(input, "filePath")));
  GANTRY_ASSIGN_OR_RETURN(CommitAuthor author, AuthorOf(ctx, input, "name"));
  GANTRY_ASSIGN_OR_RETURN(std::string message, MessageOf(input, "Deleted " + edit.path));
  GANTRY_ASSIGN_OR_RETURN(MadeCommit made, Commit(deps, ctx, repo, input, {edit}, author, message, /*put_file=*/false));
  return Document{{"commitId", made.commit_id},
                  {"blobId", made.edits.deleted[0]["blobId"]},
                  {"treeId", git::OidHex(made.edits.tree)},
                  {"filePath", edit.path}};
}

StatusOr<Document> CreateCommit(const CodeCommitDeps& deps, aws::RequestContext& ctx, const Document& input) {
  GANTRY_ASSIGN_OR_RETURN(OpenedRepository repo, OpenRepositoryNamed(deps, ctx.Scope(), Str(input, "repositoryName")));
  const Document puts = input.value("putFiles", Document::array());
  const Document deletes = input.value("deleteFiles", Document::array());
  const Document modes = input.value("setFileModes", Document::array());
  if (puts.empty() && deletes.empty() && modes.empty()) {
    return Status::InvalidArgument("The commit has no file changes: give putFiles, deleteFiles or setFileModes.",
                                   "FileEntryRequiredException");
  }
  if (puts.size() + deletes.size() + modes.size() > kMaxCommitEntries) {
    return Status::InvalidArgument("The commit has more than 100 file changes.", "MaximumFileEntriesExceededException");
  }
  std::vector<FileEdit> edits;
  for (const auto& put : puts) {
    FileEdit edit;
    GANTRY_ASSIGN_OR_RETURN(edit.path, NormalizeFilePath(Str(put, "filePath")));
    bool has_content = put.contains("fileContent");
    bool has_source = put.contains("sourceFile");
    if (has_content && has_source) {
      return Status::InvalidArgument("The put of " + edit.path + " gives both fileContent and sourceFile; give one.",
                                     "FileContentAndSourceFileSpecifiedException");
    }
    if (!has_content && !has_source) {
      return Status::InvalidArgument("The put of " + edit.path + " needs fileContent or sourceFile.",
                                     "SourceFileOrContentRequiredException");
    }
    if (has_content) {
      edit.content = BytesOf(put["fileContent"]);
      if (edit.content->size() > kMaxFileBytes) {
        return Status::InvalidArgument("The file " + edit.path + " is larger than 6 MB; push it with git instead.",
                                       "FileContentSizeLimitExceededException");
      }
    } else {
      GANTRY_ASSIGN_OR_RETURN(edit.source_path, NormalizeFilePath(Str(put["sourceFile"], "filePath")));
      edit.move = put["sourceFile"].value("isMove", false);
    }
    if (put.contains("fileMode")) {
      GANTRY_ASSIGN_OR_RETURN(edit.mode, ParseFileMode(Str(put, "fileMode")));
    }
    edits.push_back(std::move(edit));
  }
  for (const auto& removal : deletes) {
    FileEdit edit;
    edit.kind = FileEdit::Kind::kDelete;
    GANTRY_ASSIGN_OR_RETURN(edit.path, NormalizeFilePath(Str(removal, "filePath")));
    edits.push_back(std::move(edit));
  }
  for (const auto& change : modes) {
    FileEdit edit;
    edit.kind = FileEdit::Kind::kSetMode;
    GANTRY_ASSIGN_OR_RETURN(edit.path, NormalizeFilePath(Str(change, "filePath")));
    if (!change.contains("fileMode")) {
      return Status::InvalidArgument("The mode change of " + edit.path + " needs a fileMode.",
                                     "FileModeRequiredException");
    }
    GANTRY_ASSIGN_OR_RETURN(edit.mode, ParseFileMode(Str(change, "fileMode")));
    edits.push_back(std::move(edit));
  }
  GANTRY_ASSIGN_OR_RETURN(CommitAuthor author, AuthorOf(ctx, input, "authorName"));
  GANTRY_ASSIGN_OR_RETURN(std::string message, MessageOf(input, "Commit made with the CodeCommit API"));
  GANTRY_ASSIGN_OR_RETURN(MadeCommit made, Commit(deps, ctx, repo, input, edits, author, message, /*put_file=*/false));
  return Document{{"commitId", made.commit_id},
                  {"treeId", git::OidHex(made.edits.tree)},
                  {"filesAdded", made.edits.added},
                  {"filesUpdated", made.edits.updated},
                  {"filesDeleted", made.edits.deleted}};
}

}  // namespace

void RegisterFileHandlers(aws::HandlerTable& table, const CodeCommitDeps& deps) {
  AddHandler(table, deps, "GetBlob", GetBlob);
  AddHandler(table, deps, "GetFile", GetFile);
  AddHandler(table, deps, "GetFolder", GetFolder);
  AddHandler(table, deps, "PutFile", PutFile);
  AddHandler(table, deps, "DeleteFile", DeleteFile);
  AddHandler(table, deps, "CreateCommit", CreateCommit);
}

}  // namespace gantry::services::codecommit
