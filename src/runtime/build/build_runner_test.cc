#include "runtime/build/build_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::runtime {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Records what the engine reports; answers the resolution and source hooks from maps.
class FakeHooks : public BuildHooks {
 public:
  StatusOr<ResolvedValue> ResolveParameter(std::string_view name) override {
    auto it = parameters.find(std::string(name));
    if (it == parameters.end()) return Status::NotFound("no parameter " + std::string(name), "ParameterNotFound");
    return it->second;
  }
  StatusOr<ResolvedValue> ResolveSecret(std::string_view secret_id, std::string_view json_key,
                                        std::string_view version_stage, std::string_view version_id) override {
    secret_requests.push_back(std::string(secret_id) + "|" + std::string(json_key) + "|" + std::string(version_stage) +
                              "|" + std::string(version_id));
    auto it = secrets.find(std::string(secret_id));
    if (it == secrets.end()) {
      return Status::NotFound("Secrets Manager can't find the specified secret.", "ResourceNotFoundException");
    }
    return it->second;
  }
  StatusOr<std::string> DownloadSource(const std::string& src_dir) override {
    downloaded_into = src_dir;
    for (const auto& [path, text] : source_files) WriteText(fs::path(src_dir) / path, text);
    if (!download_error.ok()) return download_error;
    return std::string("commit-1");
  }
  Status UploadArtifacts(const std::vector<SelectedArtifact>& artifacts) override {
    ++upload_calls;
    for (const SelectedArtifact& artifact : artifacts) {
      std::vector<std::string> paths;
      for (const ArtifactFile& file : artifact.files) {
        paths.push_back(file.path);
        EXPECT_TRUE(fs::exists(fs::symlink_status(file.source))) << file.source;
        uploaded_sources[artifact.spec->identifier + ":" + file.path] = file.source;
      }
      uploaded_paths.push_back(paths);
      uploaded_names.push_back(artifact.name);
      uploaded_identifiers.push_back(artifact.spec->identifier);
    }
    return upload_error;
  }
  Status RestoreCache(const CacheSpec* spec, const BuildFilesystem&) override {
    if (spec != nullptr) restored_cache_keys.push_back(CacheKeys(*spec));
    return Status::Ok();
  }
  Status SaveCache(const CacheSpec* spec, const BuildFilesystem&) override {
    if (spec != nullptr) saved_cache_keys.push_back(CacheKeys(*spec));
    return Status::Ok();
  }
  void UploadReports(const std::vector<SelectedReport>& reports) override {
    for (const SelectedReport& report : reports) {
      report_groups.push_back(report.spec->group);
      for (const ArtifactFile& file : report.files) report_files[report.spec->group].push_back(file.path);
    }
  }
  // "key|fallback|fallback...".
  static std::string CacheKeys(const CacheSpec& spec) {
    std::string keys = spec.key;
    for (const std::string& fallback : spec.fallback_keys) keys += "|" + fallback;
    return keys;
  }
  void OnPhase(const PhaseRecord& record) override {
    std::string text = std::string(PhaseName(record.type)) + (record.end ? " end" : " begin");
    if (record.status) text += " " + std::string(StatusName(*record.status));
    phase_events.push_back(text);
    if (record.end) {
      EXPECT_GE(*record.end, record.start) << text;
    }
  }
  void OnLogLine(std::string_view line) override {
    EXPECT_EQ(line.find('\n'), std::string_view::npos);
    lines.emplace_back(line);
  }

  // Lines without the "[Container] 2026/11/26 09:00:00.123456 " stamp.
  std::vector<std::string> Messages() const {
    std::vector<std::string> out;
    for (const std::string& line : lines) {
      out.push_back(line.rfind("[Container] ", 0) == 0 && line.size() > 39 ? line.substr(39) : line);
    }
    return out;
  }
  // The phases that ended, with their status: "BUILD FAILED".
  std::vector<std::string> Ended() const {
    std::vector<std::string> out;
    for (const std::string& event : phase_events) {
      size_t end = event.find(" end ");
      if (end != std::string::npos) out.push_back(event.substr(0, end) + event.substr(end + 4));
    }
    return out;
  }

  std::map<std::string, ResolvedValue> parameters;
  std::map<std::string, ResolvedValue> secrets;
  std::vector<std::string> secret_requests;
  std::map<std::string, std::string> source_files;
  Status download_error;
  Status upload_error;
  std::string downloaded_into;
  int upload_calls = 0;
  std::vector<std::vector<std::string>> uploaded_paths;
  std::map<std::string, std::string> uploaded_sources;  // "identifier:path in the artifact" -> source
  std::vector<std::string> uploaded_names;
  std::vector<std::string> uploaded_identifiers;
  std::vector<std::string> restored_cache_keys, saved_cache_keys, report_groups;
  std::map<std::string, std::vector<std::string>> report_files;  // group → the selected files' paths
  std::vector<std::string> phase_events;
  std::vector<std::string> lines;
};

const PhaseRecord* FindPhase(const BuildOutcome& outcome, BuildPhaseType type) {
  for (const PhaseRecord& record : outcome.phases) {
    if (record.type == type) return &record;
  }
  return nullptr;
}

class BuildRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gantry-runner-test-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "work");
    request_.build_id = "project:0000-1111";
    request_.work_root = (root_ / "work").string();
    request_.image = "aws/codebuild/standard:7.0";
    request_.isolate = false;
    request_.clock = &clock_;
    request_.stop_grace = std::chrono::milliseconds(200);
  }
  void TearDown() override { fs::remove_all(root_); }

  BuildOutcome Run(const std::string& buildspec) {
    request_.buildspec_inline = buildspec;
    BuildOutcome outcome = runner_.Run(request_, hooks_);
    return outcome;
  }

  std::vector<std::string> Ended() const { return hooks_.Ended(); }

  fs::path root_;
  FakeClock clock_;
  BuildRequest request_;
  FakeHooks hooks_;
  BuildRunner runner_;
};

TEST_F(BuildRunnerTest, RunsEveryPhaseInOrderAndReportsThemAsTheyHappen) {
  request_.submitted_at = clock_.Now() - std::chrono::seconds(5);
  request_.queued_at = clock_.Now() - std::chrono::seconds(2);
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    commands:
      - echo installing
  build:
    commands:
      - echo hi
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_THAT(hooks_.phase_events,
              ElementsAre("SUBMITTED begin", "SUBMITTED end SUCCEEDED", "QUEUED begin", "QUEUED end SUCCEEDED",
                          "PROVISIONING begin", "PROVISIONING end SUCCEEDED", "DOWNLOAD_SOURCE begin",
                          "DOWNLOAD_SOURCE end SUCCEEDED", "INSTALL begin", "INSTALL end SUCCEEDED", "PRE_BUILD begin",
                          "PRE_BUILD end SUCCEEDED", "BUILD begin", "BUILD end SUCCEEDED", "POST_BUILD begin",
                          "POST_BUILD end SUCCEEDED", "UPLOAD_ARTIFACTS begin", "UPLOAD_ARTIFACTS end SUCCEEDED",
                          "FINALIZING begin", "FINALIZING end SUCCEEDED", "COMPLETED begin"));
  ASSERT_EQ(outcome.phases.size(), 11u);
  EXPECT_EQ(outcome.phases[0].start, *request_.submitted_at);
  EXPECT_EQ(*outcome.phases[0].end, *request_.queued_at);
  EXPECT_EQ(outcome.phases[1].start, *request_.queued_at);
  EXPECT_FALSE(outcome.phases.back().end);
  EXPECT_FALSE(outcome.phases.back().status);
  const PhaseRecord* build = FindPhase(outcome, BuildPhaseType::kBuild);
  ASSERT_NE(build, nullptr);
  ASSERT_EQ(build->contexts.size(), 1u);
  EXPECT_EQ(build->contexts[0].status_code, "");
  EXPECT_EQ(hooks_.downloaded_into, outcome.work_dir + "/src");
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains(HasSubstr("aws/codebuild/standard:7.0 in the host sandbox")));
  EXPECT_THAT(messages, Contains("Entering phase BUILD"));
  EXPECT_THAT(messages, Contains("Running command echo hi"));
  EXPECT_THAT(messages, Contains("hi"));
  EXPECT_THAT(messages, Contains("Phase complete: BUILD State: SUCCEEDED"));
  EXPECT_THAT(messages, Contains("Phase context status code:  Message: "));
  EXPECT_THAT(hooks_.lines, Contains(AllOf(StartsWith("[Container] 2023/11/14 22:13:20.000000 "), HasSubstr("Running command echo hi"))));
  EXPECT_TRUE(fs::is_directory(outcome.work_dir));
}

TEST_F(BuildRunnerTest, DownloadsTheSourceAndReadsTheBuildspecFromIt) {
  hooks_.source_files["buildspec.yml"] = "version: 0.2\nphases:\n  build:\n    commands:\n      - cat hello.txt\n";
  hooks_.source_files["hello.txt"] = "from the source\n";
  BuildOutcome outcome = Run("");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_EQ(outcome.resolved_source_version, "commit-1");
  EXPECT_EQ(hooks_.downloaded_into, outcome.work_dir + "/src");
  EXPECT_THAT(hooks_.Messages(), Contains("from the source"));
  EXPECT_THAT(hooks_.Messages(), Contains("CODEBUILD_SRC_DIR=" + outcome.work_dir + "/src"));
}

TEST_F(BuildRunnerTest, ASourceFailureEndsTheBuildInDownloadSource) {
  hooks_.download_error = Status::NotFound("repository demo does not exist", "RepositoryDoesNotExistException");
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE FAILED", "FINALIZING SUCCEEDED"));
  const PhaseRecord* download = FindPhase(outcome, BuildPhaseType::kDownloadSource);
  ASSERT_EQ(download->contexts.size(), 1u);
  EXPECT_EQ(download->contexts[0].status_code, "RepositoryDoesNotExistException");
}

TEST_F(BuildRunnerTest, BuildspecErrorsAreYamlFileErrorsInDownloadSource) {
  BuildOutcome outcome = Run("version: 0.2\nphases: [\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* download = FindPhase(outcome, BuildPhaseType::kDownloadSource);
  ASSERT_NE(download, nullptr);
  EXPECT_EQ(download->status, BuildStatus::kFailed);
  ASSERT_EQ(download->contexts.size(), 1u);
  EXPECT_EQ(download->contexts[0].status_code, "YAML_FILE_ERROR");
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kInstall), nullptr);

  hooks_ = FakeHooks();
  outcome = Run("");  // no inline buildspec and none in the (empty) source
  download = FindPhase(outcome, BuildPhaseType::kDownloadSource);
  ASSERT_EQ(download->contexts.size(), 1u);
  EXPECT_EQ(download->contexts[0].status_code, "YAML_FILE_ERROR");
  EXPECT_THAT(download->contexts[0].message, AllOf(HasSubstr("buildspec.yml"), HasSubstr("No such file")));
}

TEST_F(BuildRunnerTest, AFailedInstallSkipsToFinalizing) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    commands:
      - echo first
      - "false"
      - echo never
  build:
    commands:
      - echo never either
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL FAILED", "FINALIZING SUCCEEDED"));
  const PhaseRecord* install = FindPhase(outcome, BuildPhaseType::kInstall);
  ASSERT_EQ(install->contexts.size(), 1u);
  EXPECT_EQ(install->contexts[0].status_code, "COMMAND_EXECUTION_ERROR");
  EXPECT_EQ(install->contexts[0].message, "Error while executing command: false. Reason: exit status 1");
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("Command did not exit successfully false exit status 1"));
  EXPECT_THAT(messages, Contains("Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing "
                                 "command: false. Reason: exit status 1"));
  EXPECT_THAT(messages, Not(Contains("never")));
  EXPECT_THAT(messages, Not(Contains("never either")));
}

TEST_F(BuildRunnerTest, AFailedPreBuildSkipsToFinalizing) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  pre_build:
    commands:
      - exit 7
  build:
    commands:
      - echo never
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL SUCCEEDED", "PRE_BUILD FAILED",
                                   "FINALIZING SUCCEEDED"));
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kPreBuild)->contexts[0].message,
            "Error while executing command: exit 7. Reason: exit status 7");
}

TEST_F(BuildRunnerTest, PostBuildAndUploadRunAfterAFailedBuild) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - echo "building $CODEBUILD_BUILD_SUCCEEDING" > out.txt
      - "false"
  post_build:
    commands:
      - echo "post $CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files:
    - out.txt
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL SUCCEEDED", "PRE_BUILD SUCCEEDED",
                                   "BUILD FAILED", "POST_BUILD SUCCEEDED", "UPLOAD_ARTIFACTS SUCCEEDED",
                                   "FINALIZING SUCCEEDED"));
  EXPECT_THAT(hooks_.Messages(), Contains("post 0"));
  ASSERT_EQ(hooks_.uploaded_paths.size(), 1u);
  EXPECT_THAT(hooks_.uploaded_paths[0], ElementsAre("out.txt"));
  EXPECT_EQ(ReadText(outcome.work_dir + "/src/out.txt"), "building 1\n");
}

TEST_F(BuildRunnerTest, FinallyRunsAfterAFailedCommandAndItsFailureFailsThePhase) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - "false"
      - echo skipped
    finally:
      - echo cleaning up
  post_build:
    commands:
      - echo ok
    finally:
      - exit 3
      - echo after the failed finally command
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("cleaning up"));
  EXPECT_THAT(messages, Not(Contains("skipped")));
  EXPECT_THAT(messages, Not(Contains("after the failed finally command")));
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->status, BuildStatus::kFailed);
  const PhaseRecord* post = FindPhase(outcome, BuildPhaseType::kPostBuild);
  EXPECT_EQ(post->status, BuildStatus::kFailed);
  ASSERT_EQ(post->contexts.size(), 1u);
  EXPECT_EQ(post->contexts[0].message, "Error while executing command: exit 3. Reason: exit status 3");
}

TEST_F(BuildRunnerTest, OnFailureContinueGoesOnToTheNextPhaseAndTheBuildStillFails) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands:
      - "false"
      - echo skipped
  pre_build:
    commands:
      - echo "pre_build sees $CODEBUILD_BUILD_SUCCEEDING"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL FAILED", "PRE_BUILD SUCCEEDED",
                                   "BUILD SUCCEEDED", "POST_BUILD SUCCEEDED", "UPLOAD_ARTIFACTS SUCCEEDED",
                                   "FINALIZING SUCCEEDED"));
  EXPECT_THAT(hooks_.Messages(), Contains("pre_build sees 0"));
  EXPECT_THAT(hooks_.Messages(), Not(Contains("skipped")));
}

TEST_F(BuildRunnerTest, AnExplicitAbortEndsTheBuildPhasesButArtifactsAreStillAttempted) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    on-failure: ABORT
    commands:
      - echo made > out.txt
      - "false"
  post_build:
    commands:
      - echo post ran
artifacts:
  files:
    - out.txt
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL SUCCEEDED", "PRE_BUILD SUCCEEDED",
                                   "BUILD FAILED", "UPLOAD_ARTIFACTS SUCCEEDED", "FINALIZING SUCCEEDED"));
  EXPECT_THAT(hooks_.Messages(), Not(Contains("post ran")));
}

TEST_F(BuildRunnerTest, UnknownKeysAreLoggedAndTheBuildRunsOn) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    env: x
    commands:
      - echo ran
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("Found possible syntax errors in buildspec: "));
  EXPECT_THAT(messages, Contains(HasSubstr("The following keys cannot be identified:")));
  EXPECT_THAT(messages, Contains("ran"));
}

TEST_F(BuildRunnerTest, ContainerOnlyKeysAreSaidToBeNotApplied) {
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  git-credential-helper: yes
proxy:
  logs: yes
phases:
  install:
    runtime-versions:
      python: 3.11
      nodejs: 20
    commands:
      - echo installed
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("runtime-versions (python 3.11, nodejs 20) not installed: the host sandbox runs the "
                                 "machine's own runtimes"));
  EXPECT_THAT(messages, Contains(HasSubstr("git-credential-helper not applied")));
  EXPECT_THAT(messages, Contains(HasSubstr("proxy settings not applied")));
}

TEST_F(BuildRunnerTest, Version01RunsEveryCommandInAShellOfItsOwn) {
  BuildOutcome outcome = Run(R"y(version: 0.1
phases:
  build:
    commands:
      - export CARRIED=yes && mkdir -p sub && cd sub
      - echo "carried=${CARRIED:-no} in $(basename "$PWD")"
      - exit 4
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_THAT(hooks_.Messages(), Contains("carried=no in src"));
  const PhaseRecord* build = FindPhase(outcome, BuildPhaseType::kBuild);
  ASSERT_EQ(build->contexts.size(), 1u);
  EXPECT_EQ(build->contexts[0].message, "Error while executing command: exit 4. Reason: exit status 4");
}

TEST_F(BuildRunnerTest, RetryRunsThePhaseAgainUntilItSucceeds) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    on-failure: RETRY-3
    commands:
      - echo attempt >> attempts.txt
      - test "$(grep -c attempt attempts.txt)" -ge 3
    finally:
      - echo finally >> attempts.txt
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_EQ(ReadText(outcome.work_dir + "/src/attempts.txt"),
            "attempt\nfinally\nattempt\nfinally\nattempt\nfinally\n");
  EXPECT_THAT(hooks_.Messages(), Contains("Phase BUILD failed; retrying it (attempt 2 of 4)"));
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->status, BuildStatus::kSucceeded);
}

TEST_F(BuildRunnerTest, RetryGivesUpAfterCountRetries) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    on-failure: RETRY-2
    commands:
      - echo attempt >> attempts.txt
      - "false"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_EQ(ReadText(outcome.work_dir + "/src/attempts.txt"), "attempt\nattempt\nattempt\n");
}

TEST_F(BuildRunnerTest, RetryWithARegexRetriesOnlyMatchingFailures) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    on-failure: RETRY-2-connection reset
    commands:
      - echo attempt >> install.txt
      - 'echo "error: connection reset by peer"; false'
  build:
    on-failure: RETRY-2-connection reset
    commands:
      - echo attempt >> build.txt
      - 'echo "error: disk full"; false'
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_EQ(ReadText(outcome.work_dir + "/src/install.txt"), "attempt\nattempt\nattempt\n");
  EXPECT_FALSE(fs::exists(outcome.work_dir + "/src/build.txt"));  // INSTALL failed: no BUILD

  hooks_ = FakeHooks();
  outcome = Run(R"y(version: 0.2
phases:
  build:
    on-failure: RETRY-2-connection reset
    commands:
      - echo attempt >> build.txt
      - 'echo "error: disk full"; false'
)y");
  EXPECT_EQ(ReadText(outcome.work_dir + "/src/build.txt"), "attempt\n");
}

TEST_F(BuildRunnerTest, ExitInACommandFailsOnlyThatCommandAndTheShellStateSurvives) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    commands:
      - mkdir -p deep/dir && cd deep/dir
      - MY_VAR=kept
  build:
    commands:
      - exit 5
  post_build:
    commands:
      - echo "$MY_VAR in ${PWD#$CODEBUILD_SRC_DIR/}"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->contexts[0].message,
            "Error while executing command: exit 5. Reason: exit status 5");
  EXPECT_THAT(hooks_.Messages(), Contains("kept in deep/dir"));
}

TEST_F(BuildRunnerTest, ExportedVariablesAreTheirValuesAfterTheBuildPhases) {
  request_.project_env = {{"FROM_PROJECT", "p", EnvVarType::kPlaintext}};
  hooks_.parameters["/secret/param"] = {"hidden", true};
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  variables:
    CHANGED: initial
  parameter-store:
    PARAM: /secret/param
  exported-variables:
    - CHANGED
    - SET_IN_BUILD
    - FROM_PROJECT
    - NEVER_SET
    - AWS_REGION
    - PARAM
phases:
  build:
    commands:
      - export CHANGED=final
      - SET_IN_BUILD="a b"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_THAT(outcome.exported_variables,
              ElementsAre(std::pair<std::string, std::string>("CHANGED", "final"),
                          std::pair<std::string, std::string>("SET_IN_BUILD", "a b"),
                          std::pair<std::string, std::string>("FROM_PROJECT", "p"),
                          std::pair<std::string, std::string>("NEVER_SET", "")));
  EXPECT_THAT(hooks_.Messages(), Contains(HasSubstr("Not exporting AWS_REGION")));
  EXPECT_THAT(hooks_.Messages(), Contains(HasSubstr("Not exporting PARAM")));
}

TEST_F(BuildRunnerTest, SecretValuesAreMaskedInEveryLine) {
  hooks_.secrets["prod/db"] = {"s3cr3t-pa55", true};
  hooks_.parameters["/plain"] = {"visible-value", false};
  request_.project_env = {{"TOKEN", "prod/db:password:AWSCURRENT", EnvVarType::kSecretsManager}};
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  parameter-store:
    PLAIN: /plain
phases:
  build:
    commands:
      - echo "token=$TOKEN plain=$PLAIN"
      - echo s3cr3t-pa55 >&2
      - "echo literal s3cr3t-pa55 in the command"
      - "test literal = s3cr3t-pa55"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->contexts[0].message,
            "Error while executing command: test literal = ***. Reason: exit status 1");
  EXPECT_THAT(hooks_.secret_requests, ElementsAre("prod/db|password|AWSCURRENT|"));
  for (const std::string& line : hooks_.lines) EXPECT_THAT(line, Not(HasSubstr("s3cr3t"))) << line;
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("token=*** plain=visible-value"));
  EXPECT_THAT(messages, Contains("***"));
  EXPECT_THAT(messages, Contains("Running command echo literal *** in the command"));
}

TEST_F(BuildRunnerTest, MultiLineSecretsAreMaskedLineByLine) {
  hooks_.secrets["tls/key"] = {"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nAQEFAASCBKcwggSjAgEAAoIB\n-----END PRIVATE KEY-----", true};
  hooks_.secrets["app/json"] = {"{\n  \"user\": \"admin-user\",\n  \"password\": \"pa55w0rd-x\"\n}", true};
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  secrets-manager:
    KEY: tls/key
    JSON: app/json
phases:
  build:
    commands:
      - echo "$KEY"
      - printf '%s\n' "$JSON"
      - echo "$JSON" | sed 's/^ *//'
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  for (const std::string& line : hooks_.lines) {
    for (const char* part : {"MIIEvQIBADANBgkqhkiG9w0B", "AQEFAASCBKcwggSjAgEAAoIB", "admin-user", "pa55w0rd-x"}) {
      EXPECT_THAT(line, Not(HasSubstr(part))) << line;
    }
  }
  EXPECT_THAT(hooks_.Messages(), Contains("  ***"));
}

TEST_F(BuildRunnerTest, ASecretIsNeverSplitBetweenThePiecesOfALongLine) {
  hooks_.secrets["token"] = {"s3cr3t-t0ken-value", true};
  // 262140 x's, the secret and more than a pipe holds before the newline: the line is read and cut
  // in pieces, and a cut at 256 KiB would fall after "s3cr".
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  secrets-manager:
    TOKEN: token
phases:
  build:
    commands:
      - head -c 262140 /dev/zero | tr '\0' x; printf %s "$TOKEN"; head -c 100000 /dev/zero | tr '\0' y; echo
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  size_t masked = 0;
  for (const std::string& line : hooks_.lines) {
    EXPECT_THAT(line, Not(HasSubstr("s3cr"))) << line.substr(line.size() > 40 ? line.size() - 40 : 0);
    EXPECT_THAT(line, Not(HasSubstr("t0ken"))) << line.substr(0, 40);
    if (line.rfind("***yyy", 0) == 0) ++masked;
  }
  EXPECT_EQ(masked, 1u);
}

TEST_F(BuildRunnerTest, VariablesMarkedSecretAreMaskedAndNeverExported) {
  request_.codebuild_env = {{"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-K7MDENG", EnvVarType::kPlaintext, true},
                            {"AWS_REGION", "us-east-1", EnvVarType::kPlaintext}};
  request_.project_env = {{"DEPLOY_TOKEN", "tok-9f8e7d6c", EnvVarType::kPlaintext, true},
                          {"PLAIN", "tok-plain", EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  exported-variables:
    - DEPLOY_TOKEN
    - PLAIN
phases:
  build:
    commands:
      - echo "key=$AWS_SECRET_ACCESS_KEY token=$DEPLOY_TOKEN plain=$PLAIN region=$AWS_REGION"
      - test "$DEPLOY_TOKEN" = tok-9f8e7d6c
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  for (const std::string& line : hooks_.lines) {
    EXPECT_THAT(line, Not(HasSubstr("wJalrXUtnFEMI"))) << line;
    EXPECT_THAT(line, Not(HasSubstr("9f8e7d6c"))) << line;
  }
  EXPECT_THAT(hooks_.Messages(), Contains("key=*** token=*** plain=tok-plain region=us-east-1"));
  EXPECT_THAT(outcome.exported_variables, ElementsAre(std::pair<std::string, std::string>("PLAIN", "tok-plain")));
  EXPECT_THAT(hooks_.Messages(), Contains(HasSubstr("Not exporting DEPLOY_TOKEN")));
}

TEST_F(BuildRunnerTest, AForgedMarkerCannotCrashTheEngineOrMisnameTheCommand) {
  // The nonce is in the shell's functions; a build that forges a begin marker for a command that
  // does not exist and then exits fails only its own command.
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - echo first
      - n=$(declare -f __gantry_b | grep -o '036[0-9a-f]*' | head -n 1 | cut -c4-); printf '\036%s B 4000000000\n' "$n"; printf '\036%s B -7\n' "$n"; exit 1
      - echo never
  post_build:
    commands:
      - echo after
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* build = FindPhase(outcome, BuildPhaseType::kBuild);
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->status, BuildStatus::kFailed);
  ASSERT_EQ(build->contexts.size(), 1u);
  EXPECT_THAT(build->contexts[0].message, StartsWith("Error while executing command: n=$(declare -f __gantry_b"));
  EXPECT_THAT(build->contexts[0].message, HasSubstr("Reason: exit status 1"));
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains(HasSubstr("B 4000000000")));
  EXPECT_THAT(messages, Not(Contains("never")));
  EXPECT_THAT(messages, Contains("after"));
}

TEST_F(BuildRunnerTest, AWorkRootOthersCanWriteIsRefused) {
  fs::permissions(root_ / "work", fs::perms::all);
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFault);
  const PhaseRecord* provisioning = FindPhase(outcome, BuildPhaseType::kProvisioning);
  ASSERT_NE(provisioning, nullptr);
  EXPECT_EQ(provisioning->status, BuildStatus::kFault);
  ASSERT_EQ(provisioning->contexts.size(), 1u);
  EXPECT_EQ(provisioning->contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_EQ(provisioning->contexts[0].message,
            "work root " + request_.work_root +
                " is writable by other users (mode 0777); builds need a directory only Gantry's user can write");
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild), nullptr);
  EXPECT_TRUE(fs::is_empty(root_ / "work"));

  // A missing work root is made, for Gantry's user only.
  request_.work_root = (root_ / "fresh" / "work").string();
  outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_EQ(fs::status(request_.work_root).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(BuildRunnerTest, AWorkRootOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "giving the directory to another user needs root";
  ASSERT_EQ(chown((root_ / "work").c_str(), 65534, 65534), 0);
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFault);
  const PhaseRecord* provisioning = FindPhase(outcome, BuildPhaseType::kProvisioning);
  ASSERT_NE(provisioning, nullptr);
  EXPECT_EQ(provisioning->contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_THAT(provisioning->contexts[0].message, HasSubstr("belongs to uid 65534, not to Gantry's user (uid 0)"));
}

TEST_F(BuildRunnerTest, UnresolvableParametersAndSecretsFailDownloadSource) {
  BuildOutcome outcome = Run("version: 0.2\nenv:\n  parameter-store:\n    X: /missing\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* download = FindPhase(outcome, BuildPhaseType::kDownloadSource);
  ASSERT_EQ(download->contexts.size(), 1u);
  EXPECT_EQ(download->contexts[0].status_code, "Decrypted Variables Error");
  EXPECT_EQ(download->contexts[0].message, "parameter does not exist: /missing");
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kInstall), nullptr);

  hooks_ = FakeHooks();
  outcome = Run("version: 0.2\nenv:\n  secrets-manager:\n    X: arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf:user\nphases:\n  build:\n    commands:\n      - echo hi\n");
  download = FindPhase(outcome, BuildPhaseType::kDownloadSource);
  EXPECT_THAT(hooks_.secret_requests, ElementsAre("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf|user||"));
  ASSERT_EQ(download->contexts.size(), 1u);
  EXPECT_EQ(download->contexts[0].status_code, "Secrets Manager Error");
  EXPECT_EQ(download->contexts[0].message,
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.");
}

TEST_F(BuildRunnerTest, StartBuildOverProjectOverBuildspecOverCodeBuildVariables) {
  request_.codebuild_env = {{"LEVEL_A", "codebuild", EnvVarType::kPlaintext},
                            {"LEVEL_B", "codebuild", EnvVarType::kPlaintext},
                            {"CODEBUILD_BUILD_ID", "project:0000-1111", EnvVarType::kPlaintext}};
  request_.project_env = {{"LEVEL_C", "project", EnvVarType::kPlaintext},
                          {"CODEBUILD_SRC_DIR", "/not/the/source", EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  variables:
    LEVEL_B: buildspec
    LEVEL_C: buildspec
phases:
  build:
    commands:
      - echo "$LEVEL_A $LEVEL_B $LEVEL_C $CODEBUILD_BUILD_ID"
      - test "$CODEBUILD_SRC_DIR" = "$PWD"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_THAT(hooks_.Messages(), Contains("codebuild buildspec project project:0000-1111"));
}

TEST_F(BuildRunnerTest, AwsRunsWithTheEndpointUrlWhenTheEnvironmentHasOne) {
  fs::path tools = root_ / "tools";
  WriteText(tools / "aws", "#!/bin/sh\necho \"real aws: $*\"\n");
  fs::permissions(tools / "aws", fs::perms::owner_all);
  request_.project_env = {{"PATH", tools.string() + ":/usr/bin:/bin", EnvVarType::kPlaintext},
                          {"AWS_ENDPOINT_URL", "http://127.0.0.1:4566", EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - aws s3 ls
      - aws --endpoint-url http://other:1 sts get-caller-identity
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("real aws: --endpoint-url http://127.0.0.1:4566 s3 ls"));
  EXPECT_THAT(messages, Contains("real aws: --endpoint-url http://other:1 sts get-caller-identity"));
}

TEST_F(BuildRunnerTest, SelectsArtifactsAndExpandsTheirNames) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/js && echo a > dist/app.js && echo b > dist/js/lib.js && echo c > dist/notes.md
      - echo report > report.txt
      - export VERSION=1.2
artifacts:
  files:
    - '**/*'
  base-directory: dist
  exclude-paths:
    - '*.md'
  name: app-$VERSION-$(echo built)
  secondary-artifacts:
    report:
      files:
        - report.txt
      discard-paths: yes
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  ASSERT_EQ(hooks_.uploaded_paths.size(), 2u);
  EXPECT_THAT(hooks_.uploaded_paths[0], ElementsAre("app.js", "js/lib.js"));
  EXPECT_THAT(hooks_.uploaded_paths[1], ElementsAre("report.txt"));
  EXPECT_EQ(hooks_.uploaded_names[0], "app-1.2-built");
  EXPECT_EQ(hooks_.uploaded_names[1], "");
  EXPECT_THAT(hooks_.uploaded_identifiers, ElementsAre("", "report"));
  EXPECT_THAT(hooks_.Messages(), Contains("Found 2 file(s)"));
}

TEST_F(BuildRunnerTest, CacheKeysAndReportGroupsAreExpandedByTheBuildsShell) {
  hooks_.source_files = {{"lock.txt", "v1\n"}, {"sub/a.lock", "a\n"}};
  // The key is expanded once, before the restore: the build changing lock.txt does not change it.
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  variables:
    GROUP: unit
phases:
  build:
    commands:
      - echo v2 > lock.txt
      - echo '<testsuite/>' > report.xml
      - codebuild-hash-files lock.txt > built-hash
cache:
  key: deps-$(codebuild-hash-files lock.txt)-$GROUP
  fallback-keys:
    - deps-$(codebuild-hash-files '**/*.lock')-
    - deps-`echo plain`-
    - literal
  paths:
    - deps/**/*
reports:
  $GROUP-tests:
    files:
      - report.xml
  $NOT_SET:
    files:
      - report.xml
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  // codebuild-hash-files: the SHA-256 of "<SHA-256 of the contents>  <path>" lines, one a file.
  auto hash = [](const std::vector<std::pair<std::string, std::string>>& files) {
    std::string lines;
    for (const auto& [path, content] : files) lines += HexEncode(Sha256(content)) + "  " + path + "\n";
    return HexEncode(Sha256(lines));
  };
  std::string key = "deps-" + hash({{"lock.txt", "v1\n"}}) + "-unit";
  std::string keys = key + "|deps-" + hash({{"sub/a.lock", "a\n"}}) + "-|deps-plain-|literal";
  EXPECT_THAT(hooks_.restored_cache_keys, ElementsAre(keys));
  EXPECT_THAT(hooks_.saved_cache_keys, ElementsAre(keys));
  EXPECT_EQ(ReadText(fs::path(outcome.work_dir) / "src/built-hash"), hash({{"lock.txt", "v2\n"}}) + "\n");
  EXPECT_THAT(hooks_.report_groups, ElementsAre("unit-tests"));
  EXPECT_THAT(hooks_.Messages(), Contains("Report $NOT_SET: no report is made, its name expands to nothing"));
}

TEST_F(BuildRunnerTest, ReportDiscardPathsPassesBaseNames) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - mkdir -p out/unit/a out/unit/b
      - echo '<testsuite/>' > out/unit/a/TEST-one.xml
      - echo '<testsuite/>' > out/unit/b/TEST-two.xml
reports:
  flat:
    files:
      - '**/TEST-*.xml'
    base-directory: out
    discard-paths: yes
  kept:
    files:
      - '**/TEST-*.xml'
    base-directory: out
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  EXPECT_THAT(hooks_.report_files["flat"], UnorderedElementsAre("TEST-one.xml", "TEST-two.xml"));
  EXPECT_THAT(hooks_.report_files["kept"], UnorderedElementsAre("unit/a/TEST-one.xml", "unit/b/TEST-two.xml"));
}

TEST_F(BuildRunnerTest, NoMatchingArtifactFilesFailUploadArtifacts) {
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\nartifacts:\n  files:\n    - missing/*\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* upload = FindPhase(outcome, BuildPhaseType::kUploadArtifacts);
  ASSERT_NE(upload, nullptr);
  EXPECT_EQ(upload->status, BuildStatus::kFailed);
  ASSERT_EQ(upload->contexts.size(), 1u);
  EXPECT_EQ(upload->contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_EQ(upload->contexts[0].message, "no matching artifact paths found");
  EXPECT_EQ(hooks_.upload_calls, 0);
}

TEST_F(BuildRunnerTest, ArtifactsStayInsideTheSourceDirectory) {
  WriteText(root_ / "outside.txt", "outside the source\n");
  request_.project_env = {{"OUTSIDE", (root_ / "outside.txt").string(), EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - ln -s /proc/self/environ environ
      - ln -s "$OUTSIDE" outside.txt
      - ln -s inside.txt inside-link
      - echo in > inside.txt
artifacts:
  files:
    - '*'
  secondary-artifacts:
    links:
      files:
        - environ
        - inside-link
      enable-symlinks: yes
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  ASSERT_EQ(hooks_.uploaded_paths.size(), 2u);
  EXPECT_THAT(hooks_.uploaded_paths[0], ElementsAre("inside-link", "inside.txt"));
  EXPECT_EQ(hooks_.uploaded_sources[":inside-link"], fs::canonical(outcome.work_dir + "/src/inside.txt").string());
  EXPECT_THAT(hooks_.Messages(), Contains("Skipping environ: it resolves outside the source directory"));
  EXPECT_THAT(hooks_.Messages(), Contains("Skipping outside.txt: it resolves outside the source directory"));
  // enable-symlinks: the links themselves, never read through.
  EXPECT_THAT(hooks_.uploaded_paths[1], ElementsAre("environ", "inside-link"));
  EXPECT_TRUE(fs::is_symlink(hooks_.uploaded_sources["links:environ"]));
  EXPECT_TRUE(fs::is_symlink(hooks_.uploaded_sources["links:inside-link"]));
}

TEST_F(BuildRunnerTest, ArtifactPatternsLeavingTheSourceDirectoryFailUploadArtifacts) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - touch out
artifacts:
  files:
    - out
    - ../../outside/*
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* upload = FindPhase(outcome, BuildPhaseType::kUploadArtifacts);
  ASSERT_NE(upload, nullptr);
  EXPECT_EQ(upload->status, BuildStatus::kFailed);
  ASSERT_EQ(upload->contexts.size(), 1u);
  EXPECT_EQ(upload->contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_EQ(upload->contexts[0].message,
            "artifact files pattern ../../outside/* leaves the source directory: '..' is not allowed");
  EXPECT_EQ(hooks_.upload_calls, 0);
}

TEST_F(BuildRunnerTest, AnInternalHookErrorIsAFault) {
  hooks_.upload_error = Status::Internal("the artifact store is broken");
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - touch out\nartifacts:\n  files:\n    - out\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFault);
  const PhaseRecord* upload = FindPhase(outcome, BuildPhaseType::kUploadArtifacts);
  EXPECT_EQ(upload->status, BuildStatus::kFault);
  EXPECT_EQ(upload->contexts[0].message, "the artifact store is broken");
}

TEST_F(BuildRunnerTest, AnUploadErrorFailsUploadArtifacts) {
  hooks_.upload_error = Status::NotFound("The specified bucket does not exist", "NoSuchBucket");
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - touch out\nartifacts:\n  files:\n    - out\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* upload = FindPhase(outcome, BuildPhaseType::kUploadArtifacts);
  EXPECT_EQ(upload->contexts[0].status_code, "NoSuchBucket");
}

std::vector<pid_t> ReadPids(const fs::path& file) {
  std::vector<pid_t> pids;
  std::istringstream in(ReadText(file));
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

bool Alive(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || stat[paren + 2] != 'Z';
}

// The pids the build wrote are Gantry-namespace pids only without a PID namespace.
constexpr const char* kTreeCommands = R"y(
      - sleep 60 & echo $! >> "$PIDS"
      - setsid sleep 60 & echo $! >> "$PIDS"
      - sh -c 'sleep 60 & echo $! >> "$PIDS"; wait'
)y";

TEST_F(BuildRunnerTest, TheTimeoutEndsThePhaseAndKillsTheWholeTree) {
  request_.timeout = std::chrono::milliseconds(600);
  request_.project_env = {{"PIDS", (root_ / "pids").string(), EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(std::string("version: 0.2\nphases:\n  build:\n    commands:") + kTreeCommands +
                             "\n  post_build:\n    commands:\n      - echo never\n");
  EXPECT_EQ(outcome.status, BuildStatus::kTimedOut);
  const PhaseRecord* build = FindPhase(outcome, BuildPhaseType::kBuild);
  ASSERT_NE(build, nullptr);
  EXPECT_EQ(build->status, BuildStatus::kTimedOut);
  ASSERT_EQ(build->contexts.size(), 1u);
  EXPECT_EQ(build->contexts[0].status_code, "BUILD_TIMED_OUT");
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING SUCCEEDED",
                                   "DOWNLOAD_SOURCE SUCCEEDED", "INSTALL SUCCEEDED", "PRE_BUILD SUCCEEDED",
                                   "BUILD TIMED_OUT", "FINALIZING SUCCEEDED"));
  std::vector<pid_t> pids = ReadPids(root_ / "pids");
  EXPECT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << pid;
}

TEST_F(BuildRunnerTest, StopFromAnotherThreadEndsTheBuildStoppedWithNoProcessLeft) {
  request_.project_env = {{"PIDS", (root_ / "pids").string(), EnvVarType::kPlaintext}};
  std::thread stopper([&] {
    for (int i = 0; i < 500 && ReadPids(root_ / "pids").size() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    runner_.RequestStop();
  });
  BuildOutcome outcome = Run(std::string("version: 0.2\nphases:\n  build:\n    commands:") + kTreeCommands +
                             "      - sleep 60\n");
  stopper.join();
  EXPECT_EQ(outcome.status, BuildStatus::kStopped);
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->status, BuildStatus::kStopped);
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kUploadArtifacts), nullptr);
  std::vector<pid_t> pids = ReadPids(root_ / "pids");
  EXPECT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << pid;
}

TEST_F(BuildRunnerTest, AStopBeforeRunStopsItAtOnce) {
  runner_.RequestStop();
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n");
  EXPECT_EQ(outcome.status, BuildStatus::kStopped);
  EXPECT_THAT(Ended(), ElementsAre("SUBMITTED SUCCEEDED", "QUEUED SUCCEEDED", "PROVISIONING STOPPED",
                                   "FINALIZING SUCCEEDED"));
  // The next build of this runner is not stopped.
  hooks_ = FakeHooks();
  EXPECT_EQ(Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n").status, BuildStatus::kSucceeded);
}

TEST_F(BuildRunnerTest, GantryBuildRunsInTheGivenDirectoryWithoutDownloading) {
  fs::path project = root_ / "project";
  WriteText(project / "buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo made > made.txt\n");
  request_.src_dir = project.string();
  BuildOutcome outcome = Run("");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_EQ(hooks_.downloaded_into, "");
  EXPECT_EQ(ReadText(project / "made.txt"), "made\n");
}

TEST_F(BuildRunnerTest, ShSelectedInTheBuildspecRunsTheCommands) {
  BuildOutcome outcome = Run(R"y(version: 0.2
env:
  shell: /bin/sh
phases:
  build:
    commands:
      - echo "${BASH_VERSION:-no bash}"
      - cd /tmp
      - pwd
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  EXPECT_THAT(hooks_.Messages(), Contains("no bash"));
  EXPECT_THAT(hooks_.Messages(), Contains("/tmp"));
}

TEST_F(BuildRunnerTest, RunAsAMissingUserFailsThePhase) {
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    run-as: no-such-user-here\n    commands:\n      - id\n");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  const PhaseRecord* build = FindPhase(outcome, BuildPhaseType::kBuild);
  EXPECT_EQ(build->status, BuildStatus::kFailed);
  EXPECT_EQ(build->contexts[0].status_code, "CLIENT_ERROR");
  EXPECT_THAT(build->contexts[0].message, HasSubstr("no-such-user-here does not exist"));
}

TEST_F(BuildRunnerTest, IsolationIsAppliedOrTheLogSaysWhatWasNot) {
  request_.isolate = true;
  request_.limits.memory_bytes = 512ull << 20;
  request_.hidden_paths = {(root_ / "work").string() + "-state"};
  fs::create_directories(request_.hidden_paths[0]);
  BuildOutcome outcome = Run("version: 0.2\nphases:\n  build:\n    commands:\n      - echo isolated\n");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("isolated"));
  if (geteuid() == 0) {
    EXPECT_THAT(messages, Contains("Sandbox: mount namespace: 1 hidden path(s) covered by empty read-only mounts"));
    EXPECT_THAT(messages, Contains(HasSubstr("Sandbox: cgroup memory limit 536870912 bytes: ")));
  } else {
    EXPECT_THAT(messages, Contains(HasSubstr("Sandbox: mount namespace not applied: clone: ")));
    EXPECT_THAT(messages, Contains(HasSubstr("Sandbox: cgroup memory limit 536870912 bytes not applied: ")));
  }
  fs::remove_all(request_.hidden_paths[0]);
}

class IsolatedBuildRunnerTest : public BuildRunnerTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "namespaces, cgroups and run-as need root";
    BuildRunnerTest::SetUp();
    request_.isolate = true;
  }
};

TEST_F(IsolatedBuildRunnerTest, HiddenPathsCannotBeReadFromTheBuild) {
  fs::path state = root_ / "state";
  WriteText(state / "credentials", "top secret\n");
  request_.hidden_paths = {state.string()};
  request_.project_env = {{"STATE", state.string(), EnvVarType::kPlaintext},
                          {"GANTRY_PID", std::to_string(getpid()), EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - cat "$STATE/credentials"
  post_build:
    commands:
      - cat "/proc/$GANTRY_PID/root$STATE/credentials"
      - ls -A "$STATE" | wc -l
      - touch "$STATE/new" || echo read-only
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kFailed);
  EXPECT_EQ(FindPhase(outcome, BuildPhaseType::kBuild)->status, BuildStatus::kFailed);
  for (const std::string& line : hooks_.lines) EXPECT_THAT(line, Not(HasSubstr("top secret")));
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains(HasSubstr("mount namespace: 1 hidden path(s) covered")));
  EXPECT_THAT(messages, Contains(HasSubstr("PID namespace with its own /proc")));
  EXPECT_FALSE(fs::exists(state / "new"));
  EXPECT_EQ(ReadText(state / "credentials"), "top secret\n");
}

// The first block device this process can open for reading ("" if none).
std::string OpenableBlockDevice() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev", ec)) {
    if (!entry.is_block_file(ec)) continue;
    int fd = open(entry.path().c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    close(fd);
    return entry.path().string();
  }
  return {};
}

TEST_F(IsolatedBuildRunnerTest, RootInTheBuildCannotUncoverHiddenPaths) {
  fs::path state = root_ / "state";
  WriteText(state / "credentials", "top secret\n");
  std::string device = OpenableBlockDevice();
  request_.hidden_paths = {state.string()};
  request_.project_env = {{"STATE", state.string(), EnvVarType::kPlaintext},
                          {"GANTRY_PID", std::to_string(getpid()), EnvVarType::kPlaintext},
                          {"DEVICE", device, EnvVarType::kPlaintext}};
  // Every attempt goes on after a failure (|| true); the log shows what, if anything, got through.
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - umount "$STATE" || umount -l "$STATE" || true
      - cat "$STATE/credentials" || true
      - umount /proc || umount -l /proc || true
      - cat "/proc/$GANTRY_PID/root$STATE/credentials" || true
      - mount -t proc proc /proc || true
      - unshare -m umount "$STATE" && echo "unshared and unmounted" || true
      - unshare -Urm sh -c 'umount "$STATE" && cat "$STATE/credentials"' || true
      - echo $$ > /sys/fs/cgroup/devices/cgroup.procs && echo "left the devices group" || true
      - test -z "$DEVICE" || { head -c 1 "$DEVICE" > /dev/null && echo "read $DEVICE"; } || true
      - mknod ./disk b 7 0 && echo "made a device node" || true
      - grep -E '^(CapEff|CapBnd)' /proc/self/status
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  for (const std::string& line : hooks_.lines) EXPECT_THAT(line, Not(HasSubstr("top secret"))) << line;
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Not(Contains("unshared and unmounted")));
  EXPECT_THAT(messages, Not(Contains("left the devices group")));
  EXPECT_THAT(messages, Not(Contains(HasSubstr("read /dev/"))));
  EXPECT_THAT(messages, Not(Contains("made a device node")));
  EXPECT_THAT(messages, Contains("CapEff:\t00000000a00425fb"));
  EXPECT_THAT(messages, Contains("CapBnd:\t00000000a00425fb"));
  EXPECT_THAT(messages, Contains(HasSubstr("Sandbox: capabilities: only Docker's default set less mknod")));
  EXPECT_THAT(messages, Contains(HasSubstr("Sandbox: cgroup block-device denial: /sys/fs/cgroup/devices/")));
  EXPECT_EQ(ReadText(state / "credentials"), "top secret\n");
}

TEST_F(IsolatedBuildRunnerTest, ArtifactsNeverReachIntoHiddenPaths) {
  fs::path state = root_ / "state";
  WriteText(state / "credentials", "top secret\n");
  request_.hidden_paths = {state.string()};
  request_.project_env = {{"STATE", state.string(), EnvVarType::kPlaintext}};
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - ln -s "$STATE/credentials" stolen
      - echo fine > fine.txt
artifacts:
  files:
    - '**/*'
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded);
  ASSERT_EQ(hooks_.uploaded_paths.size(), 1u);
  EXPECT_THAT(hooks_.uploaded_paths[0], ElementsAre("fine.txt"));
  EXPECT_THAT(hooks_.Messages(), Contains(HasSubstr("Skipping stolen")));
}

TEST_F(IsolatedBuildRunnerTest, StopKillsEvenProcessesThatLeftTheSession) {
  request_.project_env = {{"PIDS", (root_ / "pids").string(), EnvVarType::kPlaintext}};
  request_.limits.max_pids = 100;  // so that there is a group to find and remove
  std::thread stopper([&] {
    for (int i = 0; i < 500 && ReadPids(root_ / "pids").size() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    runner_.RequestStop();
  });
  BuildOutcome outcome = Run(std::string("version: 0.2\nphases:\n  build:\n    commands:") + kTreeCommands +
                             "      - sleep 60\n");
  stopper.join();
  EXPECT_EQ(outcome.status, BuildStatus::kStopped);
  EXPECT_THAT(hooks_.Messages(), Contains(HasSubstr("Sandbox: cgroup process limit 100: ")));
  // Inside the PID namespace the pids are not ours to check; the build's cgroup must be gone and
  // no `sleep 60` may be left anywhere below this test process's view.
  std::string leaf = fs::path(outcome.work_dir).filename().string();
  bool found_group = false;
  for (const auto& entry : fs::recursive_directory_iterator("/sys/fs/cgroup/pids", fs::directory_options::skip_permission_denied)) {
    if (entry.path().filename() == leaf) found_group = true;
  }
  EXPECT_FALSE(found_group);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string cmdline = ReadText(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::string environ = ReadText(entry.path() / "environ");
    if (cmdline.rfind("sleep 60", 0) == 0 && environ.find((root_ / "pids").string()) != std::string::npos) {
      ADD_FAILURE() << "survivor " << entry.path() << " " << cmdline;
    }
  }
}

TEST_F(IsolatedBuildRunnerTest, RunAsRunsThePhaseAsThatUser) {
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  install:
    commands:
      - export CARRIED=yes
  build:
    run-as: nobody
    commands:
      - echo "uid $(id -u) $CARRIED"
  post_build:
    commands:
      - echo "uid $(id -u) $CARRIED"
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains("uid 65534 yes"));
  EXPECT_THAT(messages, Contains("uid 0 yes"));
}

TEST_F(IsolatedBuildRunnerTest, LimitsBecomeCgroups) {
  request_.limits.memory_bytes = 256ull << 20;
  request_.limits.max_pids = 64;
  request_.limits.cpus = 1;
  BuildOutcome outcome = Run(R"y(version: 0.2
phases:
  build:
    commands:
      - cat /sys/fs/cgroup/pids/$(sed -n 's/^[0-9]*:pids://p' /proc/self/cgroup)/pids.max
)y");
  EXPECT_EQ(outcome.status, BuildStatus::kSucceeded) << ::testing::PrintToString(hooks_.Messages());
  auto messages = hooks_.Messages();
  EXPECT_THAT(messages, Contains(HasSubstr("cgroup memory limit 268435456 bytes")));
  EXPECT_THAT(messages, Contains(HasSubstr("cgroup process limit 64")));
  EXPECT_THAT(messages, Contains("64"));
}

}  // namespace
}  // namespace gantry::runtime
