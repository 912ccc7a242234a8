// Test-only helpers for the store tests: a scratch directory per test, and a child process that is
// killed with SIGKILL while it writes, to prove that acknowledged writes survive.
// Not thread-safe; used from the test's main thread.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <string>

namespace gantry::store::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/gantry-store-test-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  // Empty when mkdtemp failed.
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Forks a child that runs writer(acknowledge); the writer calls acknowledge() after each write
// the store has acknowledged, and may loop forever. Once kill_after acknowledgements arrived the
// child gets SIGKILL. Returns how many acknowledgements the child made before it died (all of
// them: the pipe is drained after the kill), or -1 when fork/pipe failed or the child ended
// other than by the SIGKILL.
inline int RunChildAndKill(const std::function<void(const std::function<void()>&)>& writer,
                           int kill_after) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::close(fds[0]);
    int out = fds[1];
    writer([out] {
      char mark = 'x';
      while (::write(out, &mark, 1) < 0 && errno == EINTR) {
      }
    });
    ::_exit(0);
  }
  ::close(fds[1]);
  int acknowledged = 0;
  bool killed = false;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fds[0], buffer, killed ? sizeof(buffer) : 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    acknowledged += static_cast<int>(n);
    if (!killed && acknowledged >= kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  int wstatus = 0;
  if (::waitpid(pid, &wstatus, 0) != pid) return -1;
  // A child that exited by itself failed (or stopped writing) before the kill.
  if (!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL) return -1;
  return acknowledged;
}

}  // namespace gantry::store::testing
