#include "runtime/build/image_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gantry::runtime {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

void WriteExecutable(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "#!/bin/true\n";
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
}

bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/gantry-image-store-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    store_ = std::make_unique<ImageStore>((root_ / "images").string());
  }
  void TearDown() override { fs::remove_all(root_); }

  // A root file system with bin/sh a relative link to an executable bin/busybox.
  fs::path MakeRootfs(const std::string& name) {
    fs::path rootfs = root_ / name;
    WriteExecutable(rootfs / "bin/busybox");
    fs::create_symlink("busybox", rootfs / "bin/sh");
    return rootfs;
  }

  fs::path root_;
  std::unique_ptr<ImageStore> store_;
};

TEST(DefaultImageDir, IsImagesUnderTheStateDir) { EXPECT_EQ(DefaultImageDir("/var/lib/gantry"), "/var/lib/gantry/images"); }

TEST(ValidateImageName, AcceptsImageReferencesAndRejectsTheRest) {
  for (const char* good : {"aws/codebuild/standard:7.0", "my/image:1", "ubuntu", "registry.example.com:5000/a/b@sha256:ab",
                           "a_b-c+d"}) {
    EXPECT_TRUE(ValidateImageName(good).ok()) << good;
  }
  for (std::string bad : {std::string(), std::string("/abs"), std::string("../x"), std::string(".hidden"), std::string("-x"),
                          std::string("a b"), std::string("a\nb"), std::string("a%2Fb"), std::string(256, 'a')}) {
    Status s = ValidateImageName(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(ImageStoreTest, RegistersARootfsAndResolvesIt) {
  fs::path rootfs = MakeRootfs("busybox");
  ASSERT_TRUE(store_->RegisterRootfs("aws/codebuild/standard:7.0", rootfs.string()).ok());
  auto image = store_->Resolve("aws/codebuild/standard:7.0");
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_EQ(image->name, "aws/codebuild/standard:7.0");
  EXPECT_EQ(image->rootfs, fs::canonical(rootfs).string());
  EXPECT_THAT(image->env, ElementsAre(kDefaultPath));
  EXPECT_EQ(image->working_dir, "");
  EXPECT_EQ(image->user, "");
  EXPECT_TRUE(fs::exists(root_ / "images/names/aws%2Fcodebuild%2Fstandard%3A7%2E0.json"));
  // No temporary file is left beside the record.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_ / "images/names")) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(ImageStoreTest, RelativeRootfsIsStoredAbsolute) {
  MakeRootfs("rel");
  fs::path cwd = fs::current_path();
  fs::current_path(root_);
  Status s = store_->RegisterRootfs("rel", "rel");
  fs::current_path(cwd);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(store_->Resolve("rel")->rootfs, fs::canonical(root_ / "rel").string());
}

TEST_F(ImageStoreTest, EnvGoesOverTheDefaultPath) {
  fs::path rootfs = MakeRootfs("busybox");
  ASSERT_TRUE(store_->RegisterRootfs("img", rootfs.string(), {"PATH=/opt/bin:/bin", "JAVA_HOME=/opt/java"}).ok());
  EXPECT_THAT(store_->Resolve("img")->env, ElementsAre("PATH=/opt/bin:/bin", "JAVA_HOME=/opt/java"));
  ASSERT_TRUE(store_->RegisterRootfs("img2", rootfs.string(), {"A=1"}).ok());
  EXPECT_THAT(store_->Resolve("img2")->env, ElementsAre(kDefaultPath, "A=1"));
  EXPECT_EQ(store_->RegisterRootfs("img3", rootfs.string(), {"NOVALUE"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RegisterRootfs("img3", rootfs.string(), {"=x"}).code(), StatusCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, FollowsUsrMergeLinksInsideTheRootfs) {
  // Debian's merged /usr: bin -> usr/bin, and bash there.
  fs::path merged = root_ / "merged";
  WriteExecutable(merged / "usr/bin/bash");
  fs::create_symlink("usr/bin", merged / "bin");
  EXPECT_TRUE(store_->RegisterRootfs("merged", merged.string()).ok());

  // An absolute link is resolved against the rootfs: bin -> /usr/bin, sh -> /usr/bin/dash.
  fs::path absolute = root_ / "absolute";
  WriteExecutable(absolute / "usr/bin/dash");
  fs::create_symlink("/usr/bin/dash", absolute / "usr/bin/sh");
  fs::create_symlink("/usr/bin", absolute / "bin");
  EXPECT_TRUE(store_->RegisterRootfs("absolute", absolute.string()).ok());

  // ".." stops at the rootfs' root.
  fs::path dots = root_ / "dots";
  WriteExecutable(dots / "bin/busybox");
  fs::create_symlink("../../../../bin/busybox", dots / "bin/sh");
  EXPECT_TRUE(store_->RegisterRootfs("dots", dots.string()).ok());
}

TEST_F(ImageStoreTest, NeverResolvesALinkAgainstTheHostRoot) {
  // The host has /bin/sh; the rootfs only has links to it.
  ASSERT_TRUE(fs::exists("/bin/sh"));
  fs::path escape = root_ / "escape";
  fs::create_directories(escape / "bin");
  fs::create_symlink("/bin/sh", escape / "bin/sh");
  fs::create_symlink("../../../../../../bin/sh", escape / "bin/bash");
  Status s = store_->RegisterRootfs("escape", escape.string());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("no /bin/sh or /bin/bash"));

  fs::path loop = root_ / "loop";
  fs::create_directories(loop / "bin");
  fs::create_symlink("sh", loop / "bin/sh");
  EXPECT_EQ(store_->RegisterRootfs("loop", loop.string()).code(), StatusCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, RejectsAMissingDirectoryOrShell) {
  EXPECT_EQ(store_->RegisterRootfs("x", (root_ / "nonexistent").string()).code(), StatusCode::kInvalidArgument);
  fs::create_directories(root_ / "empty/bin");
  Status s = store_->RegisterRootfs("x", (root_ / "empty").string());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr((root_ / "empty").string()));
  // A shell that is not executable is no shell.
  std::ofstream(root_ / "empty/bin/sh") << "text";
  fs::permissions(root_ / "empty/bin/sh", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(store_->RegisterRootfs("x", (root_ / "empty").string()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RegisterRootfs("bad name", MakeRootfs("ok").string()).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->List(), IsEmpty());
}

TEST_F(ImageStoreTest, ListsRemovesAndReplaces) {
  fs::path a = MakeRootfs("a");
  fs::path b = MakeRootfs("b");
  EXPECT_EQ(store_->Resolve("one").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->RegisterRootfs("two/x:1", a.string()).ok());
  ASSERT_TRUE(store_->RegisterRootfs("one", a.string()).ok());
  ASSERT_TRUE(store_->RegisterRootfs("two/x/1", b.string()).ok());  // escapes apart from "two/x:1"
  auto images = store_->List();
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0].name, "one");
  EXPECT_EQ(images[1].name, "two/x/1");
  EXPECT_EQ(images[1].rootfs, fs::canonical(b).string());
  EXPECT_EQ(images[2].name, "two/x:1");
  EXPECT_EQ(images[2].rootfs, fs::canonical(a).string());

  ASSERT_TRUE(store_->RegisterRootfs("one", b.string()).ok());  // replaces
  EXPECT_EQ(store_->Resolve("one")->rootfs, fs::canonical(b).string());
  EXPECT_EQ(store_->List().size(), 3u);

  ASSERT_TRUE(store_->Remove("one").ok());
  EXPECT_EQ(store_->Resolve("one").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Remove("one").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->List().size(), 2u);
  // A directory registered where it is stays when its name goes.
  EXPECT_TRUE(fs::exists(b / "bin/busybox"));
}

TEST_F(ImageStoreTest, ResolveSaysWhenTheRootfsIsGone) {
  fs::path a = MakeRootfs("a");
  ASSERT_TRUE(store_->RegisterRootfs("a", a.string()).ok());
  fs::remove_all(a);
  Status s = store_->Resolve("a").status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("is gone"));
}

TEST_F(ImageStoreTest, StagedTreesAreAdoptedReplacedAndCollected) {
  ImageLease hold;
  auto staging = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(staging.ok()) << staging.status().message();
  WriteExecutable(fs::path(*staging) / "bin/bash");
  ASSERT_TRUE(store_->AdoptRootfs("std:1", *staging, {"LANG=C.UTF-8"}).ok());
  hold = ImageLease();
  EXPECT_FALSE(fs::exists(*staging));
  auto first = store_->Resolve("std:1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(fs::path(first->rootfs).parent_path(), root_ / "images/rootfs");
  EXPECT_THAT(first->env, ElementsAre(kDefaultPath, "LANG=C.UTF-8"));

  // A staging directory left by a killed build goes at the next one.
  ImageLease killed_hold;
  auto killed = store_->CreateStagingDir("std:1", &killed_hold);
  ASSERT_TRUE(killed.ok());
  killed_hold = ImageLease();
  auto second_staging = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(second_staging.ok());
  EXPECT_FALSE(fs::exists(*killed));
  WriteExecutable(fs::path(*second_staging) / "bin/sh");
  // Another name on the first tree keeps it alive when std:1 moves on.
  ASSERT_TRUE(store_->RegisterRootfs("alias", first->rootfs).ok());
  ASSERT_TRUE(store_->AdoptRootfs("std:1", *second_staging).ok());
  hold = ImageLease();
  auto second = store_->Resolve("std:1");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->rootfs, first->rootfs);
  EXPECT_TRUE(fs::exists(first->rootfs));
  ASSERT_TRUE(store_->Remove("alias").ok());
  EXPECT_FALSE(fs::exists(first->rootfs));
  ASSERT_TRUE(store_->Remove("std:1").ok());
  EXPECT_FALSE(fs::exists(second->rootfs));

  // A tree without a shell is not registered and not kept.
  auto shell_less = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(shell_less.ok());
  EXPECT_EQ(store_->AdoptRootfs("std:1", *shell_less).code(), StatusCode::kInvalidArgument);
  hold = ImageLease();
  EXPECT_TRUE(fs::is_empty(root_ / "images/rootfs"));
  EXPECT_EQ(store_->AdoptRootfs("std:1", (root_ / "a").string()).code(), StatusCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, ATreeABuildHoldsOutlivesItsNameUntilReleased) {
  ImageLease hold;
  auto staging = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(staging.ok());
  WriteExecutable(fs::path(*staging) / "bin/bash");
  ASSERT_TRUE(store_->AdoptRootfs("std:1", *staging).ok());
  hold = ImageLease();
  ImageLease lease;
  auto image = store_->Resolve("std:1", &lease);
  ASSERT_TRUE(image.ok()) << image.status().message();

  // Replaced under a running build: the build's tree stays.
  auto next = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(next.ok());
  WriteExecutable(fs::path(*next) / "bin/bash");
  ASSERT_TRUE(store_->AdoptRootfs("std:1", *next).ok());
  hold = ImageLease();
  EXPECT_TRUE(fs::exists(fs::path(image->rootfs) / "bin/bash"));
  // Removed: still there while held, even through another collection.
  auto replaced = store_->Resolve("std:1");
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE(store_->Remove("std:1").ok());
  EXPECT_FALSE(fs::exists(replaced->rootfs)) << "nothing holds the newer tree";
  store_->CollectGarbage();
  EXPECT_TRUE(fs::exists(fs::path(image->rootfs) / "bin/bash"));

  // The build ends: the next collection takes the tree and its lock file.
  lease = ImageLease();
  store_->CollectGarbage();
  EXPECT_FALSE(fs::exists(image->rootfs));
  EXPECT_TRUE(fs::is_empty(root_ / "images/rootfs"));
}

TEST_F(ImageStoreTest, CollectsTemporariesNothingFills) {
  // A staging directory stays while its build holds it, and goes once the build is gone.
  ImageLease hold;
  auto staging = store_->CreateStagingDir("std:1", &hold);
  ASSERT_TRUE(staging.ok()) << staging.status().message();
  store_->CollectGarbage();
  EXPECT_TRUE(fs::exists(*staging));
  hold = ImageLease();
  store_->CollectGarbage();
  EXPECT_FALSE(fs::exists(*staging));
  EXPECT_TRUE(fs::is_empty(root_ / "images/rootfs"));

  // An unpack's temporary tree: kept while the unpack holds its digest's lock (shared), removed
  // after it was killed.
  fs::path unpacked = root_ / "images/unpacked";
  fs::path temp = unpacked / "sha256-abc.0123456789ab.tmp";
  fs::create_directories(temp / "rootfs");
  int unpack = ::open((unpacked / "sha256-abc.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(unpack, 0);
  ASSERT_EQ(::flock(unpack, LOCK_SH), 0);
  store_->CollectGarbage();
  EXPECT_TRUE(fs::exists(temp));
  ::close(unpack);
  store_->CollectGarbage();
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(fs::is_empty(unpacked));
}

TEST_F(ImageStoreTest, RefusesLayoutsItCannotReadSafely) {
  fs::path layout = root_ / "layout";
  fs::create_directories(layout / "blobs/sha256");
  std::ofstream(layout / "oci-layout") << R"({"imageLayoutVersion": "1.0.0"})";
  auto write_index = [&](const std::string& digest, const std::string& annotations) {
    std::ofstream(layout / "index.json") << R"({"schemaVersion": 2, "manifests": [{"mediaType":
        "application/vnd.oci.image.manifest.v1+json", "size": 10, "digest": ")" + digest + "\"" + annotations + "}]}";
  };
  // A digest naming a path outside blobs/ is never opened.
  write_index("sha256:../../../etc/passwd", R"(, "annotations": {"org.opencontainers.image.ref.name": "t"})");
  Status traversal = store_->RegisterOciLayout("img", layout.string(), "t");
  EXPECT_EQ(traversal.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(traversal.message(), HasSubstr("no valid digest"));
  // umoci unpacks by tag: an untagged image is refused with the way out.
  write_index("sha256:" + std::string(64, 'a'), "");
  Status untagged = store_->RegisterOciLayout("img", layout.string(), "");
  EXPECT_EQ(untagged.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(untagged.message(), HasSubstr("umoci tag"));
  // A manifest blob that is missing.
  write_index("sha256:" + std::string(64, 'a'), R"(, "annotations": {"org.opencontainers.image.ref.name": "t"})");
  Status missing = store_->RegisterOciLayout("img", layout.string(), "t");
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.message(), HasSubstr("the manifest sha256:aaaa"));
  EXPECT_FALSE(fs::exists(root_ / "images/unpacked"));
  EXPECT_THAT(store_->List(), IsEmpty());
}

class OciLayoutTest : public ImageStoreTest {
 protected:
  void SetUp() override {
    if (!OnPath("umoci")) GTEST_SKIP() << "umoci is not installed (apt-get install umoci; scripts/setup installs it)";
    ImageStoreTest::SetUp();
  }

  // An OCI layout at root_/layout with image tag: busybox as bin/sh, and the given config.
  void MakeLayout(const std::string& tag, const std::string& config_flags) {
    std::string layout = (root_ / "layout").string();
    std::string bundle = (root_ / ("bundle-" + tag)).string();
    std::string rootless = geteuid() == 0 ? "" : " --rootless";
    std::string script = "set -e; cd " + root_.string() + "; [ -d " + layout + " ] || umoci init --layout " + layout +
                         "; umoci new --image " + layout + ":" + tag + "; umoci unpack" + rootless + " --image " + layout +
                         ":" + tag + " " + bundle + "; mkdir -p " + bundle + "/rootfs/bin; cp " + busybox_ + " " + bundle +
                         "/rootfs/bin/busybox; ln -s busybox " + bundle + "/rootfs/bin/sh; umoci repack --image " +
                         layout + ":" + tag + " " + bundle + "; umoci config --image " + layout + ":" + tag + " " +
                         config_flags + "; rm -rf " + bundle;
    ASSERT_EQ(std::system(("(" + script + ") >" + (root_ / "umoci.log").string() + " 2>&1").c_str()), 0)
        << std::ifstream(root_ / "umoci.log").rdbuf();
  }

  std::string busybox_ = fs::exists("/bin/busybox") ? "/bin/busybox" : "/usr/bin/busybox";
};

TEST_F(OciLayoutTest, UnpacksOnceWithTheConfig) {
  ASSERT_TRUE(fs::exists(busybox_)) << "busybox-static is needed (apt-get install busybox-static)";
  MakeLayout("t", "--config.env PATH=/bin --config.env GREETING=hello --config.workingdir /work --config.user 1000:1000");
  std::string layout = (root_ / "layout").string();
  Status s = store_->RegisterOciLayout("my/image:1", layout, "t", {"EXTRA=1", "GREETING=hi"});
  ASSERT_TRUE(s.ok()) << s.message();
  auto image = store_->Resolve("my/image:1");
  ASSERT_TRUE(image.ok()) << image.status().message();
  EXPECT_THAT(image->env, ElementsAre("PATH=/bin", "GREETING=hi", "EXTRA=1"));
  EXPECT_EQ(image->working_dir, "/work");
  EXPECT_EQ(image->user, "1000:1000");
  fs::path rootfs(image->rootfs);
  EXPECT_EQ(rootfs.parent_path().parent_path(), root_ / "images/unpacked");
  EXPECT_THAT(rootfs.parent_path().filename().string(), HasSubstr("sha256-"));
  EXPECT_TRUE(fs::is_symlink(rootfs / "bin/sh"));
  EXPECT_EQ(fs::file_size(rootfs / "bin/busybox"), fs::file_size(busybox_));

  // The same image under another name (and as the layout's only image) reuses the tree.
  struct stat before;
  ASSERT_EQ(::stat((rootfs / "bin/busybox").c_str(), &before), 0);
  ASSERT_TRUE(store_->RegisterOciLayout("other", layout, "").ok());
  auto other = store_->Resolve("other");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->rootfs, image->rootfs);
  struct stat after;
  ASSERT_EQ(::stat((rootfs / "bin/busybox").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);
  EXPECT_THAT(other->env, ElementsAre("PATH=/bin", "GREETING=hello"));
  // No temporary unpack is left (beside the tree: its lock file, which builds hold).
  int trees = 0;
  for (const auto& e : fs::directory_iterator(root_ / "images/unpacked")) trees += e.is_directory() ? 1 : 0;
  EXPECT_EQ(trees, 1);

  // The tree goes with the last name using it.
  ASSERT_TRUE(store_->Remove("my/image:1").ok());
  EXPECT_TRUE(fs::exists(rootfs));
  ASSERT_TRUE(store_->Remove("other").ok());
  EXPECT_FALSE(fs::exists(rootfs.parent_path()));
  EXPECT_TRUE(fs::is_empty(root_ / "images/unpacked"));
}

TEST_F(OciLayoutTest, SaysWhichReferencesALayoutHolds) {
  ASSERT_TRUE(fs::exists(busybox_)) << "busybox-static is needed (apt-get install busybox-static)";
  MakeLayout("a", "--config.env X=1");
  MakeLayout("b", "--config.env X=2");
  std::string layout = (root_ / "layout").string();
  Status missing = store_->RegisterOciLayout("img", layout, "c");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("a, b"));
  EXPECT_EQ(store_->RegisterOciLayout("img", layout, "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->RegisterOciLayout("img", layout, "b").ok());
  EXPECT_THAT(store_->Resolve("img")->env, ElementsAre("X=2"));
  EXPECT_EQ(store_->RegisterOciLayout("img2", (root_ / "bundle-none").string(), "").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gantry::runtime
