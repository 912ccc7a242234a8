#include "services/codebuild/cache_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "runtime/build/artifact_selection.h"

namespace gantry::services::codebuild {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSrcPrefix = "src";
constexpr std::string_view kAbsPrefix = "abs";

// A cache path split where its first glob component begins.
struct CachePattern {
  bool absolute = false;
  std::vector<std::string> fixed;  // the components before the first glob one
  std::string rest;                // the glob of what lies below (empty: everything)
};

bool HasGlob(std::string_view part) { return part.find_first_of("*?[") != std::string_view::npos; }

StatusOr<CachePattern> ParsePattern(const std::string& path) {
  CachePattern pattern;
  pattern.absolute = !path.empty() && path.front() == '/';
  std::vector<std::string> rest;
  for (std::string_view part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Status::InvalidArgument("cache path " + path + " leaves its directory: '..' is not allowed",
                                     "CLIENT_ERROR");
    }
    if (rest.empty() && !HasGlob(part)) {
      pattern.fixed.emplace_back(part);
    } else {
      rest.emplace_back(part);
    }
  }
  if (pattern.fixed.empty() && rest.empty()) {
    return Status::InvalidArgument("cache path \"" + path + "\" names no file", "CLIENT_ERROR");
  }
  pattern.rest = Join(rest, "/");
  return pattern;
}

// Identities (device, inode) of the paths never read nor written. A path given through a link, a
// relative path or a bind mount of the same directory has the same identity, so the check does not
// depend on how a path is spelled.
class ForbiddenSet {
 public:
  explicit ForbiddenSet(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) {
      struct stat st;
      if (!path.empty() && ::stat(path.c_str(), &st) == 0) ids_.emplace(st.st_dev, st.st_ino);
    }
  }
  bool Contains(const struct stat& st) const { return ids_.count({st.st_dev, st.st_ino}) > 0; }

 private:
  std::set<std::pair<dev_t, ino_t>> ids_;
};

// Kernel file systems hold no cacheable files, and Gantry's own view of them (/proc/self/environ,
// ...) is not the build's.
bool IsKernelFileSystem(const std::string& host) {
  struct statfs fs_info;
  if (::statfs(host.c_str(), &fs_info) != 0) return false;
  return fs_info.f_type == PROC_SUPER_MAGIC || fs_info.f_type == SYSFS_MAGIC;
}

// The first component of an absolute cache path that is never cached.
bool IsKernelDirectory(std::string_view first) { return first == "proc" || first == "sys" || first == "dev"; }

constexpr std::string_view kHostAbsolute =
    "absolute cache paths are not cached in the host sandbox (its commands use this machine's own file system, "
    "where a restored cache could write anywhere Gantry can); use paths under CODEBUILD_SRC_DIR instead";

// A link at `link_parts` (its path inside its half) to `target` stays inside the half: relative,
// never above the half's root, and (when `host_root` is given) through no link on disk.
bool LinkStaysInside(const std::vector<std::string>& link_parts, std::string_view target,
                     const std::string* host_root) {
  if (target.empty() || target.front() == '/') return false;
  std::vector<std::string> at(link_parts.begin(), link_parts.end() - 1);
  for (std::string_view part : Split(target, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (at.empty()) return false;
      at.pop_back();
      continue;
    }
    at.emplace_back(part);
    if (host_root != nullptr) {
      struct stat st;
      if (::lstat((*host_root + "/" + Join(at, "/")).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return false;
    }
  }
  return true;
}

class Collector {
 public:
  Collector(const CacheTree& tree, std::vector<std::string>& log)
      : tree_(tree), forbidden_(tree.forbidden), log_(log) {}

  Status Add(const std::string& path) {
    GANTRY_ASSIGN_OR_RETURN(CachePattern pattern, ParsePattern(path));
    if (pattern.absolute && tree_.fs.root.empty()) {
      log_.push_back("Skipping cache path " + path + ": " + std::string(kHostAbsolute));
      return Status::Ok();
    }
    if (pattern.absolute && !pattern.fixed.empty() && IsKernelDirectory(pattern.fixed.front())) {
      log_.push_back("Skipping cache path " + path + ": /" + pattern.fixed.front() + " is never cached");
      return Status::Ok();
    }
    // The half's root as the build sees it ("" is the file system's root).
    const std::string anchor = pattern.absolute ? std::string() : tree_.src_dir;
    std::vector<std::string> parts;
    std::string host;
    for (const std::string& part : pattern.fixed) {
      parts.push_back(part);
      host = tree_.fs.HostPath(anchor + "/" + Join(parts, "/"));
      struct stat st;
      if (::lstat(host.c_str(), &st) != 0) return Status::Ok();  // matches nothing (yet)
      if (std::string why = Refused(host, st); !why.empty()) {
        log_.push_back("Skipping cache path " + path + ": " + why);
        return Status::Ok();
      }
      if (S_ISLNK(st.st_mode)) {
        log_.push_back("Skipping cache path " + path + ": " + anchor + "/" + Join(parts, "/") +
                       " is a symbolic link");
        return Status::Ok();
      }
      if (parts.size() == pattern.fixed.size() && !S_ISDIR(st.st_mode)) {
        if (pattern.rest.empty() && S_ISREG(st.st_mode)) Take(pattern.absolute, parts, host);
        return Status::Ok();
      }
      if (!S_ISDIR(st.st_mode)) return Status::Ok();
    }
    const std::string root_host = pattern.absolute ? tree_.fs.HostPath("/") : tree_.src_dir;
    return Walk(pattern, root_host, host.empty() ? root_host : host, parts, "");
  }

  std::vector<archive::ZipSourceFile> files() && { return std::move(files_); }

 private:
  // Why a file or directory on the way is not read ("" when it may be).
  std::string Refused(const std::string& host, const struct stat& st) const {
    if (forbidden_.Contains(st)) return "it lies in a directory builds cannot read";
    if (IsKernelFileSystem(host)) return "it lies in a kernel file system (/proc, /sys)";
    return {};
  }

  Status Walk(const CachePattern& pattern, const std::string& root_host, const std::string& dir_host,
              std::vector<std::string>& parts, const std::string& below) {
    DIR* dir = ::opendir(dir_host.c_str());
    if (dir == nullptr) {
      log_.push_back("Skipping " + dir_host + ": " + std::strerror(errno));
      return Status::Ok();
    }
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (pattern.absolute && parts.empty() && IsKernelDirectory(name)) continue;
      std::string child = dir_host + "/" + name;
      std::string rel = below.empty() ? name : below + "/" + name;
      struct stat st;
      if (::lstat(child.c_str(), &st) != 0) continue;
      if (std::string why = Refused(child, st); !why.empty()) {
        log_.push_back("Skipping " + child + ": " + why);
        continue;
      }
      parts.push_back(name);
      Status status = Status::Ok();
      if (S_ISDIR(st.st_mode)) {
        status = Walk(pattern, root_host, child, parts, rel);
      } else if ((S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) &&
                 (pattern.rest.empty() || runtime::GlobMatch(pattern.rest, rel))) {
        if (S_ISLNK(st.st_mode)) {
          std::error_code ec;
          std::string target = fs::read_symlink(child, ec).string();
          if (ec || !LinkStaysInside(parts, target, &root_host)) {
            log_.push_back("Skipping " + (pattern.absolute ? "" : tree_.src_dir) + "/" + Join(parts, "/") +
                           ": a cached symbolic link must be relative and stay inside " +
                           (pattern.absolute ? "/" : "CODEBUILD_SRC_DIR") + " without passing through another");
          } else {
            Take(pattern.absolute, parts, child);
          }
        } else {
          Take(pattern.absolute, parts, child);
        }
      }
      parts.pop_back();
      GANTRY_RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  void Take(bool absolute, const std::vector<std::string>& parts, const std::string& host) {
    std::string name = std::string(absolute ? kAbsPrefix : kSrcPrefix) + "/" + Join(parts, "/");
    if (seen_.insert(name).second) files_.push_back({name, host});
  }

  const CacheTree& tree_;
  ForbiddenSet forbidden_;
  std::vector<std::string>& log_;
  std::set<std::string> seen_;
  std::vector<archive::ZipSourceFile> files_;
};

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// Copies `from` into a new file `name` of dir_fd (never an existing one, nor through a link).
// EEXIST when something took the name meanwhile.
Status CopyInto(const std::string& from, int dir_fd, const std::string& name, mode_t mode) {
  Fd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) return Status::Internal("cannot read " + from + ": " + std::strerror(errno));
  Fd out(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (out.get() < 0) return Status::AlreadyExists(std::strerror(errno));
  char buffer[65536];
  while (true) {
    ssize_t got = ::read(in.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status::Internal("cannot read " + from + ": " + std::strerror(errno));
    if (got == 0) break;
    for (ssize_t done = 0; done < got;) {
      ssize_t put = ::write(out.get(), buffer + done, static_cast<size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) return Status::Internal("cannot write " + name + ": " + std::strerror(errno));
      done += put;
    }
  }
  ::fchmod(out.get(), mode);
  return Status::Ok();
}

// Puts the staged files in place below directory descriptors opened without following links, so
// that nothing is written through a link, whatever the tree holds or comes to hold while it runs.
class Placer {
 public:
  Placer(const CacheTree& tree, std::vector<std::string>& log)
      : tree_(tree), forbidden_(tree.forbidden), log_(log) {}

  // Places the staged half into the directory `base` (on this machine).
  Status Place(const std::string& staged_dir, const std::string& base, bool absolute) {
    Fd dir(::open(base.c_str(), kDirectoryFlags));
    if (dir.get() < 0) {
      log_.push_back("Skipping the cached files of " + (absolute ? std::string("/") : tree_.src_dir) + ": " +
                     std::strerror(errno));
      return Status::Ok();
    }
    std::vector<std::string> parts;
    return Walk(staged_dir, dir.get(), absolute, parts);
  }

  size_t placed() const { return placed_; }

 private:
  std::string BuildPath(bool absolute, const std::vector<std::string>& parts) const {
    return (absolute ? std::string() : tree_.src_dir) + "/" + Join(parts, "/");
  }

  // Why a cached path is not written ("" when it may be).
  std::string Refused(bool absolute, const std::vector<std::string>& parts) const {
    if (!absolute) return {};
    if (parts.size() == 1 && IsKernelDirectory(parts.front())) return "/" + parts.front() + " is never restored";
    std::string path = BuildPath(absolute, parts);
    for (const std::string& shared : tree_.fs.shared) {
      if (path == shared) return "it is the build's own directory, made anew for every build";
    }
    return {};
  }

  Status Walk(const std::string& staged_dir, int dir_fd, bool absolute, std::vector<std::string>& parts) {
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(staged_dir, ec)) names.push_back(entry.path().filename());
    if (ec) return Status::Internal("cannot read " + staged_dir + ": " + ec.message());
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string staged = staged_dir + "/" + name;
      parts.push_back(name);
      Status status = PlaceOne(staged, dir_fd, name, absolute, parts);
      parts.pop_back();
      GANTRY_RETURN_IF_ERROR(status);
    }
    return Status::Ok();
  }

  Status PlaceOne(const std::string& staged, int dir_fd, const std::string& name, bool absolute,
                  std::vector<std::string>& parts) {
    const std::string path = BuildPath(absolute, parts);
    struct stat got, have;
    if (::lstat(staged.c_str(), &got) != 0) return Status::Internal("cannot read " + staged);
    if (std::string why = Refused(absolute, parts); !why.empty()) {
      log_.push_back("Skipping cached " + path + ": " + why);
      return Status::Ok();
    }
    bool exists = ::fstatat(dir_fd, name.c_str(), &have, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && forbidden_.Contains(have)) {
      log_.push_back("Skipping cached " + path + ": it lies in a directory builds cannot write");
      return Status::Ok();
    }
    if (S_ISDIR(got.st_mode)) {
      if (!exists && ::mkdirat(dir_fd, name.c_str(), got.st_mode & 0777) != 0 && errno != EEXIST) {
        log_.push_back("Skipping cached " + path + ": " + std::strerror(errno));
        return Status::Ok();
      }
      Fd child(::openat(dir_fd, name.c_str(), kDirectoryFlags));
      struct stat opened;
      if (child.get() < 0 || ::fstat(child.get(), &opened) != 0) {
        log_.push_back("Skipping cached " + path + ": " +
                       (errno == ELOOP || errno == ENOTDIR ? "it exists and is not a directory"
                                                           : std::string(std::strerror(errno))));
        return Status::Ok();
      }
      if (forbidden_.Contains(opened)) {
        log_.push_back("Skipping cached " + path + ": it lies in a directory builds cannot write");
        return Status::Ok();
      }
      return Walk(staged, child.get(), absolute, parts);
    }
    // The source (or what is already there) wins over the cache.
    if (exists) return Status::Ok();
    if (S_ISLNK(got.st_mode)) {
      std::error_code ec;
      std::string target = fs::read_symlink(staged, ec).string();
      if (ec || !LinkStaysInside(parts, target, nullptr)) {
        log_.push_back("Skipping cached " + path + ": the symbolic link leads outside its directory");
      } else if (::symlinkat(target.c_str(), dir_fd, name.c_str()) == 0) {
        ++placed_;
      } else if (errno != EEXIST) {
        log_.push_back("Skipping cached " + path + ": " + std::strerror(errno));
      }
      return Status::Ok();
    }
    if (!S_ISREG(got.st_mode)) return Status::Ok();
    // Set-user-ID and set-group-ID bits are not restored: the archive is anyone's who can write it.
    const mode_t mode = got.st_mode & 0777;
    ::chmod(staged.c_str(), mode);
    if (::renameat2(AT_FDCWD, staged.c_str(), dir_fd, name.c_str(), RENAME_NOREPLACE) == 0) {
      ++placed_;
      return Status::Ok();
    }
    if (errno == EEXIST) return Status::Ok();
    if (errno != EXDEV && errno != EINVAL) {
      log_.push_back("Skipping cached " + path + ": " + std::strerror(errno));
      return Status::Ok();
    }
    Status copied = CopyInto(staged, dir_fd, name, mode);
    if (copied.ok()) {
      ++placed_;
    } else if (copied.code() != StatusCode::kAlreadyExists) {
      return copied;
    }
    return Status::Ok();
  }

  const CacheTree& tree_;
  ForbiddenSet forbidden_;
  std::vector<std::string>& log_;
  size_t placed_ = 0;
};

}  // namespace

StatusOr<std::vector<archive::ZipSourceFile>> CollectCacheFiles(const std::vector<std::string>& paths,
                                                                const CacheTree& tree,
                                                                std::vector<std::string>& log) {
  Collector collector(tree, log);
  for (const std::string& path : paths) GANTRY_RETURN_IF_ERROR(collector.Add(path));
  std::vector<archive::ZipSourceFile> files = std::move(collector).files();
  if (files.size() > archive::ZipLimits{}.max_entries) {
    return Status::InvalidArgument("the cache paths match " + std::to_string(files.size()) +
                                       " files, more than the " + std::to_string(archive::ZipLimits{}.max_entries) +
                                       " a cache may hold",
                                   "CLIENT_ERROR");
  }
  return files;
}

StatusOr<size_t> PlaceCacheFiles(const std::string& staged, const CacheTree& tree, std::vector<std::string>& log) {
  Placer placer(tree, log);
  for (bool absolute : {false, true}) {
    std::string half = staged + "/" + std::string(absolute ? kAbsPrefix : kSrcPrefix);
    struct stat st;
    if (::lstat(half.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("the cache archive's " + half + " is not a directory");
    if (absolute && tree.fs.root.empty()) {
      log.push_back("Skipping the cached absolute paths: " + std::string(kHostAbsolute));
      continue;
    }
    GANTRY_RETURN_IF_ERROR(placer.Place(half, absolute ? tree.fs.root : tree.src_dir, absolute));
  }
  // Anything else in the archive (neither half) is left in the staging directory.
  return placer.placed();
}

Status CheckCachePaths(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) GANTRY_RETURN_IF_ERROR(ParsePattern(path).status());
  return Status::Ok();
}

std::string LocalCacheRoot(std::string_view state_dir, std::string_view account, std::string_view region) {
  return std::string(state_dir) + "/codebuild/cache/" + EncodeCacheKey(account) + "/" + EncodeCacheKey(region);
}

std::string CacheVersion(const std::vector<std::string>& paths) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return HexEncode(Sha256(Join(sorted, std::string(1, '\0')))).substr(0, 16);
}

std::string EncodeCacheKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    // A leading '.' is encoded: a name beginning with one is a temporary file of the LOCAL store.
    if (std::isalnum(u) || (c == '.' && !out.empty()) || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string CacheScopeDir(std::string_view project, std::string_view cache_namespace) {
  if (!cache_namespace.empty()) return "namespaces/" + EncodeCacheKey(cache_namespace);
  return "projects/" + EncodeCacheKey(project);
}

std::string UnkeyedCacheEntry(std::string_view project) { return "projects/" + EncodeCacheKey(project) + "/cache.zip"; }

std::string KeyedCachePrefix(std::string_view scope_dir, std::string_view version) {
  return std::string(scope_dir) + "/keys/" + std::string(version) + "/";
}

std::optional<std::string> ChooseCacheEntry(const std::vector<StoredCacheEntry>& entries, std::string_view key,
                                            const std::vector<std::string>& fallback_keys, TimePoint not_before) {
  const std::string exact = EncodeCacheKey(key) + ".zip";
  for (const StoredCacheEntry& e : entries) {
    if (e.name == exact && e.modified > not_before) return e.name;
  }
  for (const std::string& fallback : fallback_keys) {
    const std::string prefix = EncodeCacheKey(fallback);
    const StoredCacheEntry* best = nullptr;
    for (const StoredCacheEntry& e : entries) {
      if (e.modified <= not_before || e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".zip") != 0) continue;
      if (e.name.compare(0, prefix.size(), prefix) != 0) continue;
      if (best == nullptr || e.modified > best->modified || (e.modified == best->modified && e.name > best->name)) {
        best = &e;
      }
    }
    if (best != nullptr) return best->name;
  }
  return std::nullopt;
}

}  // namespace gantry::services::codebuild
