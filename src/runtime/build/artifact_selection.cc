#include "runtime/build/artifact_selection.h"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>

namespace gantry::runtime {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Components(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string JoinComponents(const std::vector<std::string>& parts, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

bool HasWildcard(std::string_view part) { return part.find_first_of("*?[") != std::string_view::npos; }

bool MatchFrom(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path, size_t si) {
  while (pi < pattern.size()) {
    if (pattern[pi] == "**") {
      while (pi + 1 < pattern.size() && pattern[pi + 1] == "**") ++pi;
      if (pi + 1 == pattern.size()) return true;
      for (size_t k = si; k <= path.size(); ++k) {
        if (MatchFrom(pattern, pi + 1, path, k)) return true;
      }
      return false;
    }
    if (si >= path.size() || fnmatch(pattern[pi].c_str(), path[si].c_str(), 0) != 0) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  if (path == dir || dir == "/") return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return {};
  return resolved;
}

// Walks dir (absolute) and calls found(relative path) for every file below it, to max_depth levels.
class TreeWalker {
 public:
  TreeWalker(bool keep_links, std::function<void(const std::string&, const std::string&)> found)
      : keep_links_(keep_links), found_(std::move(found)) {}

  void Walk(const std::string& dir, const std::string& relative, size_t max_depth) {
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    if (!visited_.insert({st.st_dev, st.st_ino}).second) return;  // a link back up the tree
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string path = dir + "/" + name;
      std::string rel = relative.empty() ? name : relative + "/" + name;
      Visit(path, rel, max_depth);
    }
    visited_.erase({st.st_dev, st.st_ino});
  }

  void Visit(const std::string& path, const std::string& rel, size_t max_depth) {
    struct stat link;
    if (lstat(path.c_str(), &link) != 0) return;
    if (S_ISLNK(link.st_mode) && keep_links_) {
      found_(path, rel);
      return;
    }
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return;  // a dangling link
    if (S_ISDIR(st.st_mode)) {
      if (max_depth > 1) Walk(path, rel, max_depth - 1);
    } else if (S_ISREG(st.st_mode)) {
      found_(path, rel);
    }
  }

 private:
  bool keep_links_;
  std::function<void(const std::string&, const std::string&)> found_;
  std::set<std::pair<dev_t, ino_t>> visited_;
};

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  return MatchFrom(Components(pattern), 0, Components(path), 0);
}

StatusOr<std::vector<ArtifactFile>> SelectArtifactFiles(const ArtifactSpec& spec, const std::string& root,
                                                        const std::vector<std::string>& forbidden,
                                                        std::vector<std::string>& log) {
  auto leaves = [](std::string_view pattern) {
    std::vector<std::string> parts = Components(pattern);
    return std::find(parts.begin(), parts.end(), "..") != parts.end();
  };
  if (leaves(spec.base_directory)) {
    return Status::InvalidArgument("artifact base-directory " + spec.base_directory +
                                       " leaves the source directory: '..' is not allowed",
                                   "CLIENT_ERROR");
  }
  for (const std::string& pattern : spec.files) {
    if (leaves(pattern)) {
      return Status::InvalidArgument(
          "artifact files pattern " + pattern + " leaves the source directory: '..' is not allowed", "CLIENT_ERROR");
    }
  }
  std::string root_real = RealPath(root);
  if (root_real.empty()) return Status::Internal("the source directory " + root + " cannot be resolved");
  std::vector<std::string> forbidden_real;
  for (const std::string& path : forbidden) {
    std::string real = RealPath(path);
    forbidden_real.push_back(real.empty() ? path : real);
  }

  // base-directory: one directory, or a glob of directories.
  std::vector<std::pair<std::string, std::string>> bases;  // absolute, relative to root
  std::string base_pattern = spec.base_directory.empty() ? "." : spec.base_directory;
  log.push_back("Expanding base directory path: " + base_pattern);
  std::vector<std::string> base_parts = Components(base_pattern);
  if (std::none_of(base_parts.begin(), base_parts.end(), HasWildcard)) {
    std::string rel = JoinComponents(base_parts, 0, base_parts.size());
    bases.push_back({rel.empty() ? root : root + "/" + rel, rel});
  } else {
    size_t literal = 0;
    while (literal < base_parts.size() && !HasWildcard(base_parts[literal])) ++literal;
    std::string start_rel = JoinComponents(base_parts, 0, literal);
    std::string start = start_rel.empty() ? root : root + "/" + start_rel;
    std::error_code ec;
    std::vector<std::string> names;
    std::function<void(const std::string&, const std::string&, size_t)> find_dirs =
        [&](const std::string& dir, const std::string& rel, size_t depth) {
          std::vector<std::string> entries;
          for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            entries.push_back(it->path().filename().string());
          }
          std::sort(entries.begin(), entries.end());
          for (const std::string& name : entries) {
            std::string path = dir + "/" + name;
            std::string child_rel = rel.empty() ? name : rel + "/" + name;
            struct stat st;
            if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
            if (GlobMatch(base_pattern, child_rel)) bases.push_back({path, child_rel});
            if (depth + 1 < base_parts.size()) find_dirs(path, child_rel, depth + 1);
          }
        };
    find_dirs(start, start_rel, literal);
  }

  log.push_back("Assembling file list");
  std::vector<ArtifactFile> files;
  std::set<std::string> taken_sources;
  std::set<std::string> taken_paths;
  for (const auto& [base, base_rel] : bases) {
    log.push_back("Expanding " + (base_rel.empty() ? std::string(".") : base_rel));
    log.push_back("Expanding file paths for base directory " + (base_rel.empty() ? std::string(".") : base_rel));
    log.push_back("Assembling file list");
    for (const std::string& pattern : spec.files) {
      log.push_back("Expanding " + pattern);
      std::vector<std::string> parts = Components(pattern);
      if (parts.empty()) continue;
      auto take = [&](const std::string& source, const std::string& rel) {
        for (const std::string& exclude : spec.exclude_paths) {
          if (GlobMatch(exclude, rel)) return;
        }
        if (!taken_sources.insert(source).second) return;
        // A link kept as a link is never read through; what is read (a file, or the directory a
        // kept link sits in) must resolve inside the source directory and outside hidden paths.
        struct stat link;
        bool kept_link = spec.enable_symlinks && lstat(source.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
        std::string real = RealPath(kept_link ? fs::path(source).parent_path().string() : source);
        for (const std::string& dir : forbidden_real) {
          if (real.empty() || IsUnder(real, dir)) {
            log.push_back("Skipping " + rel + ": it resolves into a path hidden from builds");
            return;
          }
        }
        if (!IsUnder(real, root_real)) {
          log.push_back("Skipping " + rel + ": it resolves outside the source directory");
          return;
        }
        std::string path = spec.discard_paths ? fs::path(rel).filename().string() : rel;
        if (!taken_paths.insert(path).second) return;  // discard-paths made two files one name
        files.push_back({kept_link ? source : real, path});
      };
      TreeWalker walker(spec.enable_symlinks, take);
      size_t literal = 0;
      while (literal < parts.size() && !HasWildcard(parts[literal]) && parts[literal] != "**") ++literal;
      if (literal == parts.size()) {
        // No wildcard: one file, or every file below a directory.
        std::string rel = JoinComponents(parts, 0, parts.size());
        std::string path = base + "/" + rel;
        struct stat st;
        if (!spec.enable_symlinks || lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
          if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            TreeWalker below(spec.enable_symlinks, take);
            below.Walk(path, rel, SIZE_MAX);
            continue;
          }
        }
        walker.Visit(path, rel, 1);
        continue;
      }
      bool deep = std::find(parts.begin() + static_cast<long>(literal), parts.end(), std::string("**")) != parts.end();
      size_t depth = deep ? SIZE_MAX : parts.size() - literal;
      std::string start_rel = JoinComponents(parts, 0, literal);
      std::string start = start_rel.empty() ? base : base + "/" + start_rel;
      TreeWalker matcher(spec.enable_symlinks, [&](const std::string& source, const std::string& rel) {
        if (GlobMatch(pattern, rel)) take(source, rel);
      });
      matcher.Walk(start, start_rel, depth);
    }
  }
  log.push_back("Found " + std::to_string(files.size()) + " file(s)");
  return files;
}

}  // namespace gantry::runtime
