// Which files an artifact takes from a build's tree, by CodeBuild's rules: `files` globs relative to
// the source directory or to base-directory (itself possibly a glob of top-level directories),
// `exclude-paths`, `discard-paths`, and `enable-symlinks` (links kept as links instead of
// followed). Globs: `*`, `?` and `[...]` match within one path component (fnmatch(3), dot files
// included), `**` as a whole component matches any number of components; a pattern naming a
// directory takes every file below it. libc's glob(3) has no `**`, so components are matched with
// fnmatch(3) and `**` is handled here.
//
// The engine reads the files outside the build's mount namespace, so a file whose real path lies
// under a forbidden path (Gantry's state directory) is never selected, whatever links lead to it.
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
// "Found 3 file(s)") and one line per file left out for lying in a forbidden path.
std::vector<ArtifactFile> SelectArtifactFiles(const ArtifactSpec& spec, const std::string& root,
                                              const std::vector<std::string>& forbidden,
                                              std::vector<std::string>& log);

}  // namespace gantry::runtime
