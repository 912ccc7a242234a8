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
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace gantry::runtime {
namespace {

constexpr uint32_t kMagic = 0x67616e74;
constexpr int kMaxGroups = 64;
constexpr int kMaxHidden = 32;
constexpr int kMaxShells = 64;
constexpr int kMaxReadOnly = 64;
constexpr size_t kCloneStack = 256 * 1024;
// Descriptors in the supervisor (and, until exec, in a shell).
constexpr int kSocketFd = 3;
constexpr int kOutputFd = 4;
constexpr int kFirstShellFd = 5;

enum MessageKind : int32_t { kReady = 1, kSpawned = 2, kSpawnFailed = 3, kExited = 4 };

// What a build's shells keep of root's capabilities: Docker's default set less CAP_MKNOD. Gone are
// CAP_SYS_ADMIN (mount, umount: the covers over hidden paths stay), CAP_SYS_PTRACE,
// CAP_DAC_READ_SEARCH (open_by_handle_at), CAP_SYS_RAWIO, CAP_MKNOD, CAP_SYS_MODULE and the rest.
constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }
constexpr uint64_t kKeptCapabilities =
    Bit(CAP_CHOWN) | Bit(CAP_DAC_OVERRIDE) | Bit(CAP_FOWNER) | Bit(CAP_FSETID) | Bit(CAP_KILL) | Bit(CAP_SETGID) |
    Bit(CAP_SETUID) | Bit(CAP_SETPCAP) | Bit(CAP_NET_BIND_SERVICE) | Bit(CAP_NET_RAW) | Bit(CAP_SYS_CHROOT) |
    Bit(CAP_AUDIT_WRITE) | Bit(CAP_SETFCAP);

struct Message {
  int32_t kind = 0;
  int32_t pid = 0;
  int32_t value = 0;          // kExited: wait status; kSpawnFailed: errno; kReady: errno of mounting /proc
  int32_t ns_flags = 0;       // kReady: the CLONE_NEW* flags the supervisor was made with
  int32_t hidden_errno[kMaxHidden] = {};
  int32_t read_only_errno[kMaxReadOnly] = {};  // kReady: per SupervisorPlan::read_only entry
};

struct SpawnRequest {
  uint32_t magic;
  uint32_t set_identity;
  uint32_t uid, gid, ngroups;
  uint32_t groups[kMaxGroups];
  uint32_t argc;
  char program[512];
  char args[1024];  // argc NUL-terminated strings
  char cwd[4096];
};

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

void SendMessage(int fd, const Message& m) {
  while (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void ResetSignals(bool ignore_termination) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &action, nullptr);
  }
  if (ignore_termination) {
    action.sa_handler = SIG_IGN;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT}) sigaction(sig, &action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Drops every capability outside kKeptCapabilities from the bounding set, which is what a root
// shell's capabilities are recomputed from at exec. Needs CAP_SETPCAP, so before a uid switch;
// without it (Gantry not root) there is nothing to drop that no_new_privs does not already keep
// out of reach. Returns an errno or 0.
int LimitBoundingSet() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  if ((data[0].effective & Bit(CAP_SETPCAP)) == 0) return 0;
  for (int cap = 0; cap < 64; ++cap) {
    if ((kKeptCapabilities & Bit(cap)) != 0) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past the kernel's last capability
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return errno;
  }
  return 0;
}

// Limits the effective, permitted, inheritable and ambient sets to kKeptCapabilities and sets
// no_new_privs (no setuid or file-capability gains at exec). Returns an errno or 0.
int LimitCapabilities() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  for (int i = 0; i < 2; ++i) {
    uint32_t kept = static_cast<uint32_t>(kKeptCapabilities >> (32 * i));
    data[i].effective &= kept;
    data[i].permitted &= kept;
    data[i].inheritable &= kept;
  }
  if (syscall(SYS_capset, &header, data) != 0) return errno;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

[[noreturn]] void RunShell(const SpawnRequest& request, int stdin_fd, int error_fd, bool confine) {
  ResetSignals(false);
  error_fd = fcntl(error_fd, F_DUPFD_CLOEXEC, 10);  // out of the way of 0-2 and 9
  dup2(stdin_fd, 0);
  dup2(kOutputFd, 1);
  dup2(kOutputFd, 2);
  dup2(kOutputFd, 9);
  close_range(3, 8, CLOSE_RANGE_CLOEXEC);
  close_range(10, ~0U, CLOSE_RANGE_CLOEXEC);
  int err = confine ? LimitBoundingSet() : 0;
  if (err == 0 && request.set_identity != 0) {
    // Raw system calls: glibc's setuid() would try to tell the threads of Gantry's process, of
    // which this child has only stale records.
    gid_t groups[kMaxGroups];
    for (uint32_t i = 0; i < request.ngroups && i < kMaxGroups; ++i) groups[i] = request.groups[i];
    if (syscall(SYS_setgroups, std::min<uint32_t>(request.ngroups, kMaxGroups), groups) != 0 ||
        syscall(SYS_setresgid, request.gid, request.gid, request.gid) != 0 ||
        syscall(SYS_setresuid, request.uid, request.uid, request.uid) != 0) {
      err = errno;
    }
  }
  if (err == 0 && confine) err = LimitCapabilities();
  if (err == 0 && chdir(request.cwd) != 0) err = errno;
  if (err == 0) {
    char* argv[16];
    const char* p = request.args;
    uint32_t argc = std::min<uint32_t>(request.argc, 15);
    for (uint32_t i = 0; i < argc; ++i) {
      argv[i] = const_cast<char*>(p);
      p += strlen(p) + 1;
    }
    argv[argc] = nullptr;
    char* envp[] = {nullptr};
    execve(request.program, argv, envp);
    err = errno;
  }
  while (write(error_fd, &err, sizeof(err)) < 0 && errno == EINTR) {
  }
  _exit(127);
}

void SpawnShell(const SpawnRequest& request, int stdin_fd, bool confine, pid_t* shells, int* shell_count) {
  Message reply;
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    reply.kind = kSpawnFailed;
    reply.value = errno;
    close(stdin_fd);
    SendMessage(kSocketFd, reply);
    return;
  }
  // _Fork: no fork handlers and no malloc locks, which in this clone of a threaded process may be
  // copies of locks held by other threads.
  pid_t pid = _Fork();
  if (pid == 0) RunShell(request, stdin_fd, error_pipe[1], confine);
  int fork_errno = errno;
  close(stdin_fd);
  close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  while ((n = read(error_pipe[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR) {
  }
  close(error_pipe[0]);
  if (pid < 0) {
    reply.kind = kSpawnFailed;
    reply.value = fork_errno;
  } else if (n > 0) {
    reply.kind = kSpawnFailed;
    reply.value = child_errno;  // the child exits 127 and is reaped by the SIGCHLD loop
  } else {
    if (*shell_count < kMaxShells) shells[(*shell_count)++] = pid;
    reply.kind = kSpawned;
    reply.pid = pid;
  }
  SendMessage(kSocketFd, reply);
}

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
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    close(null_fd);
  }

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

  pid_t shells[kMaxShells];
  int shell_count = 0;
  if (plan.first_shell != nullptr && shell_copy >= 0) {
    SpawnShell(*plan.first_shell, kFirstShellFd, plan.confine, shells, &shell_count);
  }
  for (;;) {
    struct pollfd fds[2] = {{kSocketFd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      _exit(1);
    }
    if ((fds[1].revents & POLLIN) != 0) {
      struct signalfd_siginfo info;
      while (read(signal_fd, &info, sizeof(info)) > 0) {
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < shell_count; ++i) {
          if (shells[i] != pid) continue;
          Message exited;
          exited.kind = kExited;
          exited.pid = pid;
          exited.value = status;
          SendMessage(kSocketFd, exited);
          shells[i] = shells[--shell_count];
          break;
        }
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      SpawnRequest request;
      char control[CMSG_SPACE(sizeof(int))];
      struct iovec iov = {&request, sizeof(request)};
      struct msghdr msg;
      memset(&msg, 0, sizeof(msg));
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t n = recvmsg(kSocketFd, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(0);  // Gantry closed its end: the build is over
      int stdin_fd = -1;
      struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      if (cmsg != nullptr && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
        memcpy(&stdin_fd, CMSG_DATA(cmsg), sizeof(int));
      }
      if (static_cast<size_t>(n) != sizeof(request) || request.magic != kMagic || stdin_fd < 0) {
        if (stdin_fd >= 0) close(stdin_fd);
        Message reply;
        reply.kind = kSpawnFailed;
        reply.value = EINVAL;
        SendMessage(kSocketFd, reply);
        continue;
      }
      SpawnShell(request, stdin_fd, plan.confine, shells, &shell_count);
    }
  }
}

// ---- parent side ----

std::string ErrnoText(int err) { return std::strerror(err); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

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

// Whether the kernel lists children in /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN).
bool ChildrenFilesExist() {
  static const bool exist = access(("/proc/self/task/" + std::to_string(gettid()) + "/children").c_str(), R_OK) == 0;
  return exist;
}

bool ProcessGone(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  size_t close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() && stat[close_paren + 2] == 'Z';
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

HostSandbox::~HostSandbox() { Destroy(std::chrono::milliseconds(0)); }

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
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct iovec iov = {&request, sizeof(request)};
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
  while ((sent = sendmsg(socket_, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
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
      // The shells and their foreground children share the supervisor's process group.
      kill(-supervisor_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + grace;
      while (!live_shells_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !ReadMessages(true, left).ok()) break;
      }
    }
    if (!pid_ns_) {
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
    kill(supervisor_, SIGKILL);
    int status;
    while (waitpid(supervisor_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  cgroups_.KillAll();
  cgroups_.Remove();
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
}

}  // namespace gantry::runtime
