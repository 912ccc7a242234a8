#include "services/codecommit/commits.h"

#include <gtest/gtest.h>

#include "core/store/test_support.h"

namespace gantry::services::codecommit {
namespace {

using namespace std::chrono_literals;

TEST(PathTest, FilePaths) {
  struct Case {
    const char* path;
    const char* normalized;  // null: refused with code
    const char* code;
  };
  const Case cases[] = {
      {"README.md", "README.md", ""},
      {"/src/app.py", "src/app.py", ""},
      {"a/b/c.txt", "a/b/c.txt", ""},
      {"", nullptr, "PathRequiredException"},
      {"/", nullptr, "InvalidPathException"},
      {"dir/", nullptr, "InvalidPathException"},
      {"a//b", nullptr, "InvalidPathException"},
      {"../etc/passwd", nullptr, "InvalidPathException"},
      {"a/../../b", nullptr, "InvalidPathException"},
      {"./a", nullptr, "InvalidPathException"},
      {".git/config", nullptr, "InvalidPathException"},
      {"sub/.GIT/hooks/x", nullptr, "InvalidPathException"},
  };
  for (const Case& c : cases) {
    auto result = NormalizeFilePath(c.path);
    if (c.normalized) {
      ASSERT_TRUE(result.ok()) << c.path << ": " << result.status().ToString();
      EXPECT_EQ(*result, c.normalized) << c.path;
    } else {
      ASSERT_FALSE(result.ok()) << c.path;
      EXPECT_EQ(result.status().aws_code(), c.code) << c.path;
    }
  }
  EXPECT_EQ(*NormalizeFolderPath("/"), "");
  EXPECT_EQ(*NormalizeFolderPath(""), "");
  EXPECT_EQ(*NormalizeFolderPath("/src/lib/"), "src/lib");
  EXPECT_EQ(NormalizeFolderPath("src/../..").status().aws_code(), "InvalidPathException");
}

TEST(FormatTest, ModesDatesAndBranchNames) {
  git::Init();
  EXPECT_EQ(ModeOctal(GIT_FILEMODE_BLOB), "100644");
  EXPECT_EQ(ModeOctal(GIT_FILEMODE_TREE), "040000");
  EXPECT_EQ(FileModeName(GIT_FILEMODE_BLOB_EXECUTABLE), "EXECUTABLE");
  EXPECT_EQ(*ParseFileMode("SYMLINK"), GIT_FILEMODE_LINK);
  EXPECT_EQ(ParseFileMode("normal").status().aws_code(), "InvalidFileModeException");
  EXPECT_EQ(UserDate(git_time{1484167798, -480, '-'}), "1484167798 -0800");
  EXPECT_EQ(UserDate(git_time{1700000000, 330, '+'}), "1700000000 +0530");
  EXPECT_TRUE(ValidateBranchName("feature/x-1").ok());
  EXPECT_EQ(ValidateBranchName("").aws_code(), "BranchNameRequiredException");
  for (const char* bad : {"a..b", "a b", "-x/..", "x.lock", "a~1", "a:b", "/x"}) {
    EXPECT_EQ(ValidateBranchName(bad).aws_code(), "InvalidBranchNameException") << bad;
  }
}

class EditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = git::InitBare(dir_.File("repo"));
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(*repo);
  }

  static FileEdit Put(std::string path, std::string content) {
    FileEdit e;
    e.path = std::move(path);
    e.content = std::move(content);
    return e;
  }
  static FileEdit Delete(std::string path) {
    FileEdit e;
    e.kind = FileEdit::Kind::kDelete;
    e.path = std::move(path);
    return e;
  }

  // Commits edits on main (the tip as parent) and returns the commit's tree.
  git::Tree CommitEdits(const std::vector<FileEdit>& edits, bool keep_empty = false) {
    auto tip = CheckParent(repo_.get(), "main", tip_, /*parent_required=*/true);
    EXPECT_TRUE(tip.ok()) << tip.status().ToString();
    git::Tree base;
    if (tip->commit) {
      git_tree* t = nullptr;
      git_commit_tree(&t, tip->commit.get());
      base.reset(t);
    }
    auto outcome = ApplyEdits(repo_.get(), base.get(), edits, keep_empty);
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    auto change = CommitOnBranch(repo_.get(), "main", *tip, outcome->tree, {"Dev", "dev@example.com"}, "m",
                                 TimePoint(1700000000s));
    EXPECT_TRUE(change.ok()) << change.status().ToString();
    EXPECT_EQ(change->old_commit_id, tip_);
    tip_ = change->commit_id;
    git_tree* tree = nullptr;
    git_tree_lookup(&tree, repo_.get(), &outcome->tree);
    return git::Tree(tree);
  }

  std::string Error(const git_tree* base, const std::vector<FileEdit>& edits) {
    auto outcome = ApplyEdits(repo_.get(), base, edits, false);
    EXPECT_FALSE(outcome.ok());
    return outcome.ok() ? "" : outcome.status().aws_code();
  }

  bool Has(const git_tree* tree, const char* path) {
    git_tree_entry* entry = nullptr;
    if (git_tree_entry_bypath(&entry, tree, path) != 0) return false;
    git_tree_entry_free(entry);
    return true;
  }

  store::testing::ScratchDirectory dir_;
  git::Repository repo_;
  std::string tip_;
};

TEST_F(EditTest, PutsDeletesMovesAndEmptyFolders) {
  git::Tree first = CommitEdits({Put("a/b/c.txt", "c"), Put("a/d.txt", "d"), Put("top.txt", "t")});
  EXPECT_TRUE(Has(first.get(), "a/b/c.txt"));
  EXPECT_TRUE(Has(first.get(), "top.txt"));

  FileEdit move;
  move.path = "moved/c.txt";
  move.source_path = "a/b/c.txt";
  move.move = true;
  git::Tree second = CommitEdits({move});
  EXPECT_TRUE(Has(second.get(), "moved/c.txt"));
  EXPECT_FALSE(Has(second.get(), "a/b/c.txt"));
  EXPECT_FALSE(Has(second.get(), "a/b"));  // emptied folders go away

  git::Tree third = CommitEdits({Delete("a/d.txt")}, /*keep_empty=*/true);
  EXPECT_TRUE(Has(third.get(), "a/.gitkeep"));

  FileEdit mode;
  mode.kind = FileEdit::Kind::kSetMode;
  mode.path = "top.txt";
  mode.mode = GIT_FILEMODE_BLOB_EXECUTABLE;
  git::Tree fourth = CommitEdits({mode});
  git_tree_entry* entry = nullptr;
  ASSERT_EQ(git_tree_entry_bypath(&entry, fourth.get(), "top.txt"), 0);
  EXPECT_EQ(git_tree_entry_filemode(entry), GIT_FILEMODE_BLOB_EXECUTABLE);
  git_tree_entry_free(entry);
}

TEST_F(EditTest, ConflictsAndMissingFiles) {
  git::Tree tree = CommitEdits({Put("dir/file.txt", "x"), Put("plain", "p")});
  EXPECT_EQ(Error(tree.get(), {Put("dir", "x")}), "FileNameConflictsWithDirectoryNameException");
  EXPECT_EQ(Error(tree.get(), {Put("plain/inner.txt", "x")}), "DirectoryNameConflictsWithFileNameException");
  EXPECT_EQ(Error(tree.get(), {Delete("dir/nope.txt")}), "FileDoesNotExistException");
  EXPECT_EQ(Error(tree.get(), {Delete("nowhere/nope.txt")}), "FileDoesNotExistException");
  EXPECT_EQ(Error(tree.get(), {Delete("dir")}), "FileDoesNotExistException");
  EXPECT_EQ(Error(tree.get(), {Put("a", "1"), Delete("a")}), "SamePathRequestException");
  EXPECT_EQ(Error(tree.get(), {Put("x", "1"), Put("x/y", "2")}), "PutFileEntryConflictException");
  FileEdit copy;
  copy.path = "copy";
  copy.source_path = "absent";
  EXPECT_EQ(Error(tree.get(), {copy}), "FileDoesNotExistException");

  auto same = ApplyEdits(repo_.get(), tree.get(), {Put("plain", "p")}, false);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->unchanged_put);
  EXPECT_TRUE(git_oid_equal(&same->tree, git_tree_id(tree.get())));
}

TEST_F(EditTest, ParentCommitRules) {
  // An empty repository takes a first commit on any branch without a parent.
  EXPECT_TRUE(CheckParent(repo_.get(), "main", "", true).ok());
  CommitEdits({Put("a", "1")});
  EXPECT_EQ(CheckParent(repo_.get(), "main", "", true).status().aws_code(), "ParentCommitIdRequiredException");
  EXPECT_EQ(CheckParent(repo_.get(), "main", "abc", true).status().aws_code(), "InvalidParentCommitIdException");
  EXPECT_EQ(CheckParent(repo_.get(), "main", std::string(40, '1'), true).status().aws_code(),
            "ParentCommitDoesNotExistException");
  EXPECT_EQ(CheckParent(repo_.get(), "other", "", true).status().aws_code(), "BranchDoesNotExistException");
  EXPECT_EQ(CheckParent(repo_.get(), "bad..name", "", true).status().aws_code(), "InvalidBranchNameException");
  std::string old_tip = tip_;
  auto stale = CheckParent(repo_.get(), "main", old_tip, true);
  ASSERT_TRUE(stale.ok());
  CommitEdits({Put("b", "2")});
  EXPECT_EQ(CheckParent(repo_.get(), "main", old_tip, true).status().aws_code(), "ParentCommitIdOutdatedException");
  // A branch that moved between the check and the ref update is not overwritten.
  auto lost = CommitOnBranch(repo_.get(), "main", *stale, *git_commit_tree_id(stale->commit.get()), {"Dev", "d@e"}, "m",
                             TimePoint(1700000000s));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().aws_code(), "ParentCommitIdOutdatedException");
}

TEST_F(EditTest, ResolveCommitSpecifiers) {
  CommitEdits({Put("a", "1")});
  git_reference* tag = nullptr;
  git_oid tip;
  ASSERT_TRUE(git::ParseOid(tip_, tip));
  ASSERT_EQ(git_reference_create(&tag, repo_.get(), "refs/tags/v1", &tip, 0, nullptr), 0);
  git_reference_free(tag);
  for (const std::string& spec : {std::string("main"), std::string("v1"), tip_, tip_.substr(0, 10)}) {
    auto commit = ResolveCommit(repo_.get(), spec);
    ASSERT_TRUE(commit.ok()) << spec;
    EXPECT_EQ(git::OidHex(*git_commit_id(commit->get())), tip_);
  }
  EXPECT_EQ(ResolveCommit(repo_.get(), "nope").status().aws_code(), "CommitDoesNotExistException");
  EXPECT_EQ(ResolveCommit(repo_.get(), "").status().aws_code(), "CommitRequiredException");
  auto head = HeadCommit(repo_.get());
  ASSERT_TRUE(head.ok());
  Document shape = CommitShape(head->get());
  EXPECT_EQ(shape["commitId"], tip_);
  EXPECT_EQ(shape["author"]["date"], "1700000000 +0000");
  EXPECT_EQ(shape["author"]["email"], "dev@example.com");
}

}  // namespace
}  // namespace gantry::services::codecommit
