#include "runtime/build/image_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/common/clock.h"
#include "core/common/ids.h"
#include "core/common/time_format.h"

extern char** environ;

namespace gantry::runtime {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";

// The file name of an image name: letters, digits, '_' and '-' as they are, the rest as %XX, so
// "aws/codebuild/standard:7.0" is "aws%2Fcodebuild%2Fstandard%3A7%2E0" and no name is "." or "..".
std::string Escape(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Follows relative (a path inside root) component by component as a process chrooted to root
// would: an absolute link target starts again at root and ".." stops at root, so nothing outside
// root is ever looked at. nullopt when a component is missing or links nest more than 40 deep.
std::optional<fs::path> ResolveInside(const fs::path& root, std::string_view relative) {
  auto push_components = [](std::vector<std::string>& stack, std::string_view path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
      size_t slash = path.find('/', start);
      if (slash == std::string_view::npos) slash = path.size();
      parts.emplace_back(path.substr(start, slash - start));
      start = slash + 1;
    }
    stack.insert(stack.end(), parts.rbegin(), parts.rend());
  };
  std::vector<std::string> todo;
  push_components(todo, relative);
  fs::path done = root;
  size_t depth = 0;  // components of done below root
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (depth > 0) {
        done = done.parent_path();
        --depth;
      }
      continue;
    }
    fs::path next = done / part;
    struct stat st;
    if (::lstat(next.c_str(), &st) != 0) return std::nullopt;
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return std::nullopt;
      std::error_code ec;
      fs::path target = fs::read_symlink(next, ec);
      if (ec) return std::nullopt;
      std::string text = target.string();
      if (!text.empty() && text[0] == '/') {
        done = root;
        depth = 0;
      }
      push_components(todo, text);
      continue;
    }
    done = next;
    ++depth;
  }
  return done;
}

// OK when rootfs holds an executable bin/sh or bin/bash (links followed inside rootfs).
Status CheckShell(const fs::path& rootfs) {
  for (const char* shell : {"bin/sh", "bin/bash"}) {
    auto path = ResolveInside(rootfs, shell);
    struct stat st;
    if (path && ::stat(path->c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return Status::Ok();
  }
  return Status::InvalidArgument(rootfs.string() + " holds no /bin/sh or /bin/bash (following its links inside it); " +
                                 "builds run their commands with a shell of the image");
}

Status ValidateEnv(const std::vector<std::string>& env) {
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Status::InvalidArgument("environment entry '" + kv + "' is not KEY=VALUE");
  }
  return Status::Ok();
}

// base with every KEY=VALUE of extra put over the entry of the same KEY, or added.
std::vector<std::string> MergeEnv(std::vector<std::string> base, const std::vector<std::string>& extra) {
  for (const std::string& kv : extra) {
    std::string key = kv.substr(0, kv.find('=') + 1);
    auto same = std::find_if(base.begin(), base.end(), [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    if (same != base.end()) {
      *same = kv;
    } else {
      base.push_back(kv);
    }
  }
  return base;
}

// Writes text to path through a temporary file in the same directory, fsynced and renamed.
Status WriteFileAtomic(const fs::path& path, const std::string& text) {
  fs::path temp = path.parent_path() / ("." + path.filename().string() + "." + RandomIdSource::Instance()->Hex(12) + ".tmp");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("cannot create " + temp.string() + ": " + ErrnoText(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return Status::Internal("cannot write " + temp.string() + ": " + ErrnoText(err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::Internal("cannot write " + temp.string() + ": " + ErrnoText(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return Status::Internal("cannot rename " + temp.string() + " to " + path.string() + ": " + ErrnoText(err));
  }
  int dir_fd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return Status::Ok();
}

StatusOr<json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  json value = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::InvalidArgument(path.string() + " is not valid JSON");
  return value;
}

StatusOr<ContainerImage> ImageFromRecord(const json& record, const fs::path& file) {
  if (!record.is_object() || !record.contains("name") || !record["name"].is_string() || !record.contains("rootfs") ||
      !record["rootfs"].is_string()) {
    return Status::Internal(file.string() + " is not an image record");
  }
  ContainerImage image;
  image.name = record["name"].get<std::string>();
  image.rootfs = record["rootfs"].get<std::string>();
  if (record.contains("env") && record["env"].is_array()) {
    for (const json& e : record["env"]) {
      if (e.is_string()) image.env.push_back(e.get<std::string>());
    }
  }
  image.working_dir = record.value("working_dir", "");
  image.user = record.value("user", "");
  return image;
}

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null; its stdout and stderr, kept,
// are in the error when it fails.
Status RunTool(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::Internal("pipe: " + ErrnoText(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    return Status::FailedPrecondition("cannot run " + argv[0] + ": " + ErrnoText(spawned) +
                                      (spawned == ENOENT ? " (install it: apt-get install " + argv[0] + ")" : ""));
  }
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < (1 << 16)) output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  while (!output.empty() && output.back() == '\n') output.pop_back();
  std::string how = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status)) : "a signal";
  return Status::Internal(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed with " + how + ": " + output);
}

// Mount points at or below path (from /proc/self/mountinfo).
bool SomethingMountedUnder(const fs::path& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string prefix = path.string();
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    std::string decoded;  // octal escapes: \040 is a space
    for (size_t i = 0; i < mount_point.size(); ++i) {
      if (mount_point[i] == '\\' && i + 3 < mount_point.size()) {
        decoded += static_cast<char>(std::stoi(mount_point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += mount_point[i];
      }
    }
    if (decoded == prefix || decoded.rfind(prefix + "/", 0) == 0) return true;
  }
  return false;
}

// Removes tree unless something is mounted in it (debootstrap mounts /proc and /sys in its target).
Status RemoveTree(const fs::path& tree) {
  if (SomethingMountedUnder(tree)) {
    return Status::FailedPrecondition("not removing " + tree.string() + ": something is mounted in it (umount it first)");
  }
  std::error_code ec;
  fs::remove_all(tree, ec);
  if (ec) return Status::Internal("cannot remove " + tree.string() + ": " + ec.message());
  return Status::Ok();
}

// The lock file beside a tree the store made: builds hold it shared while they run on the tree,
// the collector exclusive while it deletes the tree.
fs::path LockFileOf(const fs::path& tree) { return tree.string() + ".lock"; }

// Opens (creating) the lock file of tree and flocks it with operation (LOCK_SH or LOCK_EX, maybe
// | LOCK_NB). Retries when the file was replaced while waiting (a collector unlinks it), so the
// lock held is on the file at that path. -1 when the lock is busy (LOCK_NB) or cannot be made.
int LockTree(const fs::path& tree, int operation) {
  fs::path path = LockFileOf(tree);
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int locked;
    while ((locked = ::flock(fd, operation)) != 0 && errno == EINTR) {
    }
    if (locked != 0) {
      ::close(fd);
      return -1;
    }
    struct stat held, now;
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_dev == now.st_dev &&
        held.st_ino == now.st_ino) {
      return fd;
    }
    ::close(fd);
  }
  return -1;
}

bool IsDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= digest.size()) return false;
  // algorithm: [a-z0-9+._-]+, encoded: lower-case hex
  for (size_t i = 0; i < colon; ++i) {
    char c = digest[i];
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && std::string_view("+._-").find(c) == std::string_view::npos) {
      return false;
    }
  }
  for (char c : digest.substr(colon + 1)) {
    if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

StatusOr<json> ReadBlob(const fs::path& layout, const json& descriptor, std::string_view what) {
  if (!descriptor.is_object() || !descriptor.contains("digest") || !descriptor["digest"].is_string() ||
      !IsDigest(descriptor["digest"].get<std::string>())) {
    return Status::InvalidArgument(layout.string() + ": the " + std::string(what) + " descriptor has no valid digest");
  }
  std::string digest = descriptor["digest"].get<std::string>();
  size_t colon = digest.find(':');
  fs::path blob = layout / "blobs" / digest.substr(0, colon) / digest.substr(colon + 1);
  auto value = ReadJsonFile(blob);
  if (!value.ok()) {
    return Status::InvalidArgument(layout.string() + ": the " + std::string(what) + " " + digest + ": " + value.status().message());
  }
  return value;
}

}  // namespace

std::string DefaultImageDir(const std::string& state_dir) { return (fs::path(state_dir) / "images").string(); }

Status ValidateImageName(std::string_view name) {
  if (name.empty() || name.size() > 255) return Status::InvalidArgument("an image name has 1 to 255 characters");
  for (unsigned char c : name) {
    if (!std::isalnum(c) && std::string_view("._-/:@+").find(static_cast<char>(c)) == std::string_view::npos) {
      return Status::InvalidArgument("image name '" + std::string(name) + "' holds '" + std::string(1, static_cast<char>(c)) +
                                     "'; names use letters, digits and . _ - / : @ +");
    }
  }
  if (name[0] == '/' || name[0] == '.' || name[0] == '-') {
    return Status::InvalidArgument("image name '" + std::string(name) + "' must not start with '/', '.' or '-'");
  }
  return Status::Ok();
}

ImageStore::ImageStore(std::string dir) : dir_(std::move(dir)) {}

ImageLease::ImageLease(ImageLease&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

ImageLease& ImageLease::operator=(ImageLease&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ImageLease::~ImageLease() {
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<ContainerImage> ImageStore::Resolve(std::string_view name, ImageLease* lease) const {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  fs::path file = fs::path(dir_) / "names" / (Escape(name) + ".json");
  std::error_code ec;
  if (!fs::exists(file, ec)) return Status::NotFound("image " + std::string(name) + " is not registered (gantry image list)");
  GANTRY_ASSIGN_OR_RETURN(json record, ReadJsonFile(file));
  GANTRY_ASSIGN_OR_RETURN(ContainerImage image, ImageFromRecord(record, file));
  if (std::optional<fs::path> tree = TreeOf(image.rootfs); lease != nullptr && tree) {
    // Held before the tree is looked at: a collector deletes it only under the exclusive lock.
    ImageLease held;
    held.fd_ = LockTree(*tree, LOCK_SH);
    if (held.fd_ < 0) return Status::Internal("cannot lock " + LockFileOf(*tree).string() + ": " + ErrnoText(errno));
    *lease = std::move(held);
  }
  if (!fs::is_directory(image.rootfs, ec)) {
    return Status::FailedPrecondition("image " + image.name + ": its root file system " + image.rootfs +
                                      " is gone; register it again (gantry image register)");
  }
  return image;
}

Status ImageStore::Register(std::string_view name, const ContainerImage& image, const std::string& source) {
  fs::path names = fs::path(dir_) / "names";
  std::error_code ec;
  fs::create_directories(names, ec);
  if (ec) return Status::Internal("cannot create " + names.string() + ": " + ec.message());
  fs::path file = names / (Escape(name) + ".json");
  json record = {{"name", std::string(name)},
                 {"rootfs", image.rootfs},
                 {"env", image.env},
                 {"working_dir", image.working_dir},
                 {"user", image.user},
                 {"source", source},
                 {"registered", FormatIso8601(SystemClock::Instance()->Now())}};
  GANTRY_RETURN_IF_ERROR(WriteFileAtomic(file, record.dump(2) + "\n"));
  CollectGarbage();  // the tree the name meant before, if no other name uses it
  return Status::Ok();
}

Status ImageStore::RegisterRootfs(std::string_view name, const std::string& rootfs, const std::vector<std::string>& env) {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  GANTRY_RETURN_IF_ERROR(ValidateEnv(env));
  std::error_code ec;
  if (!fs::is_directory(rootfs, ec)) return Status::InvalidArgument(rootfs + " is not a directory");
  fs::path canonical = fs::canonical(rootfs, ec);
  if (ec) return Status::Internal("cannot resolve " + rootfs + ": " + ec.message());
  GANTRY_RETURN_IF_ERROR(CheckShell(canonical));
  ContainerImage image;
  image.name = std::string(name);
  image.rootfs = canonical.string();
  image.env = MergeEnv({kDefaultPath}, env);
  return Register(name, image, "rootfs:" + canonical.string());
}

Status ImageStore::RegisterOciLayout(std::string_view name, const std::string& layout_dir, std::string_view reference,
                                     const std::vector<std::string>& env) {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  GANTRY_RETURN_IF_ERROR(ValidateEnv(env));
  std::error_code ec;
  fs::path layout = fs::canonical(layout_dir, ec);
  if (ec || !fs::exists(layout / "oci-layout", ec) || !fs::exists(layout / "index.json", ec)) {
    return Status::InvalidArgument(layout_dir + " is not an OCI image layout (no oci-layout and index.json)");
  }
  GANTRY_ASSIGN_OR_RETURN(json index, ReadJsonFile(layout / "index.json"));
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return Status::InvalidArgument(layout.string() + "/index.json has no manifests");
  }
  // The manifest: the one named reference, or the only one.
  const json* chosen = nullptr;
  std::vector<std::string> refs;
  for (const json& m : index["manifests"]) {
    std::string ref;
    if (m.is_object() && m.contains("annotations") && m["annotations"].is_object()) {
      ref = m["annotations"].value(kRefNameAnnotation, "");
    }
    refs.push_back(ref.empty() ? "(untagged)" : ref);
    if (reference.empty() || ref == reference) {
      if (chosen && reference.empty()) {
        return Status::InvalidArgument(layout.string() + " holds several images; name one as " + layout_dir + ":<ref>");
      }
      if (!chosen) chosen = &m;
    }
  }
  std::string all_refs;
  for (const std::string& r : refs) all_refs += (all_refs.empty() ? "" : ", ") + r;
  if (!chosen) {
    return Status::NotFound(layout.string() + " holds no image " + std::string(reference) + " (it holds: " +
                            (all_refs.empty() ? "none" : all_refs) + ")");
  }
  std::string tag = chosen->contains("annotations") ? (*chosen)["annotations"].value(kRefNameAnnotation, "") : "";
  if (tag.empty()) {
    return Status::InvalidArgument(layout.string() + ": the image has no " + kRefNameAnnotation +
                                   " annotation, which umoci needs to unpack it; tag it (umoci tag)");
  }
  if (chosen->value("mediaType", "") == "application/vnd.oci.image.index.v1+json") {
    return Status::Unimplemented(layout.string() + ":" + tag +
                                 " is a multi-platform image index; only single image manifests are supported");
  }
  GANTRY_ASSIGN_OR_RETURN(json manifest, ReadBlob(layout, *chosen, "manifest"));
  if (!manifest.is_object() || !manifest.contains("config")) {
    return Status::InvalidArgument(layout.string() + ":" + tag + ": the manifest has no config");
  }
  GANTRY_ASSIGN_OR_RETURN(json config, ReadBlob(layout, manifest["config"], "image config"));

  std::string digest = (*chosen)["digest"].get<std::string>();
  std::string digest_dir = digest;
  std::replace(digest_dir.begin(), digest_dir.end(), ':', '-');
  fs::path unpacked = fs::path(dir_) / "unpacked";
  fs::path bundle = unpacked / digest_dir;
  fs::create_directories(unpacked, ec);
  if (ec) return Status::Internal("cannot create " + unpacked.string() + ": " + ec.message());
  // Held until the name is written, so that a collection at the same time (another registration
  // or removal) does not take the tree for unused.
  ImageLease hold;
  hold.fd_ = LockTree(bundle, LOCK_SH);
  if (hold.fd_ < 0) return Status::Internal("cannot lock " + LockFileOf(bundle).string() + ": " + ErrnoText(errno));
  if (!fs::is_directory(bundle / "rootfs", ec)) {
    // Unpacked beside its place and renamed there, so a killed unpack never leaves a tree in use.
    fs::path temp = unpacked / (digest_dir + "." + RandomIdSource::Instance()->Hex(12) + ".tmp");
    std::vector<std::string> argv = {"umoci", "unpack"};
    if (::geteuid() != 0) argv.push_back("--rootless");
    argv.insert(argv.end(), {"--image", layout.string() + ":" + tag, temp.string()});
    Status unpacked_status = RunTool(argv);
    if (!unpacked_status.ok()) {
      fs::remove_all(temp, ec);
      return unpacked_status;
    }
    if (::rename(temp.c_str(), bundle.c_str()) != 0) {
      int err = errno;
      fs::remove_all(temp, ec);
      // Another registration of the same image got there first: use its tree.
      if (!fs::is_directory(bundle / "rootfs", ec)) {
        return Status::Internal("cannot rename " + temp.string() + " to " + bundle.string() + ": " + ErrnoText(err));
      }
    }
  }
  fs::path rootfs = bundle / "rootfs";
  GANTRY_RETURN_IF_ERROR(CheckShell(rootfs));

  ContainerImage image;
  image.name = std::string(name);
  image.rootfs = rootfs.string();
  std::vector<std::string> base;
  if (config.is_object() && config.contains("config") && config["config"].is_object()) {
    const json& c = config["config"];
    if (c.contains("Env") && c["Env"].is_array()) {
      for (const json& e : c["Env"]) {
        if (e.is_string()) base.push_back(e.get<std::string>());
      }
    }
    if (c.contains("WorkingDir") && c["WorkingDir"].is_string()) image.working_dir = c["WorkingDir"].get<std::string>();
    if (c.contains("User") && c["User"].is_string()) image.user = c["User"].get<std::string>();
  }
  image.env = MergeEnv(std::move(base), env);
  return Register(name, image, "oci:" + layout.string() + ":" + tag + "@" + digest);
}

std::vector<ContainerImage> ImageStore::List() const {
  std::vector<ContainerImage> images;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "names", ec)) {
    const fs::path& file = entry.path();
    if (file.extension() != ".json" || file.filename().string()[0] == '.') continue;
    auto record = ReadJsonFile(file);
    if (!record.ok()) continue;
    auto image = ImageFromRecord(*record, file);
    if (image.ok()) images.push_back(std::move(*image));
  }
  std::sort(images.begin(), images.end(), [](const ContainerImage& a, const ContainerImage& b) { return a.name < b.name; });
  return images;
}

Status ImageStore::Remove(std::string_view name) {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  fs::path file = fs::path(dir_) / "names" / (Escape(name) + ".json");
  if (::unlink(file.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("image " + std::string(name) + " is not registered");
    return Status::Internal("cannot remove " + file.string() + ": " + ErrnoText(errno));
  }
  CollectGarbage();
  return Status::Ok();
}

std::optional<fs::path> ImageStore::TreeOf(const std::string& rootfs) const {
  fs::path path(rootfs);
  if (path.filename() == "rootfs" && path.parent_path().parent_path() == fs::path(dir_) / "unpacked") {
    return path.parent_path();
  }
  if (path.parent_path() == fs::path(dir_) / "rootfs") return path;
  return std::nullopt;  // not the store's: a directory the user registered where it is
}

namespace {

// The tree whose lock guards temp, a directory being filled beside its place: unpacked/<digest>
// for unpacked/<digest>.<id>.tmp (the unpack holds it shared), rootfs/<name>.<id> for
// rootfs/<name>.<id>.tmp (build-standard holds it shared while staging).
fs::path GuardOf(const fs::path& temp) {
  fs::path tree = temp.parent_path() / temp.stem();
  return temp.parent_path().filename() == "unpacked" ? tree.parent_path() / tree.stem() : tree;
}

// Removes temp when nothing fills it any more (its guard's lock is free), with the guard's lock
// file when the guard tree does not exist. An error only when temp could not be removed.
Status RemoveAbandoned(const fs::path& temp) {
  fs::path guard = GuardOf(temp);
  int fd = LockTree(guard, LOCK_EX | LOCK_NB);
  if (fd < 0) return Status::Ok();  // in progress
  Status removed = RemoveTree(temp);
  std::error_code ec;
  if (!fs::exists(guard, ec)) ::unlink(LockFileOf(guard).c_str());
  ::close(fd);
  return removed;
}

}  // namespace

void ImageStore::CollectGarbage() const {
  std::error_code ec;
  std::vector<fs::path> trees;
  std::vector<fs::path> locks;
  for (const char* kind : {"unpacked", "rootfs"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(dir_) / kind, ec)) {
      std::string file = entry.path().filename().string();
      if (file.ends_with(".tmp")) {  // an unpack or build-standard in progress, or killed
        if (entry.is_directory(ec)) (void)RemoveAbandoned(entry.path());
        continue;
      }
      if (file.ends_with(".lock")) {
        locks.push_back(entry.path());
      } else if (entry.is_directory(ec)) {
        trees.push_back(entry.path());
      }
    }
  }
  auto used = [&](const fs::path& tree) {
    for (const ContainerImage& image : List()) {
      std::optional<fs::path> other = TreeOf(image.rootfs);
      if (other && *other == tree) return true;
    }
    return false;
  };
  for (const fs::path& tree : trees) {
    if (used(tree)) continue;
    // Busy: a build runs on it, or a registration is about to name it; a later collection (the
    // next register, remove or server start) takes it.
    int fd = LockTree(tree, LOCK_EX | LOCK_NB);
    if (fd < 0) continue;
    if (!used(tree) && RemoveTree(tree).ok()) ::unlink(LockFileOf(tree).c_str());
    ::close(fd);
  }
  for (const fs::path& lock : locks) {
    fs::path tree = lock.string().substr(0, lock.string().size() - 5);
    if (fs::exists(tree, ec)) continue;
    int fd = LockTree(tree, LOCK_EX | LOCK_NB);
    if (fd < 0) continue;
    if (!fs::exists(tree, ec)) ::unlink(lock.c_str());
    ::close(fd);
  }
}

StatusOr<std::string> ImageStore::CreateStagingDir(std::string_view name, ImageLease* hold) {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  fs::path trees = fs::path(dir_) / "rootfs";
  std::error_code ec;
  fs::create_directories(trees, ec);
  if (ec) return Status::Internal("cannot create " + trees.string() + ": " + ec.message());
  std::string prefix = Escape(name) + ".";
  for (const auto& entry : fs::directory_iterator(trees, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0 && file.size() > 4 && file.ends_with(".tmp") &&
        file.find('.', prefix.size()) == file.size() - 4) {
      GANTRY_RETURN_IF_ERROR(RemoveAbandoned(entry.path()));
    }
  }
  fs::path staging = trees / (prefix + RandomIdSource::Instance()->Hex(12) + ".tmp");
  ImageLease held;
  held.fd_ = LockTree(GuardOf(staging), LOCK_SH);
  if (held.fd_ < 0) return Status::Internal("cannot lock " + LockFileOf(GuardOf(staging)).string() + ": " + ErrnoText(errno));
  if (::mkdir(staging.c_str(), 0755) != 0) return Status::Internal("cannot create " + staging.string() + ": " + ErrnoText(errno));
  *hold = std::move(held);
  return staging.string();
}

Status ImageStore::AdoptRootfs(std::string_view name, const std::string& staging_dir, const std::vector<std::string>& env) {
  GANTRY_RETURN_IF_ERROR(ValidateImageName(name));
  fs::path staging(staging_dir);
  std::string file = staging.filename().string();
  if (staging.parent_path() != fs::path(dir_) / "rootfs" || file.rfind(Escape(name) + ".", 0) != 0 || !file.ends_with(".tmp")) {
    return Status::InvalidArgument(staging_dir + " is not a staging directory of image " + std::string(name));
  }
  fs::path final_dir = staging.parent_path() / file.substr(0, file.size() - 4);
  ImageLease hold;  // as in RegisterOciLayout: until the name is written
  hold.fd_ = LockTree(final_dir, LOCK_SH);
  if (hold.fd_ < 0) return Status::Internal("cannot lock " + LockFileOf(final_dir).string() + ": " + ErrnoText(errno));
  if (::rename(staging.c_str(), final_dir.c_str()) != 0) {
    return Status::Internal("cannot rename " + staging.string() + " to " + final_dir.string() + ": " + ErrnoText(errno));
  }
  Status registered = RegisterRootfs(name, final_dir.string(), env);
  if (!registered.ok()) {
    RemoveTree(final_dir);
    ::unlink(LockFileOf(final_dir).c_str());
  }
  return registered;
}

}  // namespace gantry::runtime
