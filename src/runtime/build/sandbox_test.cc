#include "runtime/build/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gantry::runtime {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gantry-sandbox-test-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "work");
    ASSERT_EQ(pipe2(output_, O_CLOEXEC), 0);
    fcntl(output_[0], F_SETFL, O_NONBLOCK);
  }
  void TearDown() override {
    close(output_[0]);
    if (output_[1] >= 0) close(output_[1]);
    fs::remove_all(root_);
  }

  SandboxSpec Spec(bool isolate) {
    SandboxSpec spec;
    spec.name = "test";
    spec.visible_paths = {(root_ / "work").string()};
    spec.isolate = isolate;
    return spec;
  }

  std::unique_ptr<HostSandbox> StartSandbox(const SandboxSpec& spec,
                                            const std::optional<ShellLaunch>& first = std::nullopt) {
    auto sandbox = HostSandbox::Start(spec, output_[1], first);
    close(output_[1]);
    output_[1] = -1;
    EXPECT_TRUE(sandbox.ok()) << sandbox.status().ToString();
    return sandbox.ok() ? std::move(sandbox).value() : nullptr;
  }

  // Runs sh -c script in the sandbox and returns its wait status; its output goes to Output().
  int RunScript(HostSandbox& sandbox, const std::string& script) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ShellLaunch launch{"/bin/sh", {"sh", "-c", script}, (root_ / "work").string(), std::nullopt};
    auto pid = sandbox.Spawn(launch, sv[1]);
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    close(sv[0]);
    if (!pid.ok()) return -1;
    for (int i = 0; i < 1000; ++i) {
      while (auto exit = sandbox.TakeExit()) {
        if (exit->pid == *pid) return exit->wait_status;
      }
      struct pollfd pfd = {sandbox.event_fd(), POLLIN, 0};
      poll(&pfd, 1, 10);
    }
    ADD_FAILURE() << "the script did not end: " << script;
    return -1;
  }

  std::string Output() {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = read(output_[0], buffer, sizeof(buffer))) > 0) text.append(buffer, static_cast<size_t>(n));
    return text;
  }

  fs::path root_;
  int output_[2] = {-1, -1};
};

TEST_F(SandboxTest, RunsShellsAndReportsHowTheyEnded) {
  auto sandbox = StartSandbox(Spec(false));
  ASSERT_NE(sandbox, nullptr);
  EXPECT_THAT(sandbox->notes(), Contains(HasSubstr("isolation off")));
  int status = RunScript(*sandbox, "echo out; echo err >&2; echo nine >&9; exit 3");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_EQ(Output(), "out\nerr\nnine\n");
  status = RunScript(*sandbox, "kill -9 $$");
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST_F(SandboxTest, AProgramThatCannotStartIsAnError) {
  auto sandbox = StartSandbox(Spec(false));
  ASSERT_NE(sandbox, nullptr);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto pid = sandbox->Spawn({"/no/such/shell", {"x"}, (root_ / "work").string(), std::nullopt}, sv[1]);
  close(sv[0]);
  ASSERT_FALSE(pid.ok());
  EXPECT_THAT(pid.status().message(), HasSubstr("No such file or directory"));
  EXPECT_EQ(WEXITSTATUS(RunScript(*sandbox, "exit 0")), 0);  // the supervisor goes on
}

TEST_F(SandboxTest, TheFirstShellIsTakenOnlyWhenItFits) {
  ShellLaunch first{"/bin/sh", {"sh"}, (root_ / "work").string(), std::nullopt};
  auto sandbox = StartSandbox(Spec(false), first);
  ASSERT_NE(sandbox, nullptr);
  ShellLaunch other = first;
  other.argv = {"sh", "-e"};
  EXPECT_FALSE(sandbox->TakeFirstShell(other));
  EXPECT_FALSE(sandbox->TakeFirstShell(first));  // already given up

  int output[2];
  ASSERT_EQ(pipe2(output, O_CLOEXEC), 0);
  auto second = HostSandbox::Start(Spec(false), output[1], first);
  close(output[1]);
  ASSERT_TRUE(second.ok());
  auto shell = (*second)->TakeFirstShell(first);
  ASSERT_TRUE(shell);
  std::string line = "echo taken; exit 4\n";
  ASSERT_EQ(write(shell->control_fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  std::optional<ShellExit> exit;
  for (int i = 0; i < 500 && !exit; ++i) {
    exit = (*second)->TakeExit();
    struct pollfd pfd = {(*second)->event_fd(), POLLIN, 0};
    if (!exit) poll(&pfd, 1, 10);
  }
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->pid, shell->pid);
  EXPECT_EQ(WEXITSTATUS(exit->wait_status), 4);
  char buffer[64] = {};
  EXPECT_EQ(read(output[0], buffer, sizeof(buffer)), 6);
  EXPECT_STREQ(buffer, "taken\n");
  close(shell->control_fd);
  close(output[0]);
}

TEST_F(SandboxTest, DestroyLeavesNoProcessBehind) {
  auto sandbox = StartSandbox(Spec(false));
  ASSERT_NE(sandbox, nullptr);
  fs::path pids = root_ / "pids";
  RunScript(*sandbox, "sleep 60 & echo $! > " + pids.string() + "; setsid sleep 60 & echo $! >> " + pids.string() +
                          "; (trap '' TERM; exec sleep 60) & echo $! >> " + pids.string());
  std::istringstream in(ReadText(pids));
  std::vector<pid_t> started;
  pid_t pid;
  while (in >> pid) started.push_back(pid);
  ASSERT_EQ(started.size(), 3u);
  sandbox->Destroy(std::chrono::milliseconds(50));
  for (pid_t p : started) {
    std::string stat = ReadText("/proc/" + std::to_string(p) + "/stat");
    EXPECT_TRUE(stat.empty() || stat.find(") Z") != std::string::npos) << stat;
  }
  EXPECT_TRUE(sandbox->destroyed());
}

TEST_F(SandboxTest, StartsShellsWhileOtherThreadsHoldLocks) {
  // The supervisor is cloned from a threaded process: it must not need locks other threads hold.
  std::atomic<bool> done{false};
  std::vector<std::thread> churn;
  for (int i = 0; i < 2; ++i) {
    churn.emplace_back([&done] {
      while (!done.load()) {
        std::vector<std::string> garbage(64, std::string(256, 'x'));
        std::this_thread::yield();
      }
    });
  }
  std::optional<ShellIdentity> self;
  if (geteuid() == 0) self = ShellIdentity{65534, 65534, {65534}, "nobody"};
  for (int round = 0; round < 10; ++round) {
    int output[2];
    ASSERT_EQ(pipe2(output, O_CLOEXEC), 0);
    auto sandbox = HostSandbox::Start(Spec(round % 2 == 0), output[1], std::nullopt);
    close(output[1]);
    ASSERT_TRUE(sandbox.ok()) << sandbox.status().ToString();
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    auto pid = (*sandbox)->Spawn({"/bin/sh", {"sh", "-c", "exit 0"}, "/", self}, sv[1]);
    close(sv[0]);
    EXPECT_TRUE(pid.ok()) << pid.status().ToString();
    (*sandbox)->Destroy(std::chrono::milliseconds(0));
    close(output[0]);
  }
  done = true;
  for (std::thread& thread : churn) thread.join();
}

TEST_F(SandboxTest, TheBuildMayNotRunInsideAHiddenPath) {
  SandboxSpec spec = Spec(true);
  spec.hidden_paths = {root_.string()};
  auto sandbox = HostSandbox::Start(spec, output_[1], std::nullopt);
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(sandbox.status().message(), HasSubstr("lies inside the hidden path"));
}

TEST_F(SandboxTest, HiddenPathsAreCoveredInsideTheNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "mount and PID namespaces need root";
  fs::create_directories(root_ / "state");
  std::ofstream(root_ / "state/db") << "secret";
  std::ofstream(root_ / "token") << "secret";
  SandboxSpec spec = Spec(true);
  spec.hidden_paths = {(root_ / "state").string(), (root_ / "token").string(), (root_ / "absent").string()};
  auto sandbox = StartSandbox(spec);
  ASSERT_NE(sandbox, nullptr);
  EXPECT_TRUE(sandbox->mount_namespace());
  EXPECT_TRUE(sandbox->pid_namespace());
  EXPECT_THAT(sandbox->notes(), Contains("mount namespace: 2 hidden path(s) covered by empty read-only mounts"));
  EXPECT_THAT(sandbox->notes(), Contains(HasSubstr("absent does not exist")));
  RunScript(*sandbox, "ls -A " + (root_ / "state").string() + "; cat " + (root_ / "token").string() +
                          "; echo \"pid $$\"; test -e /proc/" + std::to_string(getpid()) + " && echo gantry visible");
  std::string output = Output();
  EXPECT_EQ(output.find("secret"), std::string::npos) << output;
  EXPECT_THAT(output, HasSubstr("pid 2\n"));  // the supervisor is 1
  EXPECT_EQ(output.find("gantry visible"), std::string::npos);
  EXPECT_EQ(ReadText(root_ / "token"), "secret");  // outside, nothing changed
}

// The first block device this process can open for reading ("" if none).
std::string OpenableBlockDevice() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev", ec)) {
    if (!entry.is_block_file(ec)) continue;
    int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    close(fd);
    return entry.path().string();
  }
  return {};
}

TEST_F(SandboxTest, ShellsKeepOnlyDefaultCapabilitiesAndCannotUndoTheSandbox) {
  if (geteuid() != 0) GTEST_SKIP() << "capabilities, namespaces and cgroups need root";
  std::string device = OpenableBlockDevice();
  auto sandbox = StartSandbox(Spec(true));
  ASSERT_NE(sandbox, nullptr);
  EXPECT_THAT(sandbox->notes(), Contains(HasSubstr("capabilities: only Docker's default set less mknod")));
  EXPECT_THAT(sandbox->notes(), Contains(HasSubstr("cgroup block-device denial: /sys/fs/cgroup/devices/")));
  EXPECT_THAT(sandbox->notes(), Contains(::testing::MatchesRegex("read-only: [1-9][0-9]* mount\\(s\\) at or under /sys "
                                                                 "\\(cgroups included\\), /proc/sys.*")));
  for (const std::string& note : sandbox->notes()) EXPECT_THAT(note, Not(HasSubstr("stays writable"))) << note;
  std::string script =
      "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status; "
      "umount /proc 2>/dev/null && echo unmounted-proc; "
      "test -w /proc/sys/kernel/domainname && echo sysctl-writable; "
      "test -w /proc/sysrq-trigger && echo sysrq-writable; "
      "test -w /sys/fs/cgroup/devices/cgroup.procs && echo cgroupfs-writable; "
      "echo $$ > /sys/fs/cgroup/devices/cgroup.procs 2>/dev/null && echo left-the-group; ";
  if (!device.empty()) script += "head -c 1 " + device + " >/dev/null 2>&1 && echo opened-" + device + "; ";
  script += "true";
  EXPECT_EQ(RunScript(*sandbox, script), 0);
  std::string output = Output();
  for (const char* line : {"CapInh:\t0000000000000000", "CapPrm:\t00000000a00425fb", "CapEff:\t00000000a00425fb",
                           "CapBnd:\t00000000a00425fb", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"}) {
    EXPECT_THAT(output, HasSubstr(std::string(line) + "\n"));
  }
  for (const char* escape : {"unmounted-proc", "sysctl-writable", "sysrq-writable", "cgroupfs-writable", "left-the-group",
                             "opened-"}) {
    EXPECT_THAT(output, Not(HasSubstr(escape)));
  }
}

TEST_F(SandboxTest, WithoutIsolationShellsKeepTheirCapabilities) {
  auto sandbox = StartSandbox(Spec(false));
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(RunScript(*sandbox, "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status"), 0);
  std::string output = Output();
  EXPECT_THAT(output, HasSubstr("NoNewPrivs:\t0\n"));
  EXPECT_THAT(output, Not(HasSubstr("CapBnd:\t00000000a00425fb")));
}

TEST(MountPointsUnder, ReadsMountinfo) {
  std::string mountinfo =
      "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,noatime - cgroup cgroup rw,devices\n"
      "50 23 0:40 / /sys/with\\040space ro - debugfs debugfs rw\n"
      "60 1 0:41 / /system rw - ext4 /dev/vda rw\n"
      "61 1 0:42 / /srv/cg rw,nodev - cgroup cgroup rw,pids\n"
      "garbage\n";
  std::vector<MountPoint> mounts = MountPointsUnder(mountinfo, {"/sys", "/srv/cg"});
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].path, "/sys");
  EXPECT_EQ(mounts[0].flags, static_cast<unsigned long>(MS_RELATIME));
  EXPECT_EQ(mounts[1].path, "/sys/fs/cgroup");
  EXPECT_EQ(mounts[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_NODEV | MS_NOEXEC));
  EXPECT_EQ(mounts[2].flags, static_cast<unsigned long>(MS_NOATIME));
  EXPECT_EQ(mounts[3].path, "/sys/with space");
  EXPECT_EQ(mounts[4].path, "/srv/cg");
  EXPECT_EQ(mounts[4].flags, static_cast<unsigned long>(MS_NODEV));
  EXPECT_THAT(MountPointsUnder(mountinfo, {"/", ""}), IsEmpty());
}

TEST(CgroupGroups, WritesTheLimitsUnderTheProcessOwnGroups) {
  fs::path root = fs::temp_directory_path() / ("gantry-cgroup-test-" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const char* controller : {"memory", "pids", "cpu"}) fs::create_directories(root / controller / "outer");
  SandboxSpec spec;
  spec.name = "build-1";
  spec.memory_bytes = 1 << 30;
  spec.max_pids = 100;
  spec.cpus = 1.5;
  spec.cgroup_root = root.string();
  std::vector<std::string> notes;
  CgroupGroups groups = CgroupGroups::Create("5:pids:/outer\n4:memory:/outer\n2:cpu,cpuacct:/outer\n0::/\n", spec, notes);
  ASSERT_EQ(groups.dirs().size(), 3u);
  EXPECT_EQ(ReadText(root / "pids/outer/gantry/build-1/pids.max"), "100");
  EXPECT_EQ(ReadText(root / "memory/outer/gantry/build-1/memory.limit_in_bytes"), "1073741824");
  EXPECT_EQ(ReadText(root / "cpu/outer/gantry/build-1/cpu.cfs_quota_us"), "150000");
  EXPECT_EQ(ReadText(root / "cpu/outer/gantry/build-1/cpu.cfs_period_us"), "100000");
  EXPECT_THAT(notes, Contains(HasSubstr("cgroup memory limit 1073741824 bytes")));
  EXPECT_THAT(groups.Members(), IsEmpty());
  EXPECT_TRUE(groups.KillAll());
  EXPECT_EQ(ReadText(root / "pids/outer/gantry/build-1/pids.max"), "0");  // no forks while killing
  groups.Remove();
  EXPECT_FALSE(fs::exists(root / "pids/outer/gantry"));
  fs::remove_all(root);
}

TEST(CgroupGroups, GroupsLeftByAKilledGantryAreRemoved) {
  fs::path root = fs::temp_directory_path() / ("gantry-cgroup-test3-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::path parent = root / "pids" / "gantry";
  fs::create_directories(parent / "stale");
  fs::create_directories(parent / "recent");
  fs::create_directories(parent / "busy");
  std::ofstream(parent / "busy" / "tasks") << "1234\n";  // not empty: rmdir refuses it
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(parent / "stale", old);
  fs::last_write_time(parent / "busy", old);
  SandboxSpec spec;
  spec.name = "build-3";
  spec.max_pids = 10;
  spec.cgroup_root = root.string();
  std::vector<std::string> notes;
  CgroupGroups groups = CgroupGroups::Create("1:pids:/\n", spec, notes);
  EXPECT_FALSE(fs::exists(parent / "stale"));
  EXPECT_TRUE(fs::exists(parent / "recent"));
  EXPECT_TRUE(fs::exists(parent / "busy"));
  EXPECT_TRUE(fs::exists(parent / "build-3"));
  groups.Remove();
  fs::remove_all(root);
}

TEST(CgroupGroups, BlockDevicesAreDeniedAndMissingControllersAreNamed) {
  fs::path root = fs::temp_directory_path() / ("gantry-cgroup-test2-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "pids");
  SandboxSpec spec;
  spec.name = "build-2";
  spec.cgroup_root = root.string();
  std::vector<std::string> notes;
  // No limits: only the device rule, which needs the devices controller.
  EXPECT_TRUE(CgroupGroups::Create("1:pids:/\n", spec, notes).dirs().empty());
  EXPECT_THAT(notes, ElementsAre("cgroup block-device denial not applied: " + (root / "devices").string() +
                                 " is not mounted"));
  fs::create_directories(root / "devices" / "outer");
  notes.clear();
  CgroupGroups devices = CgroupGroups::Create("2:devices:/outer\n1:pids:/\n", spec, notes);
  ASSERT_EQ(devices.dirs().size(), 1u);
  EXPECT_EQ(ReadText(root / "devices/outer/gantry/build-2/devices.deny"), "b *:* rwm");
  EXPECT_THAT(notes, ElementsAre("cgroup block-device denial: " + (root / "devices/outer/gantry/build-2").string()));
  devices.Remove();
  fs::remove_all(root / "devices");
  spec.memory_bytes = 1 << 20;
  CgroupGroups groups = CgroupGroups::Create("1:pids:/\n", spec, notes);
  EXPECT_EQ(groups.dirs().size(), 1u);  // pids, for killing; memory is not mounted
  EXPECT_THAT(notes, Contains(HasSubstr("memory limit 1048576 bytes not applied: " + (root / "memory").string() +
                                        " is not mounted")));
  groups.Remove();
  fs::remove_all(root);
}

TEST(DescendantsOf, FindsChildrenAndGrandchildren) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      pause();
      _exit(0);
    }
    (void)!write(ready[1], &grandchild, sizeof(grandchild));
    pause();
    _exit(0);
  }
  pid_t grandchild = 0;
  ASSERT_EQ(read(ready[0], &grandchild, sizeof(grandchild)), static_cast<ssize_t>(sizeof(grandchild)));
  std::vector<pid_t> found = DescendantsOf(getpid());
  EXPECT_THAT(found, Contains(child));
  EXPECT_THAT(found, Contains(grandchild));
  EXPECT_THAT(DescendantsOf(0), IsEmpty());
  kill(grandchild, SIGKILL);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace gantry::runtime
