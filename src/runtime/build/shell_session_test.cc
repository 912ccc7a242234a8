#include "runtime/build/shell_session.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gantry::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class RecordingListener : public ShellListener {
 public:
  void OnCommandStart(size_t index) override { events.push_back("start " + std::to_string(index)); }
  void OnOutputLine(std::string_view line) override { events.push_back(std::string(line)); }
  std::vector<std::string> events;
};

class ShellSessionTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gantry-shell-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_ / "engine");
    std::filesystem::create_directories(dir_ / "src");
    int output[2];
    ASSERT_EQ(pipe2(output, O_CLOEXEC), 0);
    SandboxSpec spec;
    spec.name = dir_.filename().string();
    spec.isolate = false;
    auto sandbox = HostSandbox::Start(spec, output[1], std::nullopt);
    close(output[1]);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
    sandbox_ = std::move(sandbox).value();
    ShellConfig config;
    config.posix_sh = GetParam();
    config.shell_program = GetParam() ? "/bin/sh" : "/bin/bash";
    config.engine_dir = (dir_ / "engine").string();
    config.cwd = (dir_ / "src").string();
    config.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}, {"GREETING", "it's \"quoted\" $HOME"}};
    Configure(config);
    session_ = std::make_unique<ShellSession>(*sandbox_, output[0], config);
    ASSERT_TRUE(session_->Start(std::nullopt, waiting_, listener_).ok());
  }

  virtual void Configure(ShellConfig& config) {}

  // A command that sets N to the session's nonce, as a build can read it.
  std::string ReadNonce() const {
    return "N=$(sed -n 's/.*\\\\036\\([0-9a-f]*\\) B .*/\\1/p' " + ShellQuote((dir_ / "engine/boot.sh").string()) +
           " | head -n 1)";
  }

  void TearDown() override {
    session_.reset();
    if (sandbox_) sandbox_->Destroy(std::chrono::milliseconds(0));
    std::filesystem::remove_all(dir_);
  }

  std::vector<std::string> Run(const std::vector<std::string>& commands, BlockResult* result = nullptr) {
    listener_.events.clear();
    BlockResult r = session_->RunBlock(commands, waiting_, listener_);
    EXPECT_TRUE(r.fault.ok()) << r.fault.ToString();
    if (result != nullptr) *result = r;
    return listener_.events;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<HostSandbox> sandbox_;
  std::unique_ptr<ShellSession> session_;
  RecordingListener listener_;
  ShellWaiting waiting_;
};

TEST_P(ShellSessionTest, WorkingDirectoryAndVariablesCarryFromCommandToCommand) {
  BlockResult result;
  auto events = Run({"mkdir -p sub && cd sub", "LOCAL=one", "export SHARED=two", "echo \"$LOCAL $SHARED ${PWD##*/}\"",
                     "echo \"$GREETING\""},
                    &result);
  EXPECT_FALSE(result.failed);
  EXPECT_THAT(events, ElementsAre("start 0", "start 1", "start 2", "start 3", "one two sub", "start 4",
                                  "it's \"quoted\" $HOME"));
  events = Run({"echo \"$LOCAL $SHARED ${PWD##*/}\""});
  EXPECT_THAT(events, ElementsAre("start 0", "one two sub"));
}

TEST_P(ShellSessionTest, AFailedCommandEndsTheBlockWithItsExitStatus) {
  BlockResult result;
  auto events = Run({"echo before", "sh -c 'echo oops >&2; exit 3'", "echo never"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(*result.failed, 1u);
  EXPECT_EQ(result.reason, "exit status 3");
  EXPECT_THAT(events, ElementsAre("start 0", "before", "start 1", "oops"));
  // The next block runs again.
  EXPECT_THAT(Run({"echo next"}), ElementsAre("start 0", "next"));
}

TEST_P(ShellSessionTest, ExitFailsOnlyThatCommandAndTheShellComesBackWithItsState) {
  BlockResult result;
  auto events = Run({"mkdir -p kept && cd kept", "KEPT=yes; export EXPORTED=also", "exit 4", "echo never"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(*result.failed, 2u);
  EXPECT_EQ(result.reason, "exit status 4");
  EXPECT_THAT(events, Not(::testing::Contains("never")));
  std::string expected = GetParam() ? " also kept" : "yes also kept";  // sh keeps exported variables only
  EXPECT_THAT(Run({"echo \"${KEPT-} $EXPORTED ${PWD##*/}\""}), ElementsAre("start 0", expected));
}

TEST_P(ShellSessionTest, ExitZeroSucceedsAndTheBlockGoesOn) {
  BlockResult result;
  auto events = Run({"echo one", "exit 0", "echo three"}, &result);
  EXPECT_FALSE(result.failed);
  EXPECT_THAT(events, ElementsAre("start 0", "one", "start 1", "start 2", "three"));
}

TEST_P(ShellSessionTest, ReturnEndsOnlyThatCommand) {
  BlockResult result;
  auto events = Run({"echo a", "return 3", "echo never"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(*result.failed, 1u);
  EXPECT_EQ(result.reason, "exit status 3");
  EXPECT_THAT(events, ElementsAre("start 0", "a", "start 1"));
  events = Run({"return 0", "echo after"}, &result);
  EXPECT_FALSE(result.failed);
  EXPECT_THAT(events, ElementsAre("start 0", "start 1", "after"));
}

TEST_P(ShellSessionTest, BackgroundProcessesOutliveAnExit) {
  BlockResult result;
  Run({"sleep 30 & echo $! > bg.pid", "exit 2"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_THAT(Run({"kill -0 $(cat bg.pid) && echo alive"}), ElementsAre("start 0", "alive"));
}

TEST_P(ShellSessionTest, OutputWithoutANewlineEndsWithItsCommand) {
  auto events = Run({"printf partial", "printf 'a\\nb'", "echo c"});
  EXPECT_THAT(events, ElementsAre("start 0", "partial", "start 1", "a", "b", "start 2", "c"));
}

TEST_P(ShellSessionTest, MultiLineCommandsRunAsOneScript) {
  BlockResult result;
  auto events = Run({"for i in 1 2; do\n  echo \"line $i\"\ndone\nVALUE=after", "echo $VALUE"}, &result);
  EXPECT_FALSE(result.failed);
  EXPECT_THAT(events, ElementsAre("start 0", "line 1", "line 2", "start 1", "after"));
}

TEST_P(ShellSessionTest, ErrexitInACommandFailsItAndStaysOnForTheNextShell) {
  BlockResult result;
  Run({"set -e\nfalse\necho not reached"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(result.reason, "exit status 1");
  auto events = Run({"case $- in *e*) echo errexit on;; esac"});
  EXPECT_THAT(events, ElementsAre("start 0", "errexit on"));
}

TEST_P(ShellSessionTest, TracingShowsTheCommandsButNotTheProtocol) {
  auto events = Run({"set -x", "echo traced", "set +x", "echo quiet"});
  for (const std::string& line : events) {
    EXPECT_THAT(line, Not(HasSubstr("gantry"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("engine/commands"))) << line;
  }
  // bash marks the levels of `. block` and `eval` with more '+'; sh does not.
  EXPECT_THAT(events, ::testing::Contains(GetParam() ? "+ echo traced" : "+++ echo traced"));
  EXPECT_THAT(events, Not(::testing::Contains(::testing::HasSubstr("eval"))));
  EXPECT_THAT(events, ::testing::Contains("traced"));
  EXPECT_THAT(events, ::testing::Contains("quiet"));
}

TEST_P(ShellSessionTest, CommandsDoNotReadTheControlChannel) {
  BlockResult result;
  auto events = Run({"cat", "echo still here"}, &result);
  EXPECT_FALSE(result.failed);
  EXPECT_THAT(events, ElementsAre("start 0", "start 1", "still here"));
}

TEST_P(ShellSessionTest, ReadsExportsAndExpands) {
  Run({"SET_EMPTY=; SET_VALUE='a b'"});
  auto values = session_->ReadVariables({"SET_VALUE", "SET_EMPTY", "NEVER_SET"}, waiting_, listener_);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ((*values)[0], std::optional<std::string>("a b"));
  EXPECT_EQ((*values)[1], std::optional<std::string>(""));
  EXPECT_EQ((*values)[2], std::nullopt);
  ASSERT_TRUE(session_->Export("FROM_ENGINE", "x'y", waiting_, listener_).ok());
  EXPECT_THAT(Run({"sh -c 'echo $FROM_ENGINE'"}), ElementsAre("start 0", "x'y"));
  auto expanded = session_->Expand("name-$SET_VALUE-$(echo sub)-$((1+2))", waiting_, listener_);
  ASSERT_TRUE(expanded.ok()) << expanded.status().ToString();
  EXPECT_EQ(*expanded, "name-a b-sub-3");
  EXPECT_FALSE(session_->ReadVariables({"bad name"}, waiting_, listener_).ok());
}

TEST_P(ShellSessionTest, AStopRequestInterruptsARunningCommand) {
  int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::thread stopper([stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    uint64_t one = 1;
    (void)!write(stop, &one, sizeof(one));
  });
  ShellWaiting waiting;
  waiting.stop_fd = stop;
  BlockResult result = session_->RunBlock({"sleep 30"}, waiting, listener_);
  stopper.join();
  close(stop);
  EXPECT_EQ(result.interruption, ShellInterruption::kStopped);
}

TEST_P(ShellSessionTest, TheDeadlineInterruptsARunningCommand) {
  ShellWaiting waiting;
  waiting.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
  BlockResult result = session_->RunBlock({"sleep 30"}, waiting, listener_);
  EXPECT_EQ(result.interruption, ShellInterruption::kTimedOut);
}

TEST_P(ShellSessionTest, ForgedMarkersAreOutputAndNeverReachOutsideTheBlock) {
  // The nonce is readable from the build; markers it forges that the protocol cannot have sent
  // are output, and an exit after them fails the command that ran it.
  std::string forge = ReadNonce() + "; printf '\\036%s %s\\n' \"$N\" ";
  BlockResult result;
  auto events = Run({"echo a", forge + "'B 99999999999'; exit 1", "echo never"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(*result.failed, 1u);
  EXPECT_EQ(result.reason, "exit status 1");
  EXPECT_THAT(events, ::testing::Contains(HasSubstr("B 99999999999")));
  EXPECT_THAT(events, Not(::testing::Contains("never")));

  for (const char* marker : {"B -1", "B 0", "B 1", "B 2x", "B 18446744073709551617", "E", "D 999999 0", "D x 0"}) {
    events = Run({"echo a", forge + "'" + marker + "'; exit 3", "echo never"}, &result);
    ASSERT_TRUE(result.failed) << marker;
    EXPECT_EQ(*result.failed, 1u) << marker;
    EXPECT_EQ(result.reason, "exit status 3") << marker;
    EXPECT_THAT(events, ElementsAre("start 0", "a", "start 1", HasSubstr(marker))) << marker;
  }

  // A forged end marker (valid in form) followed by exit: the command that ran it failed.
  events = Run({"echo a", forge + "'E 0'; exit 4", "echo never"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_EQ(*result.failed, 1u);
  EXPECT_EQ(result.reason, "exit status 4");

  // A later index may be claimed, but never one past the block.
  events = Run({"echo a", forge + "'B 2'; exit 5", "echo c"}, &result);
  ASSERT_TRUE(result.failed);
  EXPECT_LT(*result.failed, 3u);

  // The session goes on as before.
  EXPECT_THAT(Run({"echo fine"}), ElementsAre("start 0", "fine"));
}

INSTANTIATE_TEST_SUITE_P(Shells, ShellSessionTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "sh" : "bash"; });

// Lines longer than max_line go out in pieces, never cutting a secret the listener masks.
class LongLineTest : public ShellSessionTest {
 protected:
  void Configure(ShellConfig& config) override {
    masker_.Add("TOPSECRET-VALUE");
    config.max_line = 70;
    config.masker = &masker_;
  }
  SecretMasker masker_;
};

TEST_P(LongLineTest, PiecesOfALongLineNeverSplitASecret) {
  // Over 64 KiB before the newline: the pipe cannot hold it, so it is read and cut in pieces.
  auto events = Run({"yes xxxxxxTOPSECRET-VALUE | head -n 5000 | tr -d '\\n'; echo"});
  size_t pieces = 0;
  size_t secrets = 0;
  for (const std::string& event : events) {
    if (event.rfind("start ", 0) == 0) continue;
    ++pieces;
    std::string rest = event;
    for (size_t at; (at = rest.find("TOPSECRET-VALUE")) != std::string::npos;) {
      rest.erase(at, 15);
      ++secrets;
    }
    EXPECT_EQ(rest.find_first_not_of('x'), std::string::npos) << event.substr(0, 100);
    EXPECT_LE(event.size(), 70u + 15u);
  }
  EXPECT_GT(pieces, 1000u);
  EXPECT_EQ(secrets, 5000u);
}

INSTANTIATE_TEST_SUITE_P(Shells, LongLineTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "sh" : "bash"; });

TEST(ShellSessionHelpers, DescribesWaitStatusesAsCodeBuildDoes) {
  EXPECT_EQ(DescribeWaitStatus(2 << 8), "exit status 2");
  EXPECT_EQ(DescribeWaitStatus(SIGKILL), "signal: killed");
  EXPECT_EQ(DescribeWaitStatus(SIGTERM), "signal: terminated");
}

TEST(ShellSessionHelpers, QuotesAndNames) {
  EXPECT_EQ(ShellQuote("a'b"), "'a'\\''b'");
  EXPECT_TRUE(IsShellName("_A1"));
  EXPECT_FALSE(IsShellName("1A"));
  EXPECT_FALSE(IsShellName("A-B"));
  EXPECT_FALSE(IsShellName(""));
}

}  // namespace
}  // namespace gantry::runtime
