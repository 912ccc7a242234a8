// The host sandbox: the process tree one build's commands run in, on this machine (no container
// image). A supervisor process is cloned straight into new namespaces where the host allows it
// (root, or the capabilities): a mount namespace in which the hidden paths (Gantry's state
// directory) are covered by empty read-only mounts, and a PID namespace with its own /proc (so that
// /proc/<gantry>/root and /proc/<gantry>/fd do not reach around the covered paths) whose init is
// the supervisor; in that mount namespace /sys (cgroupfs included), /proc/sys and
// /proc/sysrq-trigger are read-only. It leads its own session and joins cgroup v1 groups: devices
// (every block device denied) and, when limits are asked for, memory, pids, cpu. Shells keep only
// Docker's default capabilities less CAP_MKNOD (no CAP_SYS_ADMIN, so the covers cannot be
// unmounted) and run with no_new_privs. Whatever is not permitted is skipped and named in notes(),
// never fatal; a shell whose capabilities cannot be limited does not start.
//
// Shells are started by the supervisor (so a shell can die and be replaced inside the same
// namespaces): stdin is a control socket given per spawn; stdout, stderr and fd 9 are the one output
// pipe given at Start. The first shell is started at once, before the engine has read the
// buildspec, so that its start overlaps the engine's work; the engine takes it if it fits.
// Destroy ends every process of the tree: SIGTERM to the session's process group and a grace period
// for the shells (when asked), then SIGKILL of the supervisor when it is the PID namespace's init
// (the kernel then kills the whole namespace), else SIGKILL of every member of the cgroups and of
// every descendant found in /proc (stopped first, so that none can fork); the groups are removed.
//
// Thread-safety: a HostSandbox is used from one thread (the build's); none of its methods may be
// called concurrently. The child side between clone/fork and exec only makes async-signal-safe
// calls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "runtime/build/container.h"

namespace gantry::runtime {

struct SandboxSpec {
  std::string name;                       // cgroup leaf name
  std::vector<std::string> visible_paths; // the build's own trees; none may lie under a hidden path
  std::vector<std::string> hidden_paths;
  uint64_t memory_bytes = 0;
  int max_pids = 0;
  double cpus = 0;
  bool isolate = true;
  std::string cgroup_root = "/sys/fs/cgroup";  // where the v1 controllers are mounted
};

// cgroup v1 groups for one build: <root>/<controller><own cgroup>/gantry/<name> for devices
// (block devices denied) and each controller a limit needs (and pids with any limit). Created with
// the limits written, joined by the supervisor, emptied and removed by Kill/Remove. The root is a
// parameter so that tests can point it at a directory.
class CgroupGroups {
 public:
  // proc_self_cgroup: the text of /proc/self/cgroup (where this process sits in each hierarchy).
  // Every controller that cannot be used adds a line to notes. Empty groups older than a minute
  // beside the new one (left by a Gantry that was killed) are removed.
  static CgroupGroups Create(const std::string& proc_self_cgroup, const SandboxSpec& spec,
                             std::vector<std::string>& notes);
  CgroupGroups() = default;
  CgroupGroups(CgroupGroups&&) = default;
  CgroupGroups& operator=(CgroupGroups&&) = default;

  // The cgroup directories made (one per controller in use).
  const std::vector<std::string>& dirs() const { return dirs_; }
  // Opens each group's "tasks" for writing (O_CLOEXEC): a single-threaded child joins by writing
  // "0" (itself).
  std::vector<int> OpenJoinFiles() const;
  // Every pid in any of the groups.
  std::vector<pid_t> Members() const;
  // Forbids forks (pids.max 0) and SIGKILLs every member until the groups are empty or about a
  // second has passed. Returns whether the groups are empty.
  bool KillAll() const;
  // rmdir of each group (and of the shared "gantry" parent when it is left empty).
  void Remove();

 private:
  std::vector<std::string> dirs_;
  std::string pids_dir_;
};

// A user to run a shell as; unset fields mean "the supervisor's own".
struct ShellIdentity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

struct ShellLaunch {
  std::string program;                    // absolute path
  std::vector<std::string> argv;          // argv[0] first
  std::string cwd;
  std::optional<ShellIdentity> identity;  // switch to this user before exec
};


// What the supervisor reports about the shells it started.
struct ShellExit {
  pid_t pid = 0;                          // as returned by Spawn
  int wait_status = 0;                    // waitpid(2) status
};

// A shell that is running and has not yet been given a command.
struct ReadyShell {
  pid_t pid = 0;                          // as the supervisor sees it (to match ShellExit)
  int control_fd = -1;                    // the engine's end of its stdin socket (now the caller's)
};

class HostSandbox {
 public:
  // Starts the supervisor, and first_shell at once when given. output_fd is the write end of the
  // output pipe; the sandbox keeps its own copy (in the supervisor) and the caller may close theirs.
  static StatusOr<std::unique_ptr<HostSandbox>> Start(const SandboxSpec& spec, int output_fd,
                                                      const std::optional<ShellLaunch>& first_shell);
  // Starts the build's OCI container instead (container.h): runc runs gantry-build-init as the
  // container's init, which serves the same spawn protocol; the first shell's request is queued
  // before runc starts. The bundle's root file system stays mounted until the sandbox is deleted
  // (after Destroy the build's files are still read through it), then it is removed.
  static StatusOr<std::unique_ptr<HostSandbox>> StartContainer(const ContainerSpec& container,
                                                               const std::string& runc_root, int output_fd,
                                                               const std::optional<ShellLaunch>& first_shell);
  ~HostSandbox();
  HostSandbox(const HostSandbox&) = delete;
  HostSandbox& operator=(const HostSandbox&) = delete;

  // One line per isolation feature: what is in effect and what could not be applied and why.
  const std::vector<std::string>& notes() const { return notes_; }
  bool mount_namespace() const { return mount_ns_; }
  bool pid_namespace() const { return pid_ns_; }

  // The shell started at Start when launch asks for the same program, directory and user;
  // otherwise nullopt (and that shell is ended).
  std::optional<ReadyShell> TakeFirstShell(const ShellLaunch& launch);
  // Starts a shell with stdin_fd as its stdin (the sandbox closes stdin_fd). Returns its pid as
  // the supervisor sees it (used only to match ShellExit).
  StatusOr<pid_t> Spawn(const ShellLaunch& launch, int stdin_fd);

  // Readable when a ShellExit may be waiting; then call TakeExit.
  int event_fd() const { return socket_; }
  std::optional<ShellExit> TakeExit();

  // Ends every process of the tree and removes the cgroups. With a grace period, the shells get
  // SIGTERM first and that long to exit. Idempotent.
  void Destroy(std::chrono::milliseconds grace);
  bool destroyed() const { return destroyed_; }
  // The container's root file system on this machine ("" for the host sandbox).
  const std::string& container_root() const { return container_root_; }

 private:
  HostSandbox() = default;
  Status ReadMessages(bool block, std::chrono::milliseconds timeout);
  StatusOr<int64_t> AwaitSpawnReply();  // pid, or -errno

  int socket_ = -1;
  pid_t supervisor_ = 0;                  // pid in Gantry's namespace; also the process group id
  bool mount_ns_ = false;
  bool pid_ns_ = false;
  bool destroyed_ = false;
  CgroupGroups cgroups_;
  std::vector<std::string> notes_;
  std::deque<ShellExit> exits_;
  std::deque<int64_t> spawn_replies_;     // pid, or -errno
  std::set<pid_t> live_shells_;
  std::optional<ShellLaunch> first_shell_;
  int first_shell_control_ = -1;
  // A container: supervisor_ is `runc run`, init_ the container's init as Gantry sees it.
  pid_t init_ = 0;
  int init_pidfd_ = -1;                   // the init's pidfd: runc, not Gantry, reaps it
  std::string runc_;
  std::string runc_root_;
  std::string container_id_;
  std::string bundle_;
  std::string container_root_;
  int bundle_lock_ = -1;
};

// Every descendant of root (not root itself), from /proc.
std::vector<pid_t> DescendantsOf(pid_t root);

// A mount point and the flags a read-only bind remount of it keeps (MS_NOSUID, MS_NODEV, ...).
struct MountPoint {
  std::string path;
  unsigned long flags = 0;
};
// The mount points in mountinfo (the text of /proc/self/mountinfo) at or below any of dirs, in order.
std::vector<MountPoint> MountPointsUnder(const std::string& mountinfo, const std::vector<std::string>& dirs);

}  // namespace gantry::runtime
