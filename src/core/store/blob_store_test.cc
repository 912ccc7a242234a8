#include "core/store/blob_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/store/test_support.h"

namespace gantry::store {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto opened = BlobStore::Open(dir_.File("blobs"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    blobs_ = std::make_unique<BlobStore>(std::move(opened).value());
  }

  testing::ScratchDirectory dir_;
  std::unique_ptr<BlobStore> blobs_;
};

TEST(SafeJoinTest, AcceptsPlainRelativePaths) {
  EXPECT_EQ(*SafeJoin("/state/blobs", "a"), "/state/blobs/a");
  EXPECT_EQ(*SafeJoin("/state/blobs/", "a/b/c.txt"), "/state/blobs/a/b/c.txt");
  EXPECT_EQ(*SafeJoin("/", "a"), "/a");
  for (const char* ok : {"...", "a..b", "..a", "a..", ".hidden", "a/.b", "sp ace", "back\\slash",
                         "\xc3\xa9t\xc3\xa9", "a:b", "-rf"}) {
    EXPECT_TRUE(SafeJoin("/r", ok).ok()) << ok;
  }
  EXPECT_TRUE(SafeJoin("/r", std::string(255, 'x')).ok());
}

TEST(SafeJoinTest, RefusesPathsThatEscapeOrAreNotCanonical) {
  const std::vector<std::string> hostile = {
      "",
      ".",
      "..",
      "../etc/passwd",
      "a/../../etc/passwd",
      "a/..",
      "a/../b",
      "./a",
      "a/./b",
      "/etc/passwd",
      "//etc/passwd",
      "a//b",
      "a/",
      "/",
      std::string("a\0/../../x", 10),
      std::string("a\0", 2),
      std::string(256, 'x'),
      "a/" + std::string(256, 'y') + "/b",
  };
  std::string too_long;  // components of 200 bytes, 5000+ bytes in all
  for (int i = 0; i < 25; ++i) too_long += std::string(200, 'z') + (i < 24 ? "/" : "");
  EXPECT_TRUE(SafeJoin("/r", too_long.substr(0, 2000)).ok());
  EXPECT_EQ(SafeJoin("/r", too_long).status().code(), StatusCode::kInvalidArgument);
  for (const std::string& path : hostile) {
    auto joined = SafeJoin("/r", path);
    EXPECT_FALSE(joined.ok()) << "accepted '" << path << "' as " << joined.value();
    if (!joined.ok()) {
      EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(SafeJoin("", "a").ok());
}

TEST(SafeJoinTest, ErrorMessageShowsNulEscaped) {
  auto joined = SafeJoin("/r", std::string("a\0b", 3));
  ASSERT_FALSE(joined.ok());
  EXPECT_NE(joined.status().message().find("a\\x00b"), std::string::npos)
      << joined.status().message();
}

TEST_F(BlobStoreTest, WriteReadRemove) {
  EXPECT_FALSE(blobs_->Exists("a/b/c"));
  ASSERT_TRUE(blobs_->WriteAtomic("a/b/c", "hello").ok());
  EXPECT_TRUE(blobs_->Exists("a/b/c"));
  EXPECT_FALSE(blobs_->Exists("a/b"));  // a directory is not a blob
  EXPECT_EQ(*blobs_->Read("a/b/c"), "hello");

  ASSERT_TRUE(blobs_->WriteAtomic("a/b/c", "replaced").ok());
  EXPECT_EQ(*blobs_->Read("a/b/c"), "replaced");

  std::string binary("\0\x01\xff data", 8);
  ASSERT_TRUE(blobs_->WriteAtomic("bin", binary).ok());
  EXPECT_EQ(*blobs_->Read("bin"), binary);
  ASSERT_TRUE(blobs_->WriteAtomic("empty", "").ok());
  EXPECT_EQ(*blobs_->Read("empty"), "");
  std::string large(3 * 1024 * 1024 + 17, 'L');
  ASSERT_TRUE(blobs_->WriteAtomic("large", large).ok());
  EXPECT_EQ(*blobs_->Read("large"), large);

  EXPECT_TRUE(*blobs_->Remove("a/b/c"));
  EXPECT_FALSE(*blobs_->Remove("a/b/c"));
  EXPECT_FALSE(blobs_->Exists("a/b/c"));
  EXPECT_EQ(blobs_->Read("a/b/c").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(blobs_->Read("a/b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(blobs_->Read("nothing/here").status().code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, FilesArePrivateAndNoTempFilesRemain) {
  ASSERT_TRUE(blobs_->WriteAtomic("d/e/f", "x").ok());
  struct stat st {};
  ASSERT_EQ(::stat((blobs_->root() + "/d/e/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((blobs_->root() + "/d/e").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  int entries = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(blobs_->root())) {
    EXPECT_EQ(entry.path().filename().string().find(".gantry-tmp-"), std::string::npos);
    ++entries;
  }
  EXPECT_EQ(entries, 3);
}

TEST_F(BlobStoreTest, RefusesHostileAndReservedPaths) {
  for (const char* path : {"../escape", "/etc/passwd", "a/../../b", "a//b", ".gantry-tmp-abc",
                           "a/.gantry-tmp-x/b"}) {
    EXPECT_EQ(blobs_->WriteAtomic(path, "x").code(), StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(blobs_->Read(path).status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(blobs_->Remove(path).status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(blobs_->CreateTempFile(path).status().code(), StatusCode::kInvalidArgument) << path;
    EXPECT_FALSE(blobs_->Exists(path)) << path;
    EXPECT_FALSE(blobs_->AbsolutePath(path).ok()) << path;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.File("escape")));
  EXPECT_TRUE(blobs_->WriteAtomic("x.gantry-tmp-", "fine: not a prefix").ok());
}

TEST_F(BlobStoreTest, FileInTheWayOfADirectory) {
  ASSERT_TRUE(blobs_->WriteAtomic("a", "file").ok());
  Status status = blobs_->WriteAtomic("a/b", "x");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  EXPECT_EQ(blobs_->Read("a/b").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(blobs_->WriteAtomic("d/x", "x").ok());
  EXPECT_EQ(blobs_->WriteAtomic("d", "x").code(), StatusCode::kFailedPrecondition);
}

TEST_F(BlobStoreTest, StreamedUploadThroughTempFile) {
  auto temp = blobs_->CreateTempFile("uploads/part");
  ASSERT_TRUE(temp.ok()) << temp.status().ToString();
  EXPECT_EQ(std::filesystem::path(*temp).parent_path(), blobs_->root() + "/uploads");
  {
    std::ofstream out(*temp, std::ios::binary);
    out << "streamed " << 42;
  }
  EXPECT_FALSE(blobs_->Exists("uploads/part"));
  ASSERT_TRUE(blobs_->MoveInto(*temp, "uploads/part").ok());
  EXPECT_EQ(*blobs_->Read("uploads/part"), "streamed 42");
  EXPECT_FALSE(std::filesystem::exists(*temp));

  EXPECT_EQ(blobs_->MoveInto(*temp, "uploads/other").code(), StatusCode::kNotFound);
}

TEST_F(BlobStoreTest, AbsolutePathIsUnderRoot) {
  auto path = blobs_->AbsolutePath("x/y");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, blobs_->root() + "/x/y");
  EXPECT_TRUE(std::filesystem::path(blobs_->root()).is_absolute());
}

TEST_F(BlobStoreTest, RemoveStaleTempFiles) {
  ASSERT_TRUE(blobs_->WriteAtomic("keep/me", "x").ok());
  ASSERT_TRUE(blobs_->CreateTempFile("keep/abandoned").ok());
  ASSERT_TRUE(blobs_->CreateTempFile("top").ok());
  auto removed = blobs_->RemoveStaleTempFiles();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2);
  EXPECT_EQ(*blobs_->Read("keep/me"), "x");
  EXPECT_EQ(*blobs_->RemoveStaleTempFiles(), 0);
}

TEST_F(BlobStoreTest, ConcurrentWritersOfOneBlobNeverTear) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string content(64 * 1024, static_cast<char>('a' + t));
      for (int i = 0; i < 20; ++i) ASSERT_TRUE(blobs_->WriteAtomic("shared", content).ok());
    });
  }
  for (int i = 0; i < 50; ++i) {
    auto data = blobs_->Read("shared");
    if (!data.ok()) continue;  // not written yet
    ASSERT_EQ(data->size(), 64u * 1024);
    EXPECT_EQ(data->find_first_not_of((*data)[0]), std::string::npos);
  }
  for (auto& th : threads) th.join();
}

TEST(BlobStoreOpenTest, CreatesRootAndParents) {
  testing::ScratchDirectory dir;
  auto blobs = BlobStore::Open(dir.File("a/b/c/"));
  ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
  EXPECT_EQ(blobs->root(), dir.File("a/b/c"));
  EXPECT_TRUE(std::filesystem::is_directory(dir.File("a/b/c")));
  std::ofstream(dir.File("file")) << "x";
  EXPECT_FALSE(BlobStore::Open(dir.File("file")).ok());
  EXPECT_FALSE(BlobStore::Open("").ok());
}

std::string Content(int i) { return std::to_string(i) + ":" + std::string(8192, static_cast<char>('a' + i % 26)); }

// Acknowledged blobs survive kill -9, and no blob is ever seen torn: a file under its final name
// is always complete.
TEST(BlobStoreCrashTest, AcknowledgedWritesSurviveKill9) {
  testing::ScratchDirectory dir;
  std::string root = dir.File("blobs");
  constexpr int kKillAfter = 200;
  int acknowledged = testing::RunChildAndKill(
      [&](const std::function<void()>& acknowledge) {
        auto blobs = BlobStore::Open(root);
        if (!blobs.ok()) ::_exit(2);
        for (int i = 0;; ++i) {
          if (!blobs->WriteAtomic("objects/" + std::to_string(i % 7) + "/" + std::to_string(i),
                                  Content(i)).ok()) {
            ::_exit(3);
          }
          if (!blobs->WriteAtomic("latest", Content(i)).ok()) ::_exit(3);
          acknowledge();
        }
      },
      kKillAfter);
  ASSERT_GE(acknowledged, kKillAfter);

  auto blobs = BlobStore::Open(root);
  ASSERT_TRUE(blobs.ok());
  for (int i = 0; i < acknowledged; ++i) {
    auto data = blobs->Read("objects/" + std::to_string(i % 7) + "/" + std::to_string(i));
    ASSERT_TRUE(data.ok()) << "acknowledged blob " << i << " lost: " << data.status().ToString();
    ASSERT_EQ(*data, Content(i));
  }
  auto latest = blobs->Read("latest");
  ASSERT_TRUE(latest.ok());
  int index = std::stoi(*latest);
  EXPECT_GE(index, acknowledged - 1);
  EXPECT_EQ(*latest, Content(index));
  auto extra = blobs->Read("objects/" + std::to_string(acknowledged % 7) + "/" +
                           std::to_string(acknowledged));
  if (extra.ok()) {
    EXPECT_EQ(*extra, Content(acknowledged));
  }
  EXPECT_FALSE(blobs->Exists("objects/" + std::to_string((acknowledged + 1) % 7) + "/" +
                             std::to_string(acknowledged + 1)));
  ASSERT_TRUE(blobs->RemoveStaleTempFiles().ok());
}

}  // namespace
}  // namespace gantry::store
