// The build supervisor's protocol and loop, shared by the host sandbox (a clone of Gantry's process,
// sandbox.cc) and the container's init (gantry-build-init, a static program: build_init.cc). It
// starts shells on request and reports their exits over a SOCK_SEQPACKET socket: a SpawnRequest
// with the shell's stdin as SCM_RIGHTS in, Message replies out. libc only, and only
// async-signal-safe calls on the paths a clone of a threaded process runs (no allocation).
//
// Descriptors in a supervisor: kSocketFd the socket, kOutputFd the output pipe every shell's
// stdout, stderr and fd 9 go to, kFirstShellFd the first shell's stdin when one is started at once.
//
// Thread-safety: a supervisor is a single-threaded process; nothing here is shared.
#pragma once

#include <linux/capability.h>
#include <sys/types.h>

#include <cstdint>

namespace gantry::runtime::supervisor {

constexpr uint32_t kMagic = 0x67616e74;
constexpr int kMaxGroups = 64;
constexpr int kMaxHidden = 32;
constexpr int kMaxShells = 64;
constexpr int kMaxReadOnly = 64;
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
  int32_t read_only_errno[kMaxReadOnly] = {};  // kReady (host): per read-only mount point
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

void SendMessage(int fd, const Message& m);
// Default dispositions and an empty mask; with ignore_termination SIGTERM, SIGINT, SIGHUP, SIGPIPE
// and SIGQUIT are ignored (the supervisor outlives its shells).
void ResetSignals(bool ignore_termination);
// Makes fds 0, 1 and 2 /dev/null (the supervisor's own output goes nowhere).
void StdioToDevNull();

// Serves spawn requests on kSocketFd until the peer closes it (then exits 0), starting first_shell
// (stdin kFirstShellFd) first when given; reports each shell's exit. SIGCHLD must be blocked and
// signal_fd a signalfd for it. confine: shells drop to kKeptCapabilities and set no_new_privs
// (the container's init leaves that to the OCI runtime, which has done it already).
[[noreturn]] void ServeSpawnRequests(const SpawnRequest* first_shell, bool confine, int signal_fd);

}  // namespace gantry::runtime::supervisor
