#include "services/codebuild/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace gantry::services::codebuild {

namespace {

constexpr size_t kMaxOutput = 1 << 20;

}  // namespace

StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& cwd,
                                   const std::vector<std::string>& env, std::chrono::steady_clock::time_point deadline,
                                   const std::atomic<bool>* cancel) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  int spawned = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return Status::Internal("cannot run " + argv[0] + ": " + std::strerror(spawned));
  }

  CommandResult result;
  Status stopped;
  // Why to stop waiting for the command, if it is time: cancelled or past the deadline.
  auto interrupted = [&]() -> Status {
    if (cancel != nullptr && cancel->load()) return Status::Unavailable(argv[0] + " was stopped");
    if (std::chrono::steady_clock::now() >= deadline) return Status::Unavailable(argv[0] + " did not finish in time");
    return Status::Ok();
  };
  char buffer[8192];
  while (true) {
    stopped = interrupted();
    if (!stopped.ok()) break;
    pollfd fd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&fd, 1, 100);
    if (ready < 0 && errno != EINTR) {
      stopped = Status::Internal("cannot read the output of " + argv[0] + ": poll: " + std::strerror(errno));
      break;
    }
    if (ready <= 0) continue;
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // every writer closed: the group is done writing
    if (result.output.size() < kMaxOutput) result.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  // The command may outlive its output (it closed or handed on its stdout and stderr): it is
  // waited for under the same deadline and cancellation.
  int status = 0;
  while (stopped.ok()) {
    pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) break;
    if (reaped < 0 && errno != EINTR) {
      stopped = Status::Internal("cannot wait for " + argv[0] + ": " + std::strerror(errno));
      break;
    }
    stopped = interrupted();
    if (stopped.ok()) ::usleep(10000);
  }
  if (!stopped.ok()) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return stopped;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

int KillBuildProcesses(const std::string& build_id) {
  const std::string needle = "CODEBUILD_BUILD_ID=" + build_id;
  std::set<pid_t> killed;
  // Processes may fork while they are found; more passes catch the children of the killed.
  for (int pass = 0; pass < 3; ++pass) {
    size_t before = killed.size();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = static_cast<pid_t>(std::stol(name));
      if (pid == ::getpid() || killed.count(pid)) continue;
      std::ifstream in(entry.path() / "environ", std::ios::binary);
      std::string environ_text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      bool found = false;
      for (size_t at = 0; at < environ_text.size() && !found;) {
        size_t end = environ_text.find('\0', at);
        if (end == std::string::npos) end = environ_text.size();
        found = environ_text.compare(at, end - at, needle) == 0;
        at = end + 1;
      }
      if (found && ::kill(pid, SIGKILL) == 0) killed.insert(pid);
    }
    if (killed.size() == before) break;
  }
  return static_cast<int>(killed.size());
}

}  // namespace gantry::services::codebuild
