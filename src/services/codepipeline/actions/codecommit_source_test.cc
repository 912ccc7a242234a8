#include <gtest/gtest.h>

#include "core/archive/zip.h"
#include "services/codepipeline/actions/fake_services_test.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {
namespace {

using aws::Document;
using testing::FakeServices;

const std::string kHead(40, 'a');
const std::string kOld(40, 'b');

Document SourceAction(Document configuration) {
  return {{"name", "Source"},
          {"actionTypeId", {{"category", "Source"}, {"owner", "AWS"}, {"provider", "CodeCommit"}, {"version", "1"}}},
          {"configuration", configuration},
          {"inputArtifacts", Document::array()},
          {"outputArtifacts", {{{"name", "SourceArtifact"}}}}};
}

// A repository "app" whose branch main is at kHead: README.md, run.sh (executable), lib/code.py and
// the symlink latest -> run.sh.
class CodeCommitSourceTest : public ::testing::Test {
 protected:
  CodeCommitSourceTest() : provider_(MakeCodeCommitSource()) {
    services_.handlers["codecommit:GetBranch"] = [](const Document& in) -> StatusOr<Document> {
      if (in["branchName"] != "main") {
        return Status::NotFound("Branch not found: " + in["branchName"].get<std::string>(),
                                "BranchDoesNotExistException");
      }
      return Document{{"branch", {{"branchName", "main"}, {"commitId", kHead}}}};
    };
    services_.handlers["codecommit:GetCommit"] = [](const Document& in) -> StatusOr<Document> {
      std::string id = in["commitId"];
      return Document{{"commit",
                       {{"commitId", id},
                        {"message", id == kHead ? "Add the app\n" : "Older\n"},
                        {"author", {{"name", "A"}, {"email", "a@x"}, {"date", "1700000000 +0100"}}},
                        {"committer", {{"name", "C"}, {"email", "c@x"}, {"date", "1700000060 +0000"}}}}}};
    };
    services_.handlers["codecommit:GetFolder"] = [](const Document& in) -> StatusOr<Document> {
      EXPECT_EQ(in["commitSpecifier"], kHead);
      if (in["folderPath"] == "/") {
        return Document{{"files",
                         {{{"blobId", "b1"}, {"absolutePath", "README.md"}, {"fileMode", "NORMAL"}},
                          {{"blobId", "b2"}, {"absolutePath", "run.sh"}, {"fileMode", "EXECUTABLE"}}}},
                        {"symbolicLinks", {{{"blobId", "b3"}, {"absolutePath", "latest"}, {"fileMode", "SYMLINK"}}}},
                        {"subFolders", {{{"absolutePath", "lib"}}}},
                        {"subModules", Document::array()}};
      }
      return Document{{"files", {{{"blobId", "b4"}, {"absolutePath", "lib/code.py"}, {"fileMode", "NORMAL"}}}},
                      {"symbolicLinks", Document::array()},
                      {"subFolders", Document::array()}};
    };
    services_.handlers["iam:SimulatePrincipalPolicy"] = [this](const Document& in) -> StatusOr<Document> {
      EXPECT_EQ(in["PolicySourceArn"], "arn:aws:iam::000000000000:role/pipeline-role");
      EXPECT_EQ(in["ActionNames"], Document::array({"codecommit:UploadArchive"}));
      EXPECT_EQ(in["ResourceArns"], Document::array({"arn:aws:codecommit:us-east-1:000000000000:app"}));
      return Document{{"EvaluationResults",
                       {{{"EvalActionName", "codecommit:UploadArchive"},
                         {"EvalResourceName", "arn:aws:codecommit:us-east-1:000000000000:app"},
                         {"EvalDecision", upload_archive_decision_}}}}};
    };
    services_.handlers["codecommit:GetBlob"] = [](const Document& in) -> StatusOr<Document> {
      std::map<std::string, std::string> blobs = {
          {"b1", "# app\n"}, {"b2", "#!/bin/sh\n"}, {"b3", "run.sh"}, {"b4", "print(1)\n"}};
      return Document{{"content", BlobOf(blobs.at(in["blobId"]))}};
    };
  }

  ActionContext Context(const Document& declaration) {
    return testing::MakeContext(declaration, &services_, &clock_, &ids_);
  }

  std::string upload_archive_decision_ = "allowed";
  std::unique_ptr<ActionProvider> provider_;
  FakeServices services_;
  FakeClock clock_;
  SequentialIdSource ids_;
};

TEST_F(CodeCommitSourceTest, ZipsTheBranchHead) {
  ActionContext ctx = Context(SourceAction({{"RepositoryName", "app"}, {"BranchName", "main"}}));
  ActionResult result = provider_->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded) << result.summary;
  ASSERT_EQ(result.outputs.size(), 1u);
  EXPECT_EQ(result.outputs[0].ArnForm(), "arn:aws:s3:::store/pipe/SourceArtifact/obj1");
  ASSERT_TRUE(result.revision);
  EXPECT_EQ(result.revision->revision_id, kHead);
  EXPECT_EQ(result.revision->revision_summary, "Add the app\n");
  EXPECT_EQ(result.revision->created, TimePoint(std::chrono::seconds(1700000060)));
  EXPECT_EQ(result.output_variables, (std::map<std::string, std::string>{{"CommitId", kHead},
                                                                         {"CommitMessage", "Add the app\n"},
                                                                         {"AuthorDate", "2023-11-14T22:13:20Z"},
                                                                         {"CommitterDate", "2023-11-14T22:14:20Z"},
                                                                         {"BranchName", "main"},
                                                                         {"RepositoryName", "app"}}));
  const auto& object = services_.objects.at("store/pipe/SourceArtifact/obj1");
  EXPECT_EQ(object.put["Metadata"]["codepipeline-artifact-revision-summary"], "Add the app\n");
  EXPECT_EQ(object.put["Metadata"]["codepipeline-artifact-revision-id"], kHead);
  auto entries = archive::ReadZip(object.body);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::map<std::string, std::pair<std::string, uint32_t>> files;
  for (const archive::ZipEntry& e : *entries) files[e.path] = {e.content, e.symlink ? 01000u : e.mode};
  EXPECT_EQ(files, (std::map<std::string, std::pair<std::string, uint32_t>>{{"README.md", {"# app\n", 0644}},
                                                                            {"run.sh", {"#!/bin/sh\n", 0755}},
                                                                            {"latest", {"run.sh", 01000}},
                                                                            {"lib/code.py", {"print(1)\n", 0644}}}));
  // The role reads the branch and commit and writes the artifact; the simulation and the tree are
  // CodePipeline's own calls, on the pipeline's behalf.
  for (const auto& call : services_.calls) {
    bool own = call.operation == "GetFolder" || call.operation == "GetBlob" || call.service == "iam";
    EXPECT_EQ(call.principal.arn, own ? "codepipeline.amazonaws.com"
                                      : "arn:aws:sts::000000000000:assumed-role/pipeline-role/1")
        << call.operation;
    EXPECT_EQ(call.principal.internal, own) << call.operation;
    EXPECT_EQ(call.principal.source_arn, "arn:aws:codepipeline:us-east-1:000000000000:pipe");
  }
  EXPECT_EQ(services_.CallsTo("iam", "SimulatePrincipalPolicy").size(), 1u);
  auto latest = provider_->LatestRevision(ctx);
  ASSERT_TRUE(latest.ok() && *latest);
  EXPECT_EQ((*latest)->revision_id, kHead);
}

TEST_F(CodeCommitSourceTest, ACommitOverrideIsUsed) {
  ActionContext ctx = Context(SourceAction({{"RepositoryName", "app"}, {"BranchName", "main"}}));
  ctx.source_revision_override =
      Document{{"actionName", "Source"}, {"revisionType", "COMMIT_ID"}, {"revisionValue", kOld}};
  services_.handlers["codecommit:GetFolder"] = [](const Document& in) -> StatusOr<Document> {
    EXPECT_EQ(in["commitSpecifier"], kOld);
    return Document{{"files", {{{"blobId", "b1"}, {"absolutePath", "README.md"}, {"fileMode", "NORMAL"}}}}};
  };
  ActionResult result = provider_->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded) << result.summary;
  EXPECT_EQ(result.revision->revision_id, kOld);
  EXPECT_EQ(result.output_variables["CommitMessage"], "Older\n");
  EXPECT_TRUE(services_.CallsTo("codecommit", "GetBranch").empty());
}

TEST_F(CodeCommitSourceTest, CloneRefArtifactsNameTheCommit) {
  ActionContext ctx = Context(SourceAction(
      {{"RepositoryName", "app"}, {"BranchName", "main"}, {"OutputArtifactFormat", "CODEBUILD_CLONE_REF"}}));
  ActionResult result = provider_->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded) << result.summary;
  EXPECT_TRUE(services_.CallsTo("codecommit", "GetFolder").empty());
  auto entries = archive::ReadZip(services_.objects.at("store/pipe/SourceArtifact/obj1").body);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, "codebuild-clone-ref.json");
  EXPECT_EQ(Document::parse((*entries)[0].content),
            (Document{{"cloneUrl", "https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app"},
                      {"commitId", kHead},
                      {"branchName", "main"},
                      {"repositoryName", "app"}}));
}

TEST_F(CodeCommitSourceTest, ARoleWithoutUploadArchiveFails) {
  upload_archive_decision_ = "implicitDeny";
  ActionContext ctx = Context(SourceAction({{"RepositoryName", "app"}, {"BranchName", "main"}}));
  ActionResult result = provider_->Start(ctx);
  EXPECT_EQ(result.status, ActionStatus::kFailed);
  EXPECT_EQ(result.error_code, "PermissionError");
  EXPECT_EQ(result.summary,
            "The service role or action role doesn't have the permissions required to access the AWS CodeCommit "
            "repository named app. Update the IAM role permissions, and then try again. Error: User: "
            "arn:aws:sts::000000000000:assumed-role/pipeline-role/1 is not authorized to perform: "
            "codecommit:UploadArchive on resource: arn:aws:codecommit:us-east-1:000000000000:app");
  EXPECT_TRUE(services_.CallsTo("codecommit", "GetFolder").empty());
  EXPECT_TRUE(services_.objects.empty());
}

TEST_F(CodeCommitSourceTest, MissingBranchesFailAndHaveNoLatestRevision) {
  ActionContext ctx = Context(SourceAction({{"RepositoryName", "app"}, {"BranchName", "nope"}}));
  ActionResult result = provider_->Start(ctx);
  EXPECT_EQ(result.status, ActionStatus::kFailed);
  EXPECT_EQ(result.error_code, "JobFailed");
  EXPECT_EQ(result.summary,
            "Could not access the CodeCommit repository app branch nope. BranchDoesNotExistException: Branch not "
            "found: nope");
  auto latest = provider_->LatestRevision(ctx);
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(*latest);
  EXPECT_FALSE(
      provider_
          ->Validate(SourceAction({{"RepositoryName", "app"}, {"BranchName", "main"}, {"OutputArtifactFormat", "TAR"}}))
          .ok());
}

}  // namespace
}  // namespace gantry::services::codepipeline
