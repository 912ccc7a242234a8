// The files of a CodeBuild cache and the names of its entries, apart from where the entries are
// stored (S3 or this machine, see cache.cc).
//
// A cache entry is a zip archive (core/archive) of the files the buildspec's `cache.paths` globs
// match when the build ends: "src/<path>" for a path relative to CODEBUILD_SRC_DIR (a new
// directory for every build) and "abs/<path>" for an absolute one, as the build's commands see
// them. Absolute paths are cached only for a container build (BuildFilesystem maps them under its
// root); in the host sandbox they would be this machine's own files, and are neither read nor
// written. Collecting reads no link through and enters no directory that is a link, nor Gantry's
// state directory (matched by device and inode, however its path is spelled), nor /proc, /sys or
// /dev. Restoring extracts into a staging directory (ExtractZip's name, size and link rules) and
// then places each file relative to directory descriptors opened without following links, never
// replacing what exists (the source wins, as with CodeBuild's local cache) and never writing into
// the state directory. A link is kept only when it stays inside its own half (the source
// directory, or the file system's root).
//
// Entry names: "projects/<project>/cache.zip" without a key (one cache per project, replaced by
// every build, as CodeBuild does without a key); with a key "<scope>/keys/<version>/<key>.zip",
// scope being "namespaces/<cacheNamespace>" or "projects/<project>", version a digest of the
// paths (caches of other paths are other caches), the key percent-encoded (so that a fallback
// key's prefix is the prefix of the encoded name). Pure functions over the file system;
// thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/archive/zip.h"
#include "core/common/clock.h"
#include "runtime/build/build_runner.h"

namespace gantry::services::codebuild {

// Where a build's cache paths are.
struct CacheTree {
  std::string src_dir;                   // CODEBUILD_SRC_DIR (the same path inside and outside)
  runtime::BuildFilesystem fs;           // absolute paths of the build's view to this machine
  std::vector<std::string> forbidden;    // paths on this machine never read nor written (compared
                                         // by device and inode)
};

// The files the cache paths match, as archive entries. log receives one line per path left out
// and why. InvalidArgument for a path with a ".." component or an empty one.
StatusOr<std::vector<archive::ZipSourceFile>> CollectCacheFiles(const std::vector<std::string>& paths,
                                                                const CacheTree& tree,
                                                                std::vector<std::string>& log);

// The same errors as CollectCacheFiles's, without reading anything.
Status CheckCachePaths(const std::vector<std::string>& paths);

// Moves what ExtractZip unpacked into `staged` to its places; returns how many files and links
// were placed. log receives one line per entry left out.
StatusOr<size_t> PlaceCacheFiles(const std::string& staged, const CacheTree& tree, std::vector<std::string>& log);

// A short digest of the cache paths, in any order.
std::string CacheVersion(const std::vector<std::string>& paths);
// The key as one path component: [A-Za-z0-9._-] kept (but a leading '.'), every other byte as %XX.
std::string EncodeCacheKey(std::string_view key);

// Where LOCAL caches of one account and region live on this machine: under Gantry's state
// directory (hidden from every build, like the rest of it).
std::string LocalCacheRoot(std::string_view state_dir, std::string_view account, std::string_view region);

// The names of a build's entries. scope_dir: "namespaces/<ns>" or "projects/<project>".
std::string CacheScopeDir(std::string_view project, std::string_view cache_namespace);
std::string UnkeyedCacheEntry(std::string_view project);
// "<scope>/keys/<version>/" (what a keyed entry's name starts with).
std::string KeyedCachePrefix(std::string_view scope_dir, std::string_view version);

struct StoredCacheEntry {
  std::string name;
  TimePoint modified;
};

// The entry a restore takes among those stored under a keyed prefix (names relative to it): the
// key's own, else for each fallback key in turn the newest whose name starts with it. Entries not
// newer than not_before (the project's cache was invalidated then) do not count.
std::optional<std::string> ChooseCacheEntry(const std::vector<StoredCacheEntry>& entries, std::string_view key,
                                            const std::vector<std::string>& fallback_keys, TimePoint not_before);

}  // namespace gantry::services::codebuild
