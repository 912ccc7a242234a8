#include "services/codebuild/codebuild_service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "core/archive/zip.h"
#include "core/http/server.h"
#include "core/store/test_support.h"
#include "services/codebuild/artifacts.h"
#include "services/codebuild/records.h"
#include "services/codebuild/test_support.h"
#include "test_support/service_test.h"

namespace gantry::services::codebuild {
namespace {

namespace fs = std::filesystem;
using aws::Document;
using runtime::BuildPhaseType;
using runtime::BuildStatus;
using testing::FakeAws;
using testing::kAccount;
using testing::kRegion;
using testing::kRole;

// A scripted engine: reports the phases the real engine reports, calls the hooks a build needs
// (parameters and secrets of project_env, DownloadSource, UploadArtifacts of `artifacts`), prints
// `lines` in BUILD, and fails BUILD when `fail_build`. BUILD ends STOPPED when a stop was asked;
// with `block`, it waits until released or stopped. Records the request it ran.
struct EngineScript {
  std::vector<std::string> lines = {"hello from the build"};
  bool fail_build = false;
  std::vector<std::pair<std::string, std::string>> artifact_files;  // path in the tree → content
  std::string artifact_name;                                        // the buildspec's artifacts name
  std::string artifact_identifier;                                  // set: a secondary artifact
  bool block = false;
  std::vector<std::pair<std::string, std::string>> exported;
};

// What the engines saw: the values the hooks resolved and the files DownloadSource produced.
struct Observed {
  std::map<std::string, runtime::ResolvedValue> resolved;
  std::map<std::string, std::string> codebuild_env;  // as read after DOWNLOAD_SOURCE
  std::vector<std::string> source_files;
  std::vector<std::string> secondary_files;  // "<sourceIdentifier>:<path>"
};

class FakeEngine final : public BuildEngine {
 public:
  FakeEngine(EngineScript script, std::vector<runtime::BuildRequest>* requests, Observed* observed, std::mutex* mu,
             std::condition_variable* released, bool* release)
      : script_(std::move(script)),
        requests_(requests),
        observed_(observed),
        mu_(mu),
        released_(released),
        release_(release) {}

  runtime::BuildOutcome Run(const runtime::BuildRequest& request, runtime::BuildHooks& hooks) override {
    {
      std::lock_guard lock(*mu_);
      requests_->push_back(request);
    }
    runtime::BuildOutcome outcome;
    TimePoint now = request.clock->Now();
    auto phase = [&](BuildPhaseType type, BuildStatus status, std::vector<runtime::PhaseContext> contexts = {}) {
      runtime::PhaseRecord r;
      r.type = type;
      r.start = now;
      hooks.OnPhase(r);
      r.end = request.clock->Now();
      r.status = status;
      r.contexts = std::move(contexts);
      hooks.OnPhase(r);
      outcome.phases.push_back(r);
      return status == BuildStatus::kSucceeded;
    };
    auto finish = [&](BuildStatus status) {
      phase(BuildPhaseType::kFinalizing, BuildStatus::kSucceeded);
      runtime::PhaseRecord completed;
      completed.type = BuildPhaseType::kCompleted;
      completed.start = request.clock->Now();
      hooks.OnPhase(completed);
      outcome.phases.push_back(completed);
      outcome.status = status;
      return outcome;
    };
    phase(BuildPhaseType::kProvisioning, BuildStatus::kSucceeded);
    std::string src = request.work_root + "/src";
    fs::create_directories(src);
    StatusOr<std::string> version = hooks.DownloadSource(src);
    // Like the engine: the environment is resolved in DOWNLOAD_SOURCE, after the source, with its
    // context wording.
    std::vector<runtime::PhaseContext> download;
    if (!version.ok()) download.push_back({version.status().aws_code(), version.status().message()});
    for (const runtime::EnvVar& v : version.ok() ? request.codebuild_env : std::vector<runtime::EnvVar>{}) {
      observed_->codebuild_env[v.name] = v.value;
    }
    for (const runtime::EnvVar& v : version.ok() ? request.project_env : std::vector<runtime::EnvVar>{}) {
      if (!download.empty()) break;
      if (v.type == runtime::EnvVarType::kParameterStore) {
        auto value = hooks.ResolveParameter(v.value);
        if (value.ok()) {
          observed_->resolved[v.name] = *value;
        } else {
          download.push_back(
              {"Decrypted Variables Error", value.status().code() == StatusCode::kNotFound
                                                ? "parameter does not exist: " + v.value
                                                : value.status().aws_code() + ": " + value.status().message()});
        }
      } else if (v.type == runtime::EnvVarType::kSecretsManager) {
        size_t colon = v.value.find(':');
        auto value = hooks.ResolveSecret(v.value.substr(0, colon),
                                         colon == std::string::npos ? "" : v.value.substr(colon + 1), "", "");
        if (value.ok()) {
          observed_->resolved[v.name] = *value;
        } else {
          download.push_back({"Secrets Manager Error", value.status().aws_code() + ": " + value.status().message()});
        }
      }
    }
    if (!phase(BuildPhaseType::kDownloadSource, download.empty() ? BuildStatus::kSucceeded : BuildStatus::kFailed,
               download)) {
      return finish(BuildStatus::kFailed);
    }
    outcome.resolved_source_version = *version;
    for (const auto& entry : fs::recursive_directory_iterator(src)) {
      if (entry.is_regular_file()) observed_->source_files.push_back(fs::relative(entry.path(), src).string());
    }
    for (const runtime::EnvVar& v : request.codebuild_env) {
      if (v.name.rfind("CODEBUILD_SRC_DIR_", 0) != 0) continue;
      for (const auto& entry : fs::recursive_directory_iterator(v.value)) {
        if (!entry.is_regular_file()) continue;
        observed_->secondary_files.push_back(v.name.substr(18) + ":" + fs::relative(entry.path(), v.value).string());
      }
    }
    phase(BuildPhaseType::kInstall, BuildStatus::kSucceeded);
    phase(BuildPhaseType::kPreBuild, BuildStatus::kSucceeded);
    runtime::PhaseRecord build;
    build.type = BuildPhaseType::kBuild;
    build.start = request.clock->Now();
    hooks.OnPhase(build);
    for (const std::string& line : script_.lines) hooks.OnLogLine(line);
    BuildStatus status = script_.fail_build ? BuildStatus::kFailed : BuildStatus::kSucceeded;
    {
      // Like the engine, a stop asked before BUILD ends it at once; with `block`, BUILD waits.
      std::unique_lock lock(*mu_);
      if (script_.block) released_->wait(lock, [&] { return *release_ || stop_; });
      if (stop_) status = BuildStatus::kStopped;
    }
    build.end = request.clock->Now();
    build.status = status;
    if (script_.fail_build)
      build.contexts = {{"COMMAND_EXECUTION_ERROR", "Error while executing command: false. Reason: exit status 1"}};
    hooks.OnPhase(build);
    outcome.phases.push_back(build);
    if (status == BuildStatus::kStopped) return finish(BuildStatus::kStopped);
    phase(BuildPhaseType::kPostBuild, BuildStatus::kSucceeded);
    runtime::ArtifactSpec spec;
    spec.name = script_.artifact_name;
    spec.identifier = script_.artifact_identifier;
    runtime::SelectedArtifact selected;
    selected.spec = &spec;
    selected.name = script_.artifact_name;
    for (const auto& [path, content] : script_.artifact_files) {
      fs::create_directories((fs::path(src) / path).parent_path());
      std::ofstream(fs::path(src) / path) << content;
      selected.files.push_back({src + "/" + path, path});
    }
    Status uploaded =
        hooks.UploadArtifacts(script_.artifact_files.empty() ? std::vector<runtime::SelectedArtifact>{}
                                                             : std::vector<runtime::SelectedArtifact>{selected});
    phase(BuildPhaseType::kUploadArtifacts, uploaded.ok() ? BuildStatus::kSucceeded : BuildStatus::kFailed,
          uploaded.ok() ? std::vector<runtime::PhaseContext>{}
                        : std::vector<runtime::PhaseContext>{{uploaded.aws_code(), uploaded.message()}});
    outcome.exported_variables = script_.exported;
    return finish(!uploaded.ok() ? BuildStatus::kFailed : status);
  }

  void RequestStop() override {
    std::lock_guard lock(*mu_);
    stop_ = true;
    released_->notify_all();
  }

 private:
  EngineScript script_;
  std::vector<runtime::BuildRequest>* requests_;
  Observed* observed_;
  std::mutex* mu_;
  std::condition_variable* released_;
  bool* release_;
  bool stop_ = false;
};

Document Environment(const std::string& image = "aws/codebuild/standard:7.0") {
  return {{"type", "LINUX_CONTAINER"}, {"image", image}, {"computeType", "BUILD_GENERAL1_SMALL"}};
}

Document NoSourceProject(const std::string& name) {
  return {{"name", name},
          {"source",
           {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"}}},
          {"artifacts", {{"type", "NO_ARTIFACTS"}}},
          {"environment", Environment()},
          {"serviceRole", kRole}};
}

class CodeBuildTest : public test_support::ServiceTest<CodeBuildService> {
 protected:
  CodeBuildTest() : ServiceTest("codebuild", kAccount, kRegion) {}

  std::unique_ptr<CodeBuildService> MakeService() override {
    CodeBuildOptions options;
    options.state_dir = dir_.path();
    options.work_root = work_root_.empty() ? work_.path() : work_root_;
    options.concurrent_builds = concurrent_;
    options.endpoint = [this] { return endpoint_; };
    options.engine = [this]() -> std::unique_ptr<BuildEngine> {
      return std::make_unique<FakeEngine>(script_, &requests_, &observed_, &mu_, &released_, &release_);
    };
    return std::make_unique<CodeBuildService>(store_.get(), &clock_, &ids_, &aws_, options);
  }

  // Runs queued builds to completion on this thread.
  int RunQueued() { return service_->queue().Pass(true); }

  Document Build(const std::string& id) {
    Document out = Ok("BatchGetBuilds", {{"ids", {id}}});
    EXPECT_EQ(out["builds"].size(), 1u) << out.dump();
    return out["builds"].empty() ? Document() : out["builds"][0];
  }

  std::vector<std::string> PhaseTypes(const Document& build) {
    std::vector<std::string> out;
    for (const Document& p : build["phases"]) out.push_back(p["phaseType"]);
    return out;
  }
  std::map<std::string, std::string> PhaseStatuses(const Document& build) {
    std::map<std::string, std::string> out;
    for (const Document& p : build["phases"]) out[p["phaseType"]] = p.value("phaseStatus", "");
    return out;
  }
  std::map<std::string, std::string> Env(const runtime::BuildRequest& request) {
    std::map<std::string, std::string> out;
    for (const auto& v : request.codebuild_env) out[v.name] = v.value;
    return out;
  }

  // Waits (without timing anything) until pred holds; fails the test after a generous bound.
  template <typename Pred>
  bool Eventually(Pred pred) {
    for (int i = 0; i < 2000; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  store::testing::ScratchDirectory work_;
  std::string work_root_;  // set: the service's build directory instead of work_
  FakeAws aws_;
  EngineScript script_;
  int concurrent_ = 2;
  std::string endpoint_ = "http://127.0.0.1:4566";
  std::vector<runtime::BuildRequest> requests_;
  std::mutex mu_;
  std::condition_variable released_;
  bool release_ = false;
  Observed observed_;
};

TEST_F(CodeBuildTest, ProjectLifecycleAndShapes) {
  Document created = Ok("CreateProject", NoSourceProject("app"))["project"];
  EXPECT_EQ(created["arn"], "arn:aws:codebuild:us-east-1:000000000000:project/app");
  EXPECT_EQ(created["timeoutInMinutes"], 60);
  EXPECT_EQ(created["queuedTimeoutInMinutes"], 480);
  EXPECT_EQ(created["encryptionKey"], "arn:aws:kms:us-east-1:000000000000:alias/aws/s3");
  EXPECT_EQ(created["logsConfig"]["cloudWatchLogs"]["status"], "ENABLED");
  EXPECT_EQ(created["logsConfig"]["s3Logs"]["status"], "DISABLED");
  EXPECT_EQ(created["environment"]["privilegedMode"], false);
  EXPECT_EQ(created["environment"]["imagePullCredentialsType"], "CODEBUILD");
  EXPECT_EQ(created["badge"]["badgeEnabled"], false);
  EXPECT_EQ(created["projectVisibility"], "PRIVATE");
  EXPECT_EQ(created["serviceRole"], kRole);
  // The role was passed (iam:PassRole is the authorizer's) and tried with sts:AssumeRole as CodeBuild.
  auto assumed = aws_.CallsTo("sts", "AssumeRole");
  ASSERT_EQ(assumed.size(), 1u);
  EXPECT_EQ(assumed[0].principal.service, "codebuild.amazonaws.com");

  EXPECT_EQ(
      Error("CreateProject", NoSourceProject("app")),
      std::make_pair(std::string("ResourceAlreadyExistsException"),
                     std::string("Project already exists: arn:aws:codebuild:us-east-1:000000000000:project/app")));

  clock_.Advance(std::chrono::seconds(10));
  Document updated =
      Ok("UpdateProject",
         {{"name", "app"}, {"description", "the app"}, {"timeoutInMinutes", 15}, {"badgeEnabled", true}})["project"];
  EXPECT_EQ(updated["description"], "the app");
  EXPECT_EQ(updated["timeoutInMinutes"], 15);
  EXPECT_EQ(updated["badge"]["badgeEnabled"], true);
  EXPECT_EQ(updated["source"], created["source"]);
  EXPECT_GT(updated["lastModified"].get<double>(), created["lastModified"].get<double>());
  EXPECT_EQ(
      Error("UpdateProject", {{"name", "nope"}}),
      std::make_pair(std::string("ResourceNotFoundException"),
                     std::string("Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/nope")));

  Document got =
      Ok("BatchGetProjects", {{"names", {"app", "arn:aws:codebuild:us-east-1:000000000000:project/app", "nope"}}});
  ASSERT_EQ(got["projects"].size(), 2u);
  EXPECT_EQ(got["projects"][0]["description"], "the app");
  EXPECT_EQ(got["projectsNotFound"], Document::array({"nope"}));

  Ok("DeleteProject", {{"name", "app"}});
  EXPECT_TRUE(Ok("BatchGetProjects", {{"names", {"app"}}})["projects"].empty());
  Ok("DeleteProject", {{"name", "app"}});  // deleting what is gone is not an error, as in AWS
}

TEST_F(CodeBuildTest, ListProjectsSortsAndPages) {
  for (int i = 0; i < 102; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "p%03d", 101 - i);
    Ok("CreateProject", NoSourceProject(name));
    clock_.Advance(std::chrono::seconds(1));
  }
  Document first = Ok("ListProjects", Document::object());
  ASSERT_EQ(first["projects"].size(), 100u);
  EXPECT_EQ(first["projects"][0], "p000");
  ASSERT_TRUE(first.contains("nextToken"));
  Document second = Ok("ListProjects", {{"nextToken", first["nextToken"]}});
  EXPECT_EQ(second["projects"], Document::array({"p100", "p101"}));
  EXPECT_FALSE(second.contains("nextToken"));
  Document by_time = Ok("ListProjects", {{"sortBy", "CREATED_TIME"}, {"sortOrder", "DESCENDING"}});
  EXPECT_EQ(by_time["projects"][0], "p000");  // created last
  Document by_time_asc = Ok("ListProjects", {{"sortBy", "CREATED_TIME"}, {"sortOrder", "ASCENDING"}});
  EXPECT_EQ(by_time_asc["projects"][0], "p101");
  EXPECT_EQ(Error("ListProjects", {{"nextToken", "garbage!"}}).first, "InvalidInputException");
}

TEST_F(CodeBuildTest, ProjectValidation) {
  Document p = NoSourceProject("v1");
  p["source"].erase("buildspec");
  EXPECT_EQ(Error("CreateProject", p),
            std::make_pair(std::string("InvalidInputException"),
                           std::string("Invalid input: buildspec must be specified for a NO_SOURCE source type")));
  p = NoSourceProject("v2");
  p["source"] = {{"type", "S3"}};
  EXPECT_EQ(Error("CreateProject", p).second, "Project source location is required");
  p["source"] = {{"type", "S3"}, {"location", "bucket-only"}};
  EXPECT_EQ(Error("CreateProject", p).first, "InvalidInputException");
  p = NoSourceProject("v3");
  p["artifacts"] = {{"type", "S3"}};
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid artifacts: artifact type S3 requires a location (the output bucket)");
  p["artifacts"] = {{"type", "NO_ARTIFACTS"}, {"location", "b"}};
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid artifacts: artifact type NO_ARTIFACTS should have null location");
  p["artifacts"] = {{"type", "CODEPIPELINE"}};
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid input: when using CodePipeline both sourceType, and artifactType must be set to: CODEPIPELINE");
  p = NoSourceProject("v4");
  p["environment"]["environmentVariables"] = {{{"name", "CODEBUILD_X"}, {"value", "1"}}};
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid environment variable name: CODEBUILD_X. Environment variable names cannot start with CODEBUILD_.");
  p = NoSourceProject("v5");
  p["serviceRole"] = "arn:aws:iam::111111111111:role/cb";
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid service role: Service role account ID does not match caller's account");
  p["serviceRole"] = "arn:aws:iam::000000000000:role/untrusted";
  EXPECT_EQ(Error("CreateProject", p).second,
            "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::000000000000:role/untrusted");
  p["serviceRole"] = "cb";  // a role name in this account
  EXPECT_EQ(Ok("CreateProject", p)["project"]["serviceRole"], kRole);
  p = NoSourceProject("v6");
  p["concurrentBuildLimit"] = 3;
  EXPECT_EQ(Error("CreateProject", p).second,
            "Project-level concurrent build limit cannot exceed the account-level concurrent build limit of 2.");
  p["secondaryArtifacts"] = {{{"type", "S3"}, {"location", "b"}}};
  p["concurrentBuildLimit"] = 1;
  EXPECT_EQ(Error("CreateProject", p).second, "Invalid input: secondary artifacts must have an artifactIdentifier");
  // The model's own constraints.
  p = NoSourceProject("v7");
  p["timeoutInMinutes"] = 4;
  EXPECT_EQ(Error("CreateProject", p).second,
            "1 validation error detected: Value '4' at 'timeoutInMinutes' failed to satisfy constraint: Member must "
            "have value greater than or equal to 5");
}

TEST_F(CodeBuildTest, BuildRunsThroughEveryPhaseAsTheServiceRole) {
  Ok("CreateProject", NoSourceProject("app"));
  Document started = Ok("StartBuild", {{"projectName", "app"}})["build"];
  std::string id = started["id"];
  std::optional<BuildIdParts> parts = ParseBuildId(id);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->project, "app");
  EXPECT_EQ(parts->uuid.size(), 36u);
  EXPECT_EQ(started["arn"], "arn:aws:codebuild:us-east-1:000000000000:build/" + id);
  EXPECT_EQ(started["buildNumber"], 1);
  EXPECT_EQ(started["currentPhase"], "SUBMITTED");
  EXPECT_EQ(started["buildStatus"], "IN_PROGRESS");
  EXPECT_EQ(started["buildComplete"], false);
  EXPECT_EQ(started["initiator"], "root");
  EXPECT_EQ(started["logs"]["groupName"], "/aws/codebuild/app");
  EXPECT_EQ(started["logs"]["streamName"], parts->uuid);
  EXPECT_EQ(
      started["logs"]["deepLink"],
      "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEvent:group=/aws/codebuild/app;stream=" +
          parts->uuid);

  clock_.Advance(std::chrono::seconds(2));
  ASSERT_EQ(RunQueued(), 1);
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(build["buildComplete"], true);
  EXPECT_EQ(build["currentPhase"], "COMPLETED");
  EXPECT_EQ(PhaseTypes(build),
            (std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
                                      "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"}));
  for (const Document& p : build["phases"]) {
    if (p["phaseType"] == "COMPLETED") {
      EXPECT_FALSE(p.contains("phaseStatus"));
      continue;
    }
    EXPECT_EQ(p["phaseStatus"], "SUCCEEDED") << p.dump();
    EXPECT_TRUE(p.contains("endTime") && p.contains("durationInSeconds")) << p.dump();
  }
  EXPECT_EQ(build["phases"][0]["durationInSeconds"], 2);  // SUBMITTED until the queue took it
  EXPECT_FALSE(build["phases"][0].contains("contexts"));
  EXPECT_EQ(build["phases"][1]["contexts"], Document::array());

  // What the engine was given.
  ASSERT_EQ(requests_.size(), 1u);
  const runtime::BuildRequest& request = requests_[0];
  EXPECT_EQ(request.buildspec_inline, NoSourceProject("app")["source"]["buildspec"]);
  EXPECT_EQ(request.work_root, work_.path() + "/" + parts->uuid);
  EXPECT_EQ(request.hidden_paths, std::vector<std::string>{dir_.path()});
  EXPECT_EQ(request.limits.memory_bytes, 3ull << 30);
  EXPECT_EQ(request.limits.cpus, 2);
  EXPECT_EQ(request.timeout, std::chrono::seconds(3600));
  auto env = Env(request);
  EXPECT_EQ(env["CODEBUILD_BUILD_ID"], id);
  EXPECT_EQ(env["CODEBUILD_BUILD_ARN"], started["arn"]);
  EXPECT_EQ(env["CODEBUILD_BUILD_NUMBER"], "1");
  EXPECT_EQ(env["CODEBUILD_BUILD_IMAGE"], "aws/codebuild/standard:7.0");
  EXPECT_EQ(env["CODEBUILD_INITIATOR"], "root");
  EXPECT_EQ(env["CODEBUILD_LOG_PATH"], parts->uuid);
  EXPECT_EQ(env["CODEBUILD_PROJECT_ARN"], "arn:aws:codebuild:us-east-1:000000000000:project/app");
  EXPECT_EQ(env["CODEBUILD_KMS_KEY_ID"], "arn:aws:kms:us-east-1:000000000000:alias/aws/s3");
  EXPECT_EQ(env["CODEBUILD_START_TIME"], std::to_string(ToEpochMillis(FromSeconds(started["startTime"]))));
  EXPECT_EQ(env["AWS_REGION"], "us-east-1");
  EXPECT_EQ(env["AWS_DEFAULT_REGION"], "us-east-1");
  EXPECT_EQ(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:4566");
  EXPECT_EQ(env["AWS_ACCESS_KEY_ID"].rfind("ASIA", 0), 0u);
  EXPECT_EQ(env["AWS_SESSION_TOKEN"], "token");
  EXPECT_EQ(env.count("CODEBUILD_PUBLIC_BUILD_URL"), 0u);  // only for public builds
  EXPECT_EQ(env["HOME"], request.work_root + "/home");

  // The role session is CodeBuild's ("AWSCodeBuild-<uuid>"), and the logs were written as it.
  auto assumed = aws_.CallsTo("sts", "AssumeRole");
  ASSERT_EQ(assumed.size(), 2u);
  EXPECT_EQ(assumed[1].input["RoleSessionName"], "AWSCodeBuild-" + parts->uuid);
  EXPECT_EQ(assumed[1].input["DurationSeconds"], 3600);  // the build's timeout, at least an hour
  auto streams = aws_.CallsTo("logs", "CreateLogStream");
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].principal.arn, "arn:aws:sts::000000000000:assumed-role/cb/AWSCodeBuild-" + parts->uuid);
  EXPECT_EQ(streams[0].principal.service, "codebuild.amazonaws.com");
  // The curated image is not registered: the session says the build runs in the host sandbox.
  const std::vector<std::string>& lines = aws_.log_lines["/aws/codebuild/app|" + parts->uuid];
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("Image aws/codebuild/standard:7.0 is not registered with Gantry: it runs in the host sandbox"),
            std::string::npos);
  EXPECT_EQ(lines[1], "hello from the build");

  // Events: the state change at submission and at the end, and one phase change per ended phase.
  auto events = aws_.Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().first, "CodeBuild Build State Change");
  EXPECT_EQ(events.front().second["build-status"], "IN_PROGRESS");
  EXPECT_EQ(events.back().first, "CodeBuild Build State Change");
  EXPECT_EQ(events.back().second["build-status"], "SUCCEEDED");
  EXPECT_EQ(events.back().second["build-id"], started["arn"]);
  EXPECT_EQ(events.back().second["additional-information"]["build-complete"], true);
  std::vector<std::string> completed;
  for (const auto& [type, detail] : events) {
    if (type == "CodeBuild Build Phase Change") completed.push_back(detail["completed-phase"]);
  }
  EXPECT_EQ(completed,
            (std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
                                      "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING"}));
  // The build directory is gone.
  EXPECT_FALSE(fs::exists(request.work_root));
}

TEST_F(CodeBuildTest, OverridesApplyForOneBuild) {
  Document p = NoSourceProject("app");
  p["environment"]["environmentVariables"] = {{{"name", "A"}, {"value", "project"}},
                                              {{"name", "B"}, {"value", "project"}}};
  Ok("CreateProject", p);
  Document started =
      Ok("StartBuild",
         {{"projectName", "app"},
          {"environmentVariablesOverride",
           {{{"name", "B"}, {"value", "override"}}, {{"name", "C"}, {"value", "new"}, {"type", "PLAINTEXT"}}}},
          {"buildspecOverride", "version: 0.2\nphases: {build: {commands: [true]}}\n"},
          {"imageOverride", "aws/codebuild/amazonlinux2-x86_64-standard:5.0"},
          {"computeTypeOverride", "BUILD_GENERAL1_LARGE"},
          {"timeoutInMinutesOverride", 5},
          {"queuedTimeoutInMinutesOverride", 6}})["build"];
  EXPECT_EQ(started["timeoutInMinutes"], 5);
  EXPECT_EQ(started["queuedTimeoutInMinutes"], 6);
  EXPECT_EQ(started["environment"]["computeType"], "BUILD_GENERAL1_LARGE");
  Document vars = started["environment"]["environmentVariables"];
  ASSERT_EQ(vars.size(), 3u);
  EXPECT_EQ(vars[1]["value"], "override");
  EXPECT_EQ(vars[2]["name"], "C");
  RunQueued();
  ASSERT_EQ(requests_.size(), 1u);
  EXPECT_EQ(requests_[0].timeout, std::chrono::seconds(300));
  EXPECT_EQ(requests_[0].limits.memory_bytes, 15ull << 30);
  EXPECT_EQ(requests_[0].buildspec_inline, "version: 0.2\nphases: {build: {commands: [true]}}\n");
  EXPECT_EQ(requests_[0].image, "aws/codebuild/amazonlinux2-x86_64-standard:5.0");
  // The project is unchanged.
  Document project = Ok("BatchGetProjects", {{"names", {"app"}}})["projects"][0];
  EXPECT_EQ(project["environment"]["environmentVariables"].size(), 2u);
  EXPECT_EQ(project["timeoutInMinutes"], 60);

  EXPECT_EQ(
      Error("StartBuild", {{"projectName", "nope"}}),
      std::make_pair(std::string("ResourceNotFoundException"),
                     std::string("Project cannot be found: arn:aws:codebuild:us-east-1:000000000000:project/nope")));
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"}, {"sourceTypeOverride", "S3"}}).second,
            "Project source location is required");
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"},
                                 {"environmentVariablesOverride", {{{"name", "CODEBUILD_Y"}, {"value", "1"}}}}})
                .first,
            "InvalidInputException");
}

TEST_F(CodeBuildTest, BuildNumbersIdempotencyAndRetry) {
  Ok("CreateProject", NoSourceProject("app"));
  Document first = Ok("StartBuild", {{"projectName", "app"}, {"idempotencyToken", "t1"}})["build"];
  Document again = Ok("StartBuild", {{"projectName", "app"}, {"idempotencyToken", "t1"}})["build"];
  EXPECT_EQ(again["id"], first["id"]);
  EXPECT_EQ(Error("StartBuild",
                  {{"projectName", "app"}, {"idempotencyToken", "t1"}, {"imageOverride", "aws/codebuild/standard:6.0"}})
                .first,
            "InvalidInputException");
  clock_.Advance(std::chrono::minutes(6));
  Document later = Ok("StartBuild", {{"projectName", "app"}, {"idempotencyToken", "t1"}})["build"];
  EXPECT_NE(later["id"], first["id"]);
  EXPECT_EQ(later["buildNumber"], 2);
  RunQueued();
  Document retried = Ok("RetryBuild", {{"id", first["id"]}})["build"];
  EXPECT_EQ(retried["buildNumber"], 3);
  EXPECT_EQ(retried["source"], first["source"]);
  EXPECT_NE(retried["id"], first["id"]);
  EXPECT_EQ(Error("RetryBuild", {{"id", "app:00000000-0000-0000-0000-000000000000"}}),
            std::make_pair(std::string("ResourceNotFoundException"),
                           std::string("Build cannot be found: app:00000000-0000-0000-0000-000000000000")));
  EXPECT_EQ(Error("BatchGetBuilds", {{"ids", {"no-colon"}}}),
            std::make_pair(std::string("InvalidInputException"), std::string("Invalid build ID provided")));
  Document missing = Ok("BatchGetBuilds", {{"ids", {"app:11111111-1111-1111-1111-111111111111"}}});
  EXPECT_TRUE(missing["builds"].empty());
  EXPECT_EQ(missing["buildsNotFound"], Document::array({"app:11111111-1111-1111-1111-111111111111"}));
}

TEST_F(CodeBuildTest, ListsBuildsNewestFirstAndDeletesCompletedOnes) {
  Ok("CreateProject", NoSourceProject("pa"));
  Ok("CreateProject", NoSourceProject("pb"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Ok("StartBuild", {{"projectName", i == 1 ? "pb" : "pa"}})["build"]["id"]);
  }
  EXPECT_EQ(Ok("ListBuilds", Document::object())["ids"], Document({ids[2], ids[1], ids[0]}));
  EXPECT_EQ(Ok("ListBuilds", {{"sortOrder", "ASCENDING"}})["ids"], Document({ids[0], ids[1], ids[2]}));
  EXPECT_EQ(Ok("ListBuildsForProject", {{"projectName", "pa"}})["ids"], Document({ids[2], ids[0]}));
  EXPECT_EQ(Ok("ListBuildsForProject", {{"projectName", "pa"}, {"sortOrder", "ASCENDING"}})["ids"],
            Document({ids[0], ids[2]}));
  EXPECT_EQ(Error("ListBuildsForProject", {{"projectName", "zzz"}}).first, "ResourceNotFoundException");

  Document not_yet = Ok("BatchDeleteBuilds", {{"ids", {ids[0]}}});
  EXPECT_EQ(not_yet["buildsNotDeleted"], Document::array({{{"id", ids[0]}, {"statusCode", "BUILD_IN_PROGRESS"}}}));
  RunQueued();
  Document deleted = Ok("BatchDeleteBuilds", {{"ids", {ids[0], "pa:22222222-2222-2222-2222-222222222222"}}});
  EXPECT_EQ(deleted["buildsDeleted"], Document::array({ids[0]}));
  EXPECT_EQ(deleted["buildsNotDeleted"][0]["statusCode"], "BUILD_NOT_FOUND");
  EXPECT_EQ(Ok("ListBuildsForProject", {{"projectName", "pa"}})["ids"], Document({ids[2]}));
  EXPECT_EQ(Ok("ListBuilds", Document::object())["ids"].size(), 2u);
}

TEST_F(CodeBuildTest, ListBuildsPages) {
  Ok("CreateProject", NoSourceProject("pa"));
  endpoint_ = "http://127.0.0.1:0";  // keep them queued
  std::vector<std::string> ids;
  Close();
  concurrent_ = 30;  // room for 150 queued builds
  Open();
  for (int i = 0; i < 105; ++i) ids.push_back(Ok("StartBuild", {{"projectName", "pa"}})["build"]["id"]);
  Document first = Ok("ListBuildsForProject", {{"projectName", "pa"}, {"sortOrder", "ASCENDING"}});
  ASSERT_EQ(first["ids"].size(), 100u);
  Document second = Ok("ListBuildsForProject",
                       {{"projectName", "pa"}, {"sortOrder", "ASCENDING"}, {"nextToken", first["nextToken"]}});
  ASSERT_EQ(second["ids"].size(), 5u);
  EXPECT_EQ(second["ids"][4], ids[104]);
  EXPECT_FALSE(second.contains("nextToken"));
}

TEST_F(CodeBuildTest, FailedBuildKeepsPhaseContexts) {
  Ok("CreateProject", NoSourceProject("app"));
  script_.fail_build = true;
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  auto statuses = PhaseStatuses(build);
  EXPECT_EQ(statuses["BUILD"], "FAILED");
  for (const Document& p : build["phases"]) {
    if (p["phaseType"] == "BUILD") {
      EXPECT_EQ(p["contexts"][0]["statusCode"], "COMMAND_EXECUTION_ERROR");
    } else if (p["phaseType"] == "INSTALL") {
      EXPECT_EQ(p["contexts"], Document::array({{{"statusCode", ""}, {"message", ""}}}));
    }
  }
}

// The metrics AWS documents, in AWS/CodeBuild as the service principal: Builds at submission; the
// outcome, Duration and the phase durations at the end; each for the account, the project and the build.
TEST_F(CodeBuildTest, BuildsPublishTheirCloudWatchMetrics) {
  Ok("CreateProject", NoSourceProject("app"));
  script_.fail_build = true;
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  clock_.Advance(std::chrono::seconds(3));
  RunQueued();
  ASSERT_TRUE(Eventually([&] { return aws_.CallsTo("cloudwatch", "PutMetricData").size() == 2; }));
  auto calls = aws_.CallsTo("cloudwatch", "PutMetricData");
  // name → {"", "ProjectName", "BuildId,BuildNumber,ProjectName"} → datum
  auto by_name = [](const Document& input) {
    std::map<std::string, std::map<std::string, Document>> out;
    for (const Document& datum : input["MetricData"]) {
      std::string names;
      for (const Document& d : datum.value("Dimensions", Document::array())) {
        names += (names.empty() ? "" : ",") + d["Name"].get<std::string>() + "=" + d["Value"].get<std::string>();
      }
      out[datum["MetricName"]][names] = datum;
    }
    return out;
  };
  for (const auto& call : calls) {
    EXPECT_EQ(call.principal.service, "codebuild.amazonaws.com");
    EXPECT_EQ(call.input["Namespace"], "AWS/CodeBuild");
  }
  auto submitted = by_name(calls[0].input);
  ASSERT_EQ(submitted.size(), 1u);
  const std::string build_dims = "BuildId=" + id + ",BuildNumber=1,ProjectName=app";
  for (const std::string& dims : {std::string(), std::string("ProjectName=app"), build_dims}) {
    ASSERT_TRUE(submitted["Builds"].count(dims)) << dims;
    EXPECT_EQ(submitted["Builds"][dims]["Value"], 1.0);
    EXPECT_EQ(submitted["Builds"][dims]["Unit"], "Count");
  }
  Document build = Build(id);
  auto ended = by_name(calls[1].input);
  EXPECT_EQ(ended["FailedBuilds"]["ProjectName=app"]["Value"], 1.0);
  EXPECT_EQ(ended["SucceededBuilds"]["ProjectName=app"]["Value"], 0.0);
  EXPECT_EQ(ended["FailedBuilds"][""]["Timestamp"], build["endTime"]);
  EXPECT_EQ(ended["Duration"][build_dims]["Unit"], "Seconds");
  EXPECT_DOUBLE_EQ(ended["Duration"][""]["Value"].get<double>(),
                   build["endTime"].get<double>() - build["startTime"].get<double>());
  EXPECT_EQ(ended["SubmittedDuration"]["ProjectName=app"]["Value"], 3.0);
  for (const char* name : {"QueuedDuration", "ProvisioningDuration", "DownloadSourceDuration", "InstallDuration",
                           "PreBuildDuration", "BuildDuration", "PostBuildDuration", "UploadArtifactsDuration",
                           "FinalizingDuration"}) {
    EXPECT_EQ(ended[name].size(), 3u) << name;
  }
  EXPECT_EQ(ended.count("CompletedDuration"), 0u);
}

TEST_F(CodeBuildTest, ParametersAndSecretsResolveAsTheRole) {
  aws_.parameters["/app/url"] = {"https://x", "String"};
  aws_.parameters["/app/key"] = {"k3y", "SecureString"};
  aws_.secrets["db"] = R"({"password":"pw","port":5432})";
  Document p = NoSourceProject("app");
  p["environment"]["environmentVariables"] = {{{"name", "URL"}, {"value", "/app/url"}, {"type", "PARAMETER_STORE"}},
                                              {{"name", "KEY"}, {"value", "/app/key"}, {"type", "PARAMETER_STORE"}},
                                              {{"name", "PW"}, {"value", "db:password"}, {"type", "SECRETS_MANAGER"}},
                                              {{"name", "PORT"}, {"value", "db:port"}, {"type", "SECRETS_MANAGER"}}};
  Ok("CreateProject", p);
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  EXPECT_EQ(Build(id)["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(observed_.resolved["URL"].value, "https://x");
  EXPECT_FALSE(observed_.resolved["URL"].secret);
  EXPECT_EQ(observed_.resolved["KEY"].value, "k3y");
  EXPECT_TRUE(observed_.resolved["KEY"].secret);
  EXPECT_EQ(observed_.resolved["PW"].value, "pw");
  EXPECT_TRUE(observed_.resolved["PW"].secret);
  EXPECT_EQ(observed_.resolved["PORT"].value, "5432");
  auto gets = aws_.CallsTo("ssm", "GetParameters");
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0].input["WithDecryption"], true);
  EXPECT_NE(gets[0].principal.arn.find(":assumed-role/cb/AWSCodeBuild-"), std::string::npos);

  // A missing parameter and a missing secret fail the build with CodeBuild's contexts.
  p = NoSourceProject("broken");
  p["environment"]["environmentVariables"] = {{{"name", "X"}, {"value", "/missing"}, {"type", "PARAMETER_STORE"}},
                                              {{"name", "Y"}, {"value", "nosecret"}, {"type", "SECRETS_MANAGER"}}};
  Ok("CreateProject", p);
  id = Ok("StartBuild", {{"projectName", "broken"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  const Document& download = build["phases"][3];
  ASSERT_EQ(download["phaseType"], "DOWNLOAD_SOURCE");
  EXPECT_EQ(download["contexts"][0],
            (Document{{"statusCode", "Decrypted Variables Error"}, {"message", "parameter does not exist: /missing"}}));

  p = NoSourceProject("broken2");
  p["environment"]["environmentVariables"] = {{{"name", "Y"}, {"value", "nosecret"}, {"type", "SECRETS_MANAGER"}}};
  Ok("CreateProject", p);
  id = Ok("StartBuild", {{"projectName", "broken2"}})["build"]["id"];
  RunQueued();
  EXPECT_EQ(Build(id)["phases"][3]["contexts"][0],
            (Document{{"statusCode", "Secrets Manager Error"},
                      {"message", "ResourceNotFoundException: Secrets Manager can't find the specified secret."}}));
  aws_.denied.insert("ssm:GetParameters");
  id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  EXPECT_EQ(Build(id)["phases"][3]["contexts"][0]["message"].get<std::string>().rfind(
                "AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/cb/AWSCodeBuild-", 0),
            0u);
}

TEST_F(CodeBuildTest, S3SourceAndZippedArtifacts) {
  // A source archive in S3.
  store::testing::ScratchDirectory tmp;
  fs::create_directories(tmp.path() + "/src/lib");
  std::ofstream(tmp.path() + "/src/buildspec.yml") << "version: 0.2\n";
  std::ofstream(tmp.path() + "/src/lib/code.py") << "print(1)\n";
  ASSERT_TRUE(
      WriteZip(tmp.path() + "/source.zip",
               {{tmp.path() + "/src/buildspec.yml", "buildspec.yml"}, {tmp.path() + "/src/lib/code.py", "lib/code.py"}},
               false)
          .ok());
  std::ifstream zip(tmp.path() + "/source.zip", std::ios::binary);
  aws_.objects["in/app/source.zip"] =
      std::string(std::istreambuf_iterator<char>(zip), std::istreambuf_iterator<char>());

  Document p = NoSourceProject("app");
  p["source"] = {{"type", "S3"}, {"location", "in/app/source.zip"}};
  p["artifacts"] = {{"type", "S3"},      {"location", "out"}, {"path", "builds"}, {"namespaceType", "BUILD_ID"},
                    {"name", "app.zip"}, {"packaging", "ZIP"}};
  Ok("CreateProject", p);
  script_.artifact_files = {{"dist/app.txt", "the app"}, {"dist/readme", "read me"}};
  Document started = Ok("StartBuild", {{"projectName", "app"}})["build"];
  std::string uuid = ParseBuildId(started["id"].get<std::string>())->uuid;
  EXPECT_EQ(started["artifacts"]["location"], "arn:aws:s3:::out/builds/" + uuid + "/app.zip");
  RunQueued();
  Document build = Build(started["id"]);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED") << build.dump(2);
  EXPECT_TRUE(requests_[0].buildspec_inline.empty());
  EXPECT_TRUE(requests_[0].buildspec_path.empty());  // buildspec.yml in the source, the engine's default
  std::sort(observed_.source_files.begin(), observed_.source_files.end());
  EXPECT_EQ(observed_.source_files, (std::vector<std::string>{"buildspec.yml", "lib/code.py"}));
  auto env = Env(requests_[0]);
  EXPECT_EQ(env["CODEBUILD_SOURCE_REPO_URL"], "s3://in/app/source.zip");

  std::string key = "out/builds/" + uuid + "/app.zip";
  ASSERT_TRUE(aws_.objects.count(key));
  std::ofstream(tmp.path() + "/artifact.zip", std::ios::binary) << aws_.objects[key];
  fs::create_directories(tmp.path() + "/unzipped");
  ASSERT_TRUE(archive::ExtractZip(tmp.path() + "/artifact.zip", tmp.path() + "/unzipped").ok());
  std::ifstream app(tmp.path() + "/unzipped/dist/app.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(app), std::istreambuf_iterator<char>()), "the app");
  auto digests = DigestFile(tmp.path() + "/artifact.zip");
  EXPECT_EQ(build["artifacts"]["md5sum"], digests->md5);
  EXPECT_EQ(build["artifacts"]["sha256sum"], digests->sha256);
  EXPECT_EQ(build["artifacts"]["location"], "arn:aws:s3:::" + key);
}

TEST_F(CodeBuildTest, UnpackagedArtifactsAndTheBuildspecName) {
  Document p = NoSourceProject("app");
  p["artifacts"] = {{"type", "S3"}, {"location", "out"}, {"name", "project-name"}, {"overrideArtifactName", true}};
  Ok("CreateProject", p);
  script_.artifact_files = {{"a.txt", "A"}, {"dir/b.txt", "B"}};
  script_.artifact_name = "from-buildspec";
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED");
  EXPECT_EQ(aws_.objects["out/from-buildspec/a.txt"], "A");
  EXPECT_EQ(aws_.objects["out/from-buildspec/dir/b.txt"], "B");
  EXPECT_EQ(build["artifacts"]["location"], "arn:aws:s3:::out/from-buildspec");
  EXPECT_FALSE(build["artifacts"].contains("md5sum"));
}

TEST_F(CodeBuildTest, SecondaryArtifactsGoWhereTheirIdentifierSays) {
  Document p = NoSourceProject("app");
  p["secondaryArtifacts"] = {{{"type", "S3"},
                              {"location", "out2"},
                              {"artifactIdentifier", "docs"},
                              {"packaging", "ZIP"},
                              {"name", "docs.zip"}}};
  Ok("CreateProject", p);
  script_.artifact_files = {{"docs/a.md", "A"}};
  script_.artifact_identifier = "docs";
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED");
  ASSERT_TRUE(aws_.objects.count("out2/docs.zip"));
  EXPECT_EQ(build["secondaryArtifacts"][0]["artifactIdentifier"], "docs");
  EXPECT_EQ(build["secondaryArtifacts"][0]["location"], "arn:aws:s3:::out2/docs.zip");
  EXPECT_EQ(build["secondaryArtifacts"][0]["md5sum"].get<std::string>().size(), 32u);
  EXPECT_EQ(build["artifacts"]["location"], "");
}

TEST_F(CodeBuildTest, RoleDenialsFailThePhaseWithAwsMessages) {
  Document p = NoSourceProject("app");
  p["source"] = {{"type", "S3"}, {"location", "in/src.zip"}};
  Ok("CreateProject", p);
  aws_.denied.insert("s3:GetObject");
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(PhaseStatuses(build)["DOWNLOAD_SOURCE"], "FAILED");
  const Document& download = build["phases"][3];
  ASSERT_EQ(download["phaseType"], "DOWNLOAD_SOURCE");
  EXPECT_EQ(download["contexts"][0]["statusCode"], "CLIENT_ERROR");
  std::string uuid = ParseBuildId(id)->uuid;
  EXPECT_EQ(download["contexts"][0]["message"],
            "AccessDenied: User: arn:aws:sts::000000000000:assumed-role/cb/AWSCodeBuild-" + uuid +
                " is not authorized to perform: s3:GetObject for primary source and source version "
                "arn:aws:s3:::in/src.zip");

  // Without logs:CreateLogStream the build fails in PROVISIONING, before the engine runs.
  aws_.denied = {"logs:CreateLogStream"};
  id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(PhaseTypes(build),
            (std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "FINALIZING", "COMPLETED"}));
  EXPECT_EQ(build["phases"][2]["contexts"][0]["statusCode"], "ACCESS_DENIED");
  EXPECT_EQ(requests_.size(), 1u);
}

TEST_F(CodeBuildTest, OtherImagesFailInProvisioning) {
  Document p = NoSourceProject("app");
  p["environment"] = Environment("public.ecr.aws/docker/library/node:20");
  Ok("CreateProject", p);  // accepted, as in AWS
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(PhaseStatuses(build)["PROVISIONING"], "FAILED");
  EXPECT_EQ(build["phases"][2]["contexts"][0]["statusCode"], "BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE");
  EXPECT_NE(build["phases"][2]["contexts"][0]["message"].get<std::string>().find("gantry image register"),
            std::string::npos);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(CodeBuildTest, ExportedVariablesAreRecorded) {
  Ok("CreateProject", NoSourceProject("app"));
  script_.exported = {{"IMAGE_TAG", "v1"}, {"EMPTY", ""}};
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  EXPECT_EQ(Build(id)["exportedEnvironmentVariables"],
            Document::array({{{"name", "IMAGE_TAG"}, {"value", "v1"}}, {{"name", "EMPTY"}, {"value", ""}}}));
}

// Runs a shell command for the test's git fixtures; its output.
std::string Shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

// Git repositories under a directory, served over HTTP as a static web server serves them (git's
// "dumb" HTTP protocol: info/refs, HEAD and the objects as files).
class StaticGitServer {
 public:
  explicit StaticGitServer(std::string root) : root_(std::move(root)) {
    http::ServerOptions options;
    options.port = 0;
    server_ = std::make_unique<http::Server>(options, [this](http::Request& request, http::Response& response) {
      std::string path = root_ + request.path;
      std::ifstream in(path, std::ios::binary);
      if (request.path.find("..") != std::string::npos || !in || fs::is_directory(path)) {
        response.status = 404;
        return;
      }
      response.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    });
  }
  ~StaticGitServer() { server_->Stop(); }

  Status Start() { return server_->Start(); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/" + path;
  }

 private:
  std::string root_;
  std::unique_ptr<http::Server> server_;
};

// A repository with a commit on main and one more on feature, served at <server>/app.git; the
// feature commit's id.
std::string ServeRepository(const std::string& root) {
  std::string work = root + "/work";
  std::string git = "git -C " + work + " -c user.name=t -c user.email=t@e ";
  Shell("git init -q -b main " + work + " && echo one > " + work + "/main.txt && " + git + "add . && " + git +
        "commit -qm one && " + git + "checkout -qb feature && echo two > " + work + "/feature.txt && " + git +
        "add . && " + git + "commit -qm two && " + git + "checkout -q main && git clone -q --bare " + work + " " +
        root + "/app.git && git -C " + root + "/app.git update-server-info");
  return Shell(git + "rev-parse feature");
}

TEST_F(CodeBuildTest, RepositorySourcesAreClonedAtTheirVersion) {
  store::testing::ScratchDirectory served;
  std::string feature = ServeRepository(served.path());
  ASSERT_EQ(feature.size(), 40u);
  StaticGitServer server(served.path());
  ASSERT_TRUE(server.Start().ok());
  Document p = NoSourceProject("app");
  p["source"] = {{"type", "GITHUB"}, {"location", server.Url("app.git")}};
  Ok("CreateProject", p);

  std::string id = Ok("StartBuild", {{"projectName", "app"}, {"sourceVersion", "feature"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED") << build.dump(2);
  EXPECT_EQ(build["sourceVersion"], "feature");
  EXPECT_EQ(build["resolvedSourceVersion"], feature);
  std::sort(observed_.source_files.begin(), observed_.source_files.end());
  ASSERT_GE(observed_.source_files.size(), 2u);
  EXPECT_EQ(Env(requests_.back())["CODEBUILD_SOURCE_REPO_URL"], server.Url("app.git"));
  EXPECT_EQ(Env(requests_.back())["CODEBUILD_SOURCE_VERSION"], "feature");
  EXPECT_EQ(observed_.codebuild_env["CODEBUILD_RESOLVED_SOURCE_VERSION"], feature);
  EXPECT_TRUE(std::count(observed_.source_files.begin(), observed_.source_files.end(), "feature.txt"));

  // A version the repository does not have fails DOWNLOAD_SOURCE.
  id = Ok("StartBuild", {{"projectName", "app"}, {"sourceVersion", "no-such-branch"}})["build"]["id"];
  RunQueued();
  build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(build["phases"][3]["contexts"][0],
            (Document{{"statusCode", "CLIENT_ERROR"},
                      {"message", "reference not found for primary source and source version no-such-branch"}}));
}

TEST_F(CodeBuildTest, RepositoryLocationsAreCloneUrlsAndVersionsAreNotOptions) {
  Document p = NoSourceProject("app");
  const std::string kExample = ", for example https://github.com/<owner>/<repository>.git.";
  for (const std::string location :
       {"file:///var/lib/gantry/codecommit/repos/x.git", "/var/lib/gantry/codecommit/repos/x.git", "../x.git",
        "--upload-pack=touch /tmp/owned", "ssh://git@github.com/o/r.git", "git@github.com:o/r.git",
        "ext::sh -c touch% /tmp/owned", "https://", "https:///path", "https://github.com/o/r .git"}) {
    p["source"] = {{"type", "GITHUB"}, {"location", location}};
    EXPECT_EQ(Error("CreateProject", p),
              std::make_pair(std::string("InvalidInputException"),
                             "Invalid source location: " + location +
                                 ". The location of a GITHUB source is the repository's HTTPS clone URL" + kExample))
        << location;
  }
  p["source"] = {{"type", "CODECOMMIT"}, {"location", "file:///srv/repos/x.git"}};
  EXPECT_EQ(Error("CreateProject", p).second,
            "Invalid source location: file:///srv/repos/x.git. The location of a CODECOMMIT source is the "
            "repository's HTTPS clone URL, for example "
            "https://git-codecommit.<region>.amazonaws.com/v1/repos/<repository>.");
  p["source"] = {{"type", "GITHUB"}, {"location", "https://github.com/o/r.git"}};
  p["sourceVersion"] = "--upload-pack=touch /tmp/owned";
  EXPECT_EQ(Error("CreateProject", p),
            std::make_pair(std::string("InvalidInputException"),
                           std::string("Invalid source version: --upload-pack=touch /tmp/owned. The source version of "
                                       "a GITHUB source is a branch, tag, commit ID or pull request (pr/<number>), "
                                       "which cannot start with '-'.")));
  p.erase("sourceVersion");
  Ok("CreateProject", p);
  EXPECT_EQ(Ok("CreateProject",
               [&] {
                 Document other = NoSourceProject("gantry-hosted");
                 other["source"] = {{"type", "CODECOMMIT"}, {"location", "http://127.0.0.1:4566/v1/repos/x"}};
                 return other;
               }())["project"]["source"]["location"],
            "http://127.0.0.1:4566/v1/repos/x");

  EXPECT_EQ(
      Error("UpdateProject", {{"name", "app"}, {"source", {{"type", "GITLAB"}, {"location", "/srv/x.git"}}}}).second,
      "Invalid source location: /srv/x.git. The location of a GITLAB source is the repository's HTTPS clone URL, "
      "for example https://gitlab.com/<group>/<repository>.git.");
  EXPECT_EQ(Error("UpdateProject", {{"name", "app"}, {"sourceVersion", "-x"}}).first, "InvalidInputException");
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"}, {"sourceLocationOverride", "file:///srv/x.git"}}).second,
            "Invalid source location: file:///srv/x.git. The location of a GITHUB source is the repository's HTTPS "
            "clone URL" +
                kExample);
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"}, {"sourceVersion", "--upload-pack=id"}}).first,
            "InvalidInputException");
  // An S3 source's version is an object version, not a git reference.
  Document s3 = NoSourceProject("from-s3");
  s3["source"] = {{"type", "S3"}, {"location", "in/src.zip"}};
  s3["sourceVersion"] = "-not-a-git-ref";
  Ok("CreateProject", s3);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(CodeBuildTest, StoredBuildsMeetTheSourceChecksWhenTheyRun) {
  // Builds stored before the checks (or written by hand) are refused when they fetch their source,
  // before git runs.
  Document p = NoSourceProject("app");
  p["source"] = {{"type", "GITHUB"}, {"location", "https://github.com/o/r.git"}};
  Ok("CreateProject", p);
  std::string scope = std::string(kAccount) + "/" + kRegion;
  std::string local = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  std::string option = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  ASSERT_TRUE(UpdateBuild(*store_, scope, local, [](Document& r) -> Status {
                r["Build"]["source"]["location"] = "file:///srv/repos/x.git";
                return Status::Ok();
              }).ok());
  ASSERT_TRUE(UpdateBuild(*store_, scope, option, [](Document& r) -> Status {
                r["Build"]["sourceVersion"] = "--upload-pack=touch /tmp/owned";
                return Status::Ok();
              }).ok());
  RunQueued();
  Document build = Build(local);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(build["phases"][3]["contexts"][0]["message"],
            "Invalid source location: file:///srv/repos/x.git for primary source and source version (default "
            "branch)");
  build = Build(option);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(build["phases"][3]["contexts"][0]["message"],
            "Invalid source version: --upload-pack=touch /tmp/owned. The source version of a GITHUB source is a "
            "branch, tag, commit ID or pull request (pr/<number>), which cannot start with '-'.");
}

TEST_F(CodeBuildTest, QueueLimitsAndQueuedTimeout) {
  Close();
  concurrent_ = 1;
  Open();
  endpoint_ = "http://127.0.0.1:0";  // Gantry not listening yet: nothing starts
  Document p = NoSourceProject("app");
  Ok("CreateProject", p);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Ok("StartBuild", {{"projectName", "app"}})["build"]["id"]);
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"}}),
            std::make_pair(std::string("AccountLimitExceededException"),
                           std::string("Cannot have more than 5 builds in queue for the account")));
  EXPECT_EQ(RunQueued(), 0);
  EXPECT_EQ(Build(ids[0])["currentPhase"], "QUEUED");

  // queuedTimeoutInMinutes passes: the queued builds end TIMED_OUT in QUEUED.
  clock_.Advance(std::chrono::minutes(480));
  RunQueued();
  Document build = Build(ids[0]);
  EXPECT_EQ(build["buildStatus"], "TIMED_OUT");
  EXPECT_EQ(PhaseTypes(build), (std::vector<std::string>{"SUBMITTED", "QUEUED", "COMPLETED"}));
  EXPECT_EQ(build["phases"][1]["phaseStatus"], "TIMED_OUT");
  EXPECT_EQ(build["phases"][1]["contexts"][0]["statusCode"], "BUILD_TIMED_OUT");

  // A project's own limit refuses builds beyond it.
  Ok("UpdateProject", {{"name", "app"}, {"concurrentBuildLimit", 1}});
  Ok("StartBuild", {{"projectName", "app"}});
  EXPECT_EQ(Error("StartBuild", {{"projectName", "app"}}),
            std::make_pair(std::string("AccountLimitExceededException"),
                           std::string("Cannot have more than 1 active builds for the project app")));
  EXPECT_FALSE(
      Ok("UpdateProject", {{"name", "app"}, {"concurrentBuildLimit", -1}})["project"].contains("concurrentBuildLimit"));
}

TEST_F(CodeBuildTest, BuildsBeyondTheLimitWaitAndStopBuildStopsThem) {
  Close();
  concurrent_ = 1;
  Open();
  Ok("CreateProject", NoSourceProject("app"));
  script_.block = true;
  std::string first = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  std::string second = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  ASSERT_TRUE(service_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return Build(first)["currentPhase"] == "BUILD"; }));
  EXPECT_EQ(Build(second)["currentPhase"], "QUEUED");

  // The queued one stops at once; the running one when its engine has ended.
  Document stopped = Ok("StopBuild", {{"id", second}})["build"];
  EXPECT_EQ(stopped["buildStatus"], "STOPPED");
  EXPECT_EQ(stopped["phases"][1]["phaseStatus"], "STOPPED");
  Ok("StopBuild", {{"id", first}});
  ASSERT_TRUE(Eventually([&] { return Build(first)["buildComplete"] == true; }));
  Document build = Build(first);
  EXPECT_EQ(build["buildStatus"], "STOPPED");
  EXPECT_EQ(PhaseStatuses(build)["BUILD"], "STOPPED");
  // Stopping a finished build changes nothing.
  EXPECT_EQ(Ok("StopBuild", {{"id", first}})["build"]["buildStatus"], "STOPPED");
  EXPECT_EQ(Error("StopBuild", {{"id", "app:33333333-3333-3333-3333-333333333333"}}).first,
            "ResourceNotFoundException");
  service_->Stop();
}

TEST_F(CodeBuildTest, StoppingGantryEndsRunningBuildsWithAFault) {
  Ok("CreateProject", NoSourceProject("app"));
  script_.block = true;
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  ASSERT_TRUE(service_->Start().ok());
  ASSERT_TRUE(Eventually([&] { return Build(id)["currentPhase"] == "BUILD"; }));
  service_->Stop();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAULT");
  for (const Document& p : build["phases"]) {
    if (p["phaseType"] != "BUILD") continue;
    EXPECT_EQ(p["phaseStatus"], "FAULT");
    EXPECT_EQ(p["contexts"].back()["statusCode"], "BUILD_INTERRUPTED");
  }
}

TEST_F(CodeBuildTest, RestartResolvesBuildsLeftInFlight) {
  Ok("CreateProject", NoSourceProject("app"));
  std::string running = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  std::string stopping = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  std::string queued = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  // What a process killed mid-build leaves: two builds past QUEUED (one asked to stop), one queued.
  std::string scope = std::string(kAccount) + "/" + kRegion;
  for (const std::string& id : {running, stopping}) {
    ASSERT_TRUE(UpdateBuild(*store_, scope, id, [&](Document& r) -> Status {
                  TimePoint now = clock_.Now();
                  EndPhase(r, BuildPhaseType::kSubmitted, now, BuildStatus::kSucceeded, {});
                  EndPhase(r, BuildPhaseType::kQueued, now, BuildStatus::kSucceeded, {});
                  EndPhase(r, BuildPhaseType::kProvisioning, now, BuildStatus::kSucceeded, {});
                  BeginPhase(r, BuildPhaseType::kBuild, now);
                  if (id == stopping) r["StopRequested"] = true;
                  return Status::Ok();
                }).ok());
  }
  fs::create_directories(work_.path() + "/" + ParseBuildId(running)->uuid + "/src");
  Close();
  Open();
  ASSERT_TRUE(service_->queue().ResolveInterrupted().ok());
  Document build = Build(running);
  EXPECT_EQ(build["buildStatus"], "FAULT");
  EXPECT_EQ(build["buildComplete"], true);
  const Document& interrupted = build["phases"][build["phases"].size() - 2];
  EXPECT_EQ(interrupted["phaseType"], "BUILD");
  EXPECT_EQ(interrupted["phaseStatus"], "FAULT");
  EXPECT_EQ(interrupted["contexts"][0]["statusCode"], "BUILD_INTERRUPTED");
  EXPECT_NE(interrupted["contexts"][0]["message"].get<std::string>().find("was in BUILD"), std::string::npos);
  EXPECT_EQ(Build(stopping)["buildStatus"], "STOPPED");
  EXPECT_FALSE(fs::exists(work_.path() + "/" + ParseBuildId(running)->uuid));
  // The queued build stays queued and runs.
  EXPECT_EQ(Build(queued)["buildComplete"], false);
  RunQueued();
  EXPECT_EQ(Build(queued)["buildStatus"], "SUCCEEDED");
}

TEST_F(CodeBuildTest, StopBuildAsTheBuildIsClaimedStopsIt) {
  // StopBuild lands just after the queue claimed the build (QUEUED ended, PROVISIONING begun: the
  // claim's announcement), before the build runs: it is stopped, not run to the end.
  Ok("CreateProject", NoSourceProject("app"));
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  bool stopped = false;
  aws_.on_event = [&](const std::string& detail_type, const Document& detail) {
    if (detail_type == "CodeBuild Build Phase Change" && detail.value("completed-phase", "") == "QUEUED") {
      EXPECT_FALSE(Ok("StopBuild", {{"id", id}})["build"]["buildComplete"]);
      stopped = true;
    }
  };
  RunQueued();
  ASSERT_TRUE(stopped);
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "STOPPED");
  EXPECT_EQ(PhaseStatuses(build)["PROVISIONING"], "STOPPED");
  EXPECT_TRUE(requests_.empty());  // the engine never ran
}

TEST_F(CodeBuildTest, StopRequestedInTheRecordIsHonouredAtTheNextPhase) {
  // A stop persisted while the build runs (StopBuild writes StopRequested before it asks the running
  // build to stop) is honoured at the next phase even when the request itself never arrived.
  Ok("CreateProject", NoSourceProject("app"));
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  std::string scope = std::string(kAccount) + "/" + kRegion;
  aws_.on_event = [&](const std::string& detail_type, const Document& detail) {
    if (detail_type == "CodeBuild Build Phase Change" && detail.value("completed-phase", "") == "PROVISIONING") {
      EXPECT_TRUE(UpdateBuild(*store_, scope, id, [](Document& r) -> Status {
                    r["StopRequested"] = true;
                    return Status::Ok();
                  }).ok());
    }
  };
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "STOPPED");
  EXPECT_EQ(PhaseStatuses(build)["BUILD"], "STOPPED");
  EXPECT_EQ(PhaseStatuses(build).count("POST_BUILD"), 0u);
}

TEST_F(CodeBuildTest, TheRoleSecretKeyAndTokenAreMaskedInTheLog) {
  Ok("CreateProject", NoSourceProject("app"));
  Ok("StartBuild", {{"projectName", "app"}});
  RunQueued();
  ASSERT_EQ(requests_.size(), 1u);
  std::map<std::string, runtime::EnvVar> env;
  for (const runtime::EnvVar& v : requests_[0].codebuild_env) env[v.name] = v;
  EXPECT_EQ(env["AWS_ACCESS_KEY_ID"].value.rfind("ASIA", 0), 0u);
  EXPECT_FALSE(env["AWS_ACCESS_KEY_ID"].secret);
  EXPECT_EQ(env["AWS_SECRET_ACCESS_KEY"].value, "secret");
  EXPECT_TRUE(env["AWS_SECRET_ACCESS_KEY"].secret);
  EXPECT_EQ(env["AWS_SESSION_TOKEN"].value, "token");
  EXPECT_TRUE(env["AWS_SESSION_TOKEN"].secret);
  EXPECT_FALSE(env["CODEBUILD_BUILD_ID"].secret);
}

TEST_F(CodeBuildTest, BuildspecPathsMayStartWithVersion) {
  Document p = NoSourceProject("app");
  p["source"] = {{"type", "S3"}, {"location", "in/src.zip"}, {"buildspec", "version-ci.yml"}};
  Ok("CreateProject", p);
  aws_.objects["in/src.zip"] = "";  // unreadable as a zip; the request is made before it is read
  for (const std::string buildspec : {"version-ci.yml", "version: 0.2", "  version : 0.2", "{\"version\": 0.2}",
                                      "versions/ci.yml", "version\nphases: {}"}) {
    Ok("StartBuild", {{"projectName", "app"}, {"buildspecOverride", buildspec}});
    RunQueued();
    ASSERT_FALSE(requests_.empty());
    bool path = buildspec == "version-ci.yml" || buildspec == "versions/ci.yml";
    EXPECT_EQ(requests_.back().buildspec_path, path ? buildspec : "") << buildspec;
    EXPECT_EQ(requests_.back().buildspec_inline, path ? "" : buildspec) << buildspec;
  }
}

TEST_F(CodeBuildTest, AssumeRoleErrorsOtherThanDenialsAreReportedAsTheyAre) {
  Ok("CreateProject", NoSourceProject("app"));
  aws_.assume_error = Status::Unavailable("Rate exceeded", "Throttling");
  std::string id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(build["phases"][2]["contexts"][0],
            (Document{{"statusCode", "CLIENT_ERROR"},
                      {"message", std::string("CodeBuild could not assume the service role ") + kRole +
                                      ": Throttling: Rate exceeded"}}));
  EXPECT_EQ(Error("CreateProject", NoSourceProject("other")).second, "Rate exceeded");
  // A denial is CodeBuild's "not authorized".
  aws_.assume_error = Status::PermissionDenied("not trusted", "AccessDenied");
  id = Ok("StartBuild", {{"projectName", "app"}})["build"]["id"];
  RunQueued();
  EXPECT_EQ(Build(id)["phases"][2]["contexts"][0]["message"],
            std::string("CodeBuild is not authorized to perform: sts:AssumeRole on ") + kRole);
}

TEST_F(CodeBuildTest, TheBuildDirectoryIsPrivate) {
  store::testing::ScratchDirectory tmp;
  // A service over `root` (the previous one, stopped, removed its own), started after `prepare`.
  auto start_with = [&](const std::string& root, const std::function<void()>& prepare) {
    Close();
    work_root_ = root;
    Open();
    prepare();
    return service_->Start();
  };
  auto mode = [](const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0u;
  };
  // Made 0700 when missing; an existing one of this user is made 0700.
  std::string root = tmp.path() + "/builds";
  ASSERT_TRUE(start_with(root, [] {}).ok());
  EXPECT_EQ(mode(root), 0700u);
  ASSERT_TRUE(start_with(root, [&] {
                ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
                ASSERT_EQ(::chmod(root.c_str(), 0755), 0);
              }).ok());
  EXPECT_EQ(mode(root), 0700u);

  // Writable by others: refused.
  Status started = start_with(root, [&] {
    ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(root.c_str(), 0777), 0);
  });
  EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(started.message(), "the build directory " + root +
                                   " is writable by other users (mode 0777), who could change builds there; remove "
                                   "it or set TMPDIR to a directory of your own");

  // A symbolic link (to a directory somebody else chose): refused.
  started = start_with(tmp.path() + "/link", [&] {
    fs::create_directory(tmp.path() + "/elsewhere");
    fs::create_directory_symlink(tmp.path() + "/elsewhere", tmp.path() + "/link");
  });
  EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(started.message().find("(it must be a directory, not a symbolic link)"), std::string::npos)
      << started.ToString();

  // Another user's: refused (only root can make one here).
  if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
  started = start_with(root, [&] {
    ::mkdir(root.c_str(), 0700);
    ASSERT_EQ(::chmod(root.c_str(), 0700), 0);
    ASSERT_EQ(::chown(root.c_str(), 65534, 65534), 0);
  });
  EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(started.message(), "the build directory " + root +
                                   " belongs to uid 65534, not to Gantry's user (uid 0), who could read and change "
                                   "builds there; remove it or set TMPDIR to a directory of your own");
}

// A zip archive of (path, content) files, as bytes.
std::string ZipOf(const std::vector<std::pair<std::string, std::string>>& files) {
  store::testing::ScratchDirectory tmp;
  std::vector<runtime::ArtifactFile> entries;
  for (const auto& [path, content] : files) {
    fs::create_directories((fs::path(tmp.path()) / "in" / path).parent_path());
    std::ofstream(fs::path(tmp.path()) / "in" / path) << content;
    entries.push_back({tmp.path() + "/in/" + path, path});
  }
  EXPECT_TRUE(WriteZip(tmp.path() + "/out.zip", entries, false).ok());
  std::ifstream zip(tmp.path() + "/out.zip", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(zip), std::istreambuf_iterator<char>());
}

// The files of a zip archive held as bytes, path → content.
std::map<std::string, std::string> Unzipped(const std::string& bytes) {
  store::testing::ScratchDirectory tmp;
  std::ofstream(tmp.path() + "/a.zip", std::ios::binary) << bytes;
  fs::create_directories(tmp.path() + "/out");
  EXPECT_TRUE(archive::ExtractZip(tmp.path() + "/a.zip", tmp.path() + "/out").ok());
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path() + "/out")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    out[fs::relative(entry.path(), tmp.path() + "/out").string()] =
        std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

Document PipelineProject(const std::string& name) {
  Document p = NoSourceProject(name);
  p["source"] = {{"type", "CODEPIPELINE"}};
  p["artifacts"] = {{"type", "CODEPIPELINE"}};
  return p;
}

aws::Principal PipelineRole() {
  aws::Principal role;
  role.account_id = kAccount;
  role.arn = "arn:aws:sts::000000000000:assumed-role/pipeline-role/1700000000000";
  role.user_id = "AROA:1700000000000";
  role.source_arn = "arn:aws:codepipeline:us-east-1:000000000000:pipe";
  return role;
}

TEST_F(CodeBuildTest, PipelineBuildsReadAndWriteThePipelineArtifactStore) {
  aws_.objects["store/pipe/Source/abc.zip"] = ZipOf({{"buildspec.yml", "version: 0.2\n"}, {"src/a.py", "A"}});
  aws_.objects["store/pipe/Other/def.zip"] = ZipOf({{"docs/readme.md", "R"}});
  // The revisions the source actions recorded on their artifacts.
  const std::string commit(40, 'c');
  aws_.object_metadata["store/pipe/Source/abc.zip"] = {{"codepipeline-artifact-revision-id", commit}};
  aws_.object_metadata["store/pipe/Other/def.zip"] = {{"codepipeline-artifact-revision-id", "other-version"}};
  Ok("CreateProject", PipelineProject("app"));
  script_.artifact_files = {{"dist/app.txt", "the app"}};
  aws::Principal role = PipelineRole();
  Document input = {
      {"projectName", "app"},
      {"sourceVersion", "arn:aws:s3:::store/pipe/Source/abc.zip"},
      {"secondarySourcesOverride",
       {{{"type", "S3"}, {"location", "store/pipe/Other/def.zip"}, {"sourceIdentifier", "Other"}}}},
      {"artifactsOverride", {{"type", "CODEPIPELINE"}, {"location", "arn:aws:s3:::store/pipe/BuildOut/xyz"}}}};
  auto started = Call("StartBuild", input, &role);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::string id = (*started)["build"]["id"];
  EXPECT_EQ((*started)["build"]["initiator"], "codepipeline/pipe");
  EXPECT_EQ((*started)["build"]["artifacts"]["location"], "arn:aws:s3:::store/pipe/BuildOut/xyz");
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED") << build.dump(2);
  std::sort(observed_.source_files.begin(), observed_.source_files.end());
  EXPECT_EQ(observed_.source_files, (std::vector<std::string>{"buildspec.yml", "src/a.py"}));
  EXPECT_EQ(observed_.secondary_files, (std::vector<std::string>{"Other:docs/readme.md"}));
  EXPECT_EQ(Env(requests_[0])["CODEBUILD_INITIATOR"], "codepipeline/pipe");
  EXPECT_EQ(Env(requests_[0])["CODEBUILD_SOURCE_VERSION"], "arn:aws:s3:::store/pipe/Source/abc.zip");
  // As in AWS, the build shows the source revision CodePipeline provided.
  EXPECT_EQ(build["resolvedSourceVersion"], commit);
  EXPECT_EQ(observed_.codebuild_env["CODEBUILD_RESOLVED_SOURCE_VERSION"], commit);
  EXPECT_EQ(build["secondarySourceVersions"],
            (Document{{{"sourceIdentifier", "Other"}, {"sourceVersion", "other-version"}}}));
  // The artifact is zipped to the object the pipeline named, as the build's role.
  ASSERT_TRUE(aws_.objects.count("store/pipe/BuildOut/xyz"));
  EXPECT_EQ(Unzipped(aws_.objects["store/pipe/BuildOut/xyz"]),
            (std::map<std::string, std::string>{{"dist/app.txt", "the app"}}));
  EXPECT_EQ(build["artifacts"]["location"], "arn:aws:s3:::store/pipe/BuildOut/xyz");
  EXPECT_EQ(build["artifacts"]["md5sum"].get<std::string>().size(), 32u);
  for (const auto& call : aws_.CallsTo("s3", "GetObject")) {
    EXPECT_EQ(call.principal.arn.rfind("arn:aws:sts::000000000000:assumed-role/cb/", 0), 0u);
  }
}

TEST_F(CodeBuildTest, PipelineArtifactLocationsFromOtherCallersAreIgnored) {
  Ok("CreateProject", PipelineProject("app"));
  aws_.objects["store/pipe/Source/abc.zip"] = ZipOf({{"a.txt", "A"}});
  script_.artifact_files = {{"a.txt", "A"}};
  Document started =
      Ok("StartBuild",
         {{"projectName", "app"},
          {"sourceVersion", "arn:aws:s3:::store/pipe/Source/abc.zip"},
          {"artifactsOverride", {{"type", "CODEPIPELINE"}, {"location", "arn:aws:s3:::store/elsewhere"}}}})["build"];
  EXPECT_EQ(started["initiator"], "root");
  EXPECT_EQ(started["artifacts"]["location"], "");
  RunQueued();
  EXPECT_EQ(Build(started["id"])["buildStatus"], "SUCCEEDED");
  EXPECT_FALSE(aws_.objects.count("store/elsewhere"));
  // Without a version naming an artifact, a CODEPIPELINE source has nothing to download.
  std::string id =
      Ok("StartBuild", {{"projectName", "app"}, {"artifactsOverride", {{"type", "CODEPIPELINE"}}}})["build"]["id"];
  RunQueued();
  Document build = Build(id);
  EXPECT_EQ(build["buildStatus"], "FAILED");
  EXPECT_EQ(build["phases"][3]["contexts"][0]["message"],
            "CODEPIPELINE sources are the artifacts a pipeline passes (arn:aws:s3:::<bucket>/<key>) for primary source "
            "and source version ");
}

TEST_F(CodeBuildTest, PipelineCloneReferencesAreClonedAtTheirCommit) {
  store::testing::ScratchDirectory served;
  std::string feature = ServeRepository(served.path());
  ASSERT_EQ(feature.size(), 40u);
  StaticGitServer server(served.path());
  ASSERT_TRUE(server.Start().ok());
  Document ref = {{"cloneUrl", server.Url("app.git")}, {"commitId", feature}, {"branchName", "feature"}};
  aws_.objects["store/pipe/Source/ref.zip"] = ZipOf({{kCloneRefEntry, ref.dump()}});
  Ok("CreateProject", PipelineProject("app"));
  aws::Principal role = PipelineRole();
  auto started = Call("StartBuild",
                      {{"projectName", "app"},
                       {"sourceVersion", "arn:aws:s3:::store/pipe/Source/ref.zip"},
                       {"artifactsOverride", {{"type", "NO_ARTIFACTS"}}}},
                      &role);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  RunQueued();
  Document build = Build((*started)["build"]["id"]);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED") << build.dump(2);
  EXPECT_EQ(build["resolvedSourceVersion"], feature);
  EXPECT_TRUE(std::count(observed_.source_files.begin(), observed_.source_files.end(), "feature.txt"));
  EXPECT_FALSE(std::count(observed_.source_files.begin(), observed_.source_files.end(), kCloneRefEntry));

  // A secondary input artifact (an S3 source from the pipeline) that is a clone reference is cloned too.
  aws_.objects["store/pipe/Other/src.zip"] = ZipOf({{"buildspec.yml", "version: 0.2\n"}});
  observed_ = {};
  auto both = Call("StartBuild",
                   {{"projectName", "app"},
                    {"sourceVersion", "arn:aws:s3:::store/pipe/Other/src.zip"},
                    {"secondarySourcesOverride",
                     {{{"type", "S3"}, {"location", "store/pipe/Source/ref.zip"}, {"sourceIdentifier", "Source"}}}},
                    {"artifactsOverride", {{"type", "NO_ARTIFACTS"}}}},
                   &role);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  RunQueued();
  Document second = Build((*both)["build"]["id"]);
  EXPECT_EQ(second["buildStatus"], "SUCCEEDED") << second.dump(2);
  EXPECT_TRUE(std::count(observed_.secondary_files.begin(), observed_.secondary_files.end(), "Source:feature.txt"));
  EXPECT_FALSE(std::count(observed_.secondary_files.begin(), observed_.secondary_files.end(),
                          std::string("Source:") + kCloneRefEntry));
}

}  // namespace
}  // namespace gantry::services::codebuild
