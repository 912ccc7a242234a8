#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "services/codebuild/batch_records.h"
#include "services/codebuild/batch_runner.h"
#include "services/codebuild/codebuild_service.h"
#include "services/codebuild/records.h"
#include "test_support/service_test.h"

namespace gantry::services::codebuild {
namespace {

using aws::Document;

std::vector<BatchGroup> Expand(const std::string& yaml) {
  auto spec = runtime::ParseBuildspec(yaml, "buildspec.yml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->batch.has_value());
  auto groups = ExpandBatch(*spec->batch);
  EXPECT_TRUE(groups.ok()) << groups.status().ToString();
  return groups.ok() ? *groups : std::vector<BatchGroup>{};
}

TEST(BatchExpand, GraphKeepsDependenciesEnvAndFailureSettings) {
  auto groups = Expand(R"(version: 0.2
batch:
  fast-fail: true
  build-graph:
    - identifier: a
      env:
        compute-type: BUILD_GENERAL1_MEDIUM
        privileged-mode: true
        variables:
          WHO: a
    - identifier: b
      buildspec: b.yml
      depend-on: [a]
      ignore-failure: true
phases:
  build:
    commands: [echo hi]
)");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].identifier, "a");
  EXPECT_EQ(groups[0].compute_type, "BUILD_GENERAL1_MEDIUM");
  EXPECT_EQ(groups[0].privileged_mode, std::optional<bool>(true));
  ASSERT_EQ(groups[0].variables.size(), 1u);
  EXPECT_EQ(groups[0].variables[0], std::make_pair(std::string("WHO"), std::string("a")));
  EXPECT_EQ(groups[1].depends_on, std::vector<std::string>{"a"});
  EXPECT_TRUE(groups[1].ignore_failure);
  EXPECT_EQ(groups[1].buildspec, "b.yml");
  // Round trip through the stored form.
  BatchGroup back = GroupFromDocument(GroupToDocument(groups[0]));
  EXPECT_EQ(back.identifier, "a");
  EXPECT_EQ(back.privileged_mode, std::optional<bool>(true));
  EXPECT_EQ(back.variables, groups[0].variables);
}

TEST(BatchExpand, MatrixIsTheCartesianProductWithStaticSettings) {
  auto groups = Expand(R"(version: 0.2
batch:
  build-matrix:
    static:
      ignore-failure: true
      env:
        privileged-mode: true
    dynamic:
      buildspec: [one.yml, two.yml]
      env:
        variables:
          V: [x, y, z]
)");
  ASSERT_EQ(groups.size(), 6u);
  std::set<std::pair<std::string, std::string>> combos;
  for (size_t i = 0; i < groups.size(); ++i) {
    EXPECT_EQ(groups[i].identifier, "build" + std::to_string(i + 1));
    EXPECT_TRUE(groups[i].ignore_failure);
    ASSERT_EQ(groups[i].variables.size(), 1u);
    combos.insert({groups[i].buildspec, groups[i].variables[0].second});
  }
  EXPECT_EQ(combos.size(), 6u);
  EXPECT_EQ(groups[0].buildspec, "one.yml");
  EXPECT_EQ(groups[0].variables[0].second, "x");
  EXPECT_EQ(groups[5].buildspec, "two.yml");
  EXPECT_EQ(groups[5].variables[0].second, "z");
}

TEST(BatchExpand, MatrixImagesAndComputeTypesAreDimensionsToo) {
  auto groups = Expand(R"(version: 0.2
batch:
  build-matrix:
    dynamic:
      env:
        image: [my/image:1, my/image:2]
        compute-type: [BUILD_GENERAL1_SMALL, BUILD_GENERAL1_LARGE]
)");
  ASSERT_EQ(groups.size(), 4u);
  std::vector<std::pair<std::string, std::string>> combos;
  for (const BatchGroup& g : groups) combos.emplace_back(g.image, g.compute_type);
  EXPECT_EQ(combos, (std::vector<std::pair<std::string, std::string>>{{"my/image:1", "BUILD_GENERAL1_SMALL"},
                                                                      {"my/image:1", "BUILD_GENERAL1_LARGE"},
                                                                      {"my/image:2", "BUILD_GENERAL1_SMALL"},
                                                                      {"my/image:2", "BUILD_GENERAL1_LARGE"}}));
  // Each build of the batch gets its combination as its environment.
  Document settings = {{"environment", {{"computeType", "BUILD_GENERAL1_MEDIUM"}, {"image", "project/image:0"}}}};
  Document last = GroupSettings(settings, GroupFromDocument(GroupToDocument(groups[3])));
  EXPECT_EQ(last["environment"]["image"], "my/image:2");
  EXPECT_EQ(last["environment"]["computeType"], "BUILD_GENERAL1_LARGE");
}

TEST(BatchExpand, DebugSessionIsRecordedOnTheGroupsBuild) {
  auto groups = Expand(R"(version: 0.2
batch:
  build-list:
    - identifier: debugged
      debug-session: true
    - identifier: plain
)");
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_TRUE(groups[0].debug_session);
  EXPECT_FALSE(groups[1].debug_session);
  Document settings = {{"environment", Document::object()}};
  Document debugged = GroupSettings(settings, GroupFromDocument(GroupToDocument(groups[0])));
  EXPECT_EQ(debugged["debugSession"], (Document{{"sessionEnabled", true}}));
  EXPECT_FALSE(GroupSettings(settings, groups[1]).contains("debugSession"));
}

TEST(BatchExpand, FanoutIsRefusedSayingWhy) {
  auto spec = runtime::ParseBuildspec("version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 3\n", "buildspec.yml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto groups = ExpandBatch(*spec->batch);
  ASSERT_FALSE(groups.ok());
  EXPECT_NE(groups.status().message().find("test splitting"), std::string::npos);
}

TEST(BatchSettings, GroupEnvOverridesTheBatchSettings) {
  Document settings = {{"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2"}}},
                       {"environment",
                        {{"computeType", "BUILD_GENERAL1_SMALL"},
                         {"image", "aws/codebuild/standard:7.0"},
                         {"environmentVariables", {{{"name", "WHO"}, {"value", "project"}, {"type", "PLAINTEXT"}}}}}}};
  BatchGroup g;
  g.identifier = "x";
  g.buildspec = "other.yml";
  g.compute_type = "BUILD_GENERAL1_LARGE";
  g.variables = {{"WHO", "group"}, {"MORE", "1"}};
  Document out = GroupSettings(settings, g);
  EXPECT_EQ(out["source"]["buildspec"], "other.yml");
  EXPECT_EQ(out["environment"]["computeType"], "BUILD_GENERAL1_LARGE");
  EXPECT_EQ(out["environment"]["image"], "aws/codebuild/standard:7.0");
  ASSERT_EQ(out["environment"]["environmentVariables"].size(), 2u);
  EXPECT_EQ(out["environment"]["environmentVariables"][0]["value"], "group");
}

TEST(BatchRecords, PhasesEndWithTheFinalPhaseOfTheStatus) {
  Document record = {{"Batch", {{"phases", Document::array()}, {"complete", false}}}};
  TimePoint t0 = FromEpochSeconds(1000.0);
  BeginBatchPhase(record, "SUBMITTED", t0);
  EndBatchPhase(record, t0 + std::chrono::seconds(1), "SUCCEEDED");
  BeginBatchPhase(record, "IN_PROGRESS", t0 + std::chrono::seconds(1));
  EXPECT_FALSE(IsBatchComplete(record));
  CompleteBatch(record, "TIMED_OUT", t0 + std::chrono::seconds(5), {{"BUILD_TIMED_OUT", "late"}});
  EXPECT_TRUE(IsBatchComplete(record));
  const Document& phases = record["Batch"]["phases"];
  ASSERT_EQ(phases.size(), 3u);
  EXPECT_EQ(phases[1]["phaseStatus"], "TIMED_OUT");
  EXPECT_EQ(phases[1]["durationInSeconds"], 4);
  EXPECT_EQ(phases[1]["contexts"][0]["statusCode"], "BUILD_TIMED_OUT");
  EXPECT_EQ(phases[2]["phaseType"], "FAILED");
  EXPECT_EQ(record["Batch"]["currentPhase"], "FAILED");
  EXPECT_EQ(record["Batch"]["buildBatchStatus"], "TIMED_OUT");
}

TEST(BatchRecords, IdsAndArns) {
  EXPECT_EQ(BatchArn("us-east-1", "000000000000", "p:u"), "arn:aws:codebuild:us-east-1:000000000000:build-batch/p:u");
  EXPECT_EQ(ParseBatchId("arn:aws:codebuild:us-east-1:000000000000:build-batch/p:u"), std::optional<std::string>("p:u"));
  EXPECT_EQ(ParseBatchId("p:u"), std::optional<std::string>("p:u"));
  EXPECT_FALSE(ParseBatchId("arn:aws:codebuild:us-east-1:000000000000:build/p:u").has_value());
  EXPECT_FALSE(ParseBatchId("nocolon").has_value());
}

// The runner over the service's store, driven pass by pass. Builds do not run: the tests end them.
// CodeBuild's own calls (StopBuild, BatchDeleteBuilds) go back to the service; STS and IAM accept the
// roles; S3 GetObject serves `objects` and, while `hold_s3`, waits (a slow source).
class LoopbackAws final : public aws::Client {
 public:
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    if (service == "codebuild") return dispatcher->Call(principal, "codebuild", operation, input, region);
    if (service == "sts" && operation == "AssumeRole") {
      return Document{{"Credentials", {{"AccessKeyId", "ASIA1"}, {"SecretAccessKey", "s"}, {"SessionToken", "t"},
                                       {"Expiration", 4000000000.0}}},
                      {"AssumedRoleUser", {{"Arn", "arn:aws:sts::000000000000:assumed-role/r/s"}, {"AssumedRoleId", "AROA:s"}}}};
    }
    if (service == "iam" && operation == "GetRole") {
      return Document{{"Role", {{"Arn", "arn:aws:iam::000000000000:role/" + input.value("RoleName", "")}}}};
    }
    if (service == "s3" && operation == "GetObject") {
      std::unique_lock lock(mu);
      ++s3_reads;
      changed.notify_all();
      changed.wait(lock, [&] { return !hold_s3; });
      auto it = objects.find(input.value("Bucket", "") + "/" + input.value("Key", ""));
      if (it == objects.end()) return Status::NotFound("The specified key does not exist.", "NoSuchKey");
      return Document{{"Body", Document::binary(std::vector<uint8_t>(it->second.begin(), it->second.end()))}};
    }
    return Document::object();
  }

  void Release() {
    std::lock_guard lock(mu);
    hold_s3 = false;
    changed.notify_all();
  }

  aws::Dispatcher* dispatcher = nullptr;
  std::mutex mu;
  std::condition_variable changed;
  bool hold_s3 = false;
  int s3_reads = 0;
  std::map<std::string, std::string> objects;  // "bucket/key"
};

constexpr char kBatchRole[] = "arn:aws:iam::000000000000:role/batch";

std::string Spec(const std::string& batch_yaml) {
  return "version: 0.2\nbatch:\n" + batch_yaml + "phases:\n  build:\n    commands:\n      - echo hi\n";
}

class BatchRunnerTest : public test_support::ServiceTest<CodeBuildService> {
 protected:
  BatchRunnerTest() : ServiceTest("codebuild", "000000000000", "us-east-1") {}

  std::unique_ptr<CodeBuildService> MakeService() override {
    aws_.dispatcher = dispatcher_.get();
    CodeBuildOptions options;
    options.state_dir = dir_.path();
    options.work_root = work_.path();
    options.engine = []() -> std::unique_ptr<BuildEngine> { return nullptr; };  // builds never run here
    auto service = std::make_unique<CodeBuildService>(store_.get(), &clock_, &ids_, &aws_, options);
    queue_ = &service->queue();
    return service;
  }

  void TearDown() override {
    aws_.Release();
    runner_.reset();
    ServiceTest::TearDown();
  }

  BatchRunner& Runner() {
    if (!runner_) runner_ = std::make_unique<BatchRunner>(CodeBuildDeps{store_.get(), &clock_, &ids_, &aws_, queue_});
    return *runner_;
  }

  void Project(const std::string& name, const std::string& buildspec, Document batch_config = Document::object()) {
    batch_config["serviceRole"] = kBatchRole;
    Ok("CreateProject", {{"name", name},
                         {"source", {{"type", "NO_SOURCE"}, {"buildspec", buildspec}}},
                         {"artifacts", {{"type", "NO_ARTIFACTS"}}},
                         {"environment", {{"type", "LINUX_CONTAINER"}, {"image", "aws/codebuild/standard:7.0"},
                                          {"computeType", "BUILD_GENERAL1_SMALL"}}},
                         {"serviceRole", "arn:aws:iam::000000000000:role/cb"},
                         {"buildBatchConfig", batch_config}});
  }

  std::string Start(const std::string& project) {
    return Ok("StartBuildBatch", {{"projectName", project}})["buildBatch"].value("id", "");
  }

  Document Batch(const std::string& id) {
    Document out = Ok("BatchGetBuildBatches", {{"ids", {id}}});
    return out["buildBatches"].empty() ? Document() : out["buildBatches"][0];
  }

  // identifier → its current build id ("" when not started).
  std::map<std::string, std::string> Builds(const std::string& batch_id) {
    std::map<std::string, std::string> out;
    const Document batch = Batch(batch_id);
    for (const Document& g : batch["buildGroups"]) {
      std::string arn = g.value("currentBuildSummary", Document::object()).value("arn", "");
      out[g.value("identifier", "")] = arn.empty() ? "" : arn.substr(arn.find(":build/") + 7);
    }
    return out;
  }

  std::map<std::string, std::string> Statuses(const std::string& batch_id) {
    std::map<std::string, std::string> out;
    const Document batch = Batch(batch_id);
    for (const Document& g : batch["buildGroups"]) {
      out[g.value("identifier", "")] = g.value("currentBuildSummary", Document::object()).value("buildStatus", "");
    }
    return out;
  }

  void End(const std::string& build_id, runtime::BuildStatus status) {
    auto ended = UpdateBuild(*store_, "000000000000/us-east-1", build_id, [&](Document& r) -> Status {
      CompleteBuild(r, status, clock_.Now());
      return Status::Ok();
    });
    ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  }

  // Runs passes until pred holds (a bounded number).
  template <typename Pred>
  bool PassUntil(Pred pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred()) return true;
      Runner().Pass();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
  }

  store::testing::ScratchDirectory work_;
  LoopbackAws aws_;
  BuildQueue* queue_ = nullptr;
  std::unique_ptr<BatchRunner> runner_;
};

TEST_F(BatchRunnerTest, GraphStartsDependentsOfIgnoredFailuresOnly) {
  Project("graph", Spec("  build-graph:\n"
                        "    - identifier: a\n      ignore-failure: true\n"
                        "    - identifier: b\n      depend-on: [a]\n"
                        "    - identifier: x\n"
                        "    - identifier: y\n      depend-on: [x]\n"));
  std::string id = Start("graph");
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["a"].empty() && !Builds(id)["x"].empty(); }));
  EXPECT_EQ(Builds(id)["b"], "");
  EXPECT_EQ(Builds(id)["y"], "");
  End(Builds(id)["a"], runtime::BuildStatus::kFailed);
  End(Builds(id)["x"], runtime::BuildStatus::kFailed);
  // a ignores its failure: b runs after it; x does not: y never runs.
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["b"].empty(); }));
  End(Builds(id)["b"], runtime::BuildStatus::kSucceeded);
  ASSERT_TRUE(PassUntil([&] { return Batch(id).value("complete", false); }));
  Document batch = Batch(id);
  EXPECT_EQ(batch["buildBatchStatus"], "FAILED");
  EXPECT_EQ(Builds(id)["y"], "");
  EXPECT_NE(batch["phases"][2]["contexts"].dump().find("build y was not started"), std::string::npos) << batch.dump();
}

TEST_F(BatchRunnerTest, FastFailStopsTheOtherBuildsAndRetryAllRunsEveryGroupAgain) {
  Project("fast", Spec("  fast-fail: true\n  build-list:\n    - identifier: p\n    - identifier: q\n"));
  std::string id = Start("fast");
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["p"].empty() && !Builds(id)["q"].empty(); }));
  End(Builds(id)["p"], runtime::BuildStatus::kFailed);
  ASSERT_TRUE(PassUntil([&] { return Batch(id).value("complete", false); }));
  EXPECT_EQ(Batch(id)["buildBatchStatus"], "FAILED");
  EXPECT_EQ(Statuses(id), (std::map<std::string, std::string>{{"p", "FAILED"}, {"q", "STOPPED"}}));

  std::map<std::string, std::string> before = Builds(id);
  Document retried = Ok("RetryBuildBatch", {{"id", id}, {"retryType", "RETRY_ALL_BUILDS"}})["buildBatch"];
  for (const Document& g : retried["buildGroups"]) {
    EXPECT_FALSE(g.contains("currentBuildSummary")) << g.dump();
    EXPECT_EQ(g["priorBuildSummaryList"].size(), 1u) << g.dump();
  }
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["p"].empty() && !Builds(id)["q"].empty(); }));
  EXPECT_NE(Builds(id)["p"], before["p"]);
  EXPECT_NE(Builds(id)["q"], before["q"]);
}

TEST_F(BatchRunnerTest, ABuildThatIsGoneEndsItsGroupWithAFault) {
  Project("gone", Spec("  build-list:\n    - identifier: only\n"));
  std::string id = Start("gone");
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["only"].empty(); })) << Batch(id).dump();
  std::string build = Builds(id)["only"];
  End(build, runtime::BuildStatus::kSucceeded);
  ASSERT_TRUE(store_->Delete(kBuildTable, "000000000000/us-east-1", build).ok());
  ASSERT_TRUE(PassUntil([&] { return Batch(id).value("complete", false); }));
  EXPECT_EQ(Batch(id)["buildBatchStatus"], "FAILED");
  EXPECT_EQ(Statuses(id)["only"], "FAULT");
}

TEST_F(BatchRunnerTest, TheTimeoutCountsFromTheStartInEveryPhase) {
  aws_.objects["specs/batch.yml"] = Spec("  build-list:\n    - identifier: one\n");
  Project("slow", "arn:aws:s3:::specs/batch.yml", {{"timeoutInMins", 5}});
  Project("late", Spec("  build-list:\n    - identifier: one\n"), {{"timeoutInMins", 5}});
  aws_.hold_s3 = true;
  std::string downloading = Start("slow");
  std::string running = Start("late");
  ASSERT_TRUE(PassUntil([&] { return !Builds(running)["one"].empty(); }));
  EXPECT_EQ(Batch(downloading)["currentPhase"], "DOWNLOAD_BATCHSPEC");
  clock_.Advance(std::chrono::minutes(6));
  ASSERT_TRUE(PassUntil([&] { return Batch(running).value("complete", false); }));
  EXPECT_EQ(Batch(running)["buildBatchStatus"], "TIMED_OUT");
  EXPECT_EQ(Statuses(running)["one"], "STOPPED");
  EXPECT_FALSE(Batch(downloading).value("complete", false));  // its S3 read still runs
  aws_.Release();
  ASSERT_TRUE(PassUntil([&] { return Batch(downloading).value("complete", false); }));
  EXPECT_EQ(Batch(downloading)["buildBatchStatus"], "TIMED_OUT");
}

TEST_F(BatchRunnerTest, ASlowDownloadDelaysNoOtherBatchAndStopEndsIt) {
  aws_.objects["specs/batch.yml"] = Spec("  build-list:\n    - identifier: one\n");
  Project("slow", "arn:aws:s3:::specs/batch.yml");
  Project("quick", Spec("  build-list:\n    - identifier: one\n"));
  aws_.hold_s3 = true;
  std::string slow = Start("slow");
  ASSERT_TRUE(PassUntil([&] {
    std::lock_guard lock(aws_.mu);
    return aws_.s3_reads == 1;
  }));
  std::string quick = Start("quick");
  ASSERT_TRUE(PassUntil([&] { return !Builds(quick)["one"].empty(); }));
  Ok("StopBuildBatch", {{"id", slow}});
  Runner().Pass();
  EXPECT_FALSE(Batch(slow).value("complete", false));  // ends once the read returns
  aws_.Release();
  ASSERT_TRUE(PassUntil([&] { return Batch(slow).value("complete", false); }));
  EXPECT_EQ(Batch(slow)["buildBatchStatus"], "STOPPED");
  EXPECT_EQ(Batch(slow)["buildGroups"], Document::array());
}

TEST_F(BatchRunnerTest, DeleteAndRetriedMemberBuilds) {
  Project("del", Spec("  build-list:\n    - identifier: one\n"));
  std::string id = Start("del");
  ASSERT_TRUE(PassUntil([&] { return !Builds(id)["one"].empty(); }));
  EXPECT_EQ(Error("DeleteBuildBatch", {{"id", id}}).first, "InvalidInputException");  // in progress
  // A retried build of a batch is outside the batch.
  std::string member = Builds(id)["one"];
  End(member, runtime::BuildStatus::kFailed);
  Document retried = Ok("RetryBuild", {{"id", member}})["build"];
  EXPECT_FALSE(retried.contains("buildBatchArn"));
  auto stored = store_->Get(kBuildTable, "000000000000/us-east-1", retried.value("id", ""));
  ASSERT_TRUE(stored.ok() && *stored);
  EXPECT_FALSE((*stored)->doc["Settings"].contains("batchBuildIdentifier"));
  End(retried.value("id", ""), runtime::BuildStatus::kSucceeded);

  ASSERT_TRUE(PassUntil([&] { return Batch(id).value("complete", false); }));
  std::string arn = Batch(id)["buildGroups"][0]["currentBuildSummary"]["arn"];
  Document deleted = Ok("DeleteBuildBatch", {{"id", id}});
  EXPECT_EQ(deleted["statusCode"], "BATCH_DELETED");
  EXPECT_EQ(deleted["buildsDeleted"], Document::array({arn}));
  EXPECT_EQ(Error("DeleteBuildBatch", {{"id", id}}),
            std::make_pair(std::string("InvalidInputException"), "Build batch cannot be found: " + id));

  // An entry among the batches in flight whose batch is gone goes at the next pass.
  ASSERT_TRUE(store_->Put(kBatchActiveTable, "", Padded(99), Document{{"Scope", "000000000000/us-east-1"},
                                                                       {"Id", "del:gone"}}).ok());
  Runner().Pass();
  auto entry = store_->Get(kBatchActiveTable, "", Padded(99));
  ASSERT_TRUE(entry.ok());
  EXPECT_FALSE(entry->has_value());
}

}  // namespace
}  // namespace gantry::services::codebuild
