// A thin RAII layer over libgit2: owning pointers for its objects, its errors as Status, and
// opening or creating the bare repositories CodeCommit keeps under the state directory.
//
// Init() runs git_libgit2_init once per process (Open/InitBare call it). libgit2 objects are not
// thread-safe: one git_repository (and everything looked up through it) belongs to one thread at
// a time; open a repository per request.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace gantry::services::codecommit::git {

// Initializes libgit2 once per process, with fsync of the objects and refs it writes (API commits
// are as durable as pushes); thread-safe.
void Init();

template <auto FreeFn>
struct Free {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using Repository = std::unique_ptr<git_repository, Free<git_repository_free>>;
using Commit = std::unique_ptr<git_commit, Free<git_commit_free>>;
using Tree = std::unique_ptr<git_tree, Free<git_tree_free>>;
using TreeEntry = std::unique_ptr<git_tree_entry, Free<git_tree_entry_free>>;
using Blob = std::unique_ptr<git_blob, Free<git_blob_free>>;
using Object = std::unique_ptr<git_object, Free<git_object_free>>;
using Reference = std::unique_ptr<git_reference, Free<git_reference_free>>;
using ReferenceIterator = std::unique_ptr<git_reference_iterator, Free<git_reference_iterator_free>>;
using BranchIterator = std::unique_ptr<git_branch_iterator, Free<git_branch_iterator_free>>;
using Signature = std::unique_ptr<git_signature, Free<git_signature_free>>;
using Index = std::unique_ptr<git_index, Free<git_index_free>>;
using TreeBuilder = std::unique_ptr<git_treebuilder, Free<git_treebuilder_free>>;
using Diff = std::unique_ptr<git_diff, Free<git_diff_free>>;
using Revwalk = std::unique_ptr<git_revwalk, Free<git_revwalk_free>>;
using Odb = std::unique_ptr<git_odb, Free<git_odb_free>>;
using Tag = std::unique_ptr<git_tag, Free<git_tag_free>>;

// libgit2's last error for a failed call (rc < 0) as an internal Status naming what was attempted.
Status Error(int rc, std::string_view what);
// Ok when rc >= 0, else Error(rc, what).
Status Check(int rc, std::string_view what);

StatusOr<Repository> Open(const std::string& path);
// Creates a bare repository at path (and missing parent directories) whose HEAD names main.
StatusOr<Repository> InitBare(const std::string& path);

std::string OidHex(const git_oid& oid);
// Whether hex is a full object id (40 hex digits); fills out when it is.
bool ParseOid(std::string_view hex, git_oid& out);

}  // namespace gantry::services::codecommit::git
