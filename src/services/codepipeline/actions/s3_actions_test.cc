#include <gtest/gtest.h>

#include "core/archive/zip.h"
#include "services/codepipeline/actions/fake_services_test.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {
namespace {

using aws::Document;
using testing::FakeServices;

Document Action(const std::string& category, Document configuration, std::vector<std::string> inputs,
                std::vector<std::string> outputs) {
  Document in = Document::array(), out = Document::array();
  for (const auto& n : inputs) in.push_back({{"name", n}});
  for (const auto& n : outputs) out.push_back({{"name", n}});
  return {{"name", category},
          {"actionTypeId", {{"category", category}, {"owner", "AWS"}, {"provider", "S3"}, {"version", "1"}}},
          {"configuration", configuration},
          {"inputArtifacts", in},
          {"outputArtifacts", out}};
}

class S3ActionsTest : public ::testing::Test {
 protected:
  ActionContext Context(const Document& declaration) {
    return testing::MakeContext(declaration, &services_, &clock_, &ids_);
  }
  FakeServices services_;
  FakeClock clock_;
  SequentialIdSource ids_;
};

TEST_F(S3ActionsTest, DeployExtractsTheArtifactUnderThePrefix) {
  auto zip = archive::WriteZip({{"index.html", "<h1>hi</h1>", 0644, false},
                              {"assets/app.js", "go()", 0644, false},
                              {"assets/logo.PNG", "png", 0644, false},
                              {"LICENSE", "MIT", 0644, false}});
  ASSERT_TRUE(zip.ok());
  services_.objects["store/pipe/Build/o1"] = {*zip, Document::object()};
  auto provider = MakeS3Deploy();
  Document declaration = Action("Deploy",
                                {{"BucketName", "site"},
                                 {"Extract", "true"},
                                 {"ObjectKey", "v1/"},
                                 {"CannedACL", "public-read"},
                                 {"CacheControl", "max-age=60"}},
                                {"Build"}, {});
  ASSERT_TRUE(provider->Validate(declaration).ok());
  ActionContext ctx = Context(declaration);
  ctx.inputs = {{"Build", "store", "pipe/Build/o1"}};
  ActionResult result = provider->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded) << result.summary;
  EXPECT_EQ(services_.objects.at("site/v1/index.html").body, "<h1>hi</h1>");
  EXPECT_EQ(services_.objects.at("site/v1/index.html").put["ContentType"], "text/html");
  EXPECT_EQ(services_.objects.at("site/v1/index.html").put["ACL"], "public-read");
  EXPECT_EQ(services_.objects.at("site/v1/index.html").put["CacheControl"], "max-age=60");
  EXPECT_EQ(services_.objects.at("site/v1/assets/app.js").put["ContentType"], "application/javascript");
  EXPECT_EQ(services_.objects.at("site/v1/assets/logo.PNG").put["ContentType"], "image/png");
  EXPECT_EQ(services_.objects.at("site/v1/LICENSE").put["ContentType"], "binary/octet-stream");

  // Unextracted, the zip itself is the object; a missing input fails with S3's error.
  declaration = Action("Deploy",
                       {{"BucketName", "site"},
                        {"Extract", "false"},
                        {"ObjectKey", "app.zip"},
                        {"KMSEncryptionKeyARN", "arn:aws:kms:us-east-1:000000000000:key/k"}},
                       {"Build"}, {});
  ctx = Context(declaration);
  ctx.inputs = {{"Build", "store", "pipe/Build/o1"}};
  ASSERT_EQ(provider->Start(ctx).status, ActionStatus::kSucceeded);
  EXPECT_EQ(services_.objects.at("site/app.zip").body, *zip);
  EXPECT_EQ(services_.objects.at("site/app.zip").put["SSEKMSKeyId"], "arn:aws:kms:us-east-1:000000000000:key/k");
  ctx.inputs = {{"Build", "store", "pipe/Build/missing"}};
  ActionResult failed = provider->Start(ctx);
  EXPECT_EQ(failed.status, ActionStatus::kFailed);
  EXPECT_EQ(failed.summary,
            "Could not read input artifact Build (arn:aws:s3:::store/pipe/Build/missing). NoSuchKey: The specified "
            "key does not exist.");
}

TEST_F(S3ActionsTest, DeployValidation) {
  auto provider = MakeS3Deploy();
  EXPECT_EQ(provider->Validate(Action("Deploy", {{"BucketName", "b"}, {"Extract", "false"}}, {"A"}, {})).message(),
            "Action configuration for action 'Deploy' is missing required configuration 'ObjectKey' (required when "
            "Extract is false)");
  EXPECT_FALSE(provider->Validate(Action("Deploy", {{"BucketName", "b"}, {"Extract", "yes"}}, {"A"}, {})).ok());
  EXPECT_FALSE(
      provider->Validate(Action("Deploy", {{"BucketName", "b"}, {"Extract", "true"}, {"CannedACL", "open"}}, {"A"}, {}))
          .ok());
}

TEST_F(S3ActionsTest, SourceCopiesTheObjectIntoTheArtifactStore) {
  services_.objects["in/app.zip"] = {"zip bytes", {{"Metadata", {{"codepipeline-artifact-revision-summary", "v2"}}}}};
  auto provider = MakeS3Source();
  Document declaration =
      Action("Source", {{"S3Bucket", "in"}, {"S3ObjectKey", "app.zip"}, {"PollForSourceChanges", "false"}}, {},
             {"SourceArtifact"});
  ASSERT_TRUE(provider->Validate(declaration).ok());
  ActionContext ctx = Context(declaration);
  ActionResult result = provider->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded) << result.summary;
  EXPECT_EQ(services_.objects.at("store/pipe/SourceArtifact/obj1").body, "zip bytes");
  EXPECT_EQ(services_.objects.at("store/pipe/SourceArtifact/obj1").put["Metadata"],
            (Document{{"codepipeline-artifact-revision-summary", "v2"},
                      {"codepipeline-artifact-revision-id", "etag-in/app.zip"}}));
  EXPECT_EQ(result.outputs[0].name, "SourceArtifact");
  EXPECT_EQ(result.revision->revision_id, "etag-in/app.zip");
  EXPECT_EQ(result.revision->revision_summary, "v2");
  EXPECT_EQ(result.output_variables, (std::map<std::string, std::string>{{"ETag", "etag-in/app.zip"}}));
  auto latest = provider->LatestRevision(ctx);
  ASSERT_TRUE(latest.ok() && *latest);
  EXPECT_EQ((*latest)->revision_id, "etag-in/app.zip");

  // Versions: the override's version is read, and is the revision.
  services_.handlers["s3:GetObject"] = [](const Document& in) -> StatusOr<Document> {
    return Document{{"Body", BlobOf("old")}, {"ETag", "\"e1\""}, {"VersionId", in.value("VersionId", "v-new")}};
  };
  ctx.source_revision_override =
      Document{{"actionName", "Source"}, {"revisionType", "S3_OBJECT_VERSION_ID"}, {"revisionValue", "v-old"}};
  result = provider->Start(ctx);
  ASSERT_EQ(result.status, ActionStatus::kSucceeded);
  EXPECT_EQ(result.revision->revision_id, "v-old");
  EXPECT_EQ(services_.objects.at("store/pipe/SourceArtifact/obj2").put["Metadata"],
            (Document{{"codepipeline-artifact-revision-id", "v-old"}}));
  EXPECT_EQ(result.output_variables, (std::map<std::string, std::string>{{"ETag", "e1"}, {"VersionId", "v-old"}}));

  // Another key only when the action allows it.
  ctx.source_revision_override =
      Document{{"actionName", "Source"}, {"revisionType", "S3_OBJECT_KEY"}, {"revisionValue", "other.zip"}};
  EXPECT_EQ(provider->Start(ctx).status, ActionStatus::kFailed);
}

TEST_F(S3ActionsTest, MissingSourceObjectsHaveNoRevision) {
  auto provider = MakeS3Source();
  ActionContext ctx = Context(Action("Source", {{"S3Bucket", "in"}, {"S3ObjectKey", "none.zip"}}, {}, {"S"}));
  auto latest = provider->LatestRevision(ctx);
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(*latest);
  ActionResult result = provider->Start(ctx);
  EXPECT_EQ(result.status, ActionStatus::kFailed);
  EXPECT_EQ(result.error_code, "RevisionUnavailable");
}

TEST(ZipArchiveTest, RoundTripsAndRefusesEscapingEntries) {
  auto zip =
      archive::WriteZip({{"a/b.txt", "B", 0600, false}, {"link", "a/b.txt", 0777, true}, {"empty", "", 0644, false}});
  ASSERT_TRUE(zip.ok());
  auto entries = archive::ReadZip(*zip);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].content, "B");
  EXPECT_EQ((*entries)[0].mode, 0600u);
  EXPECT_TRUE((*entries)[1].symlink);
  EXPECT_EQ((*entries)[2].content, "");
  auto bad = archive::WriteZip({{"../up.txt", "x", 0644, false}});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(archive::ReadZip(*bad).status().message(),
            "zip: entry ../up.txt would be written outside its directory");
  EXPECT_EQ(archive::ReadZip("not a zip").status().message(), "zip: not a valid zip file");
}

}  // namespace
}  // namespace gantry::services::codepipeline
