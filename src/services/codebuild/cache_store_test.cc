#include "services/codebuild/cache_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/store/test_support.h"

namespace gantry::services::codebuild {
namespace {

namespace fs = std::filesystem;

void Write(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << content;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool IsLink(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

std::vector<std::string> Names(const std::vector<archive::ZipSourceFile>& files) {
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.path);
  return names;
}

class CacheStoreTest : public ::testing::Test {
 protected:
  // Saves `paths` from the tree rooted at `from` and restores them into the tree rooted at `to`.
  StatusOr<size_t> RoundTrip(const std::vector<std::string>& paths, const CacheTree& from, const CacheTree& to) {
    std::vector<std::string> log;
    GANTRY_ASSIGN_OR_RETURN(auto files, CollectCacheFiles(paths, from, log));
    std::string zip = dir_.File("cache.zip");
    GANTRY_RETURN_IF_ERROR(archive::WriteZipFile(zip, files, true));
    std::string staged = dir_.File("staged");
    fs::remove_all(staged);
    fs::create_directories(staged);
    GANTRY_RETURN_IF_ERROR(archive::ExtractZip(zip, staged));
    return PlaceCacheFiles(staged, to, log_);
  }

  store::testing::ScratchDirectory dir_;
  std::vector<std::string> log_;
};

TEST_F(CacheStoreTest, SourceAndAbsolutePathsComeBackInANewSourceDirectory) {
  // A container build: absolute paths are under its root file system.
  std::string rootfs = dir_.File("rootfs");
  CacheTree first{dir_.File("build1/src"), {rootfs, {dir_.File("build1")}}, {}};
  Write(first.src_dir + "/deps/stamp", "first build");
  Write(first.src_dir + "/deps/sub/a.txt", "a");
  Write(first.src_dir + "/other.txt", "not cached");
  fs::create_symlink("sub/a.txt", first.src_dir + "/deps/link");
  Write(rootfs + "/root/.m2/repository/lib.jar", "jar");

  std::vector<std::string> log;
  auto files = CollectCacheFiles({"deps/**/*", "/root/.m2/**/*"}, first, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  std::vector<std::string> expected = {"src/deps/link", "src/deps/stamp", "src/deps/sub/a.txt",
                                       "abs/root/.m2/repository/lib.jar"};
  EXPECT_EQ(Names(*files), expected);

  std::string zip = dir_.File("cache.zip");
  ASSERT_TRUE(archive::WriteZipFile(zip, *files, true).ok());
  fs::remove_all(rootfs + "/root");
  CacheTree second{dir_.File("build2/src"), {rootfs, {dir_.File("build2")}}, {}};
  fs::create_directories(second.src_dir);
  std::string staged = dir_.File("staged");
  fs::create_directories(staged);
  ASSERT_TRUE(archive::ExtractZip(zip, staged).ok());
  auto placed = PlaceCacheFiles(staged, second, log);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(*placed, 4u);
  EXPECT_EQ(Read(second.src_dir + "/deps/stamp"), "first build");
  EXPECT_EQ(Read(second.src_dir + "/deps/sub/a.txt"), "a");
  EXPECT_TRUE(IsLink(second.src_dir + "/deps/link"));
  EXPECT_EQ(Read(second.src_dir + "/deps/link"), "a");
  EXPECT_FALSE(fs::exists(second.src_dir + "/other.txt"));
  EXPECT_EQ(Read(rootfs + "/root/.m2/repository/lib.jar"), "jar");
}

TEST_F(CacheStoreTest, TheHostSandboxNeitherSavesNorRestoresAbsolutePaths) {
  // Anyone who can write the cache bucket would otherwise write this machine's files as Gantry.
  CacheTree tree{dir_.File("build/src"), {}, {}};
  Write(tree.src_dir + "/deps/a", "a");
  Write(dir_.File("home/.bashrc"), "the host's");
  std::vector<std::string> log;
  auto files = CollectCacheFiles({"deps/**/*", dir_.File("home") + "/**/*"}, tree, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_EQ(Names(*files), std::vector<std::string>{"src/deps/a"});
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("absolute cache paths are not cached in the host sandbox"), std::string::npos) << log[0];

  std::string staged = dir_.File("staged");
  Write(staged + "/src/deps/b", "b");
  Write(staged + "/abs" + dir_.File("home/planted"), "planted");
  Write(staged + "/abs" + dir_.File("etc/cron.d/job"), "planted");
  log.clear();
  auto placed = PlaceCacheFiles(staged, tree, log);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(*placed, 1u);
  EXPECT_EQ(Read(tree.src_dir + "/deps/b"), "b");
  EXPECT_FALSE(fs::exists(dir_.File("home/planted")));
  EXPECT_FALSE(fs::exists(dir_.File("etc")));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("Skipping the cached absolute paths"), std::string::npos) << log[0];
}

TEST_F(CacheStoreTest, TheStateDirectoryIsKnownHoweverItIsSpelled) {
  // The state directory named through a link and through "..": neither read nor written.
  std::string rootfs = dir_.File("rootfs");
  Write(rootfs + "/var/state/gantry.db", "credentials");
  fs::create_directories(rootfs + "/var/other");
  fs::create_symlink(rootfs + "/var/state", dir_.File("state-link"));
  CacheTree tree{dir_.File("build/src"), {rootfs, {dir_.File("build")}},
                 {dir_.File("state-link"), rootfs + "/var/other/../state"}};
  fs::create_directories(tree.src_dir);
  for (const auto& forbidden : {std::vector<std::string>{dir_.File("state-link")},
                                std::vector<std::string>{rootfs + "/var/other/../state"}}) {
    tree.forbidden = forbidden;
    std::vector<std::string> log;
    auto files = CollectCacheFiles({"/var/state/**/*", "/var/**/*", "/**/gantry.db"}, tree, log);
    ASSERT_TRUE(files.ok()) << files.status().message();
    EXPECT_TRUE(files->empty()) << Names(*files).front();
    std::string staged = dir_.File("staged");
    fs::remove_all(staged);
    Write(staged + "/abs/var/state/planted", "planted");
    auto placed = PlaceCacheFiles(staged, tree, log);
    ASSERT_TRUE(placed.ok()) << placed.status().message();
    EXPECT_EQ(*placed, 0u);
    EXPECT_FALSE(fs::exists(rootfs + "/var/state/planted"));
  }
}

TEST_F(CacheStoreTest, KernelFileSystemsAreNeverCached) {
  std::vector<std::string> log;
  // Gantry's own /proc (its environment) through a source directory there, and by absolute paths.
  auto files = CollectCacheFiles({"environ", "status", "**/*"}, CacheTree{"/proc/self", {}, {}}, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_TRUE(files->empty()) << Names(*files).front();
  log.clear();
  CacheTree container{dir_.File("build/src"), {dir_.File("rootfs"), {dir_.File("build")}}, {}};
  Write(dir_.File("rootfs/proc/1/environ"), "x");
  Write(dir_.File("rootfs/sys/x"), "x");
  files = CollectCacheFiles({"/proc/**/*", "/*/x", "/dev/shm/**/*"}, container, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  EXPECT_TRUE(files->empty()) << Names(*files).front();
}

TEST_F(CacheStoreTest, RestoredFilesLoseSetIdBitsAndNeverReplaceALink) {
  CacheTree tree{dir_.File("src"), {}, {}};
  fs::create_directories(tree.src_dir + "/bin");
  Write(dir_.File("target"), "untouched");
  fs::create_symlink(dir_.File("target"), tree.src_dir + "/bin/tool");
  fs::create_symlink(dir_.File("missing"), tree.src_dir + "/bin/dangling");
  std::string staged = dir_.File("staged");
  for (const char* name : {"tool", "dangling", "setuid"}) Write(staged + "/src/bin/" + name, "cached");
  ASSERT_EQ(::chmod((staged + "/src/bin/setuid").c_str(), 04755), 0);
  std::vector<std::string> log;
  auto placed = PlaceCacheFiles(staged, tree, log);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(*placed, 1u);
  EXPECT_EQ(Read(dir_.File("target")), "untouched");
  EXPECT_FALSE(fs::exists(dir_.File("missing")));
  struct stat st;
  ASSERT_EQ(::stat((tree.src_dir + "/bin/setuid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(CacheStoreTest, TheSourceWinsOverTheCache) {
  CacheTree first{dir_.File("b1"), {}, {}};
  Write(first.src_dir + "/deps/stamp", "cached");
  Write(first.src_dir + "/deps/new", "only cached");
  CacheTree second{dir_.File("b2"), {}, {}};
  Write(second.src_dir + "/deps/stamp", "from the source");
  auto placed = RoundTrip({"deps"}, first, second);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(*placed, 1u);
  EXPECT_EQ(Read(second.src_dir + "/deps/stamp"), "from the source");
  EXPECT_EQ(Read(second.src_dir + "/deps/new"), "only cached");
}

TEST_F(CacheStoreTest, DotDotIsRefused) {
  CacheTree tree{dir_.File("src"), {}, {}};
  std::vector<std::string> log;
  auto files = CollectCacheFiles({"deps/../../etc/**/*"}, tree, log);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().aws_code(), "CLIENT_ERROR");
  EXPECT_NE(files.status().message().find("'..' is not allowed"), std::string::npos);
  EXPECT_FALSE(CheckCachePaths({"/root/.m2/../x"}).ok());
  EXPECT_TRUE(CheckCachePaths({"/root/.m2/**/*", "node_modules/**/*", "./vendor/"}).ok());
}

TEST_F(CacheStoreTest, ForbiddenPathsAndLinkedDirectoriesAreNotRead) {
  // A container whose root holds the state directory (as a bind mount would).
  CacheTree tree{dir_.File("src"), {dir_.path(), {dir_.File("src")}}, {dir_.File("state")}};
  Write(dir_.File("state/secret"), "s3cr3t");
  Write(dir_.File("outside/file"), "outside");
  Write(tree.src_dir + "/deps/ok", "ok");
  fs::create_symlink(dir_.File("outside"), tree.src_dir + "/linked");
  fs::create_symlink(dir_.File("outside/file"), tree.src_dir + "/deps/absolute-link");
  fs::create_symlink("../../outside/file", tree.src_dir + "/deps/climbing-link");
  std::vector<std::string> log;
  auto files = CollectCacheFiles({"/state/**/*", "/**/secret", "linked/**/*", "deps"}, tree, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  for (const std::string& name : Names(*files)) {
    EXPECT_EQ(name.find("secret"), std::string::npos) << name;
    EXPECT_EQ(name.find("linked"), std::string::npos) << name;
    EXPECT_EQ(name.find("-link"), std::string::npos) << name;
  }
  EXPECT_EQ(Names(*files).front(), "src/deps/ok");
  std::string joined;
  for (const std::string& line : log) joined += line + "\n";
  EXPECT_NE(joined.find("lies in a directory builds cannot read"), std::string::npos) << joined;
  EXPECT_NE(joined.find("is a symbolic link"), std::string::npos) << joined;
  EXPECT_NE(joined.find("deps/absolute-link: a cached symbolic link must be relative"), std::string::npos) << joined;
  EXPECT_NE(joined.find("deps/climbing-link"), std::string::npos) << joined;
}

TEST_F(CacheStoreTest, PlacingFollowsNoLinkAndKeepsLinksInTheirHalf) {
  CacheTree tree{dir_.File("src"), {}, {dir_.File("state")}};
  fs::create_directories(dir_.File("elsewhere"));
  fs::create_directories(tree.src_dir);
  fs::create_symlink(dir_.File("elsewhere"), tree.src_dir + "/deps");
  std::string staged = dir_.File("staged");
  Write(staged + "/src/deps/planted", "planted");
  Write(staged + "/src/fine/file", "fine");
  fs::create_symlink("../../abs/etc/passwd", staged + "/src/fine/escape");
  Write(staged + "/abs" + dir_.File("state") + "/planted", "planted");
  std::vector<std::string> log;
  auto placed = PlaceCacheFiles(staged, tree, log);
  ASSERT_TRUE(placed.ok()) << placed.status().message();
  EXPECT_EQ(*placed, 1u);
  EXPECT_FALSE(fs::exists(dir_.File("elsewhere/planted")));
  EXPECT_FALSE(fs::exists(dir_.File("state/planted")));
  EXPECT_FALSE(fs::exists(tree.src_dir + "/fine/escape"));
  EXPECT_EQ(Read(tree.src_dir + "/fine/file"), "fine");
}

TEST_F(CacheStoreTest, AContainerBuildsAbsolutePathsAreUnderItsRoot) {
  CacheTree tree{dir_.File("build/src"), {dir_.File("rootfs"), {dir_.File("build")}}, {}};
  fs::create_directories(tree.src_dir);
  Write(dir_.File("rootfs/root/.npm/cached"), "in the container");
  std::vector<std::string> log;
  auto files = CollectCacheFiles({"/root/.npm/**/*"}, tree, log);
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].path, "abs/root/.npm/cached");
  EXPECT_EQ((*files)[0].source, dir_.File("rootfs/root/.npm/cached"));
}

TEST(CacheEntryTest, KeyThenFallbackPrefixesNewestFirst) {
  auto at = [](int s) { return TimePoint(std::chrono::seconds(1000 + s)); };
  std::vector<StoredCacheEntry> entries = {{"npm-main-abc.zip", at(1)},
                                           {"npm-main-def.zip", at(3)},
                                           {"npm-feature-x.zip", at(5)},
                                           {"npm-main-old.zip", at(0)}};
  EXPECT_EQ(ChooseCacheEntry(entries, "npm-main-abc", {"npm-"}, {}), "npm-main-abc.zip");
  EXPECT_EQ(ChooseCacheEntry(entries, "npm-main-new", {"npm-main-", "npm-"}, {}), "npm-main-def.zip");
  EXPECT_EQ(ChooseCacheEntry(entries, "npm-main-new", {"npm-"}, {}), "npm-feature-x.zip");
  EXPECT_EQ(ChooseCacheEntry(entries, "pip", {"pip-"}, {}), std::nullopt);
  // Entries not newer than an invalidation do not count.
  EXPECT_EQ(ChooseCacheEntry(entries, "npm-main-abc", {"npm-main-"}, at(3)), std::nullopt);
  EXPECT_EQ(ChooseCacheEntry(entries, "npm-main-abc", {"npm-"}, at(3)), "npm-feature-x.zip");
}

TEST(CacheEntryTest, NamesAreOneComponentAndKeepPrefixes) {
  EXPECT_EQ(EncodeCacheKey("npm-key_1.2"), "npm-key_1.2");
  EXPECT_EQ(EncodeCacheKey("a/b c"), "a%2Fb%20c");
  // A leading '.' would make the LOCAL store take the entry for a temporary file.
  EXPECT_EQ(EncodeCacheKey(".npm-v1"), "%2Enpm-v1");
  EXPECT_EQ(EncodeCacheKey("."), "%2E");
  EXPECT_EQ(EncodeCacheKey(".."), "%2E.");
  EXPECT_EQ(EncodeCacheKey(".npm-v1").rfind(EncodeCacheKey(".npm-"), 0), 0u);
  std::string key = EncodeCacheKey("feature/x-123");
  EXPECT_EQ(key.rfind(EncodeCacheKey("feature/"), 0), 0u);
  EXPECT_EQ(CacheVersion({"a/**/*", "/b"}), CacheVersion({"/b", "a/**/*"}));
  EXPECT_NE(CacheVersion({"a/**/*"}), CacheVersion({"b/**/*"}));
  EXPECT_EQ(UnkeyedCacheEntry("my project"), "projects/my%20project/cache.zip");
  EXPECT_EQ(KeyedCachePrefix(CacheScopeDir("p", "shared"), "v1"), "namespaces/shared/keys/v1/");
  EXPECT_EQ(KeyedCachePrefix(CacheScopeDir("p", ""), "v1"), "projects/p/keys/v1/");
}

}  // namespace
}  // namespace gantry::services::codebuild
