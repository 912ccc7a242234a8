#include "runtime/build/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gantry::runtime::supervisor {

void SendMessage(int fd, const Message& m) {
  while (send(fd, &m, sizeof(m), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

void StdioToDevNull() {
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    close(null_fd);
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

namespace {

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

}  // namespace

void ServeSpawnRequests(const SpawnRequest* first_shell, bool confine, int signal_fd) {
  pid_t shells[kMaxShells];
  int shell_count = 0;
  if (first_shell != nullptr) {
    SpawnShell(*first_shell, kFirstShellFd, confine, shells, &shell_count);
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
      SpawnShell(request, stdin_fd, confine, shells, &shell_count);
    }
  }
}

}  // namespace gantry::runtime::supervisor
