#include "services/codebuild/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace gantry::services::codebuild {
namespace {

using std::chrono::steady_clock;

std::vector<std::string> Env() { return {"PATH=" + std::string(std::getenv("PATH") ? std::getenv("PATH") : "/bin")}; }

TEST(RunCommandTest, CollectsOutputAndExitCode) {
  auto result = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, "/", Env(),
                           steady_clock::now() + std::chrono::seconds(30), nullptr);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_NE(result->output.find("out\n"), std::string::npos);
  EXPECT_NE(result->output.find("err\n"), std::string::npos);
  EXPECT_FALSE(
      RunCommand({"no-such-program-here"}, "/", Env(), steady_clock::now() + std::chrono::seconds(30), nullptr).ok());
}

TEST(RunCommandTest, CancelKillsTheGroup) {
  std::atomic<bool> cancel{true};
  auto result = RunCommand({"sh", "-c", "sleep 60 & sleep 60"}, "/", Env(),
                           steady_clock::now() + std::chrono::seconds(30), &cancel);
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  auto late = RunCommand({"sleep", "60"}, "/", Env(), steady_clock::now(), nullptr);
  EXPECT_EQ(late.status().message(), "sleep did not finish in time");
}

TEST(RunCommandTest, ACommandThatClosedItsOutputIsStillBoundByTheDeadline) {
  // It keeps running after its stdout and stderr are closed: the deadline and a cancellation still
  // end it, rather than a wait for its exit without either.
  auto late = RunCommand({"sh", "-c", "exec >/dev/null 2>&1; sleep 20"}, "/", Env(),
                         steady_clock::now() + std::chrono::milliseconds(200), nullptr);
  EXPECT_EQ(late.status().message(), "sh did not finish in time");
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto cancelled = RunCommand({"sh", "-c", "exec >/dev/null 2>&1; sleep 20"}, "/", Env(),
                              steady_clock::now() + std::chrono::seconds(60), &cancel);
  canceller.join();
  EXPECT_EQ(cancelled.status().message(), "sh was stopped");
  // One that exits after closing its output is waited for and its exit code kept.
  auto exited = RunCommand({"sh", "-c", "exec >/dev/null 2>&1; sleep 0.2; exit 4"}, "/", Env(),
                           steady_clock::now() + std::chrono::seconds(30), nullptr);
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_EQ(exited->exit_code, 4);
}

TEST(KillBuildProcessesTest, KillsOnlyTheBuildsProcesses) {
  auto spawn = [](const char* id) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("CODEBUILD_BUILD_ID", id, 1);
      ::execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  };
  pid_t mine = spawn("proj:11111111-2222-3333-4444-555555555555");
  pid_t other = spawn("proj:99999999-2222-3333-4444-555555555555");
  // Wait until both children run sleep (their environment is then the one exec gave them).
  auto running_sleep = [](pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/cmdline";
    FILE* f = std::fopen(path.c_str(), "r");
    char buffer[16] = {};
    if (f != nullptr) {
      std::fread(buffer, 1, sizeof buffer - 1, f);
      std::fclose(f);
    }
    return std::string(buffer) == "sleep";
  };
  for (int i = 0; i < 2000 && !(running_sleep(mine) && running_sleep(other)); ++i) ::usleep(1000);
  ASSERT_TRUE(running_sleep(mine) && running_sleep(other));
  EXPECT_EQ(KillBuildProcesses("proj:11111111-2222-3333-4444-555555555555"), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(mine, &status, 0), mine);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(::waitpid(other, &status, WNOHANG), 0);  // still running
  ::kill(other, SIGKILL);
  ::waitpid(other, &status, 0);
}

}  // namespace
}  // namespace gantry::services::codebuild
