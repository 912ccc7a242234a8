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
    std::vector<std::string> paths;
    for (const ArtifactFile& file : SelectArtifactFiles(spec, (root_ / "src").string(), {(root_ / "state").string()}, log_)) {
      EXPECT_TRUE(fs::exists(file.source)) << file.source;
      paths.push_back(file.path);
    }
    return paths;
  }

  fs::path root_;
  std::vector<std::string> log_;
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
  spec.enable_symlinks = true;
  spec.files = {"link.jar", "classes-link"};
  EXPECT_THAT(Paths(spec), ElementsAre("link.jar", "classes-link"));
}

TEST_F(SelectionTest, FilesResolvingIntoForbiddenPathsAreLeftOut) {
  fs::create_symlink(root_ / "state/secret", root_ / "src/stolen");
  fs::create_directory_symlink(root_ / "state", root_ / "src/state-dir");
  ArtifactSpec spec;
  spec.files = {"stolen", "state-dir/*", "../state/secret", "README.md"};
  EXPECT_THAT(Paths(spec), ElementsAre("README.md"));
  EXPECT_THAT(log_, Contains(HasSubstr("Skipping stolen")));
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
