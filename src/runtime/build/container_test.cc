#include "runtime/build/container.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/file.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/common/crypto.h"
#include "core/common/strings.h"
#include "runtime/build/build_runner.h"
#include "runtime/build/os_util.h"
#include "runtime/build/sandbox.h"

namespace gantry::runtime {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Json = nlohmann::json;

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

ContainerSpec SampleSpec() {
  ContainerSpec spec;
  spec.id = "gantry-p-1-abc";
  spec.bundle = "/work/p-1-abc/container";
  spec.image = {"test/image:1", "/images/rootfs", {"PATH=/opt/bin:/bin", "LANG=C"}, "", ""};
  spec.shared = {"/work/p-1-abc"};
  spec.init_program = "/opt/gantry/gantry-build-init";
  spec.memory_bytes = 3u << 30;
  spec.max_pids = 500;
  spec.cpus = 2;
  spec.cgroup_path = "gantry/p-1-abc";
  return spec;
}

std::vector<std::string> Strings(const Json& list) {
  std::vector<std::string> out;
  for (const Json& item : list) out.push_back(item.get<std::string>());
  return out;
}

const Json* MountAt(const Json& config, const std::string& destination) {
  for (const Json& mount : config["mounts"]) {
    if (mount["destination"] == destination) return &mount;
  }
  return nullptr;
}

std::vector<std::string> Namespaces(const Json& config) {
  std::vector<std::string> out;
  for (const Json& ns : config["linux"]["namespaces"]) out.push_back(ns["type"].get<std::string>());
  return out;
}

TEST(OciConfigTest, DefaultContainerKeepsDockersCapabilitiesLessMknodAndSharesTheHostNetwork) {
  Json config = OciConfig(SampleSpec(), {});
  EXPECT_EQ(config["root"]["path"], "rootfs");
  EXPECT_EQ(config["process"]["args"], Json::array({kContainerInitPath}));
  EXPECT_EQ(config["process"]["user"]["uid"], 0);
  EXPECT_TRUE(config["process"]["noNewPrivileges"].get<bool>());
  EXPECT_EQ(config["process"]["env"], Json::array({"PATH=/opt/bin:/bin"}));
  std::vector<std::string> caps = Strings(config["process"]["capabilities"]["bounding"]);
  EXPECT_THAT(caps, Contains("CAP_CHOWN"));
  EXPECT_THAT(caps, Contains("CAP_SETUID"));
  EXPECT_THAT(caps, Contains("CAP_NET_RAW"));
  EXPECT_THAT(caps, Not(Contains("CAP_MKNOD")));
  EXPECT_THAT(caps, Not(Contains("CAP_SYS_ADMIN")));
  EXPECT_THAT(caps, Not(Contains("CAP_SYS_PTRACE")));
  EXPECT_EQ(caps.size(), 13u);
  EXPECT_FALSE(config["process"]["capabilities"].contains("inheritable"));

  EXPECT_THAT(Namespaces(config), Not(Contains("network")));
  EXPECT_THAT(Namespaces(config), Contains("pid"));
  EXPECT_THAT(Namespaces(config), Contains("mount"));

  const Json* tree = MountAt(config, "/work/p-1-abc");
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ((*tree)["source"], "/work/p-1-abc");
  EXPECT_THAT(Strings((*tree)["options"]), Contains("rw"));
  const Json* bundle = MountAt(config, "/work/p-1-abc/container");
  ASSERT_NE(bundle, nullptr) << "the bundle inside the shared tree is covered";
  EXPECT_EQ((*bundle)["type"], "tmpfs");
  EXPECT_THAT(Strings((*bundle)["options"]), Contains("ro"));
  const Json* init = MountAt(config, kContainerInitPath);
  ASSERT_NE(init, nullptr);
  EXPECT_EQ((*init)["source"], "/opt/gantry/gantry-build-init");
  EXPECT_THAT(Strings((*init)["options"]), Contains("ro"));
  if (access("/etc/resolv.conf", R_OK) == 0) {
    EXPECT_NE(MountAt(config, "/etc/resolv.conf"), nullptr);
  }
  EXPECT_THAT(Strings((*MountAt(config, "/sys"))["options"]), Contains("ro"));

  const Json& resources = config["linux"]["resources"];
  EXPECT_EQ(resources["memory"]["limit"], uint64_t{3} << 30);
  EXPECT_EQ(resources["pids"]["limit"], 500);
  EXPECT_EQ(resources["cpu"]["quota"], 200000);
  EXPECT_EQ(resources["cpu"]["period"], 100000);
  EXPECT_EQ(resources["devices"], Json::parse(R"([{"allow": false, "access": "rwm"}])"));
  EXPECT_EQ(config["linux"]["cgroupsPath"], "gantry/p-1-abc");
  EXPECT_THAT(Strings(config["linux"]["maskedPaths"]), Contains("/proc/kcore"));
  EXPECT_THAT(Strings(config["linux"]["readonlyPaths"]), Contains("/proc/sys"));
  EXPECT_FALSE(config["linux"].contains("devices"));
}

TEST(OciConfigTest, NetworkNoneHasItsOwnNamespaceAndNoResolver) {
  ContainerSpec spec = SampleSpec();
  spec.network = NetworkMode::kNone;
  spec.memory_bytes = 0;
  spec.max_pids = 0;
  spec.cpus = 0;
  Json config = OciConfig(spec, {});
  EXPECT_THAT(Namespaces(config), Contains("network"));
  EXPECT_EQ(MountAt(config, "/etc/resolv.conf"), nullptr);
  EXPECT_FALSE(config["linux"]["resources"].contains("memory"));
  EXPECT_FALSE(config["linux"]["resources"].contains("pids"));
  EXPECT_FALSE(config["linux"]["resources"].contains("cpu"));
}

TEST(OciConfigTest, PrivilegedHasEveryCapabilityAndTheHostsDevices) {
  ContainerSpec spec = SampleSpec();
  spec.privileged = true;
  Json config = OciConfig(spec, {{"/dev/loop0", 'b', 7, 0, 0660, 0, 6}});
  std::vector<std::string> caps = Strings(config["process"]["capabilities"]["bounding"]);
  EXPECT_THAT(caps, Contains("CAP_SYS_ADMIN"));
  EXPECT_THAT(caps, Contains("CAP_MKNOD"));
  EXPECT_FALSE(config["process"]["noNewPrivileges"].get<bool>());
  EXPECT_EQ(config["linux"]["resources"]["devices"], Json::parse(R"([{"allow": true, "access": "rwm"}])"));
  ASSERT_EQ(config["linux"]["devices"].size(), 1u);
  EXPECT_EQ(config["linux"]["devices"][0]["path"], "/dev/loop0");
  EXPECT_EQ(config["linux"]["devices"][0]["type"], "b");
  EXPECT_EQ(config["linux"]["devices"][0]["major"], 7);
  EXPECT_FALSE(config["linux"].contains("maskedPaths"));
  EXPECT_THAT(Strings((*MountAt(config, "/sys"))["options"]), Contains("rw"));
}

TEST(OciConfigTest, HostDevicesListsCharacterDevicesButNotPts) {
  std::vector<HostDevice> devices = ListHostDevices();
  bool null_found = false;
  for (const HostDevice& device : devices) {
    EXPECT_EQ(device.path.rfind("/dev/pts/", 0), std::string::npos) << device.path;
    if (device.path == "/dev/null") {
      null_found = true;
      EXPECT_EQ(device.type, 'c');
      EXPECT_EQ(device.major, 1);
      EXPECT_EQ(device.minor, 3);
    }
  }
  EXPECT_TRUE(null_found);
}

TEST(InRootTest, LinksResolveInsideTheRoot) {
  fs::path root = fs::temp_directory_path() / ("gantry-inroot-" + std::to_string(getpid()));
  fs::remove_all(root);
  WriteText(root / "usr/bin/bash", "#!/bin/true\n");
  fs::permissions(root / "usr/bin/bash", fs::perms::owner_all);
  fs::create_directory_symlink("usr/bin", root / "bin");
  fs::create_directories(root / "etc");
  WriteText(root / "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  fs::create_symlink("/etc/passwd", root / "etc/passwd-link");  // absolute: the root's own file
  fs::create_symlink("../../../../../etc/hostname", root / "escape");
  EXPECT_EQ(FindInRoot(root.string(), "bash", "/usr/local/bin:/bin"), "/bin/bash");
  EXPECT_EQ(FindInRoot(root.string(), "bash", "/usr/local/bin"), "");
  EXPECT_EQ(FindInRoot(root.string(), "/usr/bin/bash", ""), "/usr/bin/bash");
  EXPECT_EQ(FindInRoot(root.string(), "/etc/passwd", ""), "") << "not executable";
  EXPECT_EQ(ReadInRoot(root.string(), "/etc/passwd-link").value(), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(ReadInRoot(root.string(), "/escape").value(), "") << "'..' stops at the root";
  auto too_big = ReadInRoot(root.string(), "/etc/passwd", 10);
  EXPECT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.status().message(), HasSubstr("larger than 10 bytes"));
  fs::remove_all(root);
}

TEST(InRootTest, AFifoIsAnErrorNotAHang) {
  // A build may leave a FIFO at /etc/passwd; reading users for run-as must not block on it.
  fs::path root = fs::temp_directory_path() / ("gantry-inroot-fifo-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "etc");
  ASSERT_EQ(mkfifo((root / "etc/passwd").c_str(), 0644), 0);
  auto read = std::async(std::launch::async, [&] { return ReadInRoot(root.string(), "/etc/passwd"); });
  if (read.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    int writer = open((root / "etc/passwd").c_str(), O_WRONLY | O_NONBLOCK);  // lets the reader go
    if (writer >= 0) close(writer);
    ADD_FAILURE() << "ReadInRoot blocked on a FIFO";
  }
  StatusOr<std::string> text = read.get();
  EXPECT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("/etc/passwd in the container is not a regular file"));
  fs::remove_all(root);
}

TEST(StaleContainersTest, AbandonedOverlaysAreRemovedAndLiveOnesKept) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting an overlay needs root";
  fs::path root = fs::temp_directory_path() / ("gantry-stale-" + std::to_string(getpid()));
  fs::remove_all(root);
  WriteText(root / "image/etc/marker", "x\n");
  auto make = [&](const std::string& build) {
    ContainerSpec spec;
    spec.bundle = (root / build / "container").string();
    spec.image = {"test/image:1", (root / "image").string(), {}, "", ""};
    fs::create_directories(spec.bundle);
    WriteText(fs::path(spec.bundle) / "lock", "");
    auto made = PrepareRootfs(spec);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return spec.bundle;
  };
  std::string abandoned = make("work/dead-build");
  std::string live = make("work/live-build");
  // A killed Gantry's build tree whose lock file went first (an interrupted delete) is abandoned
  // too. Trees outside the work root are another Gantry's: left alone, locked or not.
  std::string unlocked = make("work/unlocked-build");
  std::string foreign = make("foreign-build");
  std::string foreign_dead = make("foreign-dead-build");
  fs::remove(fs::path(unlocked) / "lock");
  fs::remove(fs::path(foreign) / "lock");
  int lock = open((live + "/lock").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_EQ(flock(lock, LOCK_EX | LOCK_NB), 0);
  ASSERT_THAT(ReadText("/proc/self/mountinfo"), HasSubstr(abandoned + "/rootfs"));
  // Not nosuid: setuid programs work where no_new_privs allows (privilegedMode).
  std::istringstream mounts(ReadText("/proc/self/mountinfo"));
  bool found = false;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, at, point, options;
    fields >> id >> parent >> device >> at >> point >> options;
    if (point != live + "/rootfs") continue;
    found = true;
    EXPECT_THAT(options, Not(HasSubstr("nosuid"))) << line;
  }
  EXPECT_TRUE(found) << "no mount at " << live << "/rootfs";

  RemoveStaleContainers("", (root / "runc").string(), (root / "work").string());
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), Not(HasSubstr(abandoned + "/rootfs")));
  EXPECT_FALSE(fs::exists(abandoned));
  EXPECT_FALSE(fs::exists(unlocked));
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), HasSubstr(foreign + "/rootfs"));
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), HasSubstr(foreign_dead + "/rootfs"));
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), HasSubstr(live + "/rootfs"));
  EXPECT_TRUE(fs::exists(fs::path(live) / "rootfs/etc/marker"));

  close(lock);
  ReleaseBundle(live);
  ReleaseBundle(foreign);
  ReleaseBundle(foreign_dead);
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), Not(HasSubstr(live + "/rootfs")));
  fs::remove_all(root);
}

TEST(StaleContainersTest, AContainerWithoutStateIsDeletedOnlyWhenOld) {
  // runc makes a container's directory before it writes state.json: one being started right now
  // looks like this and must be left alone (runc delete --force would remove it).
  std::string runc = FindRunc();
  if (runc.empty()) GTEST_SKIP() << "runc is not installed";
  fs::path root = fs::temp_directory_path() / ("gantry-stateless-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "runc/gantry-young");
  fs::create_directories(root / "runc/gantry-old");
  struct timespec times[2] = {{time(nullptr) - 120, 0}, {time(nullptr) - 120, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (root / "runc/gantry-old").c_str(), times, 0), 0);
  RemoveStaleContainers(runc, (root / "runc").string(), "");
  EXPECT_TRUE(fs::exists(root / "runc/gantry-young"));
  EXPECT_FALSE(fs::exists(root / "runc/gantry-old"));
  fs::remove_all(root);
}

TEST(ContainerIdTest, DiffersBetweenBuildTreesOfTheSameName) {
  EXPECT_THAT(ContainerId("/tmp/gantry-builds-a/p-1-Ab12Cd"), ::testing::MatchesRegex("gantry-[0-9a-f]{8}-p-1-Ab12Cd"));
  EXPECT_NE(ContainerId("/tmp/gantry-builds-a/p-1-Ab12Cd"), ContainerId("/tmp/gantry-builds-b/p-1-Ab12Cd"));
  EXPECT_NE(DefaultRuncRoot("/var/lib/gantry"), DefaultRuncRoot("/var/lib/gantry-2"));
  EXPECT_THAT(DefaultRuncRoot("/var/lib/gantry"), ::testing::MatchesRegex("/run/gantry-runc-[0-9a-f]{12}"));
}

// ---- the engine running builds in a busybox container ----

class RecordingHooks : public BuildHooks {
 public:
  StatusOr<ResolvedValue> ResolveParameter(std::string_view name) override {
    return Status::NotFound("no parameter " + std::string(name));
  }
  StatusOr<ResolvedValue> ResolveSecret(std::string_view, std::string_view, std::string_view,
                                        std::string_view) override {
    return Status::NotFound("no secret");
  }
  StatusOr<std::string> DownloadSource(const std::string& src_dir) override {
    WriteText(fs::path(src_dir) / "hello.txt", "hello from the source\n");
    return std::string("commit-1");
  }
  Status UploadArtifacts(const std::vector<SelectedArtifact>& artifacts) override {
    for (const SelectedArtifact& artifact : artifacts) {
      for (const ArtifactFile& file : artifact.files) uploaded[file.path] = ReadText(file.source);
    }
    return Status::Ok();
  }
  Status SaveCache(const CacheSpec*, const BuildFilesystem& fs) override {
    cache_view = ReadText(fs.HostPath("/etc/gantry-image-marker"));
    return Status::Ok();
  }
  void OnPhase(const PhaseRecord& record) override {
    if (record.end && record.status) {
      std::lock_guard<std::mutex> lock(mutex);
      ended.push_back(std::string(PhaseName(record.type)) + " " + std::string(StatusName(*record.status)));
      for (const PhaseContext& context : record.contexts) contexts.push_back(context.message);
    }
  }
  void OnLogLine(std::string_view line) override {
    std::lock_guard<std::mutex> lock(mutex);
    lines.push_back(line.rfind("[Container] ", 0) == 0 && line.size() > 39 ? std::string(line.substr(39))
                                                                            : std::string(line));
  }
  bool Saw(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }

  std::mutex mutex;
  std::vector<std::string> lines;
  std::vector<std::string> ended;
  std::vector<std::string> contexts;
  std::map<std::string, std::string> uploaded;
  std::string cache_view;
};

class ContainerBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef GANTRY_BUILD_INIT
    GTEST_SKIP() << "gantry-build-init is not built";
#else
    if (geteuid() != 0 || FindRunc().empty() || access("/bin/busybox", X_OK) != 0) {
      GTEST_SKIP() << "containers need root, runc and /bin/busybox (busybox-static)";
    }
    root_ = fs::temp_directory_path() / ("gantry-container-test-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "work");
    fs::permissions(root_ / "work", fs::perms::owner_all);
    // A busybox image: the static binary and a link per applet, users, and a marker file.
    fs::path rootfs = root_ / "image";
    fs::create_directories(rootfs / "bin");
    fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
    std::istringstream applets(Capture("/bin/busybox --list"));
    for (std::string applet; std::getline(applets, applet);) {
      if (!applet.empty() && applet != "busybox") fs::create_symlink("busybox", rootfs / "bin" / applet);
    }
    WriteText(rootfs / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000::/home/builder:/bin/sh\n");
    WriteText(rootfs / "etc/group", "root:x:0:\nbuilder:x:1000:\nwheel:x:10:builder\n");
    WriteText(rootfs / "etc/gantry-image-marker", "image marker 7f3a\n");
    fs::create_directories(rootfs / "root");
    fs::create_directories(rootfs / "tmp");
    request_.build_id = "p:container-test";
    request_.work_root = (root_ / "work").string();
    request_.container = ContainerImage{"test/busybox:1", rootfs.string(), {"PATH=/bin", "IMAGE_VAR=from-image"}, "", ""};
    request_.image = "test/busybox:1";
    request_.container_init = GANTRY_BUILD_INIT;
    request_.runc_root = (root_ / "runc").string();
    request_.stop_grace = std::chrono::milliseconds(200);
#endif
  }
  void TearDown() override {
    if (!root_.empty()) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  static std::string Capture(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while (pipe != nullptr && (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    if (pipe != nullptr) pclose(pipe);
    return out;
  }

  BuildOutcome Run(const std::string& buildspec) {
    request_.buildspec_inline = buildspec;
    BuildOutcome outcome = runner_.Run(request_, hooks_);
    // Nothing of the container is left: runc's state and the overlay are gone.
    EXPECT_THAT(fs::exists(root_ / "runc") ? std::vector<fs::path>(fs::directory_iterator(root_ / "runc"), {})
                                           : std::vector<fs::path>{},
                IsEmpty());
    EXPECT_THAT(ReadText("/proc/self/mountinfo"), Not(HasSubstr(outcome.work_dir)));
    return outcome;
  }

  fs::path root_;
  BuildRequest request_;
  RecordingHooks hooks_;
  BuildRunner runner_;
};

TEST_F(ContainerBuildTest, CommandsSeeTheImageAndNotTheHost) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - cat /etc/gantry-image-marker
      - test -e )Y" + self + R"Y( && echo "host file visible" || echo "host file absent"
      - echo "IMAGE_VAR=$IMAGE_VAR PATH=$PATH"
      - cat hello.txt && pwd
      - echo "hash $(codebuild-hash-files hello.txt)"
      - echo built > out.txt
      - echo "from the build" > /etc/written-by-build
artifacts:
  files:
    - out.txt
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.contexts);
  EXPECT_TRUE(hooks_.Saw("Running image test/busybox:1 in a container (runc)"));
  EXPECT_TRUE(hooks_.Saw("image marker 7f3a"));
  EXPECT_TRUE(hooks_.Saw("host file absent"));
  EXPECT_FALSE(hooks_.Saw("host file visible"));
  // The engine's commands (codebuild-hash-files) come first.
  EXPECT_TRUE(hooks_.Saw("IMAGE_VAR=from-image PATH=" + outcome.work_dir + "/engine/bin:/bin"));
  std::string line = HexEncode(Sha256(ReadText(outcome.work_dir + "/src/hello.txt"))) + "  hello.txt\n";
  EXPECT_TRUE(hooks_.Saw("hash " + HexEncode(Sha256(line)))) << "codebuild-hash-files runs in the image's sh";
  EXPECT_TRUE(hooks_.Saw("hello from the source"));
  EXPECT_TRUE(hooks_.Saw(outcome.work_dir + "/src"));
  EXPECT_EQ(hooks_.uploaded["out.txt"], "built\n");
  EXPECT_EQ(hooks_.cache_view, "image marker 7f3a\n") << "the cache hook reads the container's root";
  // The build wrote into its own overlay, not into the shared image.
  EXPECT_FALSE(fs::exists(root_ / "image/etc/written-by-build"));
}

TEST_F(ContainerBuildTest, AnImageOverlayRefusesIsCopied) {
  // Overlay options are split at ',': an image whose path holds one gets a copy as its root.
  fs::path rootfs = root_ / "image,copied";
  fs::rename(root_ / "image", rootfs);
  request_.container->rootfs = rootfs.string();
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - cat /etc/gantry-image-marker
      - echo "from the build" > /etc/written-by-build
      - cat /etc/written-by-build
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.contexts);
  EXPECT_THAT(hooks_.lines, Contains(HasSubstr("root file system: a copy of " + rootfs.string() +
                                               " (overlay mount refused: the path holds ',' or ':')")));
  EXPECT_THAT(hooks_.lines, Not(Contains(HasSubstr("root file system: overlay"))));
  EXPECT_TRUE(hooks_.Saw("image marker 7f3a"));
  EXPECT_TRUE(hooks_.Saw("from the build"));
  // The build wrote into its copy, not into the image.
  EXPECT_FALSE(fs::exists(rootfs / "etc/written-by-build"));
}

TEST_F(ContainerBuildTest, ExitReplacesTheShellAndFailuresCarryTheExitStatus) {
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - export KEPT=yes
      - exit 3
      - echo "not reached"
  post_build:
    commands:
      - echo "kept=$KEPT"
      - sh -c 'exit 5'
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(hooks_.ended, Contains("BUILD FAILED"));
  EXPECT_THAT(hooks_.ended, Contains("POST_BUILD FAILED"));
  EXPECT_THAT(hooks_.contexts, Contains("Error while executing command: exit 3. Reason: exit status 3"));
  EXPECT_THAT(hooks_.contexts, Contains("Error while executing command: sh -c 'exit 5'. Reason: exit status 5"));
  EXPECT_TRUE(hooks_.Saw("kept=yes"));
  EXPECT_FALSE(hooks_.Saw("not reached"));
}

TEST_F(ContainerBuildTest, RunAsUsesTheImagesUsers) {
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  install:
    commands:
      - echo "root is $(id -u)"
  build:
    run-as: builder
    commands:
      - echo "builder is $(id -u):$(id -g) in $(id -G)"
  post_build:
    run-as: nobody-here
    commands:
      - echo "never"
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_TRUE(hooks_.Saw("root is 0"));
  EXPECT_TRUE(hooks_.Saw("builder is 1000:1000 in 1000 10"));
  EXPECT_THAT(hooks_.contexts,
              Contains("run-as user nobody-here does not exist in image test/busybox:1 (its /etc/passwd)"));
  EXPECT_FALSE(hooks_.Saw("never"));
}

TEST_F(ContainerBuildTest, StopKillsTheContainer) {
  std::thread stopper([&] {
    for (int i = 0; i < 3000 && !hooks_.Saw("sleeping"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    runner_.RequestStop();
  });
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - sleep 600 & echo sleeping; wait
)Y");
  stopper.join();
  EXPECT_EQ(outcome.status, BuildStatus::kStopped);
  EXPECT_THAT(hooks_.ended, Contains("BUILD STOPPED"));
  EXPECT_THAT(Capture("ps -eo args"), Not(HasSubstr("sleep 600")));
}

TEST_F(ContainerBuildTest, TimeoutKillsTheContainer) {
  request_.timeout = std::chrono::seconds(3);
  BuildOutcome outcome = Run(R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - sleep 601
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kTimedOut);
  EXPECT_THAT(Capture("ps -eo args"), Not(HasSubstr("sleep 601")));
}

// A server on 127.0.0.1 that accepts and closes connections.
class LoopbackServer {
 public:
  LoopbackServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] {
      for (;;) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        close(client);
      }
    });
  }
  ~LoopbackServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ContainerBuildTest, HostNetworkReachesLoopbackAndNetworkNoneDoesNot) {
  LoopbackServer server;
  std::string buildspec = R"Y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - nc 127.0.0.1 )Y" + std::to_string(server.port()) + R"Y( </dev/null && echo "port reached" || echo "port unreachable"
)Y";
  BuildOutcome host = Run(buildspec);
  EXPECT_EQ(host.status, BuildStatus::kSucceeded);
  EXPECT_TRUE(hooks_.Saw("port reached"));
  EXPECT_TRUE(hooks_.Saw("Container: network: the host's (127.0.0.1 is this machine)"));

  hooks_.lines.clear();
  request_.network = NetworkMode::kNone;
  BuildOutcome none = Run(buildspec);
  EXPECT_EQ(none.status, BuildStatus::kSucceeded);
  EXPECT_TRUE(hooks_.Saw("port unreachable"));
  EXPECT_FALSE(hooks_.Saw("port reached"));
}

TEST_F(ContainerBuildTest, WithoutBashInTheImageCommandsRunInSh) {
  // No bash in the image and no env.shell: the build says so and runs /bin/sh.
  BuildOutcome outcome = Run(R"Y(version: 0.2
phases:
  build:
    commands:
      - echo "shell is $0"
)Y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_TRUE(hooks_.Saw("bash is not in image test/busybox:1: commands run in /bin/sh"));
  EXPECT_TRUE(hooks_.Saw("shell is sh"));
}

TEST_F(ContainerBuildTest, SeveralContainersStartAtOnce) {
  // Each start once cleaned up "stale" containers, and took another build's starting container
  // (no state.json yet) for one: "unable to store init state". Rounds of builds starting together.
  constexpr int kRounds = 3;
  constexpr int kBuilds = 8;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<BuildOutcome> outcomes(kBuilds);
    std::vector<std::unique_ptr<RecordingHooks>> hooks;
    for (int i = 0; i < kBuilds; ++i) hooks.push_back(std::make_unique<RecordingHooks>());
    std::vector<std::thread> threads;
    for (int i = 0; i < kBuilds; ++i) {
      threads.emplace_back([&, i] {
        BuildRequest request = request_;
        request.build_id = "p:parallel-" + std::to_string(i);
        request.buildspec_inline = "version: 0.2\nphases:\n  build:\n    commands:\n      - cat /etc/gantry-image-marker\n";
        BuildRunner runner;
        outcomes[i] = runner.Run(request, *hooks[i]);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int i = 0; i < kBuilds; ++i) {
      EXPECT_EQ(outcomes[i].status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks[i]->contexts);
      EXPECT_TRUE(hooks[i]->Saw("image marker 7f3a")) << ::testing::PrintToString(hooks[i]->lines);
    }
  }
  EXPECT_THAT(std::vector<fs::path>(fs::directory_iterator(root_ / "runc"), {}), IsEmpty());
}

TEST_F(ContainerBuildTest, AnAbandonedContainerIsDeletedThroughRunc) {
  // What a Gantry killed mid-start leaves: runc's state of a created container, its overlay, and a
  // bundle lock nobody holds.
  std::string runc = FindRunc();
  fs::path tree = root_ / "work/dead-build";
  ContainerSpec spec;
  spec.id = ContainerId(tree.string());
  spec.bundle = (tree / "container").string();
  spec.image = *request_.container;
  spec.shared = {tree.string()};
  spec.init_program = GANTRY_BUILD_INIT;
  spec.cgroup_path = "gantry/" + spec.id.substr(7);
  fs::create_directories(spec.bundle);
  WriteText(fs::path(spec.bundle) / "lock", "");
  ASSERT_TRUE(PrepareRootfs(spec).ok());
  WriteText(fs::path(spec.bundle) / "config.json", OciConfig(spec, {}).dump());
  std::string runc_root = (root_ / "runc").string();
  int created = os::RunProgram({runc, "--root", runc_root, "create", "--bundle", spec.bundle, spec.id},
                               (root_ / "create.log").string());
  ASSERT_EQ(created, 0) << ReadText(root_ / "create.log");
  ASSERT_TRUE(fs::exists(fs::path(runc_root) / spec.id / "state.json"));

  RemoveStaleContainers(runc, runc_root, (root_ / "work").string());
  EXPECT_FALSE(fs::exists(fs::path(runc_root) / spec.id));
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), Not(HasSubstr(spec.bundle)));
  EXPECT_FALSE(fs::exists(spec.bundle));
}

TEST_F(ContainerBuildTest, ANonRootGantryFailsBeforeCopyingTheImage) {
  ContainerSpec spec;
  spec.id = "gantry-nonroot";
  spec.bundle = (root_ / "nonroot/container").string();
  spec.image = *request_.container;
  spec.init_program = GANTRY_BUILD_INIT;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Every uid non-zero: the capabilities go too.
    if (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
    int output = open("/dev/null", O_WRONLY);
    auto sandbox = HostSandbox::StartContainer(spec, (root_ / "runc").string(), output, std::nullopt);
    bool ok = !sandbox.ok() && sandbox.status().message().find("needs Gantry to run as root") != std::string::npos &&
              sandbox.status().aws_code() == "CLIENT_ERROR";
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(fs::exists(spec.bundle));
}

TEST_F(ContainerBuildTest, MissingRootfsFailsProvisioning) {
  request_.container->rootfs = (root_ / "no-such-image").string();
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - true\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFault);
  EXPECT_THAT(hooks_.contexts, Contains(HasSubstr("is not a directory")));
}

}  // namespace
}  // namespace gantry::runtime
