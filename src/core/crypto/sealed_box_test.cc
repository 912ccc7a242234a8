#include "core/crypto/sealed_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/store/test_support.h"

namespace gantry::crypto {
namespace {

SealedBox Box(char fill = 'k') {
  auto box = SealedBox::FromKey(std::string(kMasterKeyBytes, fill));
  EXPECT_TRUE(box.ok());
  return *box;
}

TEST(SealedBoxTest, RoundTripsAndUsesAFreshNonceEachTime) {
  SealedBox box = Box();
  auto a = box.Seal("hunter2", "ctx");
  auto b = box.Seal("hunter2", "ctx");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find("hunter2"), std::string::npos);
  EXPECT_EQ(a->size(), 1 + 12 + 7 + 16u);
  EXPECT_EQ((*a)[0], '\x01');
  auto opened = box.Open(*a, "ctx");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "hunter2");
  auto empty = box.Seal("", "ctx");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*box.Open(*empty, "ctx"), "");
}

TEST(SealedBoxTest, RejectsTamperingOtherContextsAndOtherKeys) {
  SealedBox box = Box();
  std::string sealed = *box.Seal("value", "secret-a/v1");
  EXPECT_FALSE(box.Open(sealed, "secret-b/v1").ok());
  EXPECT_FALSE(Box('x').Open(sealed, "secret-a/v1").ok());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(box.Open(flipped, "secret-a/v1").ok()) << "byte " << i;
  }
  EXPECT_FALSE(box.Open(sealed.substr(0, 10), "secret-a/v1").ok());
  EXPECT_FALSE(SealedBox::FromKey("short").ok());
}

TEST(SealedBoxTest, KeyFileIsCreatedPrivateOnceAndReused) {
  store::testing::ScratchDirectory dir;
  std::string path = MasterKeyPath(dir.path());
  auto first = SealedBox::OpenOrCreate(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, static_cast<off_t>(kMasterKeyBytes));
  std::string sealed = *first->Seal("persisted", "c");
  auto second = SealedBox::OpenOrCreate(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second->Open(sealed, "c"), "persisted");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "master.key") << "left behind: " << entry.path();
  }
}

TEST(SealedBoxTest, RefusesKeyFilesOthersCanReadOrThatAreMalformed) {
  store::testing::ScratchDirectory dir;
  std::string path = MasterKeyPath(dir.path());
  ASSERT_TRUE(SealedBox::OpenOrCreate(path).ok());
  ::chmod(path.c_str(), 0644);
  auto open = SealedBox::OpenOrCreate(path);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  { std::ofstream(path, std::ios::trunc) << "too short"; }
  EXPECT_FALSE(SealedBox::OpenOrCreate(path).ok());
}

}  // namespace
}  // namespace gantry::crypto
