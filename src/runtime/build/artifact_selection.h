// Which files an artifact takes from a build's tree, by CodeBuild's rules: `files` globs relative to
// the source directory or to base-directory (itself possibly a glob of top-level directories),
// `exclude-paths`, `discard-paths`, and `enable-symlinks` (links kept as links instead of
// followed). Globs: `*`, `?` and `[...]` match within one path component (fnmatch(3), dot files
// included), `**` as a whole component matches any number of components; a pattern naming a
// directory takes every file below it. libc's glob(3) has no `**`, so components are matched with
// fnmatch(3) and `**` is handled here.
//
// The engine reads the files outside the build's mount namespace, where links may lead anywhere
// (/proc/self/environ is Gantry's own environment), so a file is selected only when its real path
// lies inside the source directory and outside every forbidden path (Gantry's state directory);
// with enable-symlinks the link itself is taken, and the directory it sits in must. Patterns and
// base-directory with a `..` component are refused.
// Pure functions over the file system; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "runtime/build/build_runner.h"

namespace gantry::runtime {

// Whether a '/'-separated relative path matches the glob pattern.
bool GlobMatch(std::string_view pattern, std::string_view path);

// Selects spec's files under root. log receives CodeBuild's progress lines ("Expanding **/*",
// "Found 3 file(s)") and one line per file left out for resolving outside root or into a forbidden
// path. A file's source is its real path (a kept link: the link's path). Errors: InvalidArgument
// (CLIENT_ERROR) for a pattern or base-directory leaving root.
StatusOr<std::vector<ArtifactFile>> SelectArtifactFiles(const ArtifactSpec& spec, const std::string& root,
                                                        const std::vector<std::string>& forbidden,
                                                        std::vector<std::string>& log);

}  // namespace gantry::runtime
