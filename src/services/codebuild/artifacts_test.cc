#include "services/codebuild/artifacts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zip.h>

#include <filesystem>
#include <fstream>

#include "core/archive/zip.h"
#include "core/store/test_support.h"

namespace gantry::services::codebuild {
namespace {

namespace fs = std::filesystem;
using aws::Document;

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A zip archive with the given entries (name → content; a content starting with "->" is a symlink).
void MakeZip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(z, nullptr);
  std::vector<std::string> keep;
  keep.reserve(entries.size());
  for (const auto& [name, content] : entries) {
    bool link = content.rfind("->", 0) == 0;
    keep.push_back(link ? content.substr(2) : content);
    zip_source_t* source = zip_source_buffer(z, keep.back().data(), keep.back().size(), 0);
    zip_int64_t index = zip_file_add(z, name.c_str(), source, ZIP_FL_OVERWRITE);
    ASSERT_GE(index, 0) << zip_strerror(z);
    uint32_t mode = link ? (S_IFLNK | 0777) : (S_IFREG | 0755);
    zip_file_set_external_attributes(z, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX, mode << 16);
  }
  ASSERT_EQ(zip_close(z), 0);
}

TEST(ArtifactObjectTest, PathNamespaceAndNameRules) {
  Document a = {{"type", "S3"},
                {"location", "out"},
                {"path", "MyArtifacts"},
                {"namespaceType", "BUILD_ID"},
                {"name", "MyArtifact.zip"}};
  EXPECT_EQ(ArtifactObject(a, "1234", "proj").Arn(), "arn:aws:s3:::out/MyArtifacts/1234/MyArtifact.zip");
  a["namespaceType"] = "NONE";
  EXPECT_EQ(ArtifactObject(a, "1234", "proj").key, "MyArtifacts/MyArtifact.zip");
  a["name"] = "/";
  EXPECT_EQ(ArtifactObject(a, "1234", "proj").key, "MyArtifacts");
  a["namespaceType"] = "BUILD_ID";
  EXPECT_EQ(ArtifactObject(a, "1234", "proj").key, "MyArtifacts/1234");
  Document root = {{"type", "S3"}, {"location", "arn:aws:s3:::out"}, {"name", "/"}};
  EXPECT_EQ(ArtifactObject(root, "1234", "proj").Arn(), "arn:aws:s3:::out");
  // No name: the project's.
  Document unnamed = {{"type", "S3"}, {"location", "out"}};
  EXPECT_EQ(ArtifactObject(unnamed, "1234", "proj").key, "proj");
  // The buildspec's name counts only with overrideArtifactName.
  Document named = {{"type", "S3"}, {"location", "out"}, {"name", "fixed.zip"}};
  EXPECT_EQ(ArtifactObject(named, "1234", "proj", "from-buildspec.zip").key, "fixed.zip");
  named["overrideArtifactName"] = true;
  EXPECT_EQ(ArtifactObject(named, "1234", "proj", "from-buildspec.zip").key, "from-buildspec.zip");
  // s3-prefix replaces the path under BUILD_ID.
  Document prefixed = {
      {"type", "S3"}, {"location", "out"}, {"path", "p"}, {"namespaceType", "BUILD_ID"}, {"name", "n"}};
  EXPECT_EQ(ArtifactObject(prefixed, "1234", "proj", "", "pre/fix").key, "pre/fix/1234/n");
}

TEST(ArtifactObjectTest, ParsesLocations) {
  S3Object o = ParseS3Location("arn:aws:s3:::bucket/a/b.zip");
  EXPECT_EQ(o.bucket, "bucket");
  EXPECT_EQ(o.key, "a/b.zip");
  o = ParseS3Location("bucket");
  EXPECT_EQ(o.bucket, "bucket");
  EXPECT_EQ(o.key, "");
}

TEST(ZipTest, WritesAndExtractsFilesWithModes) {
  store::testing::ScratchDirectory dir;
  Write(fs::path(dir.path()) / "src/bin/run.sh", "#!/bin/sh\necho hi\n");
  ::chmod((dir.path() + "/src/bin/run.sh").c_str(), 0755);
  Write(fs::path(dir.path()) / "src/readme.txt", "hello");
  std::vector<runtime::ArtifactFile> files = {{dir.path() + "/src/bin/run.sh", "bin/run.sh"},
                                              {dir.path() + "/src/readme.txt", "readme.txt"}};
  std::string zip = dir.path() + "/out.zip";
  ASSERT_TRUE(WriteZip(zip, files, false).ok());
  auto digests = DigestFile(zip);
  ASSERT_TRUE(digests.ok());
  EXPECT_EQ(digests->md5.size(), 32u);
  EXPECT_EQ(digests->sha256.size(), 64u);

  fs::create_directories(dir.path() + "/x");
  ASSERT_TRUE(archive::ExtractZip(zip, dir.path() + "/x").ok());
  EXPECT_EQ(Read(dir.path() + "/x/readme.txt"), "hello");
  EXPECT_EQ(Read(dir.path() + "/x/bin/run.sh"), "#!/bin/sh\necho hi\n");
  struct stat st;
  ASSERT_EQ(::stat((dir.path() + "/x/bin/run.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
}

TEST(ZipTest, RefusesEntriesOutsideTheDirectory) {
  store::testing::ScratchDirectory dir;
  for (std::string evil : {"../evil.txt", "/etc/evil.txt", "a/../../evil.txt"}) {
    SCOPED_TRACE(evil);
    std::string zip = dir.path() + "/evil.zip";
    MakeZip(zip, {{"ok.txt", "fine"}, {evil, "bad"}});
    fs::create_directories(dir.path() + "/x/in");
    Status s = archive::ExtractZip(zip, dir.path() + "/x/in");
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("outside its directory"), std::string::npos) << s.message();
    EXPECT_FALSE(fs::exists(dir.path() + "/x/evil.txt"));
  }
  // A symlink may point inside, not outside.
  std::string zip = dir.path() + "/links.zip";
  MakeZip(zip, {{"data/a.txt", "a"}, {"link", "->data/a.txt"}});
  fs::create_directories(dir.path() + "/ok");
  ASSERT_TRUE(archive::ExtractZip(zip, dir.path() + "/ok").ok());
  EXPECT_EQ(Read(dir.path() + "/ok/link"), "a");
  MakeZip(zip, {{"data/a.txt", "a"}, {"data/escape", "->../../outside"}});
  fs::create_directories(dir.path() + "/bad");
  EXPECT_FALSE(archive::ExtractZip(zip, dir.path() + "/bad").ok());
  EXPECT_FALSE(fs::is_symlink(dir.path() + "/bad/data/escape"));
  // Not a zip at all.
  Write(dir.path() + "/not.zip", "plain text");
  EXPECT_EQ(archive::ExtractZip(dir.path() + "/not.zip", dir.path() + "/ok").message(), "zip: not a valid zip file");
}

TEST(GzipTest, CompressesReadably) {
  store::testing::ScratchDirectory dir;
  Write(dir.path() + "/log", "line 1\nline 2\n");
  ASSERT_TRUE(GzipFile(dir.path() + "/log", dir.path() + "/log.gz").ok());
  std::string gz = Read(dir.path() + "/log.gz");
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
}

}  // namespace
}  // namespace gantry::services::codebuild
