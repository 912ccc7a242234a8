#include <gtest/gtest.h>

#include "services/codepipeline/actions/fake_services_test.h"
#include "services/codepipeline/actions/providers.h"

namespace gantry::services::codepipeline {
namespace {

using aws::Document;
using testing::FakeServices;

Document BuildAction(Document configuration, std::vector<std::string> inputs, std::vector<std::string> outputs) {
  Document in = Document::array(), out = Document::array();
  for (const auto& n : inputs) in.push_back({{"name", n}});
  for (const auto& n : outputs) out.push_back({{"name", n}});
  return {{"name", "Build"},
          {"actionTypeId", {{"category", "Build"}, {"owner", "AWS"}, {"provider", "CodeBuild"}, {"version", "1"}}},
          {"configuration", configuration},
          {"inputArtifacts", in},
          {"outputArtifacts", out}};
}

class CodeBuildActionTest : public ::testing::Test {
 protected:
  CodeBuildActionTest() : provider_(MakeCodeBuildAction("Build")) {
    services_.handlers["codebuild:StartBuild"] = [](const Document&) -> StatusOr<Document> {
      return Document{{"build", {{"id", "app:1111"}, {"buildStatus", "IN_PROGRESS"}}}};
    };
  }
  ActionContext Context(const Document& declaration, std::vector<ArtifactLocation> inputs) {
    ActionContext ctx = testing::MakeContext(declaration, &services_, &clock_, &ids_);
    ctx.inputs = std::move(inputs);
    return ctx;
  }
  void BuildEnds(const std::string& status, Document exported = Document::array()) {
    services_.handlers["codebuild:BatchGetBuilds"] = [status, exported](const Document& input) -> StatusOr<Document> {
      return Document{
          {"builds", {{{"id", input["ids"][0]}, {"buildStatus", status}, {"exportedEnvironmentVariables", exported}}}},
          {"buildsNotFound", Document::array()}};
    };
  }

  std::unique_ptr<ActionProvider> provider_;
  FakeServices services_;
  FakeClock clock_;
  SequentialIdSource ids_;
};

TEST_F(CodeBuildActionTest, StartsTheProjectOverTheInputArtifacts) {
  Document declaration =
      BuildAction({{"ProjectName", "app"},
                   {"PrimarySource", "Src"},
                   {"EnvironmentVariables",
                    R"([{"name":"STAGE","value":"prod"},{"name":"P","value":"/p","type":"PARAMETER_STORE"}])"}},
                  {"Other", "Src"}, {"BuildOutput"});
  ASSERT_TRUE(provider_->Validate(declaration).ok());
  ActionContext ctx = Context(declaration, {{"Other", "store", "pipe/Other/o1"}, {"Src", "store", "pipe/Src/s1"}});
  ActionResult started = provider_->Start(ctx);
  ASSERT_EQ(started.status, ActionStatus::kInProgress) << started.summary;
  EXPECT_EQ(started.external_execution_id, "app:1111");
  auto calls = services_.CallsTo("codebuild", "StartBuild");
  ASSERT_EQ(calls.size(), 1u);
  const Document& input = calls[0].input;
  EXPECT_EQ(calls[0].principal.source_arn, "arn:aws:codepipeline:us-east-1:000000000000:pipe");
  EXPECT_EQ(input["projectName"], "app");
  EXPECT_EQ(input["sourceTypeOverride"], "CODEPIPELINE");
  EXPECT_EQ(input["sourceVersion"], "arn:aws:s3:::store/pipe/Src/s1");
  EXPECT_EQ(input["secondarySourcesOverride"],
            (Document{{{"type", "S3"}, {"location", "store/pipe/Other/o1"}, {"sourceIdentifier", "Other"}}}));
  EXPECT_EQ(input["artifactsOverride"],
            (Document{{"type", "CODEPIPELINE"}, {"location", "arn:aws:s3:::store/pipe/BuildOutput/obj1"}}));
  EXPECT_EQ(input["environmentVariablesOverride"][0],
            (Document{{"name", "STAGE"}, {"value", "prod"}, {"type", "PLAINTEXT"}}));
  EXPECT_EQ(input["environmentVariablesOverride"][1]["type"], "PARAMETER_STORE");

  ctx.state = started.state;
  BuildEnds("IN_PROGRESS");
  EXPECT_EQ(provider_->Poll(ctx).status, ActionStatus::kInProgress);
  BuildEnds("SUCCEEDED", Document{{{"name", "VERSION"}, {"value", "1.2"}}});
  ActionResult done = provider_->Poll(ctx);
  ASSERT_EQ(done.status, ActionStatus::kSucceeded);
  EXPECT_EQ(done.output_variables, (std::map<std::string, std::string>{{"VERSION", "1.2"}}));
  ASSERT_EQ(done.outputs.size(), 1u);
  EXPECT_EQ(done.outputs[0].ArnForm(), "arn:aws:s3:::store/pipe/BuildOutput/obj1");
  EXPECT_EQ(done.outputs[0].name, "BuildOutput");
}

TEST_F(CodeBuildActionTest, SeveralOutputsAreSecondaryArtifactsByName) {
  Document declaration = BuildAction({{"ProjectName", "app"}}, {"Src"}, {"Web", "Docs"});
  ActionContext ctx = Context(declaration, {{"Src", "store", "pipe/Src/s1"}});
  ASSERT_EQ(provider_->Start(ctx).status, ActionStatus::kInProgress);
  Document input = services_.CallsTo("codebuild", "StartBuild")[0].input;
  EXPECT_EQ(input["artifactsOverride"], (Document{{"type", "NO_ARTIFACTS"}}));
  ASSERT_EQ(input["secondaryArtifactsOverride"].size(), 2u);
  EXPECT_EQ(input["secondaryArtifactsOverride"][1], (Document{{"type", "S3"},
                                                              {"location", "store"},
                                                              {"path", "pipe/Docs"},
                                                              {"name", "obj2"},
                                                              {"namespaceType", "NONE"},
                                                              {"packaging", "ZIP"},
                                                              {"artifactIdentifier", "Docs"}}));
}

TEST_F(CodeBuildActionTest, FailuresCarryTheBuildStateAndAbandonStopsTheBuild) {
  Document declaration = BuildAction({{"ProjectName", "app"}}, {"Src"}, {});
  ActionContext ctx = Context(declaration, {{"Src", "store", "pipe/Src/s1"}});
  ActionResult started = provider_->Start(ctx);
  EXPECT_EQ(services_.CallsTo("codebuild", "StartBuild")[0].input["artifactsOverride"],
            (Document{{"type", "NO_ARTIFACTS"}}));
  ctx.state = started.state;
  // The engine calls Stop only for an abandoned action (stop and abandon): the build is stopped.
  provider_->Stop(ctx);
  ASSERT_EQ(services_.CallsTo("codebuild", "StopBuild").size(), 1u);
  EXPECT_EQ(services_.CallsTo("codebuild", "StopBuild")[0].input, (Document{{"id", "app:1111"}}));
  // A build stopped by someone else (a stop and wait lets it run) fails the action it ran for.
  BuildEnds("STOPPED");
  ActionResult ended = provider_->Poll(ctx);
  EXPECT_EQ(ended.status, ActionStatus::kFailed);
  EXPECT_EQ(ended.error_code, "JobFailed");
  EXPECT_EQ(ended.summary, "Build terminated with state: STOPPED");

  services_.handlers["codebuild:StartBuild"] = [](const Document&) -> StatusOr<Document> {
    return Status::NotFound("Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/app",
                            "ResourceNotFoundException");
  };
  ActionResult failed = provider_->Start(ctx);
  EXPECT_EQ(failed.status, ActionStatus::kFailed);
  EXPECT_EQ(failed.summary,
            "Could not start a build of project app. ResourceNotFoundException: Project cannot be found: "
            "arn:aws:codebuild:us-east-1:000000000000:project/app");
}

TEST_F(CodeBuildActionTest, ValidationAndBatchBuilds) {
  EXPECT_EQ(provider_->Validate(BuildAction({{"ProjectName", "app"}}, {"A", "B"}, {})).message(),
            "Action configuration for action 'Build' must set PrimarySource when the action has more than one input "
            "artifact");
  EXPECT_EQ(provider_->Validate(BuildAction({{"ProjectName", "app"}, {"PrimarySource", "C"}}, {"A"}, {})).message(),
            "Action configuration for action 'Build' has PrimarySource C, which is not one of its input artifacts");
  Status bad_variables = provider_->Validate(
      BuildAction({{"ProjectName", "app"}, {"EnvironmentVariables", R"([{"name":"A"}])"}}, {"A"}, {}));
  EXPECT_EQ(bad_variables.aws_code(), "InvalidActionDeclarationException");
  EXPECT_EQ(provider_
                ->Validate(BuildAction(
                    {{"ProjectName", "app"}, {"EnvironmentVariables", R"([{"name":"A","value":"v","type":"X"}])"}},
                    {"A"}, {}))
                .message(),
            "Action configuration for action 'Build' has an invalid EnvironmentVariables value: type X of variable A "
            "must be PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER");
  EXPECT_FALSE(provider_->Validate(BuildAction({{"ProjectName", "app"}, {"BatchEnabled", "yes"}}, {"A"}, {})).ok());
  // Several inputs become source identifiers: [A-Za-z0-9_] only; one input may be named freely.
  Status dashed = provider_->Validate(BuildAction({{"ProjectName", "app"}, {"PrimarySource", "A"}}, {"A", "my-src"}, {}));
  EXPECT_EQ(dashed.aws_code(), "InvalidActionDeclarationException");
  EXPECT_EQ(dashed.message(),
            "Action configuration for action 'Build' has artifact my-src: when a CodeBuild action has several input "
            "artifacts, their names may contain only letters, digits and underscores");
  EXPECT_TRUE(provider_->Validate(BuildAction({{"ProjectName", "app"}}, {"my-src"}, {})).ok());
  EXPECT_FALSE(provider_->Validate(BuildAction({{"ProjectName", "app"}}, {"A"}, {"web-out", "Docs"})).ok());
  // CombineArtifacts makes one output; a batch with several outputs cannot combine them.
  Document combined =
      BuildAction({{"ProjectName", "app"}, {"BatchEnabled", "true"}, {"CombineArtifacts", "true"}}, {"A"}, {"X", "Y"});
  ASSERT_TRUE(provider_->Validate(combined).ok());
  ActionContext combined_ctx = Context(combined, {{"A", "store", "pipe/A/a1"}});
  EXPECT_EQ(provider_->Start(combined_ctx).status, ActionStatus::kFailed);
  EXPECT_TRUE(services_.CallsTo("codebuild", "StartBuildBatch").empty());
}

TEST_F(CodeBuildActionTest, BatchEnabledRunsABatchBuildWithOutputsNamedByIdentifier) {
  services_.handlers["codebuild:StartBuildBatch"] = [](const Document&) -> StatusOr<Document> {
    return Document{{"buildBatch", {{"id", "app:b1"}, {"buildBatchStatus", "IN_PROGRESS"}}}};
  };
  std::string batch_status = "IN_PROGRESS";
  services_.handlers["codebuild:BatchGetBuildBatches"] = [&](const Document& input) -> StatusOr<Document> {
    return Document{{"buildBatches", {{{"id", input["ids"][0]}, {"buildBatchStatus", batch_status}}}},
                    {"buildBatchesNotFound", Document::array()}};
  };
  Document batch = BuildAction({{"ProjectName", "app"}, {"BatchEnabled", "true"}}, {"A"}, {"build1", "build1_docs"});
  ASSERT_TRUE(provider_->Validate(batch).ok());
  ActionContext ctx = Context(batch, {{"A", "store", "pipe/A/a1"}});
  ActionResult started = provider_->Start(ctx);
  ASSERT_EQ(started.status, ActionStatus::kInProgress) << started.summary;
  EXPECT_EQ(started.external_execution_id, "app:b1");
  EXPECT_TRUE(services_.CallsTo("codebuild", "StartBuild").empty());
  auto calls = services_.CallsTo("codebuild", "StartBuildBatch");
  ASSERT_EQ(calls.size(), 1u);
  const Document& input = calls[0].input;
  EXPECT_EQ(input["artifactsOverride"]["type"], "NO_ARTIFACTS");
  ASSERT_EQ(input["secondaryArtifactsOverride"].size(), 2u);
  EXPECT_EQ(input["secondaryArtifactsOverride"][0]["artifactIdentifier"], "build1");
  EXPECT_EQ(input["secondaryArtifactsOverride"][1]["artifactIdentifier"], "build1_docs");
  EXPECT_FALSE(input.contains("buildBatchConfigOverride"));
  ctx.state = started.state;
  EXPECT_EQ(provider_->Poll(ctx).status, ActionStatus::kInProgress);
  batch_status = "SUCCEEDED";
  ActionResult done = provider_->Poll(ctx);
  ASSERT_EQ(done.status, ActionStatus::kSucceeded);
  ASSERT_EQ(done.outputs.size(), 2u);
  batch_status = "FAILED";
  ActionResult failed = provider_->Poll(ctx);
  EXPECT_EQ(failed.status, ActionStatus::kFailed);
  EXPECT_EQ(failed.summary, "Batch build terminated with state: FAILED");
  provider_->Stop(ctx);
  EXPECT_EQ(services_.CallsTo("codebuild", "StopBuildBatch").size(), 1u);

  // CombineArtifacts: the one output is the batch's CODEPIPELINE artifact, combined.
  Document combined =
      BuildAction({{"ProjectName", "app"}, {"BatchEnabled", "true"}, {"CombineArtifacts", "true"}}, {"A"}, {"All"});
  ActionContext combined_ctx = Context(combined, {{"A", "store", "pipe/A/a1"}});
  ASSERT_EQ(provider_->Start(combined_ctx).status, ActionStatus::kInProgress);
  Document second = services_.CallsTo("codebuild", "StartBuildBatch").back().input;
  EXPECT_EQ(second["artifactsOverride"]["type"], "CODEPIPELINE");
  EXPECT_EQ(second["buildBatchConfigOverride"]["combineArtifacts"], true);
}

TEST(ActionRegistryTest, TheDefaultRegistryHasEveryProvider) {
  ActionRegistry registry = MakeDefaultRegistry();
  for (auto [category, provider] : std::vector<std::pair<std::string, std::string>>{{"Source", "CodeCommit"},
                                                                                    {"Source", "S3"},
                                                                                    {"Build", "CodeBuild"},
                                                                                    {"Test", "CodeBuild"},
                                                                                    {"Approval", "Manual"},
                                                                                    {"Deploy", "S3"}}) {
    ActionProvider* found =
        registry.Find({{"category", category}, {"owner", "AWS"}, {"provider", provider}, {"version", "1"}});
    ASSERT_NE(found, nullptr) << category << "/" << provider;
    EXPECT_EQ(found->type().category, category);
  }
  EXPECT_EQ(registry.All().size(), 6u);
}

}  // namespace
}  // namespace gantry::services::codepipeline
