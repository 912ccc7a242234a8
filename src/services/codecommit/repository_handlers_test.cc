#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/common/strings.h"
#include "services/codecommit/codecommit_service.h"
#include "services/codecommit/records.h"
#include "services/codecommit/triggers.h"
#include "test_support/service_test.h"

namespace gantry::services::codecommit {
namespace {

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";
constexpr char kScope[] = "000000000000/us-east-1";

using Pair = std::pair<std::string, std::string>;

// Stands in for EventBridge: records every PutEvents entry CodeCommit sends.
class RecordingClient final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    std::lock_guard lock(mu);
    EXPECT_EQ(service, "events");
    EXPECT_EQ(operation, "PutEvents");
    EXPECT_EQ(principal.service, "codecommit.amazonaws.com");
    for (const auto& entry : input["Entries"]) entries.push_back(entry);
    return Document{{"FailedEntryCount", 0}, {"Entries", {{{"EventId", "e"}}}}};
  }
  // The details of the entries with the given detail-type.
  std::vector<Document> Details(const std::string& detail_type) {
    std::lock_guard lock(mu);
    std::vector<Document> out;
    for (const auto& e : entries) {
      if (e["DetailType"] == detail_type) out.push_back(Document::parse(e["Detail"].get<std::string>()));
    }
    return out;
  }
  std::mutex mu;
  std::vector<Document> entries;
};

Document Bytes(const std::string& s) { return Document::binary(std::vector<uint8_t>(s.begin(), s.end())); }
std::string Text(const Document& d) { return std::string(d.get_binary().begin(), d.get_binary().end()); }

class RepositoryTest : public test_support::ServiceTest<CodeCommitService> {
 protected:
  RepositoryTest() : ServiceTest("codecommit", kAccount, kRegion) {}

  std::unique_ptr<CodeCommitService> MakeService() override {
    CodeCommitDeps deps;
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.ids = &ids_;
    deps.client = &events_;
    deps.repos_root = dir_.File("codecommit/repos");
    deps.work_dir = dir_.File("codecommit");
    deps.account_id = kAccount;
    deps.region = kRegion;
    deps.endpoint = [] { return std::string("http://127.0.0.1:4566"); };
    return std::make_unique<CodeCommitService>(deps);
  }
  Status Prepare(CodeCommitService& service) override { return service.Start(); }

  // Puts a file on main and returns the new commit id.
  std::string Put(const std::string& repo, const std::string& path, const std::string& content,
                  const std::string& parent = "") {
    Document input = {
        {"repositoryName", repo}, {"branchName", "main"}, {"filePath", path}, {"fileContent", Bytes(content)}};
    if (!parent.empty()) input["parentCommitId"] = parent;
    return Ok("PutFile", input).value("commitId", "");
  }

  RecordingClient events_;
};

TEST_F(RepositoryTest, CreateAndGetRepository) {
  Document created =
      Ok("CreateRepository", {{"repositoryName", "app"}, {"repositoryDescription", "the app"}})["repositoryMetadata"];
  EXPECT_EQ(created["repositoryName"], "app");
  EXPECT_EQ(created["Arn"], "arn:aws:codecommit:us-east-1:000000000000:app");
  EXPECT_EQ(created["cloneUrlHttp"], "http://127.0.0.1:4566/v1/repos/app");
  EXPECT_EQ(created["cloneUrlSsh"], "ssh://git-codecommit.us-east-1.amazonaws.com/v1/repos/app");
  EXPECT_EQ(created["repositoryDescription"], "the app");
  EXPECT_EQ(created["accountId"], kAccount);
  EXPECT_FALSE(created.contains("defaultBranch"));
  EXPECT_TRUE(
      std::filesystem::is_directory(dir_.File("codecommit/repos/") + created["repositoryId"].get<std::string>()));

  EXPECT_EQ(Ok("GetRepository", {{"repositoryName", "app"}})["repositoryMetadata"], created);
  EXPECT_EQ(Error("CreateRepository", {{"repositoryName", "app"}}),
            (Pair{"RepositoryNameExistsException", "Repository named app already exists"}));
  EXPECT_EQ(Error("GetRepository", {{"repositoryName", "nope"}}),
            (Pair{"RepositoryDoesNotExistException", "nope does not exist"}));
  EXPECT_EQ(Error("CreateRepository", {{"repositoryName", "x.git"}}).first, "InvalidRepositoryNameException");
  // The model's pattern rejects '/' before the handler runs.
  EXPECT_NE(Error("CreateRepository", {{"repositoryName", "bad/name"}}).second.find("failed to satisfy constraint"),
            std::string::npos);
  EXPECT_EQ(Error("CreateRepository", {{"repositoryName", "d"}, {"repositoryDescription", "<b>"}}).first,
            "InvalidRepositoryDescriptionException");

  // Records survive a restart.
  Close();
  Open();
  EXPECT_EQ(Ok("GetRepository", {{"repositoryName", "app"}})["repositoryMetadata"], created);
}

TEST_F(RepositoryTest, ListBatchRenameDescribeTagDelete) {
  for (const char* name : {"b", "c", "a"}) {
    Ok("CreateRepository", {{"repositoryName", name}, {"tags", {{"team", name}}}});
    clock_.Advance(std::chrono::seconds(1));
  }
  auto names = [](const Document& out) {
    std::vector<std::string> v;
    for (const auto& r : out["repositories"]) v.push_back(r["repositoryName"]);
    return v;
  };
  EXPECT_EQ(names(Ok("ListRepositories", Document::object())), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(names(Ok("ListRepositories", {{"sortBy", "lastModifiedDate"}, {"order", "descending"}})),
            (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_EQ(Error("ListRepositories", {{"nextToken", "bogus"}}).first, "InvalidContinuationTokenException");

  Document batch = Ok("BatchGetRepositories", {{"repositoryNames", {"a", "zz"}}});
  EXPECT_EQ(batch["repositories"].size(), 1u);
  EXPECT_EQ(batch["repositoriesNotFound"], Document({"zz"}));

  Ok("UpdateRepositoryDescription", {{"repositoryName", "a"}, {"repositoryDescription", "first"}});
  Ok("UpdateRepositoryName", {{"oldName", "a"}, {"newName", "alpha"}});
  Document alpha = Ok("GetRepository", {{"repositoryName", "alpha"}})["repositoryMetadata"];
  EXPECT_EQ(alpha["repositoryDescription"], "first");
  EXPECT_EQ(alpha["Arn"], "arn:aws:codecommit:us-east-1:000000000000:alpha");
  EXPECT_EQ(Error("UpdateRepositoryName", {{"oldName", "alpha"}, {"newName", "b"}}).first,
            "RepositoryNameExistsException");
  EXPECT_EQ(Error("UpdateRepositoryName", {{"oldName", "a"}, {"newName", "q"}}).first,
            "RepositoryDoesNotExistException");

  std::string arn = alpha["Arn"];
  Ok("TagResource", {{"resourceArn", arn}, {"tags", {{"env", "dev"}}}});
  Ok("UntagResource", {{"resourceArn", arn}, {"tagKeys", {"team"}}});
  EXPECT_EQ(Ok("ListTagsForResource", {{"resourceArn", arn}})["tags"], (Document{{"env", "dev"}}));
  EXPECT_EQ(Error("TagResource", {{"resourceArn", arn}, {"tags", {{"aws:x", "y"}}}}).first,
            "InvalidSystemTagUsageException");
  EXPECT_EQ(Error("ListTagsForResource", {{"resourceArn", "arn:aws:s3:::bucket"}}).first,
            "InvalidResourceArnException");
  EXPECT_EQ(Error("ListTagsForResource", {{"resourceArn", "arn:aws:codecommit:us-east-1:000000000000:gone"}}).first,
            "RepositoryDoesNotExistException");

  std::string id = alpha["repositoryId"];
  EXPECT_EQ(Ok("DeleteRepository", {{"repositoryName", "alpha"}}), (Document{{"repositoryId", id}}));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("codecommit/repos/" + id)));
  EXPECT_EQ(Ok("DeleteRepository", {{"repositoryName", "alpha"}}), Document::object());
}

TEST_F(RepositoryTest, FirstCommitSetsTheDefaultBranchAndEveryRefChangeIsAnEvent) {
  Ok("CreateRepository", {{"repositoryName", "r"}});
  std::string first = Put("r", "a.txt", "a");
  EXPECT_EQ(Ok("GetRepository", {{"repositoryName", "r"}})["repositoryMetadata"]["defaultBranch"], "main");
  std::string second = Put("r", "b.txt", "b", first);
  Ok("CreateBranch", {{"repositoryName", "r"}, {"branchName", "topic"}, {"commitId", first}});
  Ok("DeleteBranch", {{"repositoryName", "r"}, {"branchName", "topic"}});

  std::vector<Document> details = events_.Details("CodeCommit Repository State Change");
  ASSERT_EQ(details.size(), 4u);
  EXPECT_EQ(details[0]["event"], "referenceCreated");
  EXPECT_EQ(details[0]["referenceFullName"], "refs/heads/main");
  EXPECT_EQ(details[0]["referenceName"], "main");
  EXPECT_EQ(details[0]["referenceType"], "branch");
  EXPECT_EQ(details[0]["commitId"], first);
  EXPECT_FALSE(details[0].contains("oldCommitId"));
  EXPECT_EQ(details[0]["repositoryName"], "r");
  EXPECT_EQ(details[0]["callerUserArn"], "arn:aws:iam::000000000000:root");
  EXPECT_EQ(details[1]["event"], "referenceUpdated");
  EXPECT_EQ(details[1]["oldCommitId"], first);
  EXPECT_EQ(details[1]["commitId"], second);
  EXPECT_EQ(details[2]["event"], "referenceCreated");
  EXPECT_EQ(details[3]["event"], "referenceDeleted");
  EXPECT_EQ(details[3]["oldCommitId"], first);
  EXPECT_FALSE(details[3].contains("commitId"));
  {
    std::lock_guard lock(events_.mu);
    EXPECT_EQ(events_.entries[0]["Source"], "aws.codecommit");
    EXPECT_EQ(events_.entries[0]["Resources"], Document({"arn:aws:codecommit:us-east-1:000000000000:r"}));
  }

  EXPECT_EQ(Error("DeleteBranch", {{"repositoryName", "r"}, {"branchName", "main"}}).first,
            "DefaultBranchCannotBeDeletedException");
  EXPECT_EQ(Ok("DeleteBranch", {{"repositoryName", "r"}, {"branchName", "never"}}), Document::object());
  EXPECT_EQ(Error("UpdateDefaultBranch", {{"repositoryName", "r"}, {"defaultBranchName", "never"}}).first,
            "BranchDoesNotExistException");
}

TEST_F(RepositoryTest, FilesFoldersBlobsAndCommits) {
  Ok("CreateRepository", {{"repositoryName", "r"}});
  Document made =
      Ok("CreateCommit", {{"repositoryName", "r"},
                          {"branchName", "main"},
                          {"authorName", "Dev"},
                          {"email", "dev@example.com"},
                          {"commitMessage", "init"},
                          {"putFiles",
                           {{{"filePath", "src/a.py"}, {"fileContent", Bytes("a")}},
                            {{"filePath", "run.sh"}, {"fileContent", Bytes("#!")}, {"fileMode", "EXECUTABLE"}},
                            {{"filePath", "link"}, {"fileContent", Bytes("run.sh")}, {"fileMode", "SYMLINK"}}}}});
  std::string first = made["commitId"];
  EXPECT_EQ(made["filesAdded"].size(), 3u);
  EXPECT_EQ(made["filesUpdated"], Document::array());

  Document file = Ok("GetFile", {{"repositoryName", "r"}, {"filePath", "/src/a.py"}});
  EXPECT_EQ(Text(file["fileContent"]), "a");
  EXPECT_EQ(file["fileSize"], 1);
  EXPECT_EQ(file["fileMode"], "NORMAL");
  EXPECT_EQ(file["commitId"], first);
  EXPECT_EQ(Text(Ok("GetBlob", {{"repositoryName", "r"}, {"blobId", file["blobId"]}})["content"]), "a");
  EXPECT_EQ(Error("GetBlob", {{"repositoryName", "r"}, {"blobId", std::string(40, 'a')}}).first,
            "BlobIdDoesNotExistException");
  EXPECT_EQ(Error("GetFile", {{"repositoryName", "r"}, {"filePath", "src"}}).first, "FileDoesNotExistException");
  EXPECT_EQ(Error("GetFile", {{"repositoryName", "r"}, {"filePath", "a.py"}, {"commitSpecifier", "nope"}}).first,
            "CommitDoesNotExistException");

  Document root = Ok("GetFolder", {{"repositoryName", "r"}, {"folderPath", "/"}});
  EXPECT_EQ(root["folderPath"], "/");
  EXPECT_EQ(root["subFolders"][0]["absolutePath"], "src");
  EXPECT_EQ(root["files"][0]["relativePath"], "run.sh");
  EXPECT_EQ(root["files"][0]["fileMode"], "EXECUTABLE");
  EXPECT_EQ(root["symbolicLinks"][0]["relativePath"], "link");
  EXPECT_EQ(Ok("GetFolder", {{"repositoryName", "r"}, {"folderPath", "src"}})["files"][0]["absolutePath"], "src/a.py");
  EXPECT_EQ(Error("GetFolder", {{"repositoryName", "r"}, {"folderPath", "nope"}}).first, "FolderDoesNotExistException");

  Document commit = Ok("GetCommit", {{"repositoryName", "r"}, {"commitId", first}})["commit"];
  EXPECT_EQ(commit["message"], "init");
  EXPECT_EQ(commit["author"]["name"], "Dev");
  EXPECT_EQ(commit["author"]["date"], "1700000000 +0000");
  EXPECT_EQ(commit["parents"], Document::array());
  EXPECT_EQ(Error("GetCommit", {{"repositoryName", "r"}, {"commitId", "123"}}).first, "InvalidCommitIdException");
  EXPECT_EQ(Error("GetCommit", {{"repositoryName", "r"}, {"commitId", std::string(40, '0')}}).first,
            "CommitIdDoesNotExistException");

  EXPECT_EQ(Error("PutFile", {{"repositoryName", "r"},
                              {"branchName", "main"},
                              {"filePath", "src/a.py"},
                              {"fileContent", Bytes("a")},
                              {"parentCommitId", first}})
                .first,
            "SameFileContentException");
  EXPECT_EQ(Error("PutFile", {{"repositoryName", "r"},
                              {"branchName", "main"},
                              {"filePath", "../x"},
                              {"fileContent", Bytes("a")},
                              {"parentCommitId", first}})
                .first,
            "InvalidPathException");
  EXPECT_EQ(Error("CreateCommit", {{"repositoryName", "r"},
                                   {"branchName", "main"},
                                   {"parentCommitId", first},
                                   {"putFiles", {{{"filePath", "src/a.py"}, {"fileContent", Bytes("a")}}}}})
                .first,
            "NoChangeException");
  EXPECT_EQ(Error("CreateCommit", {{"repositoryName", "r"}, {"branchName", "main"}, {"parentCommitId", first}}).first,
            "FileEntryRequiredException");
  Document removed =
      Ok("DeleteFile",
         {{"repositoryName", "r"}, {"branchName", "main"}, {"filePath", "src/a.py"}, {"parentCommitId", first}});
  EXPECT_EQ(removed["blobId"], file["blobId"]);
  EXPECT_EQ(
      Error("DeleteFile",
            {{"repositoryName", "r"}, {"branchName", "main"}, {"filePath", "src/a.py"}, {"parentCommitId", first}})
          .first,
      "ParentCommitIdOutdatedException");

  Document differences = Ok(
      "GetDifferences", {{"repositoryName", "r"}, {"beforeCommitSpecifier", first}, {"afterCommitSpecifier", "main"}});
  ASSERT_EQ(differences["differences"].size(), 1u);
  EXPECT_EQ(differences["differences"][0]["changeType"], "D");
  EXPECT_EQ(differences["differences"][0]["beforeBlob"]["path"], "src/a.py");
  EXPECT_EQ(differences["differences"][0]["beforeBlob"]["mode"], "100644");
  Document everything =
      Ok("GetDifferences", {{"repositoryName", "r"}, {"afterCommitSpecifier", first}, {"MaxResults", 2}});
  EXPECT_EQ(everything["differences"].size(), 2u);
  Document rest =
      Ok("GetDifferences",
         {{"repositoryName", "r"}, {"afterCommitSpecifier", first}, {"NextToken", everything["NextToken"]}});
  EXPECT_EQ(rest["differences"].size(), 1u);
  EXPECT_FALSE(rest.contains("NextToken"));
  Document in_src =
      Ok("GetDifferences", {{"repositoryName", "r"}, {"afterCommitSpecifier", first}, {"afterPath", "src"}});
  ASSERT_EQ(in_src["differences"].size(), 1u);
  EXPECT_EQ(in_src["differences"][0]["afterBlob"]["path"], "src/a.py");
  EXPECT_EQ(
      Error("GetDifferences", {{"repositoryName", "r"}, {"afterCommitSpecifier", "main"}, {"afterPath", "src"}}).first,
      "PathDoesNotExistException");

  Document batch = Ok("BatchGetCommits", {{"repositoryName", "r"}, {"commitIds", {first, "nothex"}}});
  EXPECT_EQ(batch["commits"].size(), 1u);
  EXPECT_EQ(batch["errors"][0]["errorCode"], "InvalidCommitIdException");
}

TEST_F(RepositoryTest, BranchesPaginate) {
  Ok("CreateRepository", {{"repositoryName", "r"}});
  std::string tip = Put("r", "a", "a");
  for (int i = 0; i < 120; ++i) {
    Ok("CreateBranch", {{"repositoryName", "r"}, {"branchName", "b" + std::to_string(1000 + i)}, {"commitId", tip}});
  }
  Document page = Ok("ListBranches", {{"repositoryName", "r"}});
  EXPECT_EQ(page["branches"].size(), 100u);
  Document rest = Ok("ListBranches", {{"repositoryName", "r"}, {"nextToken", page["nextToken"]}});
  EXPECT_EQ(rest["branches"].size(), 21u);
  EXPECT_EQ(rest["branches"].back(), "main");
  EXPECT_EQ(Error("CreateBranch", {{"repositoryName", "r"}, {"branchName", "main"}, {"commitId", tip}}).first,
            "BranchNameExistsException");
  EXPECT_EQ(Error("CreateBranch", {{"repositoryName", "r"}, {"branchName", "x..y"}, {"commitId", tip}}).first,
            "InvalidBranchNameException");
  EXPECT_EQ(Ok("GetBranch", {{"repositoryName", "r"}, {"branchName", "b1000"}})["branch"]["commitId"], tip);
}

TEST_F(RepositoryTest, OffsetTokensThatDoNotFitAreInvalid) {
  Ok("CreateRepository", {{"repositoryName", "r"}});
  Put("r", "a", "a");
  const std::string huge = "99999999999999999999999";
  EXPECT_EQ(Error("ListRepositories", {{"nextToken", Base64Encode("o:" + huge)}}).first,
            "InvalidContinuationTokenException");
  EXPECT_EQ(Error("ListRepositories", {{"nextToken", Base64Encode("o:-1")}}).first, "InvalidContinuationTokenException");
  EXPECT_EQ(Error("GetDifferences", {{"repositoryName", "r"}, {"afterCommitSpecifier", "main"},
                                     {"NextToken", Base64Encode("d:" + huge)}})
                .first,
            "InvalidContinuationTokenException");
  // A token past the end (from before repositories were deleted) is an empty page.
  Document past = Ok("ListRepositories", {{"nextToken", Base64Encode("o:18446744073709551615")}});
  EXPECT_EQ(past["repositories"], Document::array());
  EXPECT_FALSE(past.contains("nextToken"));
}

// Writes a loose object whose header says it is a blob of `size` bytes but holds one byte: its
// header reads, its content does not.
std::string WriteBlobHeaderOnly(const std::string& repository_path, size_t size) {
  const std::string id = "1111111111111111111111111111111111111111";
  std::string raw = "blob " + std::to_string(size) + std::string(1, '\0') + "x";
  uLongf length = compressBound(raw.size());
  std::string compressed(length, '\0');
  EXPECT_EQ(compress(reinterpret_cast<Bytef*>(compressed.data()), &length, reinterpret_cast<const Bytef*>(raw.data()),
                     raw.size()),
            Z_OK);
  compressed.resize(length);
  std::filesystem::create_directories(repository_path + "/objects/11");
  std::ofstream(repository_path + "/objects/11/" + id.substr(2), std::ios::binary) << compressed;
  return id;
}

TEST_F(RepositoryTest, BlobAndFileSizesAreCheckedBeforeTheContentIsRead) {
  std::string repository_id = Ok("CreateRepository", {{"repositoryName", "r"}})["repositoryMetadata"]["repositoryId"];
  std::string tip = Put("r", "small.txt", "small");
  const std::string path = dir_.File("codecommit/repos/" + repository_id);
  const std::string big = WriteBlobHeaderOnly(path, 7 * 1024 * 1024);
  EXPECT_EQ(Error("GetBlob", {{"repositoryName", "r"}, {"blobId", big}}),
            (Pair{"FileTooLargeException",
                  "The blob " + big + " is larger than 6 MB, the largest file the API returns; clone the repository to "
                  "read it."}));

  // A commit on branch "big" whose big.bin is that blob.
  auto repo = git::Open(path);
  ASSERT_TRUE(repo.ok());
  git_oid blob_id, tree_id, commit_id, parent_id;
  ASSERT_TRUE(git::ParseOid(big, blob_id));
  ASSERT_TRUE(git::ParseOid(tip, parent_id));
  git_treebuilder* raw_builder = nullptr;
  ASSERT_EQ(git_treebuilder_new(&raw_builder, repo->get(), nullptr), 0);
  git::TreeBuilder builder(raw_builder);
  ASSERT_EQ(git_treebuilder_insert(nullptr, builder.get(), "big.bin", &blob_id, GIT_FILEMODE_BLOB), 0);
  ASSERT_EQ(git_treebuilder_write(&tree_id, builder.get()), 0);
  git_tree* raw_tree = nullptr;
  ASSERT_EQ(git_tree_lookup(&raw_tree, repo->get(), &tree_id), 0);
  git::Tree tree(raw_tree);
  git_commit* raw_parent = nullptr;
  ASSERT_EQ(git_commit_lookup(&raw_parent, repo->get(), &parent_id), 0);
  git::Commit parent(raw_parent);
  git_signature* raw_sig = nullptr;
  ASSERT_EQ(git_signature_new(&raw_sig, "Dev", "dev@example.com", 1700000000, 0), 0);
  git::Signature sig(raw_sig);
  const git_commit* parents[] = {parent.get()};
  ASSERT_EQ(git_commit_create(&commit_id, repo->get(), "refs/heads/big", sig.get(), sig.get(), nullptr, "big",
                              tree.get(), 1, parents),
            0);
  EXPECT_EQ(Error("GetFile", {{"repositoryName", "r"}, {"filePath", "big.bin"}, {"commitSpecifier", "big"}}),
            (Pair{"FileTooLargeException",
                  "The file big.bin is larger than 6 MB, the largest file the API returns; clone the repository to "
                  "read it."}));
  EXPECT_EQ(Text(Ok("GetFile", {{"repositoryName", "r"}, {"filePath", "small.txt"}})["fileContent"]), "small");
}

TEST_F(RepositoryTest, DeleteBranchDeletesTheTipItReportsUnderTheBranchLock) {
  std::string repository_id = Ok("CreateRepository", {{"repositoryName", "r"}})["repositoryMetadata"]["repositoryId"];
  std::string tip = Put("r", "a", "a");
  Ok("CreateBranch", {{"repositoryName", "r"}, {"branchName", "topic"}, {"commitId", tip}});
  // A push holding the branch's lock (git's <ref>.lock) makes the delete wait its turn.
  const std::string lock = dir_.File("codecommit/repos/" + repository_id + "/refs/heads/topic.lock");
  std::ofstream(lock) << std::string(40, '0') << "\n";
  EXPECT_EQ(Error("DeleteBranch", {{"repositoryName", "r"}, {"branchName", "topic"}}).first,
            "ConcurrentReferenceUpdateException");
  EXPECT_EQ(Ok("GetBranch", {{"repositoryName", "r"}, {"branchName", "topic"}})["branch"]["commitId"], tip);
  std::filesystem::remove(lock);
  EXPECT_EQ(Ok("DeleteBranch", {{"repositoryName", "r"}, {"branchName", "topic"}}),
            (Document{{"deletedBranch", {{"branchName", "topic"}, {"commitId", tip}}}}));
  EXPECT_EQ(Error("GetBranch", {{"repositoryName", "r"}, {"branchName", "topic"}}).first, "BranchDoesNotExistException");
  std::vector<Document> details = events_.Details("CodeCommit Repository State Change");
  ASSERT_FALSE(details.empty());
  EXPECT_EQ(details.back()["event"], "referenceDeleted");
  EXPECT_EQ(details.back()["referenceName"], "topic");
  EXPECT_EQ(details.back()["oldCommitId"], tip);
  EXPECT_FALSE(std::filesystem::exists(lock));
}

TEST_F(RepositoryTest, TriggersDeliverToEventBusesAndRecordFailures) {
  Ok("CreateRepository", {{"repositoryName", "r"}});
  Document triggers = {{{"name", "bus"},
                        {"destinationArn", "arn:aws:events:us-east-1:000000000000:event-bus/default"},
                        {"customData", "cd"},
                        {"branches", {"main"}},
                        {"events", {"updateReference"}}},
                       {{"name", "sns"},
                        {"destinationArn", "arn:aws:sns:us-east-1:000000000000:topic"},
                        {"branches", Document::array()},
                        {"events", {"all"}}}};
  std::string configuration =
      Ok("PutRepositoryTriggers", {{"repositoryName", "r"}, {"triggers", triggers}})["configurationId"];
  Document got = Ok("GetRepositoryTriggers", {{"repositoryName", "r"}});
  EXPECT_EQ(got["configurationId"], configuration);
  EXPECT_EQ(got["triggers"], triggers);

  auto invalid = [&](const Document& trigger) {
    return Error("PutRepositoryTriggers", {{"repositoryName", "r"}, {"triggers", Document::array({trigger})}}).first;
  };
  Document without_branches = triggers[0];
  without_branches.erase("branches");
  EXPECT_EQ(invalid(without_branches), "RepositoryTriggerBranchNameListRequiredException");
  Document mixed = triggers[0];
  mixed["events"] = {"all", "createReference"};
  EXPECT_EQ(invalid(mixed), "InvalidRepositoryTriggerEventsException");
  Document elsewhere = triggers[0];
  elsewhere["destinationArn"] = "arn:aws:events:eu-west-1:000000000000:event-bus/default";
  EXPECT_EQ(invalid(elsewhere), "InvalidRepositoryTriggerRegionException");
  Document queue = triggers[0];
  queue["destinationArn"] = "arn:aws:sqs:us-east-1:000000000000:q";
  EXPECT_EQ(invalid(queue), "InvalidRepositoryTriggerDestinationArnException");
  EXPECT_EQ(Error("PutRepositoryTriggers", {{"repositoryName", "r"}, {"triggers", {triggers[0], triggers[0]}}}).first,
            "InvalidRepositoryTriggerNameException");

  Document tested = Ok("TestRepositoryTriggers", {{"repositoryName", "r"}, {"triggers", triggers}});
  EXPECT_EQ(tested["successfulExecutions"], Document({"bus"}));
  EXPECT_EQ(tested["failedExecutions"][0]["trigger"], "sns");

  // The first commit creates main: only the "all" trigger (SNS, which fails) matches; the update
  // that follows matches both.
  std::string first = Put("r", "a", "a");
  std::string second = Put("r", "b", "b", first);
  std::vector<Document> records = events_.Details(std::string(kTriggerDetailType));
  ASSERT_EQ(records.size(), 2u);  // the test event and the update
  EXPECT_EQ(records[0]["eventName"], "TriggerEventTest");
  EXPECT_EQ(records[1]["eventName"], "ReferenceChanges");
  EXPECT_EQ(records[1]["eventTriggerName"], "bus");
  EXPECT_EQ(records[1]["eventTriggerConfigId"], configuration);
  EXPECT_EQ(records[1]["customData"], "cd");
  EXPECT_EQ(records[1]["eventSourceARN"], "arn:aws:codecommit:us-east-1:000000000000:r");
  EXPECT_EQ(records[1]["codecommit"]["references"],
            Document::parse(R"([{"commit":")" + second + R"(","ref":"refs/heads/main"}])"));

  std::string id = Ok("GetRepository", {{"repositoryName", "r"}})["repositoryMetadata"]["repositoryId"];
  auto sns = store_->Get(kTriggerDeliveryTable, kScope, id + "/sns");
  ASSERT_TRUE(sns.ok() && *sns);
  EXPECT_FALSE((*sns)->doc["delivered"].get<bool>());
  EXPECT_NE((*sns)->doc["failureMessage"].get<std::string>().find("no SNS or Lambda"), std::string::npos);
  auto bus = store_->Get(kTriggerDeliveryTable, kScope, id + "/bus");
  ASSERT_TRUE(bus.ok() && *bus);
  EXPECT_TRUE((*bus)->doc["delivered"].get<bool>());
}

}  // namespace
}  // namespace gantry::services::codecommit
