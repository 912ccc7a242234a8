#include "services/codecommit/merge.h"

#include <gtest/gtest.h>

#include <map>

#include "core/store/test_support.h"

namespace gantry::services::codecommit {
namespace {

// A file in a test commit: content and git mode.
struct File {
  std::string content;
  uint32_t mode = GIT_FILEMODE_BLOB;
};
using Files = std::map<std::string, File>;

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto repo = git::InitBare(dir_.File("repo.git"));
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
  }

  git_oid Commit(const Files& files, const std::vector<git_oid>& parents, const std::string& message = "c") {
    git_index* raw_index = nullptr;
    EXPECT_EQ(git_index_new(&raw_index), 0);
    git::Index index(raw_index);
    for (const auto& [path, file] : files) {
      git_oid blob;
      EXPECT_EQ(git_blob_create_from_buffer(&blob, repo_.get(), file.content.data(), file.content.size()), 0);
      git_index_entry entry{};
      entry.path = path.c_str();
      entry.mode = file.mode;
      entry.id = blob;
      EXPECT_EQ(git_index_add(index.get(), &entry), 0) << path;
    }
    git_oid tree_id;
    EXPECT_EQ(git_index_write_tree_to(&tree_id, index.get(), repo_.get()), 0);
    git_tree* raw_tree = nullptr;
    EXPECT_EQ(git_tree_lookup(&raw_tree, repo_.get(), &tree_id), 0);
    git::Tree tree(raw_tree);
    std::vector<git::Commit> owned;
    std::vector<const git_commit*> parent_ptrs;
    for (const git_oid& parent : parents) {
      git_commit* raw = nullptr;
      EXPECT_EQ(git_commit_lookup(&raw, repo_.get(), &parent), 0);
      owned.emplace_back(raw);
      parent_ptrs.push_back(raw);
    }
    git_signature* raw_sig = nullptr;
    EXPECT_EQ(git_signature_new(&raw_sig, "Tester", "tester@example.com", 1700000000 + (counter_++), 0), 0);
    git::Signature sig(raw_sig);
    git_oid id;
    EXPECT_EQ(git_commit_create(&id, repo_.get(), nullptr, sig.get(), sig.get(), nullptr, message.c_str(), tree.get(),
                                parent_ptrs.size(), parent_ptrs.data()),
              0);
    return id;
  }

  MergeAnalysis Analyze(const git_oid& source, const git_oid& destination,
                        ConflictDetailLevel level = ConflictDetailLevel::kFileLevel,
                        ConflictResolutionStrategy strategy = ConflictResolutionStrategy::kNone) {
    auto analysis = AnalyzeMerge(repo_.get(), source, destination, level, strategy);
    EXPECT_TRUE(analysis.ok()) << analysis.status().ToString();
    return analysis.ok() ? std::move(analysis).value() : MergeAnalysis{};
  }

  CommitInfo Info(const std::string& message = "merge") {
    CommitInfo info;
    info.author_name = "Mary Major";
    info.email = "mary@example.com";
    info.message = message;
    info.time = TimePoint(std::chrono::seconds(1800000000));
    return info;
  }

  // The files of a commit's tree: path -> content, with modes in modes_.
  Files TreeFiles(const git_oid& commit_id) {
    Files out;
    git_commit* raw = nullptr;
    EXPECT_EQ(git_commit_lookup(&raw, repo_.get(), &commit_id), 0);
    git::Commit commit(raw);
    git_tree* raw_tree = nullptr;
    EXPECT_EQ(git_commit_tree(&raw_tree, commit.get()), 0);
    git::Tree tree(raw_tree);
    struct Walk {
      git_repository* repo;
      Files* out;
    } walk{repo_.get(), &out};
    git_tree_walk(
        tree.get(), GIT_TREEWALK_PRE,
        [](const char* root, const git_tree_entry* entry, void* payload) -> int {
          auto* w = static_cast<Walk*>(payload);
          if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) return 0;
          git_blob* blob = nullptr;
          git_blob_lookup(&blob, w->repo, git_tree_entry_id(entry));
          File f{std::string(static_cast<const char*>(git_blob_rawcontent(blob)), git_blob_rawsize(blob)),
                 git_tree_entry_filemode_raw(entry)};
          git_blob_free(blob);
          (*w->out)[std::string(root) + git_tree_entry_name(entry)] = f;
          return 0;
        },
        &walk);
    return out;
  }

  unsigned int ParentCount(const git_oid& commit_id) {
    git_commit* raw = nullptr;
    EXPECT_EQ(git_commit_lookup(&raw, repo_.get(), &commit_id), 0);
    git::Commit commit(raw);
    return git_commit_parentcount(commit.get());
  }

  store::testing::ScratchDirectory dir_;
  git::Repository repo_;
  int counter_ = 0;
};

const std::string kTen = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";

TEST_F(MergeTest, FastForwardWhenDestinationIsAnAncestor) {
  git_oid base = Commit({{"a.txt", {"a\n"}}}, {});
  git_oid source = Commit({{"a.txt", {"a\n"}}, {"b.txt", {"b\n"}}}, {base});
  MergeAnalysis analysis = Analyze(source, base);
  EXPECT_TRUE(analysis.fast_forward);
  EXPECT_FALSE(analysis.up_to_date);
  ASSERT_TRUE(analysis.base);
  EXPECT_TRUE(git_oid_equal(&*analysis.base, &base));
  EXPECT_TRUE(Mergeable(analysis, MergeOption::kFastForward));
  auto outcome = Merge(repo_.get(), analysis, MergeOption::kFastForward, {}, Info());
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(git_oid_equal(&outcome->commit, &source));
  EXPECT_FALSE(outcome->created);
}

TEST_F(MergeTest, DivergedBranchesMergeByThreeWayAndSquashButNotFastForward) {
  git_oid base = Commit({{"a.txt", {"a\n"}}}, {});
  git_oid destination = Commit({{"a.txt", {"a\n"}}, {"d.txt", {"d\n"}}}, {base});
  git_oid source = Commit({{"a.txt", {"a\n"}}, {"s.txt", {"s\n"}}}, {base});
  MergeAnalysis analysis = Analyze(source, destination);
  EXPECT_FALSE(analysis.fast_forward);
  EXPECT_TRUE(analysis.conflicts.empty());
  EXPECT_FALSE(Mergeable(analysis, MergeOption::kFastForward));
  EXPECT_TRUE(Mergeable(analysis, MergeOption::kThreeWay));
  EXPECT_TRUE(Mergeable(analysis, MergeOption::kSquash));

  auto ff = Merge(repo_.get(), analysis, MergeOption::kFastForward, {}, Info());
  ASSERT_FALSE(ff.ok());
  EXPECT_EQ(ff.status().aws_code(), "ManualMergeRequiredException");

  auto three_way = Merge(repo_.get(), analysis, MergeOption::kThreeWay, {}, Info("three-way"));
  ASSERT_TRUE(three_way.ok()) << three_way.status().ToString();
  EXPECT_TRUE(three_way->created);
  EXPECT_EQ(ParentCount(three_way->commit), 2u);
  Files merged = TreeFiles(three_way->commit);
  EXPECT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged["s.txt"].content, "s\n");
  EXPECT_EQ(merged["d.txt"].content, "d\n");

  MergeAnalysis again = Analyze(source, destination);
  auto squash = Merge(repo_.get(), again, MergeOption::kSquash, {}, Info("squash"));
  ASSERT_TRUE(squash.ok()) << squash.status().ToString();
  EXPECT_EQ(ParentCount(squash->commit), 1u);
  EXPECT_TRUE(git_oid_equal(&squash->tree, &three_way->tree));
  git_commit* raw = nullptr;
  ASSERT_EQ(git_commit_lookup(&raw, repo_.get(), &squash->commit), 0);
  git::Commit commit(raw);
  EXPECT_STREQ(git_commit_message(commit.get()), "squash");
  EXPECT_STREQ(git_commit_author(commit.get())->name, "Mary Major");
  EXPECT_STREQ(git_commit_author(commit.get())->email, "mary@example.com");
  EXPECT_EQ(git_commit_time(commit.get()), 1800000000);
  EXPECT_TRUE(git_oid_equal(git_commit_parent_id(commit.get(), 0), &destination));
}

TEST_F(MergeTest, SourceAlreadyInDestinationMergesToDestination) {
  git_oid base = Commit({{"a.txt", {"a\n"}}}, {});
  git_oid destination = Commit({{"a.txt", {"b\n"}}}, {base});
  MergeAnalysis analysis = Analyze(base, destination);
  EXPECT_TRUE(analysis.up_to_date);
  for (MergeOption option : {MergeOption::kFastForward, MergeOption::kSquash, MergeOption::kThreeWay}) {
    EXPECT_TRUE(Mergeable(analysis, option));
    auto outcome = Merge(repo_.get(), analysis, option, {}, Info());
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
    EXPECT_TRUE(git_oid_equal(&outcome->commit, &destination));
    EXPECT_FALSE(outcome->created);
  }
}

TEST_F(MergeTest, FileLevelSeesEveryFileChangedOnBothSidesLineLevelOnlyOverlaps) {
  git_oid base = Commit({{"n.txt", {kTen}}}, {});
  git_oid destination = Commit({{"n.txt", {"one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"}}}, {base});
  git_oid source = Commit({{"n.txt", {"1\n2\n3\n4\n5\n6\n7\n8\n9\nten\n"}}}, {base});

  MergeAnalysis file_level = Analyze(source, destination, ConflictDetailLevel::kFileLevel);
  ASSERT_EQ(file_level.conflicts.size(), 1u);
  const FileConflict& c = file_level.conflicts[0];
  EXPECT_EQ(c.path, "n.txt");
  EXPECT_TRUE(c.content_conflict);
  EXPECT_FALSE(c.file_mode_conflict);
  EXPECT_FALSE(c.object_type_conflict);
  EXPECT_EQ(c.source_operation, "M");
  EXPECT_EQ(c.destination_operation, "M");
  EXPECT_EQ(c.number_of_conflicts, 1);
  EXPECT_EQ(c.source.file_mode, "NORMAL");
  EXPECT_EQ(c.source.object_type, "FILE");
  EXPECT_EQ(c.base.size, static_cast<int64_t>(kTen.size()));
  EXPECT_FALSE(Mergeable(file_level, MergeOption::kThreeWay));
  auto refused = Merge(repo_.get(), file_level, MergeOption::kThreeWay, {}, Info());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().aws_code(), "ManualMergeRequiredException");

  MergeAnalysis line_level = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  EXPECT_TRUE(line_level.conflicts.empty());

  MergeAnalysis automerge =
      Analyze(source, destination, ConflictDetailLevel::kFileLevel, ConflictResolutionStrategy::kAutomerge);
  EXPECT_TRUE(automerge.conflicts.empty());
  auto merged = Merge(repo_.get(), automerge, MergeOption::kThreeWay, {}, Info());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(TreeFiles(merged->commit)["n.txt"].content, "one\n2\n3\n4\n5\n6\n7\n8\n9\nten\n");
}

TEST_F(MergeTest, OverlappingEditsConflictAndStrategiesResolveThem) {
  git_oid base = Commit({{"n.txt", {kTen}}}, {});
  git_oid destination = Commit({{"n.txt", {"1\nD2\n3\n4\n5\n6\n7\nD8\n9\n10\n"}}}, {base});
  git_oid source = Commit({{"n.txt", {"1\nS2\n3\n4\n5\n6\n7\nS8\n9\nS10\n"}}}, {base});

  MergeAnalysis line_level = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  ASSERT_EQ(line_level.conflicts.size(), 1u);
  EXPECT_TRUE(line_level.conflicts[0].content_conflict);
  EXPECT_EQ(line_level.conflicts[0].number_of_conflicts, 2);

  MergeAnalysis automerge =
      Analyze(source, destination, ConflictDetailLevel::kLineLevel, ConflictResolutionStrategy::kAutomerge);
  EXPECT_EQ(automerge.conflicts.size(), 1u);

  // LINE_LEVEL + ACCEPT_SOURCE: source wins the conflicting hunks; destination's other edits stay.
  git_oid destination2 = Commit({{"n.txt", {"1\nD2\n3\n4\nD5\n6\n7\n8\n9\n10\n"}}}, {base});
  MergeAnalysis accept_source = Analyze(source, destination2, ConflictDetailLevel::kLineLevel,
                                        ConflictResolutionStrategy::kAcceptSource);
  EXPECT_TRUE(accept_source.conflicts.empty());
  auto merged = Merge(repo_.get(), accept_source, MergeOption::kThreeWay, {}, Info());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(TreeFiles(merged->commit)["n.txt"].content, "1\nS2\n3\n4\nD5\n6\n7\nS8\n9\nS10\n");

  // FILE_LEVEL + ACCEPT_DESTINATION: the destination's whole file.
  MergeAnalysis accept_destination = Analyze(source, destination2, ConflictDetailLevel::kFileLevel,
                                             ConflictResolutionStrategy::kAcceptDestination);
  EXPECT_TRUE(accept_destination.conflicts.empty());
  auto kept = Merge(repo_.get(), accept_destination, MergeOption::kSquash, {}, Info());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(TreeFiles(kept->commit)["n.txt"].content, "1\nD2\n3\n4\nD5\n6\n7\n8\n9\n10\n");
}

TEST_F(MergeTest, ModifyDeleteConflictResolvedByDeletingKeepsTheFolder) {
  git_oid base = Commit({{"dir/f.txt", {"f\n"}}, {"top.txt", {"t\n"}}}, {});
  git_oid destination = Commit({{"top.txt", {"t\n"}}}, {base});
  git_oid source = Commit({{"dir/f.txt", {"changed\n"}}, {"top.txt", {"t\n"}}}, {base});
  MergeAnalysis analysis = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  ASSERT_EQ(analysis.conflicts.size(), 1u);
  const FileConflict& c = analysis.conflicts[0];
  EXPECT_EQ(c.path, "dir/f.txt");
  EXPECT_EQ(c.source_operation, "M");
  EXPECT_EQ(c.destination_operation, "D");
  EXPECT_FALSE(c.destination.exists);
  EXPECT_FALSE(c.content_conflict);
  EXPECT_EQ(c.number_of_conflicts, 1);

  ConflictResolution resolution;
  resolution.delete_files = {"dir/f.txt"};
  CommitInfo info = Info();
  info.keep_empty_folders = true;
  auto merged = Merge(repo_.get(), analysis, MergeOption::kThreeWay, resolution, info);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  Files files = TreeFiles(merged->commit);
  EXPECT_EQ(files.count("dir/f.txt"), 0u);
  ASSERT_EQ(files.count("dir/.gitkeep"), 1u);
  EXPECT_EQ(files["dir/.gitkeep"].content, "");

  MergeAnalysis again = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  auto without_keep = Merge(repo_.get(), again, MergeOption::kThreeWay, resolution, Info());
  ASSERT_TRUE(without_keep.ok()) << without_keep.status().ToString();
  Files plain = TreeFiles(without_keep->commit);
  EXPECT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain.count("top.txt"), 1u);
}

TEST_F(MergeTest, AddAddWithDifferentModesIsAModeConflict) {
  git_oid base = Commit({{"readme", {"r\n"}}}, {});
  git_oid destination = Commit({{"readme", {"r\n"}}, {"run.sh", {"echo\n", GIT_FILEMODE_BLOB}}}, {base});
  git_oid source = Commit({{"readme", {"r\n"}}, {"run.sh", {"echo\n", GIT_FILEMODE_BLOB_EXECUTABLE}}}, {base});
  MergeAnalysis analysis = Analyze(source, destination, ConflictDetailLevel::kFileLevel);
  ASSERT_EQ(analysis.conflicts.size(), 1u);
  const FileConflict& c = analysis.conflicts[0];
  EXPECT_TRUE(c.file_mode_conflict);
  EXPECT_FALSE(c.content_conflict);
  EXPECT_EQ(c.source.file_mode, "EXECUTABLE");
  EXPECT_EQ(c.destination.file_mode, "NORMAL");
  EXPECT_FALSE(c.base.exists);
  EXPECT_EQ(c.source_operation, "A");
  EXPECT_EQ(c.number_of_conflicts, 1);

  ConflictResolution resolution;
  resolution.set_file_modes = {{"run.sh", "EXECUTABLE"}};
  auto merged = Merge(repo_.get(), analysis, MergeOption::kThreeWay, resolution, Info());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(TreeFiles(merged->commit)["run.sh"].mode, static_cast<uint32_t>(GIT_FILEMODE_BLOB_EXECUTABLE));
}

TEST_F(MergeTest, FileAgainstDirectoryIsAnObjectTypeConflict) {
  git_oid base = Commit({{"readme", {"r\n"}}}, {});
  git_oid destination = Commit({{"readme", {"r\n"}}, {"x/inner.txt", {"i\n"}}}, {base});
  git_oid source = Commit({{"readme", {"r\n"}}, {"x", {"file\n"}}}, {base});
  MergeAnalysis analysis = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  ASSERT_FALSE(analysis.conflicts.empty());
  const FileConflict& c = analysis.conflicts[0];
  EXPECT_EQ(c.path, "x");
  EXPECT_TRUE(c.object_type_conflict);
  EXPECT_EQ(c.source.object_type, "FILE");
  EXPECT_EQ(c.destination.object_type, "DIRECTORY");
  EXPECT_EQ(c.number_of_conflicts, 1);

  MergeAnalysis accept = Analyze(source, destination, ConflictDetailLevel::kLineLevel,
                                 ConflictResolutionStrategy::kAcceptSource);
  EXPECT_TRUE(accept.conflicts.empty());
  auto merged = Merge(repo_.get(), accept, MergeOption::kThreeWay, {}, Info());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  Files files = TreeFiles(merged->commit);
  EXPECT_EQ(files["x"].content, "file\n");
  EXPECT_EQ(files.count("x/inner.txt"), 0u);
}

TEST_F(MergeTest, ConflictResolutionEntriesAreChecked) {
  git_oid base = Commit({{"a.txt", {"base\n"}}, {"b.txt", {"b\n"}}}, {});
  git_oid destination = Commit({{"a.txt", {"dest\n"}}, {"b.txt", {"b\n"}}}, {base});
  git_oid source = Commit({{"a.txt", {"src\n"}}, {"b.txt", {"b\n"}}}, {base});
  auto attempt = [&](const ConflictResolution& resolution) {
    MergeAnalysis analysis = Analyze(source, destination);
    return Merge(repo_.get(), analysis, MergeOption::kThreeWay, resolution, Info());
  };
  ConflictResolution not_conflicting;
  not_conflicting.delete_files = {"b.txt"};
  EXPECT_EQ(attempt(not_conflicting).status().aws_code(), "InvalidConflictResolutionException");

  ConflictResolution twice;
  twice.delete_files = {"a.txt"};
  twice.replace_contents = {{"a.txt", "KEEP_BASE", std::nullopt, ""}};
  EXPECT_EQ(attempt(twice).status().aws_code(), "MultipleConflictResolutionEntriesException");

  ConflictResolution no_content;
  no_content.replace_contents = {{"a.txt", "USE_NEW_CONTENT", std::nullopt, ""}};
  EXPECT_EQ(attempt(no_content).status().aws_code(), "ReplacementContentRequiredException");

  ConflictResolution stray_content;
  stray_content.replace_contents = {{"a.txt", "KEEP_SOURCE", std::string("x"), ""}};
  EXPECT_EQ(attempt(stray_content).status().aws_code(), "InvalidReplacementContentException");

  ConflictResolution new_content;
  new_content.replace_contents = {{"a.txt", "USE_NEW_CONTENT", std::string("both\n"), ""}};
  auto merged = attempt(new_content);
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(TreeFiles(merged->commit)["a.txt"].content, "both\n");

  ConflictResolution keep_base;
  keep_base.replace_contents = {{"a.txt", "KEEP_BASE", std::nullopt, "EXECUTABLE"}};
  auto based = attempt(keep_base);
  ASSERT_TRUE(based.ok()) << based.status().ToString();
  Files files = TreeFiles(based->commit);
  EXPECT_EQ(files["a.txt"].content, "base\n");
  EXPECT_EQ(files["a.txt"].mode, static_cast<uint32_t>(GIT_FILEMODE_BLOB_EXECUTABLE));
}

TEST_F(MergeTest, BinaryFilesAreFlagged) {
  std::string binary("\0\1\2\3", 4);
  git_oid base = Commit({{"img.bin", {binary}}}, {});
  git_oid destination = Commit({{"img.bin", {binary + "d"}}}, {base});
  git_oid source = Commit({{"img.bin", {binary + "s"}}}, {base});
  MergeAnalysis analysis = Analyze(source, destination, ConflictDetailLevel::kLineLevel);
  ASSERT_EQ(analysis.conflicts.size(), 1u);
  EXPECT_TRUE(analysis.conflicts[0].source.binary);
  EXPECT_TRUE(analysis.conflicts[0].base.binary);
  auto hunks = ConflictHunks(repo_.get(), analysis.conflicts[0]);
  ASSERT_TRUE(hunks.ok());
  EXPECT_TRUE(hunks->empty());
}

TEST(LineHunksTest, SeparateEditsAreNotConflicts) {
  auto hunks = LineHunks(kTen, "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\nten\n");
  ASSERT_EQ(hunks.size(), 2u);
  EXPECT_FALSE(hunks[0].conflict);
  EXPECT_EQ(hunks[0].base.start_line, 1);
  EXPECT_EQ(hunks[0].base.end_line, 1);
  EXPECT_EQ(hunks[0].base.content, "1\n");
  EXPECT_EQ(hunks[0].destination.content, "one\n");
  EXPECT_EQ(hunks[0].source.content, "1\n");
  EXPECT_FALSE(hunks[1].conflict);
  EXPECT_EQ(hunks[1].source.start_line, 10);
  EXPECT_EQ(hunks[1].source.content, "ten\n");
  EXPECT_EQ(hunks[1].destination.content, "10\n");
}

TEST(LineHunksTest, OverlappingEditsConflictWithLineNumbersPerSide) {
  // Destination inserts two lines at the top, so its later lines are shifted by two.
  auto hunks = LineHunks(kTen, "a\nb\n1\n2\n3\n4\n5\nD6\n7\n8\n9\n10\n", "1\n2\n3\n4\n5\nS6\nS7\n8\n9\n10\n");
  ASSERT_EQ(hunks.size(), 2u);
  EXPECT_FALSE(hunks[0].conflict);
  EXPECT_EQ(hunks[0].base.start_line, 1);
  EXPECT_EQ(hunks[0].base.end_line, 0);  // an insertion: an empty base range
  EXPECT_EQ(hunks[0].destination.content, "a\nb\n");
  EXPECT_TRUE(hunks[1].conflict);
  EXPECT_EQ(hunks[1].base.start_line, 6);
  EXPECT_EQ(hunks[1].base.end_line, 7);
  EXPECT_EQ(hunks[1].base.content, "6\n7\n");
  EXPECT_EQ(hunks[1].destination.start_line, 8);
  EXPECT_EQ(hunks[1].destination.end_line, 9);
  EXPECT_EQ(hunks[1].destination.content, "D6\n7\n");
  EXPECT_EQ(hunks[1].source.start_line, 6);
  EXPECT_EQ(hunks[1].source.content, "S6\nS7\n");
}

TEST(LineHunksTest, TheSameEditOnBothSidesIsNotAConflict) {
  auto hunks = LineHunks("a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n");
  ASSERT_EQ(hunks.size(), 1u);
  EXPECT_FALSE(hunks[0].conflict);
  EXPECT_EQ(hunks[0].source.content, "B\n");
}

TEST(LineHunksTest, AddedFileIsOneHunk) {
  auto hunks = LineHunks("", "x\n", "y\nz\n");
  ASSERT_EQ(hunks.size(), 1u);
  EXPECT_TRUE(hunks[0].conflict);
  EXPECT_EQ(hunks[0].source.end_line, 2);
  EXPECT_EQ(hunks[0].base.end_line, 0);
}

TEST(MergeNamesTest, WireNamesRoundTrip) {
  for (MergeOption option : {MergeOption::kFastForward, MergeOption::kSquash, MergeOption::kThreeWay}) {
    EXPECT_EQ(ParseMergeOption(MergeOptionName(option)), option);
  }
  EXPECT_EQ(ParseConflictDetailLevel(""), ConflictDetailLevel::kFileLevel);
  EXPECT_EQ(ParseConflictDetailLevel("LINE_LEVEL"), ConflictDetailLevel::kLineLevel);
  EXPECT_EQ(ParseConflictResolutionStrategy(""), ConflictResolutionStrategy::kNone);
  EXPECT_EQ(ParseConflictResolutionStrategy("AUTOMERGE"), ConflictResolutionStrategy::kAutomerge);
  EXPECT_EQ(ParseConflictResolutionStrategy("ACCEPT_SOURCE"), ConflictResolutionStrategy::kAcceptSource);
  EXPECT_EQ(ParseConflictResolutionStrategy("ACCEPT_DESTINATION"), ConflictResolutionStrategy::kAcceptDestination);
}

}  // namespace
}  // namespace gantry::services::codecommit
