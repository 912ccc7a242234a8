// Zip archives (libzip), the one implementation every service uses: written from memory or from
// files, read into memory, or extracted into a directory. Archives come from callers (pipeline
// artifacts, build sources), so reading never trusts them: entry counts and inflated sizes are
// capped by ZipLimits and counted from the bytes actually inflated (a forged size field changes
// nothing), every entry name must pass SafeZipPath, and extracted symlinks must resolve inside the
// directory without passing through another symlink. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::archive {

struct ZipEntry {
  std::string path;      // relative, '/'-separated
  std::string content;   // a symlink's target when `symlink`
  uint32_t mode = 0644;  // permission bits
  bool symlink = false;
};

// A file on disk to archive as `path`.
struct ZipSourceFile {
  std::string path;    // the entry name
  std::string source;  // the file (or symlink) to read
};

// What reading an archive accepts; more fails with InvalidArgument naming the limit.
struct ZipLimits {
  uint64_t max_entries = 100000;
  uint64_t max_entry_bytes = uint64_t{1} << 30;  // inflated, per entry
  uint64_t max_total_bytes = uint64_t{4} << 30;  // inflated, all entries together
};

// Whether an entry name stays inside the archive's root: relative, no "\\", no ".." component,
// not empty once "." and empty components are dropped.
bool SafeZipPath(std::string_view name);

// The bytes of a zip archive of the entries, in order.
StatusOr<std::string> WriteZip(const std::vector<ZipEntry>& entries);

// Writes a zip archive of the files at zip_path (regular files with their permission bits; a
// symlink as a symlink entry with keep_symlinks, else the file it points to; other kinds skipped).
Status WriteZipFile(const std::string& zip_path, const std::vector<ZipSourceFile>& files, bool keep_symlinks);

// The regular files and symlinks of an archive in memory (directories are implied by paths).
StatusOr<std::vector<ZipEntry>> ReadZip(std::string_view bytes, const ZipLimits& limits = {});

// The content of the archive's entry `name` when it is the archive's only entry; nullopt for any
// other archive. The entry may inflate to at most max_bytes.
StatusOr<std::optional<std::string>> ReadOnlyEntry(const std::string& zip_path, std::string_view name,
                                                   uint64_t max_bytes);

// Unpacks the archive at zip_path into dir (which exists). Symlinks are created last, and only
// when their target, resolved from where they stand, stays inside dir and passes through no other
// symlink of the archive or of dir.
Status ExtractZip(const std::string& zip_path, const std::string& dir, const ZipLimits& limits = {});

}  // namespace gantry::archive
