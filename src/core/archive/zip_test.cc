#include "core/archive/zip.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/store/test_support.h"

namespace gantry::archive {
namespace {

namespace fs = std::filesystem;

void WriteBytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string Zip(const std::vector<ZipEntry>& entries) {
  auto bytes = WriteZip(entries);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

// Rewrites every size field an archive declares (local and central headers) to `size`, leaving
// the compressed data as it is: a zip that lies about what it inflates to.
std::string ForgeSizes(std::string bytes, uint32_t size) {
  for (size_t at = 0; (at = bytes.find("PK\x03\x04", at)) != std::string::npos; at += 4) {
    std::memcpy(&bytes[at + 22], &size, 4);
  }
  for (size_t at = 0; (at = bytes.find("PK\x01\x02", at)) != std::string::npos; at += 4) {
    std::memcpy(&bytes[at + 24], &size, 4);
  }
  return bytes;
}

TEST(ZipTest, RoundTripsFilesModesAndSymlinks) {
  std::string bytes = Zip({{"a/b.txt", "B", 0600, false}, {"link", "a/b.txt", 0777, true}, {"empty", "", 0644, false}});
  auto entries = ReadZip(bytes);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].path, "a/b.txt");
  EXPECT_EQ((*entries)[0].content, "B");
  EXPECT_EQ((*entries)[0].mode, 0600u);
  EXPECT_TRUE((*entries)[1].symlink);
  EXPECT_EQ((*entries)[1].content, "a/b.txt");
  EXPECT_EQ(ReadZip("not a zip").status().message(), "zip: not a valid zip file");
}

TEST(ZipTest, LimitsCountEntriesAndInflatedBytes) {
  std::string big(10000, 'x');
  std::string bytes = Zip({{"a", big, 0644, false}, {"b", big, 0644, false}, {"c", "c", 0644, false}});
  ZipLimits limits;
  limits.max_entries = 2;
  EXPECT_EQ(ReadZip(bytes, limits).status().message(), "zip: the archive has more than 2 entries");
  limits = {};
  limits.max_entry_bytes = 9999;
  EXPECT_EQ(ReadZip(bytes, limits).status().message(), "zip: entry a inflates to more than 9999 bytes");
  limits = {};
  limits.max_total_bytes = 15000;
  EXPECT_EQ(ReadZip(bytes, limits).status().message(), "zip: the archive inflates to more than 15000 bytes");

  store::testing::ScratchDirectory dir;
  WriteBytes(dir.File("big.zip"), bytes);
  fs::create_directories(dir.File("out"));
  limits = {};
  limits.max_total_bytes = 15000;
  EXPECT_FALSE(ExtractZip(dir.File("big.zip"), dir.File("out"), limits).ok());
  EXPECT_LE(fs::file_size(dir.File("out/a")) + (fs::exists(dir.File("out/b")) ? fs::file_size(dir.File("out/b")) : 0),
            15000u + 65536u);
}

TEST(ZipTest, ForgedSizesAreNeitherTrustedNorAllocated) {
  std::string big(200000, 'x');
  // Claims 4 GB: reading allocates only what really inflates, and reports the lie or the limit.
  std::string huge = ForgeSizes(Zip({{"a", big, 0644, false}}), 0xFFFFFFF0u);
  ZipLimits limits;
  limits.max_entry_bytes = 1000;
  auto read = ReadZip(huge, limits);
  EXPECT_FALSE(read.ok());
  // Claims 1 byte: the bytes really inflated still count against the limit.
  std::string tiny = ForgeSizes(Zip({{"a", big, 0644, false}}), 1);
  auto small = ReadZip(tiny, limits);
  EXPECT_FALSE(small.ok());

  store::testing::ScratchDirectory dir;
  WriteBytes(dir.File("ref.zip"), huge);
  auto only = ReadOnlyEntry(dir.File("ref.zip"), "a", 1000);
  EXPECT_FALSE(only.ok());
}

TEST(ZipTest, RefusesEntriesOutsideTheDirectory) {
  for (std::string evil : {"../evil.txt", "a/../../evil.txt", "/etc/evil.txt", "a\\..\\evil.txt"}) {
    SCOPED_TRACE(evil);
    EXPECT_FALSE(SafeZipPath(evil));
    std::string bytes = Zip({{"ok.txt", "fine", 0644, false}, {evil, "bad", 0644, false}});
    EXPECT_EQ(ReadZip(bytes).status().message(), "zip: entry " + evil + " would be written outside its directory");
    store::testing::ScratchDirectory dir;
    WriteBytes(dir.File("evil.zip"), bytes);
    fs::create_directories(dir.File("x/in"));
    EXPECT_FALSE(ExtractZip(dir.File("evil.zip"), dir.File("x/in")).ok());
    EXPECT_FALSE(fs::exists(dir.File("x/evil.txt")));
  }
  EXPECT_TRUE(SafeZipPath("a/./b..c/d"));
}

TEST(ZipTest, SymlinksResolveInsideAndNeverThroughAnotherSymlink) {
  store::testing::ScratchDirectory dir;
  auto extract = [&](const std::string& name, const std::vector<ZipEntry>& entries) {
    WriteBytes(dir.File(name + ".zip"), Zip(entries));
    fs::create_directories(dir.File(name));
    return ExtractZip(dir.File(name + ".zip"), dir.File(name));
  };
  ASSERT_TRUE(extract("ok", {{"data/a.txt", "a", 0644, false}, {"link", "data/a.txt", 0777, true}}).ok());
  EXPECT_TRUE(fs::is_symlink(dir.File("ok/link")));
  EXPECT_EQ(fs::file_size(dir.File("ok/link")), 1u);

  EXPECT_FALSE(extract("up", {{"data/escape", "../../outside", 0777, true}}).ok());
  EXPECT_FALSE(fs::is_symlink(dir.File("up/data/escape")));
  EXPECT_FALSE(extract("abs", {{"escape", "/etc", 0777, true}}).ok());

  // Each link alone stays inside textually; together l1 climbs out: sub/l2 is the root, so
  // sub/l2/.. is its parent.
  Status chained = extract("chain", {{"sub/x", "x", 0644, false},
                                     {"sub/l2", "..", 0777, true},
                                     {"l1", "sub/l2/../outside", 0777, true}});
  EXPECT_FALSE(chained.ok());
  EXPECT_EQ(chained.message(), "zip: symlink l1 points through another symlink");
  EXPECT_FALSE(fs::is_symlink(dir.File("chain/l1")));
  // The same, with the links in the other order.
  EXPECT_FALSE(extract("chain2", {{"l1", "sub/l2/../outside", 0777, true}, {"sub/l2", "..", 0777, true}}).ok());
  EXPECT_FALSE(fs::is_symlink(dir.File("chain2/l1")));
}

TEST(ZipTest, ReadOnlyEntryReadsASingleNamedEntry) {
  store::testing::ScratchDirectory dir;
  WriteBytes(dir.File("one.zip"), Zip({{"ref.json", "{}", 0644, false}}));
  WriteBytes(dir.File("two.zip"), Zip({{"ref.json", "{}", 0644, false}, {"b", "b", 0644, false}}));
  auto one = ReadOnlyEntry(dir.File("one.zip"), "ref.json", 100);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->value_or("none"), "{}");
  auto two = ReadOnlyEntry(dir.File("two.zip"), "ref.json", 100);
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->has_value());
  EXPECT_FALSE(ReadOnlyEntry(dir.File("one.zip"), "ref.json", 1).ok());
}

}  // namespace
}  // namespace gantry::archive
