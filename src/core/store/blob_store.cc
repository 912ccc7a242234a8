#include "core/store/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace gantry::store {
namespace {

constexpr std::string_view kTempPrefix = ".gantry-tmp-";
constexpr size_t kMaxComponentBytes = 255;  // NAME_MAX
constexpr size_t kMaxPathBytes = 4095;      // PATH_MAX without the NUL

// A path for messages: NUL and other control bytes shown escaped.
std::string Printable(std::string_view path) {
  std::string out;
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string message =
      "blob store: " + std::string(what) + " " + Printable(path) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return Status::NotFound(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return Status::ResourceExhausted(std::move(message));
    case EISDIR:
    case ENOTDIR:
    case ENOTEMPTY:
    case EEXIST:
      return Status::FailedPrecondition(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status CloseFd(int fd, std::string_view path) {
  if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus(errno, "close", path);
  return Status::Ok();
}

Status FsyncFd(int fd, std::string_view path) {
  if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", path);
  return Status::Ok();
}

// fsync of a file or directory by path (a directory's fsync makes its new entries durable).
Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  Status status = FsyncFd(fd, path);
  Status closed = CloseFd(fd, path);
  return status.ok() ? closed : status;
}

Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// mkdir -p for a trusted absolute path.
Status CreateDirectories(const std::string& path) {
  if (IsDirectory(path)) return Status::Ok();
  std::string current;
  size_t pos = 0;
  while (pos != std::string::npos) {
    size_t slash = path.find('/', pos + 1);
    current = path.substr(0, slash);
    pos = slash;
    if (current.empty() || current == "/") continue;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "mkdir", current);
    }
  }
  if (!IsDirectory(path)) return ErrnoStatus(ENOTDIR, "open root", path);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> SafeJoin(std::string_view root, std::string_view relative) {
  if (root.empty()) return Status::InvalidArgument("blob path: empty root directory");
  auto refuse = [&](std::string_view why) {
    return Status::InvalidArgument("blob path '" + Printable(relative) + "' " + std::string(why));
  };
  if (relative.empty()) return Status::InvalidArgument("blob path is empty");
  if (relative.find('\0') != std::string_view::npos) return refuse("contains a NUL byte");
  if (relative.front() == '/') return refuse("is absolute");
  size_t start = 0;
  while (true) {
    size_t slash = relative.find('/', start);
    std::string_view component = relative.substr(start, slash == std::string_view::npos
                                                            ? std::string_view::npos
                                                            : slash - start);
    if (component.empty()) return refuse("has an empty component (a trailing or doubled '/')");
    if (component == "." || component == "..") return refuse("has a '.' or '..' component");
    if (component.size() > kMaxComponentBytes) {
      return refuse("has a component longer than 255 bytes");
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string joined(root);
  while (joined.size() > 1 && joined.back() == '/') joined.pop_back();
  if (joined.back() != '/') joined += '/';
  joined += relative;
  if (joined.size() > kMaxPathBytes) return refuse("is too long");
  return joined;
}

StatusOr<BlobStore> BlobStore::Open(const std::string& root) {
  if (root.empty()) return Status::InvalidArgument("blob store: empty root directory");
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(root, ec);
  if (ec) return Status::Internal("blob store: cannot resolve " + root + ": " + ec.message());
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  GANTRY_RETURN_IF_ERROR(CreateDirectories(normal));
  return BlobStore(std::move(normal));
}

StatusOr<std::string> BlobStore::Resolve(std::string_view relative) const {
  GANTRY_ASSIGN_OR_RETURN(std::string path, SafeJoin(root_, relative));
  size_t start = 0;
  while (start != std::string_view::npos) {
    if (relative.substr(start).starts_with(kTempPrefix)) {
      return Status::InvalidArgument("blob path '" + Printable(relative) +
                                     "' has a component starting with the reserved '" +
                                     std::string(kTempPrefix) + "'");
    }
    size_t slash = relative.find('/', start);
    start = slash == std::string_view::npos ? slash : slash + 1;
  }
  return path;
}

Status BlobStore::CreateParents(std::string_view relative) const {
  size_t last_slash = relative.rfind('/');
  if (last_slash == std::string_view::npos) return Status::Ok();
  std::string parent = root_ + "/" + std::string(relative.substr(0, last_slash));
  if (IsDirectory(parent)) return Status::Ok();
  std::string current = root_;
  size_t start = 0;
  while (start < last_slash) {
    size_t slash = relative.find('/', start);
    current += "/";
    current += relative.substr(start, slash - start);
    start = slash + 1;
    if (::mkdir(current.c_str(), 0700) == 0) {
      // The new directory's entry in its parent must be durable before blobs inside it are.
      GANTRY_RETURN_IF_ERROR(FsyncPath(DirName(current), /*directory=*/true));
      continue;
    }
    if (errno != EEXIST) return ErrnoStatus(errno, "mkdir", current);
    if (!IsDirectory(current)) {
      return Status::FailedPrecondition("blob path '" + Printable(relative) + "': " +
                                        Printable(current) + " is a file, not a directory");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> BlobStore::AbsolutePath(std::string_view relative) const {
  return Resolve(relative);
}

StatusOr<std::string> BlobStore::CreateTempFile(std::string_view relative) const {
  GANTRY_ASSIGN_OR_RETURN(std::string destination, Resolve(relative));
  GANTRY_RETURN_IF_ERROR(CreateParents(relative));
  std::string path = DirName(destination) + "/" + std::string(kTempPrefix) + "XXXXXX";
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create temporary file in", DirName(destination));
  GANTRY_RETURN_IF_ERROR(CloseFd(fd, path));
  return path;
}

Status BlobStore::WriteAtomic(std::string_view relative, std::string_view data) const {
  GANTRY_ASSIGN_OR_RETURN(std::string destination, Resolve(relative));
  GANTRY_RETURN_IF_ERROR(CreateParents(relative));
  std::string directory = DirName(destination);
  std::string temp = directory + "/" + std::string(kTempPrefix) + "XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "create temporary file in", directory);
  Status status = WriteAll(fd, data, temp);
  if (status.ok()) status = FsyncFd(fd, temp);
  Status closed = CloseFd(fd, temp);
  if (status.ok()) status = closed;
  if (status.ok() && ::rename(temp.c_str(), destination.c_str()) != 0) {
    status = ErrnoStatus(errno, "rename onto", destination);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncPath(directory, /*directory=*/true);
}

Status BlobStore::MoveInto(const std::string& temp_file, std::string_view relative) const {
  GANTRY_ASSIGN_OR_RETURN(std::string destination, Resolve(relative));
  GANTRY_RETURN_IF_ERROR(CreateParents(relative));
  GANTRY_RETURN_IF_ERROR(FsyncPath(temp_file, /*directory=*/false));
  if (::rename(temp_file.c_str(), destination.c_str()) != 0) {
    int err = errno;
    if (err == EXDEV) {
      return Status::Internal("blob store: " + temp_file + " is on another file system than " +
                              root_ + "; make temporary files with CreateTempFile");
    }
    return ErrnoStatus(err, "rename onto", destination);
  }
  return FsyncPath(DirName(destination), /*directory=*/true);
}

StatusOr<std::string> BlobStore::Read(std::string_view relative) const {
  GANTRY_ASSIGN_OR_RETURN(std::string path, Resolve(relative));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Status::NotFound("blob '" + Printable(relative) + "' does not exist");
    }
    return ErrnoStatus(err, "open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status status = ErrnoStatus(errno, "stat", path);
    ::close(fd);
    return status;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::NotFound("blob '" + Printable(relative) + "' does not exist (not a file)");
  }
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buffer[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status status = ErrnoStatus(errno, "read", path);
      ::close(fd);
      return status;
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

StatusOr<bool> BlobStore::Remove(std::string_view relative) const {
  GANTRY_ASSIGN_OR_RETURN(std::string path, Resolve(relative));
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) return false;
    return ErrnoStatus(err, "remove", path);
  }
  GANTRY_RETURN_IF_ERROR(FsyncPath(DirName(path), /*directory=*/true));
  return true;
}

bool BlobStore::Exists(std::string_view relative) const {
  StatusOr<std::string> path = Resolve(relative);
  if (!path.ok()) return false;
  struct stat st {};
  return ::stat(path->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

StatusOr<int64_t> BlobStore::RemoveStaleTempFiles() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(root_, ec);
  if (ec) return Status::Internal("blob store: cannot list " + root_ + ": " + ec.message());
  std::vector<fs::path> stale;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Internal("blob store: cannot list " + root_ + ": " + ec.message());
    if (it->path().filename().string().starts_with(kTempPrefix) &&
        it->symlink_status(ec).type() == fs::file_type::regular) {
      stale.push_back(it->path());
    }
  }
  if (ec) return Status::Internal("blob store: cannot list " + root_ + ": " + ec.message());
  for (const fs::path& path : stale) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "remove", path.string());
    }
  }
  return static_cast<int64_t>(stale.size());
}

}  // namespace gantry::store
