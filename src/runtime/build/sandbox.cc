#include "runtime/build/sandbox.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/build/os_util.h"
#include "runtime/build/supervisor.h"

extern char** environ;

namespace gantry::runtime {
namespace {

using namespace supervisor;  // NOLINT: the protocol's names, one protocol for both supervisors

constexpr size_t kCloneStack = 256 * 1024;

// What the supervisor needs, prepared before clone so that the child only reads memory.
struct SupervisorPlan {
  int socket = -1;
  int output = -1;
  int first_shell_stdin = -1;             // -1: no shell at start
  const SpawnRequest* first_shell = nullptr;
  std::vector<int> cgroup_join;             // each group's "tasks", to write "0" to
  int ns_flags = 0;                       // the namespaces this clone was made with
  bool confine = false;                   // shells: capabilities limited, no new privileges
  std::vector<const char*> hidden;
  std::vector<bool> hidden_is_dir;
  // Mount points made read-only in the mount namespace, with the flags they keep (nosuid, ...);
  // a path with bind set is first bound onto itself (a part of /proc, not a mount point).
  std::vector<const char*> read_only;
  std::vector<unsigned long> read_only_flags;
  std::vector<bool> read_only_bind;
};

// ---- child side: async-signal-safe calls only ----

// The supervisor: the init of the build's PID namespace (or a subreaper without one).
int RunSupervisor(void* arg) {
  const SupervisorPlan& plan = *static_cast<const SupervisorPlan*>(arg);
  setsid();
  ResetSignals(true);
  int socket_copy = fcntl(plan.socket, F_DUPFD_CLOEXEC, 100);
  int output_copy = fcntl(plan.output, F_DUPFD_CLOEXEC, 100);
  int shell_copy = plan.first_shell_stdin >= 0 ? fcntl(plan.first_shell_stdin, F_DUPFD_CLOEXEC, 100) : -1;
  int cgroup_fds[8];
  size_t cgroup_count = 0;
  for (int fd : plan.cgroup_join) {
    if (cgroup_count < 8) cgroup_fds[cgroup_count++] = fcntl(fd, F_DUPFD_CLOEXEC, 100);
  }
  dup3(socket_copy, kSocketFd, O_CLOEXEC);
  dup3(output_copy, kOutputFd, O_CLOEXEC);
  if (shell_copy >= 0) dup3(shell_copy, kFirstShellFd, O_CLOEXEC);
  int first_free = shell_copy >= 0 ? kFirstShellFd + 1 : kFirstShellFd;
  for (size_t i = 0; i < cgroup_count; ++i) cgroup_fds[i] = dup3(cgroup_fds[i], first_free + static_cast<int>(i), O_CLOEXEC);
  close_range(first_free + static_cast<int>(cgroup_count), ~0U, 0);
  StdioToDevNull();

  Message ready;
  ready.kind = kReady;
  ready.ns_flags = plan.ns_flags;
  int private_errno = 0;
  if ((plan.ns_flags & CLONE_NEWNS) != 0) {
    private_errno = mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 ? 0 : errno;
    for (size_t i = 0; i < plan.hidden.size() && i < kMaxHidden; ++i) {
      const char* path = plan.hidden[i];
      int err = private_errno;
      if (err == 0) {
        if (plan.hidden_is_dir[i]) {
          if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0) {
            err = errno;
          }
        } else if (mount("/dev/null", path, nullptr, MS_BIND, nullptr) != 0 ||
                   mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
          err = errno;
        }
      }
      ready.hidden_errno[i] = err;
    }
  }
  if ((plan.ns_flags & CLONE_NEWPID) != 0) {
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) ready.value = errno;
  } else {
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  if ((plan.ns_flags & CLONE_NEWNS) != 0) {
    // Read-only bind remounts change this namespace's mounts only (their flags kept otherwise):
    // the build cannot leave its cgroups through cgroupfs or reach the kernel through /proc/sys.
    for (size_t i = 0; i < plan.read_only.size() && i < kMaxReadOnly; ++i) {
      const char* path = plan.read_only[i];
      int err = private_errno;
      if (err == 0 && plan.read_only_bind[i] && mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) err = errno;
      if (err == 0 &&
          mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | plan.read_only_flags[i], nullptr) != 0) {
        err = errno;
      }
      ready.read_only_errno[i] = err;
    }
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int signal_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  SendMessage(kSocketFd, ready);
  // Before any process of the build exists. "0" in "tasks" moves the calling thread, which is the
  // whole (single-threaded) supervisor, without the global lock a write to cgroup.procs takes
  // (an RCU grace period: 15-20 ms measured here, against 0.03 ms).
  for (size_t i = 0; i < cgroup_count; ++i) {
    (void)!write(cgroup_fds[i], "0", 1);
    close(cgroup_fds[i]);
  }

  ServeSpawnRequests(plan.first_shell != nullptr && shell_copy >= 0 ? plan.first_shell : nullptr, plan.confine,
                     signal_fd);
}

// ---- parent side ----

using os::ErrnoText;
using os::ReadFile;

Status WriteText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("open " + path + ": " + ErrnoText(errno));
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Status::Internal("write " + path + ": " + ErrnoText(err));
  return Status::Ok();
}

bool IsUnder(const std::string& path, const std::string& dir) {
  if (path == dir) return true;
  if (dir == "/") return true;
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

std::string Normalize(const std::string& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  std::string text = ec ? path : canonical.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// Whether this process has CAP_SYS_ADMIN in its effective set (mounts, runc as "root").
bool HasSysAdmin() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))) != 0;
}

// Whether the process of pidfd has not exited (a pidfd polls readable once it has).
bool InitAlive(int pidfd) {
  if (pidfd < 0) return false;
  struct pollfd pfd = {pidfd, POLLIN, 0};
  return poll(&pfd, 1, 0) == 0;
}

// Whether the kernel lists children in /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN).
bool ChildrenFilesExist() {
  static const bool exist = access(("/proc/self/task/" + std::to_string(gettid()) + "/children").c_str(), R_OK) == 0;
  return exist;
}

// Fields 3 and 4 of /proc/<pid>/stat, read after the command name (which may hold ')'); nullopt
// when the process is gone.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
};
std::optional<ProcStat> ReadProcStat(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return std::nullopt;
  ProcStat out;
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return out;
  std::istringstream rest(stat.substr(close_paren + 1));
  rest >> out.state >> out.ppid;
  return out;
}

bool ProcessGone(pid_t pid) {
  std::optional<ProcStat> stat = ReadProcStat(pid);
  return !stat || stat->state == 'Z';
}

}  // namespace

// ---- CgroupGroups ----

namespace {

// Groups left by builds of a Gantry that was killed: empty (rmdir refuses a group with processes,
// and a running build's supervisor stays in its groups) and older than a build takes to join one.
void RemoveStaleGroups(const std::string& parent) {
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return;
  time_t cutoff = time(nullptr) - 60;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') continue;
    std::string path = parent + "/" + entry->d_name;
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && st.st_mtime < cutoff) rmdir(path.c_str());
  }
  closedir(dir);
}

}  // namespace

CgroupGroups CgroupGroups::Create(const std::string& proc_self_cgroup, const SandboxSpec& spec,
                                  std::vector<std::string>& notes) {
  CgroupGroups groups;
  std::map<std::string, std::string> own;  // controller -> this process's cgroup path
  std::istringstream lines(proc_self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path == "/") path.clear();
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) own[name] = path;
  }

  struct Want {
    std::string controller;
    std::vector<std::pair<std::string, std::string>> files;
    std::string what;
  };
  // Groups are made for limits (the PID namespace already finds every process of the build) and
  // for the device rule. When a limit's group is made, pids is among them so that a pids.max of 0
  // stops forks while the build is killed.
  std::vector<Want> wants;
  bool limited = spec.memory_bytes > 0 || spec.max_pids > 0 || spec.cpus > 0;
  if (spec.max_pids > 0) {
    wants.push_back({"pids", {{"pids.max", std::to_string(spec.max_pids)}},
                     "process limit " + std::to_string(spec.max_pids)});
  } else if (limited) {
    wants.push_back({"pids", {}, "process tracking"});
  }
  if (spec.memory_bytes > 0) {
    wants.push_back({"memory", {{"memory.limit_in_bytes", std::to_string(spec.memory_bytes)}},
                     "memory limit " + std::to_string(spec.memory_bytes) + " bytes"});
  }
  if (spec.cpus > 0) {
    long quota = std::max(1000L, std::lround(spec.cpus * 100000));
    std::ostringstream what;
    what << "CPU limit " << spec.cpus << " cores";
    wants.push_back({"cpu", {{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", std::to_string(quota)}},
                     what.str()});
  }
  // Root keeps CAP_DAC_OVERRIDE: without this rule it could read the disk under Gantry's state.
  wants.push_back({"devices", {{"devices.deny", "b *:* rwm"}}, "block-device denial"});

  for (const Want& want : wants) {
    std::string base = spec.cgroup_root + "/" + want.controller;
    struct stat st;
    if (stat(base.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      notes.push_back("cgroup " + want.what + " not applied: " + base + " is not mounted");
      continue;
    }
    std::string parent = base + (own.count(want.controller) ? own[want.controller] : "") + "/gantry";
    std::string dir = parent + "/" + spec.name;
    RemoveStaleGroups(parent);
    if ((mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) || mkdir(dir.c_str(), 0755) != 0) {
      notes.push_back("cgroup " + want.what + " not applied: mkdir " + dir + ": " + ErrnoText(errno));
      continue;
    }
    Status written = Status::Ok();
    for (const auto& [file, value] : want.files) {
      written = WriteText(dir + "/" + file, value);
      if (!written.ok()) break;
    }
    if (!written.ok()) {
      notes.push_back("cgroup " + want.what + " not applied: " + written.message());
      std::filesystem::remove_all(dir);
      continue;
    }
    groups.dirs_.push_back(dir);
    if (want.controller == "pids") groups.pids_dir_ = dir;
    notes.push_back("cgroup " + want.what + ": " + dir);
  }
  return groups;
}

std::vector<int> CgroupGroups::OpenJoinFiles() const {
  std::vector<int> fds;
  for (const std::string& dir : dirs_) {
    int fd = open((dir + "/tasks").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) fds.push_back(fd);
  }
  return fds;
}

std::vector<pid_t> CgroupGroups::Members() const {
  std::set<pid_t> pids;
  for (const std::string& dir : dirs_) {
    std::istringstream in(ReadFile(dir + "/cgroup.procs"));
    pid_t pid;
    while (in >> pid) pids.insert(pid);
  }
  return {pids.begin(), pids.end()};
}

bool CgroupGroups::KillAll() const {
  if (dirs_.empty()) return true;
  if (!pids_dir_.empty()) WriteText(pids_dir_ + "/pids.max", "0").ok();  // no more forks
  for (int round = 0; round < 1000; ++round) {
    std::vector<pid_t> members = Members();
    if (members.empty()) return true;
    for (pid_t pid : members) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Members().empty();
}

void CgroupGroups::Remove() {
  for (const std::string& dir : dirs_) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) {
        // A plain directory standing in for cgroupfs (tests): its files are ordinary files.
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    rmdir(std::filesystem::path(dir).parent_path().c_str());  // "gantry", when no other build uses it
  }
  dirs_.clear();
  pids_dir_.clear();
}

// ---- HostSandbox ----

namespace {

// A spawn request to the supervisor with the shell's stdin descriptor (SCM_RIGHTS); what sendmsg
// returned (retried on EINTR).
ssize_t SendSpawnRequest(int socket, const SpawnRequest& request, int stdin_fd) {
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct iovec iov = {const_cast<SpawnRequest*>(&request), sizeof(request)};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &stdin_fd, sizeof(int));
  ssize_t sent;
  while ((sent = sendmsg(socket, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return sent;
}

Status FillRequest(const ShellLaunch& launch, SpawnRequest& request) {
  memset(&request, 0, sizeof(request));
  request.magic = kMagic;
  size_t args_len = 0;
  for (const std::string& arg : launch.argv) args_len += arg.size() + 1;
  if (launch.program.size() >= sizeof(request.program) || launch.cwd.size() >= sizeof(request.cwd) ||
      args_len > sizeof(request.args) || launch.argv.size() > 15) {
    return Status::InvalidArgument("shell launch too long: " + launch.program + " in " + launch.cwd);
  }
  memcpy(request.program, launch.program.c_str(), launch.program.size() + 1);
  memcpy(request.cwd, launch.cwd.c_str(), launch.cwd.size() + 1);
  char* p = request.args;
  for (const std::string& arg : launch.argv) {
    memcpy(p, arg.c_str(), arg.size() + 1);
    p += arg.size() + 1;
  }
  request.argc = static_cast<uint32_t>(launch.argv.size());
  if (launch.identity) {
    request.set_identity = 1;
    request.uid = launch.identity->uid;
    request.gid = launch.identity->gid;
    request.ngroups = static_cast<uint32_t>(std::min<size_t>(launch.identity->groups.size(), kMaxGroups));
    for (uint32_t i = 0; i < request.ngroups; ++i) request.groups[i] = launch.identity->groups[i];
  }
  return Status::Ok();
}

bool SameLaunch(const ShellLaunch& a, const ShellLaunch& b) {
  if (a.program != b.program || a.argv != b.argv || a.cwd != b.cwd || a.identity.has_value() != b.identity.has_value()) {
    return false;
  }
  return !a.identity || (a.identity->uid == b.identity->uid && a.identity->gid == b.identity->gid &&
                         a.identity->groups == b.identity->groups);
}

}  // namespace

StatusOr<std::unique_ptr<HostSandbox>> HostSandbox::Start(const SandboxSpec& spec, int output_fd,
                                                          const std::optional<ShellLaunch>& first_shell) {
  std::unique_ptr<HostSandbox> sandbox(new HostSandbox());
  std::vector<std::string> hidden;
  for (const std::string& path : spec.hidden_paths) {
    if (path.empty()) continue;
    std::string normal = Normalize(path);
    for (const std::string& visible : spec.visible_paths) {
      if (IsUnder(Normalize(visible), normal)) {
        return Status::FailedPrecondition("the build directory " + visible + " lies inside the hidden path " + path +
                                          "; builds must run outside Gantry's state directory");
      }
    }
    hidden.push_back(normal);
  }

  SupervisorPlan plan;
  plan.output = output_fd;
  std::vector<std::string> missing;
  std::vector<std::string> planned;
  std::vector<MountPoint> read_only;
  size_t read_only_left_out = 0;
  if (spec.isolate) {
    plan.confine = true;
    sandbox->cgroups_ = CgroupGroups::Create(ReadFile("/proc/self/cgroup"), spec, sandbox->notes_);
    read_only = MountPointsUnder(ReadFile("/proc/self/mountinfo"), {"/sys", spec.cgroup_root});
    std::vector<MountPoint> proc_parts;
    for (const char* path : {"/proc/sys", "/proc/sysrq-trigger"}) {
      struct stat st;
      if (stat(path, &st) != 0) continue;
      proc_parts.push_back({path, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_NOEXEC)});
    }
    size_t room = kMaxReadOnly - proc_parts.size();
    if (read_only.size() > room) {
      read_only_left_out = read_only.size() - room;
      read_only.resize(room);
    }
    read_only.insert(read_only.end(), proc_parts.begin(), proc_parts.end());
    for (const MountPoint& mount : read_only) {
      plan.read_only.push_back(mount.path.c_str());
      plan.read_only_flags.push_back(mount.flags);
      plan.read_only_bind.push_back(mount.path.rfind("/proc/", 0) == 0);
    }
    for (const std::string& path : hidden) {
      struct stat st;
      if (stat(path.c_str(), &st) != 0) {
        missing.push_back(path);
        continue;
      }
      if (planned.size() >= static_cast<size_t>(kMaxHidden)) {
        sandbox->cgroups_.Remove();
        return Status::InvalidArgument("more than " + std::to_string(kMaxHidden) + " hidden paths");
      }
      planned.push_back(path);
      plan.hidden_is_dir.push_back(S_ISDIR(st.st_mode));
    }
    for (const std::string& path : planned) plan.hidden.push_back(path.c_str());
  } else {
    sandbox->notes_.push_back("isolation off: no namespaces and no cgroups, hidden paths stay readable");
  }

  SpawnRequest first_request;
  int shell_sockets[2] = {-1, -1};
  if (first_shell && FillRequest(*first_shell, first_request).ok() &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, shell_sockets) == 0) {
    plan.first_shell = &first_request;
    plan.first_shell_stdin = shell_sockets[1];
    sandbox->first_shell_ = first_shell;
    sandbox->first_shell_control_ = shell_sockets[0];
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    int err = errno;
    if (shell_sockets[1] >= 0) close(shell_sockets[1]);
    sandbox->Destroy(std::chrono::milliseconds(0));
    return Status::Internal("socketpair: " + ErrnoText(err));
  }
  plan.socket = sv[1];
  plan.cgroup_join = sandbox->cgroups_.OpenJoinFiles();

  // Clone the supervisor straight into its namespaces (one process start less than unshare and
  // fork); fall back to fewer namespaces where the host refuses them.
  void* stack = mmap(nullptr, kCloneStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t supervisor = -1;
  int clone_errno = 0;
  int refused_errno = 0;
  std::vector<int> attempts = spec.isolate ? std::vector<int>{CLONE_NEWNS | CLONE_NEWPID, CLONE_NEWNS, 0} : std::vector<int>{0};
  for (int flags : attempts) {
    if (stack == MAP_FAILED) break;
    plan.ns_flags = flags;
    supervisor = clone(RunSupervisor, static_cast<char*>(stack) + kCloneStack, flags | SIGCHLD, &plan);
    if (supervisor >= 0) break;
    clone_errno = errno;
    if (flags != 0 && refused_errno == 0) refused_errno = clone_errno;
  }
  if (stack == MAP_FAILED) clone_errno = errno;
  if (stack != MAP_FAILED) munmap(stack, kCloneStack);
  close(sv[1]);
  if (shell_sockets[1] >= 0) close(shell_sockets[1]);
  for (int fd : plan.cgroup_join) close(fd);
  sandbox->socket_ = sv[0];
  if (supervisor < 0) {
    sandbox->Destroy(std::chrono::milliseconds(0));
    return Status::Internal("starting the sandbox supervisor: clone: " + ErrnoText(clone_errno));
  }
  sandbox->supervisor_ = supervisor;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Message ready;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    struct pollfd pfd = {sandbox->socket_, POLLIN, 0};
    int got = left.count() > 0 ? poll(&pfd, 1, static_cast<int>(left.count())) : 0;
    if (got < 0 && errno == EINTR) continue;
    ssize_t n = got > 0 ? recv(sandbox->socket_, &ready, sizeof(ready), 0) : -1;
    if (n != sizeof(ready) || ready.kind != kReady) {
      sandbox->Destroy(std::chrono::milliseconds(0));
      return Status::Internal("the sandbox supervisor did not start (" +
                              std::string(got == 0 ? "timed out" : "it exited") + ")");
    }
    break;
  }
  sandbox->mount_ns_ = (ready.ns_flags & CLONE_NEWNS) != 0;
  sandbox->pid_ns_ = (ready.ns_flags & CLONE_NEWPID) != 0 && ready.value == 0;

  if (spec.isolate) {
    std::vector<std::string>& notes = sandbox->notes_;
    if (sandbox->mount_ns_) {
      size_t covered = 0;
      for (size_t i = 0; i < planned.size(); ++i) {
        if (ready.hidden_errno[i] == 0) {
          ++covered;
        } else {
          notes.push_back("hidden path " + planned[i] + " not covered: " + ErrnoText(ready.hidden_errno[i]));
        }
      }
      notes.push_back("mount namespace: " + std::to_string(covered) + " hidden path(s) covered by empty read-only mounts");
    } else {
      notes.push_back("mount namespace not applied: clone: " + ErrnoText(refused_errno) + "; hidden paths stay readable");
    }
    for (const std::string& path : missing) notes.push_back("hidden path " + path + " does not exist");
    if (sandbox->mount_ns_) {
      size_t made = 0;
      std::string proc_parts;
      for (size_t i = 0; i < read_only.size(); ++i) {
        if (ready.read_only_errno[i] != 0) {
          notes.push_back(read_only[i].path + " stays writable: " + ErrnoText(ready.read_only_errno[i]));
        } else if (read_only[i].path.rfind("/proc/", 0) == 0) {
          proc_parts += ", " + read_only[i].path;
        } else {
          ++made;
        }
      }
      notes.push_back("read-only: " + std::to_string(made) + " mount(s) at or under /sys (cgroups included)" +
                      proc_parts);
      if (read_only_left_out > 0) {
        notes.push_back(std::to_string(read_only_left_out) + " mount(s) under /sys stay writable: more than " +
                        std::to_string(kMaxReadOnly) + " mounts");
      }
    }
    notes.push_back("capabilities: only Docker's default set less mknod (no sys_admin: no mount or umount); "
                    "no new privileges at exec");
    if (sandbox->pid_ns_) {
      notes.push_back("PID namespace with its own /proc");
    } else if ((ready.ns_flags & CLONE_NEWPID) != 0) {
      notes.push_back("PID namespace without its own /proc: mount proc: " + ErrnoText(ready.value));
    } else if (sandbox->mount_ns_) {
      notes.push_back("PID namespace not applied: clone: " + ErrnoText(refused_errno) +
                      "; /proc shows the host's processes");
    }
  }
  return sandbox;
}

namespace {

// The message on socket with the sender's pid as this process sees it (SO_PASSCRED is set).
ssize_t ReceiveWithSender(int socket, Message& message, pid_t& sender) {
  char control[CMSG_SPACE(sizeof(struct ucred))];
  struct iovec iov = {&message, sizeof(message)};
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); n > 0 && cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_CREDENTIALS) {
      struct ucred credentials;
      memcpy(&credentials, CMSG_DATA(cmsg), sizeof(credentials));
      sender = credentials.pid;
    }
  }
  return n;
}

std::string LastLines(const std::string& text) {
  std::string out = text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.size() > 2000) out = out.substr(out.size() - 2000);
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<HostSandbox>> HostSandbox::StartContainer(const ContainerSpec& container,
                                                                   const std::string& runc_root, int output_fd,
                                                                   const std::optional<ShellLaunch>& first_shell) {
  std::unique_ptr<HostSandbox> sandbox(new HostSandbox());
  sandbox->runc_ = FindRunc();
  if (sandbox->runc_.empty()) {
    return Status::FailedPrecondition("image " + container.image.name +
                                          " needs runc, which is not installed on this machine (apt-get install runc)",
                                      "CLIENT_ERROR");
  }
  if (access(container.init_program.c_str(), X_OK) != 0) {
    return Status::Internal("the container init " + container.init_program + " is missing: " + ErrnoText(errno));
  }
  // Checked before the root file system is prepared (a copy of the whole image where the overlay
  // mount is refused), which runc would then refuse anyway.
  if (geteuid() != 0 && !HasSysAdmin()) {
    return Status::FailedPrecondition("image " + container.image.name +
                                          " runs in a container, which needs Gantry to run as root (it mounts the "
                                          "container's root file system and runs runc as root); this Gantry runs as uid " +
                                          std::to_string(geteuid()),
                                      "CLIENT_ERROR");
  }
  sandbox->runc_root_ = runc_root;
  sandbox->container_id_ = container.id;
  std::error_code ec;
  std::filesystem::create_directories(runc_root, ec);
  chmod(runc_root.c_str(), 0700);
  if (mkdir(container.bundle.c_str(), 0700) != 0) {
    return Status::Internal("mkdir " + container.bundle + ": " + ErrnoText(errno));
  }
  sandbox->bundle_ = container.bundle;  // removed by the destructor from here on
  sandbox->bundle_lock_ = open((container.bundle + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (sandbox->bundle_lock_ < 0 || flock(sandbox->bundle_lock_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Internal("locking " + container.bundle + "/lock: " + ErrnoText(errno));
  }
  GANTRY_ASSIGN_OR_RETURN(std::string rootfs_note, PrepareRootfs(container));
  sandbox->container_root_ = container.bundle + "/rootfs";
  std::vector<HostDevice> devices;
  if (container.privileged) devices = ListHostDevices();
  GANTRY_RETURN_IF_ERROR(WriteText(container.bundle + "/config.json", OciConfig(container, devices).dump()));

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::Internal("socketpair: " + ErrnoText(errno));
  }
  sandbox->socket_ = sv[0];
  int on = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
  // The first shell's request waits in the socket: the init serves it right after it is ready.
  SpawnRequest first_request;
  int shell_sockets[2] = {-1, -1};
  if (first_shell && FillRequest(*first_shell, first_request).ok() &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, shell_sockets) == 0) {
    if (SendSpawnRequest(sv[0], first_request, shell_sockets[1]) == static_cast<ssize_t>(sizeof(first_request))) {
      sandbox->first_shell_ = first_shell;
      sandbox->first_shell_control_ = shell_sockets[0];
    } else {
      close(shell_sockets[0]);
    }
    close(shell_sockets[1]);
  }

  // runc gets the socket as fd 3 and the output pipe as fd 4 and passes both to the init
  // (--preserve-fds 2). Copies above 10 first, so that no dup2 lands on a source still needed.
  int socket_copy = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  int output_copy = fcntl(output_fd, F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  std::string log = container.bundle + "/runc.log";
  std::vector<std::string> argv = {sandbox->runc_, "--root", runc_root, "run", "--preserve-fds", "2",
                                   "--bundle", container.bundle, container.id};
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, socket_copy, kSocketFd);
  posix_spawn_file_actions_adddup2(&actions, output_copy, kOutputFd);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t runc = -1;
  int spawned = (socket_copy < 0 || output_copy < 0) ? EMFILE
                                                     : posix_spawn(&runc, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (socket_copy >= 0) close(socket_copy);
  if (output_copy >= 0) close(output_copy);
  if (spawned != 0) return Status::Internal("starting " + sandbox->runc_ + ": " + ErrnoText(spawned));
  sandbox->supervisor_ = runc;

  // The init's ready message; its sender is the init as Gantry sees it. runc's failures close the
  // socket (every copy is gone with runc's processes) and are in runc.log.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  Message ready;
  pid_t init = 0;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    struct pollfd pfd = {sandbox->socket_, POLLIN, 0};
    int got = left.count() > 0 ? poll(&pfd, 1, static_cast<int>(left.count())) : 0;
    if (got < 0 && errno == EINTR) continue;
    ssize_t n = got > 0 ? ReceiveWithSender(sandbox->socket_, ready, init) : -1;
    if (n != sizeof(ready) || ready.kind != kReady || init <= 0) {
      sandbox->Destroy(std::chrono::milliseconds(0));
      std::string why = LastLines(ReadFile(log));
      return Status::Internal("the container of image " + container.image.name + " did not start (" +
                              std::string(got == 0 ? "timed out" : "runc exited") + ")" + (why.empty() ? "" : ": " + why));
    }
    break;
  }
  sandbox->init_ = init;
  // runc reaps the init, not Gantry: signals go through a pidfd, so that a pid reused after the
  // init's death is never signalled. Taken while the init is known to live (it just spoke).
  sandbox->init_pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, init, 0));
  // runc starts the init as its child (and reaps it): another parent means the init died and its
  // pid was reused before the pidfd was taken.
  std::optional<ProcStat> init_stat = ReadProcStat(init);
  if (sandbox->init_pidfd_ >= 0 && (!init_stat || init_stat->ppid != runc)) {
    close(sandbox->init_pidfd_);
    sandbox->init_pidfd_ = -1;
    errno = ESRCH;
  }
  if (sandbox->init_pidfd_ < 0) {
    int err = errno;
    sandbox->init_ = 0;  // Destroy ends runc's descendants, the init among them
    sandbox->Destroy(std::chrono::milliseconds(0));
    return Status::Internal("pidfd_open of the container's init: " + ErrnoText(err));
  }
  sandbox->mount_ns_ = true;
  sandbox->pid_ns_ = true;
  std::vector<std::string>& notes = sandbox->notes_;
  notes.push_back("container " + container.id + " (runc " + sandbox->runc_ + "), " + rootfs_note);
  notes.push_back(container.network == NetworkMode::kHost
                      ? "network: the host's (127.0.0.1 is this machine)"
                      : "network: none (its own network namespace, loopback only)");
  notes.push_back(container.privileged
                      ? "privileged: every capability, every host device, /sys writable, no new privileges allowed"
                      : "capabilities: only Docker's default set less mknod; no new privileges at exec; block devices denied");
  if (container.memory_bytes > 0 || container.max_pids > 0 || container.cpus > 0) {
    std::ostringstream limits;
    limits << "cgroup limits (runc, " << container.cgroup_path << "):";
    if (container.memory_bytes > 0) limits << " memory " << container.memory_bytes << " bytes";
    if (container.max_pids > 0) limits << " processes " << container.max_pids;
    if (container.cpus > 0) limits << " CPU " << container.cpus << " cores";
    notes.push_back(limits.str());
  }
  return sandbox;
}

HostSandbox::~HostSandbox() {
  Destroy(std::chrono::milliseconds(0));
  if (!bundle_.empty()) ReleaseBundle(bundle_);
  if (bundle_lock_ >= 0) close(bundle_lock_);
  if (init_pidfd_ >= 0) close(init_pidfd_);
}

Status HostSandbox::ReadMessages(bool block, std::chrono::milliseconds timeout) {
  for (;;) {
    struct pollfd pfd = {socket_, POLLIN, 0};
    int ready = poll(&pfd, 1, block ? static_cast<int>(timeout.count()) : 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return block ? Status::Unavailable("no message from the sandbox supervisor") : Status::Ok();
    Message m;
    ssize_t n = recv(socket_, &m, sizeof(m), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n != sizeof(m)) return Status::Internal("the sandbox supervisor is gone");
    if (m.kind == kExited) {
      exits_.push_back({m.pid, m.value});
      live_shells_.erase(m.pid);
    } else if (m.kind == kSpawned) {
      spawn_replies_.push_back(m.pid);
      live_shells_.insert(m.pid);
    } else if (m.kind == kSpawnFailed) {
      spawn_replies_.push_back(-static_cast<int64_t>(m.value == 0 ? EIO : m.value));
    }
    block = false;
  }
}

StatusOr<int64_t> HostSandbox::AwaitSpawnReply() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (spawn_replies_.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Internal("the sandbox supervisor did not answer a spawn request");
    GANTRY_RETURN_IF_ERROR(ReadMessages(true, left));
  }
  int64_t reply = spawn_replies_.front();
  spawn_replies_.pop_front();
  return reply;
}

std::optional<ReadyShell> HostSandbox::TakeFirstShell(const ShellLaunch& launch) {
  if (!first_shell_ || destroyed_) return std::nullopt;
  int control = first_shell_control_;
  bool fits = SameLaunch(*first_shell_, launch);
  first_shell_.reset();
  first_shell_control_ = -1;
  auto reply = AwaitSpawnReply();  // the supervisor answers the first shell before any request
  if (!reply.ok() || *reply <= 0 || !fits) {
    close(control);  // an unused shell reads end-of-file and exits
    return std::nullopt;
  }
  return ReadyShell{static_cast<pid_t>(*reply), control};
}

StatusOr<pid_t> HostSandbox::Spawn(const ShellLaunch& launch, int stdin_fd) {
  if (destroyed_) {
    close(stdin_fd);
    return Status::FailedPrecondition("the sandbox has been destroyed");
  }
  if (first_shell_) {
    auto unused = TakeFirstShell(ShellLaunch{});
    if (unused) close(unused->control_fd);
  }
  SpawnRequest request;
  Status filled = FillRequest(launch, request);
  if (!filled.ok()) {
    close(stdin_fd);
    return filled;
  }
  ssize_t sent = SendSpawnRequest(socket_, request, stdin_fd);
  int send_errno = errno;
  close(stdin_fd);
  if (sent != static_cast<ssize_t>(sizeof(request))) {
    return Status::Internal("sending the spawn request to the sandbox supervisor: " + ErrnoText(send_errno));
  }
  GANTRY_ASSIGN_OR_RETURN(int64_t reply, AwaitSpawnReply());
  if (reply < 0) {
    int err = static_cast<int>(-reply);
    std::string who = launch.identity ? " as user " + launch.identity->name : "";
    return Status(err == EPERM || err == EACCES ? StatusCode::kPermissionDenied : StatusCode::kInternal,
                  "starting " + launch.program + who + " in " + launch.cwd + ": " + ErrnoText(err));
  }
  return static_cast<pid_t>(reply);
}

std::optional<ShellExit> HostSandbox::TakeExit() {
  if (!destroyed_) ReadMessages(false, std::chrono::milliseconds(0)).ok();
  if (exits_.empty()) return std::nullopt;
  ShellExit exit = exits_.front();
  exits_.pop_front();
  return exit;
}

namespace {

// Children of pid, from /proc/<pid>/task/*/children (empty when pid is gone).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::vector<pid_t> children;
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return children;
  while (struct dirent* entry = readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::istringstream in(ReadFile(tasks + "/" + entry->d_name + "/children"));
    pid_t child;
    while (in >> child) children.push_back(child);
  }
  closedir(dir);
  return children;
}

}  // namespace

std::vector<pid_t> DescendantsOf(pid_t root) {
  if (root <= 0) return {};
  if (ChildrenFilesExist()) {
    std::vector<pid_t> out;
    std::vector<pid_t> queue = {root};
    while (!queue.empty()) {
      pid_t parent = queue.back();
      queue.pop_back();
      for (pid_t child : ChildrenOf(parent)) {
        out.push_back(child);
        queue.push_back(child);
      }
    }
    return out;
  }
  // Without CONFIG_PROC_CHILDREN: every process's parent, from /proc/<pid>/stat.
  std::multimap<pid_t, pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return {};
  while (struct dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string stat = ReadFile(std::string("/proc/") + entry->d_name + "/stat");
    size_t close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(close_paren + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    children.emplace(ppid, static_cast<pid_t>(std::atoi(entry->d_name)));
  }
  closedir(proc);
  std::vector<pid_t> out;
  std::vector<pid_t> queue = {root};
  while (!queue.empty()) {
    pid_t parent = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return out;
}

std::vector<MountPoint> MountPointsUnder(const std::string& mountinfo, const std::vector<std::string>& dirs) {
  static const std::map<std::string, unsigned long> kFlags = {
      {"nosuid", MS_NOSUID},     {"nodev", MS_NODEV},         {"noexec", MS_NOEXEC},
      {"noatime", MS_NOATIME},   {"nodiratime", MS_NODIRATIME}, {"relatime", MS_RELATIME},
      {"strictatime", MS_STRICTATIME}};
  std::vector<MountPoint> out;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mount-point options ...; spaces in paths are written \040.
    std::istringstream fields(line);
    std::string id, parent, device, root, escaped, options;
    if (!(fields >> id >> parent >> device >> root >> escaped >> options)) continue;
    auto octal = [](char c) { return c >= '0' && c <= '7'; };
    std::string path;
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '\\' && i + 3 < escaped.size() && octal(escaped[i + 1]) && octal(escaped[i + 2]) &&
          octal(escaped[i + 3])) {
        path += static_cast<char>((escaped[i + 1] - '0') * 64 + (escaped[i + 2] - '0') * 8 + (escaped[i + 3] - '0'));
        i += 3;
      } else {
        path += escaped[i];
      }
    }
    // "/" (or "") would make every mount read-only.
    if (std::none_of(dirs.begin(), dirs.end(),
                     [&](const std::string& dir) { return dir.size() > 1 && IsUnder(path, dir); })) {
      continue;
    }
    MountPoint mount{path, 0};
    std::istringstream names(options);
    std::string name;
    while (std::getline(names, name, ',')) {
      auto it = kFlags.find(name);
      if (it != kFlags.end()) mount.flags |= it->second;
    }
    out.push_back(std::move(mount));
  }
  return out;
}

void HostSandbox::Destroy(std::chrono::milliseconds grace) {
  if (destroyed_) return;
  destroyed_ = true;
  if (first_shell_control_ >= 0) close(first_shell_control_);
  first_shell_control_ = -1;
  // pid 0 would name Gantry's own process group, and every process as a "parent".
  if (supervisor_ > 0) {
    if (grace.count() > 0 && !live_shells_.empty()) {
      // The shells and their foreground children share the supervisor's process group. The init's
      // group only while the init lives (its pid, the group's id, cannot be reused before).
      if (init_ == 0) {
        kill(-supervisor_, SIGTERM);
      } else if (InitAlive(init_pidfd_)) {
        kill(-init_, SIGTERM);
      }
      auto deadline = std::chrono::steady_clock::now() + grace;
      while (!live_shells_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !ReadMessages(true, left).ok()) break;
      }
    }
    if (init_ > 0) {
      // The init's death ends the container's PID namespace; runc run then removes the container
      // (state, cgroups) and exits.
      if (init_pidfd_ >= 0) syscall(SYS_pidfd_send_signal, init_pidfd_, SIGKILL, nullptr, 0);
      int status;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (waitpid(supervisor_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() >= deadline) {
          kill(supervisor_, SIGKILL);
          while (waitpid(supervisor_, &status, 0) < 0 && errno == EINTR) {
          }
          break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      supervisor_ = 0;
    } else if (!pid_ns_) {
      // Without a PID namespace, stop every descendant (so that none can fork), then kill them.
      cgroups_.KillAll();
      std::set<pid_t> stopped;
      for (int round = 0; round < 100; ++round) {
        bool fresh = false;
        for (pid_t pid : DescendantsOf(supervisor_)) {
          if (!stopped.insert(pid).second) continue;
          kill(pid, SIGSTOP);
          fresh = true;
        }
        if (!fresh) break;
      }
      for (pid_t pid : stopped) kill(pid, SIGKILL);
      for (int wait = 0; wait < 1000; ++wait) {
        if (std::all_of(stopped.begin(), stopped.end(), ProcessGone)) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    // As the PID namespace's init, the supervisor takes every process of the namespace with it:
    // the wait returns once they are all gone.
    if (supervisor_ > 0) {
      kill(supervisor_, SIGKILL);
      int status;
      while (waitpid(supervisor_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (!container_id_.empty() && access((runc_root_ + "/" + container_id_).c_str(), F_OK) == 0) {
    // runc did not get to remove it (it was killed, or the container never started).
    os::RunProgram({runc_, "--root", runc_root_, "delete", "--force", container_id_}, "");
  }
  cgroups_.KillAll();
  cgroups_.Remove();
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
}

}  // namespace gantry::runtime
