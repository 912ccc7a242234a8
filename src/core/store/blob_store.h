// BlobStore: byte blobs (objects, artifacts, repositories, log and metric segments) as files in a
// directory tree under the state directory.
//
// Paths are relative to the root and pass SafeJoin, so an untrusted name can never reach outside
// it. A write is atomic and durable: data goes to a temporary file beside the destination, the file
// is fsynced, renamed over the destination, and the directory fsynced, so a reader (and a restart
// after kill -9 or power loss) sees the old blob or the whole new one, never a torn one.
// Temporary files are named ".gantry-tmp-XXXXXX"; path components starting with that prefix are
// refused, and RemoveStaleTempFiles() clears the ones a crash left behind.
//
// Files are created 0600 and directories 0700. Parent directories are created on demand; they
// are not removed when their last blob goes.
//
// Thread-safety: a BlobStore is an immutable value and thread-safe; concurrent writes of the same
// path are atomic each, the last rename wins.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/common/status.h"

namespace gantry::store {

// root + "/" + relative when relative is a plain relative path: not empty, not absolute, no NUL,
// no empty, "." or ".." component, components at most 255 bytes. Purely lexical: the tree under
// root must not contain symlinks (Gantry creates none).
StatusOr<std::string> SafeJoin(std::string_view root, std::string_view relative);

class BlobStore {
 public:
  // Creates root (and its parents) if missing.
  static StatusOr<BlobStore> Open(const std::string& root);

  const std::string& root() const { return root_; }

  // Validated absolute path of a blob (which need not exist).
  StatusOr<std::string> AbsolutePath(std::string_view relative) const;

  // Replaces the blob at relative with data, atomically and durably.
  Status WriteAtomic(std::string_view relative, std::string_view data) const;
  // The whole blob; kNotFound when absent.
  StatusOr<std::string> Read(std::string_view relative) const;
  // Whether a blob was removed.
  StatusOr<bool> Remove(std::string_view relative) const;
  // Whether a blob (regular file) exists; false for invalid paths.
  bool Exists(std::string_view relative) const;

  // For streamed uploads: creates an empty temporary file (0600) in the directory of the future
  // blob at relative and returns its absolute path. Write it, then MoveInto(it, relative), or
  // unlink it to abandon the upload.
  StatusOr<std::string> CreateTempFile(std::string_view relative) const;
  // fsyncs temp_file, renames it to the blob at relative and fsyncs the directory. temp_file must
  // be on the same file system (CreateTempFile's are).
  Status MoveInto(const std::string& temp_file, std::string_view relative) const;

  // Deletes temporary files left by interrupted writes; returns how many. Call at startup, before
  // any write is in flight.
  StatusOr<int64_t> RemoveStaleTempFiles() const;

 private:
  explicit BlobStore(std::string root) : root_(std::move(root)) {}

  // SafeJoin plus refusal of the temporary-file prefix.
  StatusOr<std::string> Resolve(std::string_view relative) const;
  // Creates the parent directories of the validated relative path, fsyncing each new one's parent.
  Status CreateParents(std::string_view relative) const;

  std::string root_;
};

}  // namespace gantry::store
