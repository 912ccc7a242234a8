// gantry-build-init: the init (pid 1) of a build's container. A static program (the image may have
// no C library, or another one) that runc bind-mounts read-only into the container and starts with
// Gantry's socket as fd 3 and the build's output pipe as fd 4 (--preserve-fds 2). It runs the same
// supervisor loop as the host sandbox (supervisor.h): reports ready, then starts shells on request
// and reports their exits until Gantry closes the socket.
//
// Capabilities, no_new_privs, namespaces, mounts and cgroups are the OCI runtime's (config.json),
// in effect before this program runs, so shells are started as they are (no confinement of ours).
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "runtime/build/supervisor.h"

using namespace gantry::runtime::supervisor;  // NOLINT: a one-file program

int main() {
  setsid();
  ResetSignals(true);
  StdioToDevNull();
  if (fcntl(kSocketFd, F_SETFD, FD_CLOEXEC) != 0 || fcntl(kOutputFd, F_SETFD, FD_CLOEXEC) != 0) return 2;
  close_range(kOutputFd + 1, ~0U, 0);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int signal_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  Message ready;
  ready.kind = kReady;
  SendMessage(kSocketFd, ready);
  ServeSpawnRequests(nullptr, false, signal_fd);
}
