#include "runtime/build/container.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sstream>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "runtime/build/os_util.h"
#include "runtime/build/supervisor.h"

namespace gantry::runtime {
namespace {

using Json = nlohmann::json;
using os::ErrnoText;
using os::ReadFile;
using os::RunProgram;

// Names of the capabilities by number, as the OCI runtime spec writes them.
constexpr const char* kCapabilityNames[] = {
    "CAP_CHOWN",          "CAP_DAC_OVERRIDE",  "CAP_DAC_READ_SEARCH", "CAP_FOWNER",          "CAP_FSETID",
    "CAP_KILL",           "CAP_SETGID",        "CAP_SETUID",          "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",     "CAP_NET_RAW",         "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",      "CAP_SYS_MODULE",    "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",      "CAP_SYS_ADMIN",     "CAP_SYS_BOOT",        "CAP_SYS_NICE",        "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",          "CAP_LEASE",           "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",  "CAP_SETFCAP",       "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",
    "CAP_WAKE_ALARM",     "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

Json Capabilities(bool privileged) {
  Json names = Json::array();
  int count = static_cast<int>(sizeof(kCapabilityNames) / sizeof(kCapabilityNames[0]));
  for (int cap = 0; cap < count; ++cap) {
    if (privileged || (supervisor::kKeptCapabilities & supervisor::Bit(cap)) != 0) names.push_back(kCapabilityNames[cap]);
  }
  // No inheritable or ambient set: as Docker since CVE-2022-24769, exec of a file with inheritable
  // capabilities gains none.
  return {{"bounding", names}, {"effective", names}, {"permitted", names}};
}

Json Mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

bool IsUnder(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// Whether no build holds the bundle: its lock file exists and no process holds it, or (a bundle
// under work_root, where only builds of this Gantry live) the lock file is gone.
bool Abandoned(const std::string& bundle, const std::string& work_root) {
  int fd = open((bundle + "/lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT && !work_root.empty() && IsUnder(bundle, work_root);
  bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free;
}

// The mount points in /proc/self/mountinfo (octal escapes decoded), in mount order.
std::vector<std::pair<std::string, std::string>> MountPointsAndTypes() {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream mounts(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (!(fields >> id >> parent >> device >> root >> point)) continue;
    size_t dash = line.find(" - ");
    std::string type;
    if (dash != std::string::npos) std::istringstream(line.substr(dash + 3)) >> type;
    std::string decoded;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        decoded += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += point[i];
      }
    }
    out.emplace_back(decoded, type);
  }
  return out;
}

void ListDevices(const std::string& dir, std::vector<HostDevice>& out, int depth) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return;
  while (struct dirent* entry = readdir(handle)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      // As runc's HostDevices: not the mounts a container has of its own, nor udev's.
      if (depth == 0 && (name == "pts" || name == "shm" || name == "mqueue" || name == "fd" || name == ".lxc" ||
                         name == ".udev")) {
        continue;
      }
      if (depth < 4) ListDevices(path, out, depth + 1);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    if (path == "/dev/console") continue;  // the container's own console is runc's
    out.push_back({path, S_ISCHR(st.st_mode) ? 'c' : 'b', static_cast<int64_t>(major(st.st_rdev)),
                   static_cast<int64_t>(minor(st.st_rdev)), st.st_mode & 07777, st.st_uid, st.st_gid});
  }
  closedir(handle);
}

}  // namespace

Json OciConfig(const ContainerSpec& spec, const std::vector<HostDevice>& devices) {
  Json env = Json::array();
  for (const std::string& entry : spec.image.env) {
    if (entry.rfind("PATH=", 0) == 0) env.push_back(entry);
  }
  if (env.empty()) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");

  Json process = {{"terminal", false},
                  {"user", {{"uid", 0}, {"gid", 0}}},
                  {"args", {kContainerInitPath}},
                  {"env", env},
                  {"cwd", "/"},
                  {"capabilities", Capabilities(spec.privileged)},
                  {"noNewPrivileges", !spec.privileged}};

  std::string sys_mode = spec.privileged ? "rw" : "ro";
  Json mounts = Json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", sys_mode}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", sys_mode}),
  });
  // Name resolution as on this machine: with the host's network its resolver and hosts apply.
  for (const char* file : {"/etc/resolv.conf", "/etc/hosts"}) {
    if (spec.network == NetworkMode::kNone && std::string(file) == "/etc/resolv.conf") continue;
    if (access(file, R_OK) == 0) mounts.push_back(Mount(file, "bind", file, {"rbind", "ro", "nosuid", "nodev"}));
  }
  bool bundle_shared = false;
  for (const std::string& dir : spec.shared) {
    mounts.push_back(Mount(dir, "bind", dir, {"bind", "rw", "nosuid", "nodev", "rprivate"}));
    if (IsUnder(spec.bundle, dir)) bundle_shared = true;
  }
  // The bundle (config.json, the overlay's own directories) is not the build's business.
  if (bundle_shared) {
    mounts.push_back(Mount(spec.bundle, "tmpfs", "tmpfs", {"ro", "nosuid", "nodev", "noexec", "size=4k", "mode=0555"}));
  }
  mounts.push_back(Mount(kContainerInitPath, "bind", spec.init_program, {"bind", "ro", "nosuid", "nodev"}));

  Json namespaces = Json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (spec.network == NetworkMode::kNone) namespaces.push_back({{"type", "network"}});

  Json resources;
  if (spec.privileged) {
    resources["devices"] = Json::array({{{"allow", true}, {"access", "rwm"}}});
  } else {
    // Deny all; runc adds its default devices (null, zero, full, tty, random, urandom, ptmx, pts).
    resources["devices"] = Json::array({{{"allow", false}, {"access", "rwm"}}});
  }
  if (spec.memory_bytes > 0) resources["memory"] = {{"limit", spec.memory_bytes}};
  if (spec.max_pids > 0) resources["pids"] = {{"limit", spec.max_pids}};
  if (spec.cpus > 0) {
    resources["cpu"] = {{"quota", std::max(1000L, std::lround(spec.cpus * 100000))}, {"period", 100000}};
  }

  Json linux = {{"namespaces", namespaces}, {"resources", resources}};
  if (!spec.cgroup_path.empty()) linux["cgroupsPath"] = spec.cgroup_path;
  if (spec.privileged) {
    Json list = Json::array();
    for (const HostDevice& device : devices) {
      list.push_back({{"path", device.path},
                      {"type", std::string(1, device.type)},
                      {"major", device.major},
                      {"minor", device.minor},
                      {"fileMode", device.mode},
                      {"uid", device.uid},
                      {"gid", device.gid}});
    }
    linux["devices"] = list;
  } else {
    // Docker's defaults.
    linux["maskedPaths"] = {"/proc/asound",   "/proc/acpi",      "/proc/kcore",       "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                            "/proc/scsi",     "/sys/firmware"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }

  return {{"ociVersion", "1.0.2"},
          {"process", process},
          {"root", {{"path", "rootfs"}, {"readonly", false}}},
          {"hostname", spec.id.substr(0, 63)},
          {"mounts", mounts},
          {"linux", linux}};
}

std::vector<HostDevice> ListHostDevices(const std::string& dev) {
  std::vector<HostDevice> out;
  ListDevices(dev, out, 0);
  return out;
}

StatusOr<std::string> PrepareRootfs(const ContainerSpec& spec) {
  std::string rootfs = spec.bundle + "/rootfs";
  std::string upper = spec.bundle + "/upper";
  std::string work = spec.bundle + "/work";
  struct stat st;
  if (stat(spec.image.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition("the root file system " + spec.image.rootfs + " of image " + spec.image.name +
                                          " is not a directory",
                                      "CLIENT_ERROR");
  }
  for (const std::string& dir : {rootfs, upper, work}) {
    if (mkdir(dir.c_str(), 0755) != 0) return Status::Internal("mkdir " + dir + ": " + ErrnoText(errno));
  }
  std::string overlay_errno;
  // Overlay options are split at ',' and lower directories at ':'.
  if (spec.image.rootfs.find_first_of(",:") == std::string::npos && spec.bundle.find_first_of(",:") == std::string::npos) {
    std::string options = "lowerdir=" + spec.image.rootfs + ",upperdir=" + upper + ",workdir=" + work;
    // Not nosuid: setuid programs (sudo) work where no_new_privs allows it (privilegedMode). The
    // bundle is 0700, so no one else on the host reaches them.
    if (mount("overlay", rootfs.c_str(), "overlay", MS_NODEV, options.c_str()) == 0) {
      return "root file system: overlay over " + spec.image.rootfs;
    }
    overlay_errno = ErrnoText(errno);
  } else {
    overlay_errno = "the path holds ',' or ':'";
  }
  std::string errors = spec.bundle + "/cp.log";
  int status = RunProgram({"/bin/cp", "-a", "--", spec.image.rootfs + "/.", rootfs + "/"}, errors);
  if (status != 0) {
    std::string text = ReadFile(errors);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return Status::Internal("copying " + spec.image.rootfs + " to " + rootfs + " failed: " +
                            (status < 0 ? ErrnoText(-status) : text));
  }
  unlink(errors.c_str());
  return "root file system: a copy of " + spec.image.rootfs + " (overlay mount refused: " + overlay_errno + ")";
}

void ReleaseBundle(const std::string& bundle) {
  std::string rootfs = bundle + "/rootfs";
  if (umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) return;  // keep what is mounted
  std::error_code ec;
  std::filesystem::remove_all(bundle, ec);
}

std::string InstanceTag(const std::string& path) {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(path, ec).lexically_normal().string();
  return HexEncode(Sha256(absolute)).substr(0, 12);
}

std::string DefaultRuncRoot(const std::string& state_dir) { return "/run/gantry-runc-" + InstanceTag(state_dir); }

std::string ContainerId(const std::string& work_dir) {
  return "gantry-" + InstanceTag(work_dir).substr(0, 8) + "-" + std::filesystem::path(work_dir).filename().string();
}

std::string FindRunc() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((dir + "/runc").c_str(), X_OK) == 0) return dir + "/runc";
  }
  for (const char* candidate : {"/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

void RemoveStaleContainers(const std::string& runc, const std::string& runc_root, const std::string& work_root,
                           std::chrono::seconds min_age) {
  // One cleanup at a time in this process, and across processes sharing the runc root (a lock on
  // the root itself, which runc made with the first container: none there, no container to clean).
  static std::mutex mu;
  std::lock_guard<std::mutex> guard(mu);
  std::error_code ec;
  int lock = open(runc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock >= 0) {
    while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  if (DIR* dir = opendir(runc_root.c_str())) {
    std::vector<std::string> stale;
    std::vector<std::string> stateless;
    time_t now = time(nullptr);
    while (struct dirent* entry = readdir(dir)) {
      std::string id = entry->d_name;
      if (id.rfind("gantry-", 0) != 0) continue;
      std::string state_dir = runc_root + "/" + id;
      Json state = Json::parse(ReadFile(state_dir + "/state.json"), nullptr, false);
      std::string rootfs;
      if (state.is_object() && state.contains("config") && state["config"].is_object()) {
        rootfs = state["config"].value("rootfs", "");
      }
      if (rootfs.empty()) {
        // runc makes the directory before it writes state.json: a container being started looks
        // like this for a moment. Only one left long ago is stale.
        struct stat st;
        if (stat(state_dir.c_str(), &st) == 0 && now - st.st_mtime >= min_age.count()) stateless.push_back(id);
        continue;
      }
      std::string bundle = std::filesystem::path(rootfs).parent_path().string();
      if (access(bundle.c_str(), F_OK) != 0 || Abandoned(bundle, work_root)) stale.push_back(id);
    }
    closedir(dir);
    for (const std::string& id : stale) {
      if (!runc.empty()) RunProgram({runc, "--root", runc_root, "delete", "--force", id}, "");
    }
    // No state: nothing runc could delete; its directory is all there is.
    for (const std::string& id : stateless) std::filesystem::remove_all(runc_root + "/" + id, ec);
  }
  const std::string suffix = "/container/rootfs";
  std::vector<std::string> bundles;
  for (const auto& [point, type] : MountPointsAndTypes()) {
    if (type != "overlay") continue;
    if (point.size() <= suffix.size() || point.compare(point.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    std::string bundle = point.substr(0, point.size() - std::string("/rootfs").size());
    if (!work_root.empty() && IsUnder(bundle, work_root) && Abandoned(bundle, work_root)) bundles.push_back(bundle);
  }
  for (const std::string& bundle : bundles) ReleaseBundle(bundle);
  if (lock >= 0) close(lock);
}

bool UnmountAllUnder(const std::string& dir) {
  std::vector<std::string> points;
  for (const auto& [point, type] : MountPointsAndTypes()) {
    if (point != dir && IsUnder(point, dir)) points.push_back(point);
  }
  // Deepest (latest mounted) first.
  for (auto it = points.rbegin(); it != points.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  for (const auto& [point, type] : MountPointsAndTypes()) {
    if (point != dir && IsUnder(point, dir)) return false;
  }
  return true;
}

int OpenInRoot(const std::string& root, const std::string& path, int flags) {
  int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return -1;
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string relative = path;
  while (!relative.empty() && relative[0] == '/') relative.erase(0, 1);
  if (relative.empty()) relative = ".";
  int fd = static_cast<int>(syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
  int err = errno;
  close(root_fd);
  errno = err;
  return fd;
}

StatusOr<std::string> ReadInRoot(const std::string& root, const std::string& path, size_t max_bytes) {
  // Non-blocking: a FIFO (or anything else the build put there) must not hang the reader.
  int fd = OpenInRoot(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Status::FailedPrecondition("cannot open " + path + " in the container: " + ErrnoText(errno), "CLIENT_ERROR");
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::FailedPrecondition(path + " in the container is not a regular file", "CLIENT_ERROR");
  }
  std::string text;
  char buffer[65536];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0 && text.size() <= max_bytes) text.append(buffer, static_cast<size_t>(n));
  int err = n < 0 ? errno : 0;
  close(fd);
  if (err != 0) return Status::FailedPrecondition("reading " + path + " in the container: " + ErrnoText(err), "CLIENT_ERROR");
  if (text.size() > max_bytes) {
    return Status::FailedPrecondition(path + " in the container is larger than " + std::to_string(max_bytes) + " bytes",
                                      "CLIENT_ERROR");
  }
  return text;
}

std::string FindInRoot(const std::string& root, const std::string& program, const std::string& path_value) {
  auto executable = [&](const std::string& candidate) {
    int fd = OpenInRoot(root, candidate, O_PATH);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
    close(fd);
    return ok;
  };
  if (!program.empty() && program[0] == '/') return executable(program) ? program : std::string();
  std::stringstream dirs(path_value);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = (dir == "/" ? "" : dir) + "/" + program;
    if (executable(candidate)) return candidate;
  }
  return {};
}

}  // namespace gantry::runtime
