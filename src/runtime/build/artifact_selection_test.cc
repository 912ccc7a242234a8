#include "runtime/build/artifact_selection.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST(GlobMatch, MatchesCodeBuildPatterns) {
  struct Case {
    const char* pattern;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"**/*", "a", true},
      {"**/*", "a/b/c.txt", true},
      {"**/*", ".hidden", true},
      {"*", "a", true},
      {"*", "a/b", false},
      {"dir/*", "dir/a", true},
      {"dir/*", "dir/a/b", false},
      {"dir/**/*", "dir/a", true},
      {"dir/**/*", "dir/a/b/c", true},
      {"dir/**/*", "other/a", false},
      {"**/*.jar", "target/app.jar", true},
      {"**/*.jar", "app.jar", true},
      {"**/*.jar", "target/app.war", false},
      {"*/my-file3.txt", "my-subdirectory/my-file3.txt", true},
      {"*/my-file3.txt", "a/b/my-file3.txt", false},
      {"target/app-?.jar", "target/app-1.jar", true},
      {"target/app-[0-9].jar", "target/app-x.jar", false},
      {"./dist/a.js", "dist/a.js", true},
      {"a/**", "a/b/c", true},
      {"a/**/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a/x/y/c", false},
      {"literal", "literal", true},
      {"literal", "literal/more", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.path), c.match) << c.pattern << " vs " << c.path;
  }
}

class SelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gantry-artifacts-test-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    for (const char* file : {"src/README.md", "src/target/app.jar", "src/target/classes/A.class",
                             "src/target/classes/B.class", "src/my-build1/my-file1.txt", "src/my-build2/my-file2.txt",
                             "src/my-build2/my-subdirectory/my-file3.txt", "src/.env", "state/secret"}) {
      fs::create_directories((root_ / file).parent_path());
      std::ofstream(root_ / file) << file;
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<std::string> Paths(const ArtifactSpec& spec) {
    log_.clear();
    sources_.clear();
    std::vector<std::string> paths;
    auto files = SelectArtifactFiles(spec, (root_ / "src").string(), {(root_ / "state").string()}, log_);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    if (!files.ok()) return paths;
    for (const ArtifactFile& file : *files) {
      EXPECT_TRUE(fs::exists(fs::symlink_status(file.source))) << file.source;
      paths.push_back(file.path);
      sources_.push_back(file.source);
    }
    return paths;
  }

  fs::path root_;
  std::vector<std::string> log_;
  std::vector<std::string> sources_;
};

TEST_F(SelectionTest, EverythingRecursively) {
  ArtifactSpec spec;
  spec.files = {"**/*"};
  EXPECT_THAT(Paths(spec), ElementsAre(".env", "README.md", "my-build1/my-file1.txt", "my-build2/my-file2.txt",
                                       "my-build2/my-subdirectory/my-file3.txt", "target/app.jar",
                                       "target/classes/A.class", "target/classes/B.class"));
  EXPECT_THAT(log_, Contains("Found 8 file(s)"));
}

TEST_F(SelectionTest, OneLevelAndLiteralFiles) {
  ArtifactSpec spec;
  spec.files = {"target/*", "README.md", "missing.txt"};
  EXPECT_THAT(Paths(spec), ElementsAre("target/app.jar", "README.md"));
}

TEST_F(SelectionTest, ADirectoryNameTakesEveryFileBelowIt) {
  ArtifactSpec spec;
  spec.files = {"target/classes"};
  EXPECT_THAT(Paths(spec), ElementsAre("target/classes/A.class", "target/classes/B.class"));
}

TEST_F(SelectionTest, BaseDirectoryAndDiscardPaths) {
  ArtifactSpec spec;
  spec.files = {"*/my-file3.txt"};
  spec.base_directory = "my-build2";
  EXPECT_THAT(Paths(spec), ElementsAre("my-subdirectory/my-file3.txt"));

  spec.files = {"**/*"};
  spec.base_directory = "my-build*";
  spec.discard_paths = true;
  EXPECT_THAT(Paths(spec), ElementsAre("my-file1.txt", "my-file2.txt", "my-file3.txt"));
}

TEST_F(SelectionTest, ExcludePathsAreRelativeToTheBaseDirectory) {
  ArtifactSpec spec;
  spec.files = {"**/*"};
  spec.base_directory = "target";
  spec.exclude_paths = {"classes/**/*"};
  EXPECT_THAT(Paths(spec), ElementsAre("app.jar"));
  spec.exclude_paths = {"*.jar", "**/B.class"};
  EXPECT_THAT(Paths(spec), ElementsAre("classes/A.class"));
}

TEST_F(SelectionTest, SymlinksAreFollowedOrKept) {
  fs::create_symlink(root_ / "src/target/app.jar", root_ / "src/link.jar");
  fs::create_directory_symlink(root_ / "src/target/classes", root_ / "src/classes-link");
  ArtifactSpec spec;
  spec.files = {"link.jar", "classes-link/*"};
  EXPECT_THAT(Paths(spec), ElementsAre("link.jar", "classes-link/A.class", "classes-link/B.class"));
  // Followed: the source is the file the link leads to.
  EXPECT_EQ(sources_[0], fs::canonical(root_ / "src/target/app.jar").string());
  spec.enable_symlinks = true;
  spec.files = {"link.jar", "classes-link"};
  EXPECT_THAT(Paths(spec), ElementsAre("link.jar", "classes-link"));
  for (const std::string& source : sources_) EXPECT_TRUE(fs::is_symlink(source)) << source;
}

TEST_F(SelectionTest, FilesResolvingIntoForbiddenPathsAreLeftOut) {
  fs::create_symlink(root_ / "state/secret", root_ / "src/stolen");
  fs::create_directory_symlink(root_ / "state", root_ / "src/state-dir");
  ArtifactSpec spec;
  spec.files = {"stolen", "state-dir/*", "README.md"};
  EXPECT_THAT(Paths(spec), ElementsAre("README.md"));
  EXPECT_THAT(log_, Contains(HasSubstr("Skipping stolen")));
}

TEST_F(SelectionTest, LinksLeadingOutOfTheSourceDirectoryAreLeftOut) {
  std::ofstream(root_ / "outside.txt") << "outside";
  fs::create_directories(root_ / "outside-dir");
  std::ofstream(root_ / "outside-dir/file") << "outside";
  fs::create_symlink("/proc/self/environ", root_ / "src/environ");
  fs::create_symlink(root_ / "outside.txt", root_ / "src/outside.txt");
  fs::create_directory_symlink(root_ / "outside-dir", root_ / "src/outside-dir");
  ArtifactSpec spec;
  spec.files = {"**/*"};
  std::vector<std::string> paths = Paths(spec);
  EXPECT_THAT(paths, Not(Contains("environ")));
  EXPECT_THAT(paths, Not(Contains("outside.txt")));
  EXPECT_THAT(paths, Not(Contains("outside-dir/file")));
  EXPECT_THAT(paths, Contains("README.md"));
  EXPECT_THAT(log_, Contains("Skipping environ: it resolves outside the source directory"));
  EXPECT_THAT(log_, Contains("Skipping outside.txt: it resolves outside the source directory"));
  EXPECT_THAT(log_, Contains("Skipping outside-dir/file: it resolves outside the source directory"));

  // A base-directory that is a link out of the tree selects nothing.
  spec.base_directory = "outside-dir";
  EXPECT_THAT(Paths(spec), IsEmpty());

  // enable-symlinks keeps the links themselves, never what they lead to; a path through a linked
  // directory would read outside and is left out.
  spec.base_directory.clear();
  spec.enable_symlinks = true;
  spec.files = {"environ", "outside.txt", "outside-dir/file"};
  EXPECT_THAT(Paths(spec), ElementsAre("environ", "outside.txt"));
  for (const std::string& source : sources_) EXPECT_TRUE(fs::is_symlink(source)) << source;
  EXPECT_THAT(log_, Contains("Skipping outside-dir/file: it resolves outside the source directory"));
}

TEST_F(SelectionTest, PatternsLeavingTheSourceDirectoryAreRefused) {
  ArtifactSpec spec;
  spec.files = {"README.md", "../state/secret"};
  auto files = SelectArtifactFiles(spec, (root_ / "src").string(), {}, log_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().aws_code(), "CLIENT_ERROR");
  EXPECT_EQ(files.status().message(),
            "artifact files pattern ../state/secret leaves the source directory: '..' is not allowed");
  spec.files = {"target/../../state/*"};
  EXPECT_FALSE(SelectArtifactFiles(spec, (root_ / "src").string(), {}, log_).ok());
  spec.files = {"**/*"};
  spec.base_directory = "target/../..";
  files = SelectArtifactFiles(spec, (root_ / "src").string(), {}, log_);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().message(),
            "artifact base-directory target/../.. leaves the source directory: '..' is not allowed");
  // A name that merely starts with dots is fine.
  std::ofstream(root_ / "src/..notes") << "dots";
  spec.base_directory.clear();
  spec.files = {"..notes"};
  EXPECT_THAT(Paths(spec), ElementsAre("..notes"));
}

TEST_F(SelectionTest, ALoopOfLinksEnds) {
  fs::create_directory_symlink(root_ / "src", root_ / "src/target/loop");
  ArtifactSpec spec;
  spec.files = {"target/**/*.jar"};
  EXPECT_THAT(Paths(spec), ElementsAre("target/app.jar"));
}

TEST_F(SelectionTest, NothingMatched) {
  ArtifactSpec spec;
  spec.files = {"nothing/**/*"};
  EXPECT_THAT(Paths(spec), IsEmpty());
  EXPECT_THAT(log_, Contains("Found 0 file(s)"));
}

}  // namespace
}  // namespace gantry::runtime
