// Report groups and reports: the API's shapes, errors and pages, and the reports builds make from
// their report files (through a scripted engine that writes real JUnit and Cobertura files and calls
// the report hook as the build engine does).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "core/archive/zip.h"
#include "services/codebuild/codebuild_service.h"
#include "services/codebuild/records.h"
#include "services/codebuild/report_records.h"
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

constexpr char kGroupArnPrefix[] = "arn:aws:codebuild:us-east-1:000000000000:report-group/";

// JUnit XML as the JUnit 5 console launcher writes it: three cases, one failing.
constexpr char kJUnit[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="calc" tests="3" failures="1" errors="0" skipped="0" time="0.6">
    <testcase classname="calc.AddTest" name="adds" time="0.1"/>
    <testcase classname="calc.AddTest" name="adds_negative" time="0.2"/>
    <testcase classname="calc.DivTest" name="divides" time="0.3">
      <failure message="expected 2 but was 3" type="AssertionError">AssertionError: expected 2 but was 3</failure>
    </testcase>
  </testsuite>
</testsuites>
)";

constexpr char kJUnitPassing[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="calc" tests="2" failures="0" errors="0" skipped="0" time="0.3">
  <testcase classname="calc.AddTest" name="adds" time="0.1"/>
  <testcase classname="calc.AddTest" name="adds_negative" time="0.2"/>
</testsuite>
)";

// Cobertura XML as coverage.py writes it: calc/add.py fully covered, calc/div.py half.
constexpr char kCobertura[] = R"(<?xml version="1.0" ?>
<coverage version="7.4.0" timestamp="1700000000000" lines-valid="4" lines-covered="3" line-rate="0.75" branches-covered="0" branches-valid="0" branch-rate="0" complexity="0">
  <sources><source>/src</source></sources>
  <packages>
    <package name="calc" line-rate="0.75" branch-rate="0" complexity="0">
      <classes>
        <class name="add.py" filename="calc/add.py" complexity="0" line-rate="1" branch-rate="0">
          <methods/>
          <lines><line number="1" hits="1"/><line number="2" hits="1"/></lines>
        </class>
        <class name="div.py" filename="calc/div.py" complexity="0" line-rate="0.5" branch-rate="0">
          <methods/>
          <lines><line number="1" hits="1"/><line number="2" hits="0"/></lines>
        </class>
      </classes>
    </package>
  </packages>
</coverage>
)";

// One buildspec `reports` entry of the scripted build and the files it selected (path → content).
struct ScriptedReport {
  std::string group;
  std::string file_format;
  std::vector<std::pair<std::string, std::string>> files;
};

// Runs the phases the engine runs and, in UPLOAD_ARTIFACTS, writes each report's files into the
// build's tree and hands them to the report hook, as the engine does.
class ReportingEngine final : public BuildEngine {
 public:
  explicit ReportingEngine(std::vector<ScriptedReport> reports) : reports_(std::move(reports)) {}

  runtime::BuildOutcome Run(const runtime::BuildRequest& request, runtime::BuildHooks& hooks) override {
    runtime::BuildOutcome outcome;
    auto phase = [&](BuildPhaseType type) {
      runtime::PhaseRecord r;
      r.type = type;
      r.start = request.clock->Now();
      hooks.OnPhase(r);
      r.end = request.clock->Now();
      r.status = BuildStatus::kSucceeded;
      hooks.OnPhase(r);
      outcome.phases.push_back(r);
    };
    phase(BuildPhaseType::kProvisioning);
    std::string src = request.work_root + "/src";
    fs::create_directories(src);
    (void)hooks.DownloadSource(src);
    phase(BuildPhaseType::kDownloadSource);
    phase(BuildPhaseType::kBuild);
    std::vector<runtime::ReportSpec> specs(reports_.size());
    std::vector<runtime::SelectedReport> selected;
    for (size_t i = 0; i < reports_.size(); ++i) {
      specs[i].group = reports_[i].group;
      specs[i].file_format = reports_[i].file_format;
      runtime::SelectedReport report;
      report.spec = &specs[i];
      for (const auto& [path, content] : reports_[i].files) {
        fs::create_directories((fs::path(src) / path).parent_path());
        std::ofstream(fs::path(src) / path) << content;
        report.files.push_back({src + "/" + path, path});
      }
      selected.push_back(std::move(report));
    }
    hooks.UploadReports(selected);
    EXPECT_TRUE(hooks.UploadArtifacts({}).ok());
    phase(BuildPhaseType::kUploadArtifacts);
    phase(BuildPhaseType::kFinalizing);
    runtime::PhaseRecord completed;
    completed.type = BuildPhaseType::kCompleted;
    completed.start = request.clock->Now();
    hooks.OnPhase(completed);
    outcome.phases.push_back(completed);
    outcome.status = BuildStatus::kSucceeded;
    return outcome;
  }
  void RequestStop() override {}

 private:
  std::vector<ScriptedReport> reports_;
};

class ReportsTest : public test_support::ServiceTest<CodeBuildService> {
 protected:
  ReportsTest() : ServiceTest("codebuild", kAccount, kRegion) {}

  std::unique_ptr<CodeBuildService> MakeService() override {
    CodeBuildOptions options;
    options.state_dir = dir_.path();
    options.work_root = work_.path();
    options.endpoint = [] { return std::string("http://127.0.0.1:4566"); };
    options.engine = [this]() -> std::unique_ptr<BuildEngine> { return std::make_unique<ReportingEngine>(reports_); };
    aws_.codebuild = dispatcher_.get();
    return std::make_unique<CodeBuildService>(store_.get(), &clock_, &ids_, &aws_, options);
  }

  // Creates the project (once) and runs one build of it with these reports; returns the build.
  Document RunBuild(std::vector<ScriptedReport> reports, const std::string& project = "app") {
    if (Ok("BatchGetProjects", {{"names", {project}}})["projects"].empty()) {
      Ok("CreateProject", {{"name", project},
                           {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\nphases: {}\n"}}},
                           {"artifacts", {{"type", "NO_ARTIFACTS"}}},
                           {"environment",
                            {{"type", "LINUX_CONTAINER"},
                             {"image", "aws/codebuild/standard:7.0"},
                             {"computeType", "BUILD_GENERAL1_SMALL"}}},
                           {"serviceRole", kRole}});
    }
    reports_ = std::move(reports);
    std::string id = Ok("StartBuild", {{"projectName", project}})["build"]["id"];
    EXPECT_EQ(service_->queue().Pass(true), 1);
    Document builds = Ok("BatchGetBuilds", {{"ids", {id}}})["builds"];
    EXPECT_EQ(builds.size(), 1u);
    return builds.empty() ? Document() : builds[0];
  }

  Document Report(const std::string& arn) {
    Document got = Ok("BatchGetReports", {{"reportArns", {arn}}});
    EXPECT_EQ(got["reports"].size(), 1u) << got.dump();
    return got["reports"].empty() ? Document() : got["reports"][0];
  }

  std::vector<std::string> TestCaseNames(const Document& arn, const Document& filter = Document::object()) {
    std::vector<std::string> out;
    Document input = {{"reportArn", arn}, {"filter", filter}};
    Document got = Ok("DescribeTestCases", input);
    for (const Document& c : got["testCases"]) out.push_back(c["name"]);
    return out;
  }

  // The message of a request the model's constraints refuse (CodeBuild answers InvalidInputException).
  std::string ConstraintError(const std::string& operation, const Document& input) {
    auto result = Call(operation, input);
    EXPECT_FALSE(result.ok()) << operation << " succeeded";
    if (result.ok()) return "";
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    return result.status().message();
  }

  Document NoExport() { return {{"exportConfigType", "NO_EXPORT"}}; }

  store::testing::ScratchDirectory work_;
  FakeAws aws_;
  std::vector<ScriptedReport> reports_;
};

TEST_F(ReportsTest, ReportGroupLifecycleAndShapes) {
  Document group = Ok("CreateReportGroup", {{"name", "unit"},
                                            {"type", "TEST"},
                                            {"exportConfig", NoExport()},
                                            {"tags", {{{"key", "team"}, {"value", "core"}}}}})["reportGroup"];
  EXPECT_EQ(group["arn"], std::string(kGroupArnPrefix) + "unit");
  EXPECT_EQ(group["name"], "unit");
  EXPECT_EQ(group["type"], "TEST");
  EXPECT_EQ(group["status"], "ACTIVE");
  EXPECT_EQ(group["exportConfig"], NoExport());
  EXPECT_EQ(group["tags"][0]["key"], "team");
  EXPECT_EQ(group["created"], group["lastModified"]);

  EXPECT_EQ(Error("CreateReportGroup", {{"name", "unit"}, {"type", "TEST"}, {"exportConfig", NoExport()}}),
            std::make_pair(std::string("ResourceAlreadyExistsException"),
                           "Report group " + std::string(kGroupArnPrefix) + "unit already exists"));
  EXPECT_EQ(Error("CreateReportGroup", {{"name", "bad/name"}, {"type", "TEST"}, {"exportConfig", NoExport()}}).first,
            "InvalidInputException");
  EXPECT_NE(ConstraintError("CreateReportGroup", {{"name", "x"}, {"type", "TEST"}, {"exportConfig", NoExport()}})
                .find("Member must have length greater than or equal to 2"),
            std::string::npos);
  EXPECT_NE(ConstraintError("CreateReportGroup", {{"name", "cov"}, {"type", "NOPE"}, {"exportConfig", NoExport()}})
                .find("Member must satisfy enum value set: [TEST, CODE_COVERAGE]"),
            std::string::npos);
  EXPECT_EQ(
      Error("CreateReportGroup", {{"name", "s3x"}, {"type", "TEST"}, {"exportConfig", {{"exportConfigType", "S3"}}}}),
      std::make_pair(std::string("InvalidInputException"),
                     std::string("Invalid export config: s3Destination.bucket is required when exportConfigType "
                                 "is S3")));

  clock_.Advance(std::chrono::seconds(5));
  Document updated =
      Ok("UpdateReportGroup",
         {{"arn", group["arn"]},
          {"exportConfig",
           {{"exportConfigType", "S3"}, {"s3Destination", {{"bucket", "raw"}, {"path", "junit"}}}}}})["reportGroup"];
  EXPECT_EQ(updated["exportConfig"]["s3Destination"],
            Document({{"bucket", "raw"}, {"path", "junit"}, {"packaging", "NONE"}, {"encryptionDisabled", false}}));
  EXPECT_EQ(updated["tags"], group["tags"]);
  EXPECT_GT(updated["lastModified"].get<double>(), group["lastModified"].get<double>());
  EXPECT_EQ(Error("UpdateReportGroup", {{"arn", std::string(kGroupArnPrefix) + "nope"}}),
            std::make_pair(std::string("ResourceNotFoundException"),
                           "Report group " + std::string(kGroupArnPrefix) + "nope does not exist"));

  clock_.Advance(std::chrono::seconds(5));
  Ok("CreateReportGroup", {{"name", "cov"}, {"type", "CODE_COVERAGE"}, {"exportConfig", NoExport()}});
  Document got =
      Ok("BatchGetReportGroups", {{"reportGroupArns",
                                   {std::string(kGroupArnPrefix) + "cov", std::string(kGroupArnPrefix) + "gone",
                                    "arn:aws:codebuild:eu-west-1:000000000000:report-group/cov"}}});
  ASSERT_EQ(got["reportGroups"].size(), 1u);
  EXPECT_EQ(got["reportGroups"][0]["type"], "CODE_COVERAGE");
  EXPECT_EQ(got["reportGroupsNotFound"].size(), 2u);

  EXPECT_EQ(Ok("ListReportGroups", Document::object())["reportGroups"],
            Document::array({std::string(kGroupArnPrefix) + "cov", std::string(kGroupArnPrefix) + "unit"}));
  Document newest =
      Ok("ListReportGroups", {{"sortBy", "CREATED_TIME"}, {"sortOrder", "DESCENDING"}, {"maxResults", 1}});
  EXPECT_EQ(newest["reportGroups"], Document::array({std::string(kGroupArnPrefix) + "cov"}));
  ASSERT_TRUE(newest.contains("nextToken"));
  Document next = Ok(
      "ListReportGroups",
      {{"sortBy", "CREATED_TIME"}, {"sortOrder", "DESCENDING"}, {"maxResults", 1}, {"nextToken", newest["nextToken"]}});
  EXPECT_EQ(next["reportGroups"], Document::array({std::string(kGroupArnPrefix) + "unit"}));
  EXPECT_FALSE(next.contains("nextToken"));

  Ok("DeleteReportGroup", {{"arn", std::string(kGroupArnPrefix) + "cov"}});
  EXPECT_EQ(Ok("ListReportGroups", Document::object())["reportGroups"].size(), 1u);
  EXPECT_EQ(Error("DeleteReportGroup", {{"arn", "arn:aws:codebuild:us-east-1:000000000000:project/x"}}).first,
            "InvalidInputException");
}

TEST_F(ReportsTest, BuildMakesTestAndCoverageReports) {
  Document build = RunBuild({{"junit", "JUNITXML", {{"reports/TEST-calc.xml", kJUnit}}},
                             {"coverage", "COBERTURAXML", {{"coverage.xml", kCobertura}}}});
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED");
  ASSERT_EQ(build["reportArns"].size(), 2u) << build.dump();

  // The groups were made as "<project>-<name>", by the service role.
  auto created = aws_.CallsTo("codebuild", "CreateReportGroup");
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].principal.arn.rfind("arn:aws:sts::000000000000:assumed-role/cb/AWSCodeBuild-", 0), 0u);
  Document groups = Ok(
      "BatchGetReportGroups",
      {{"reportGroupArns",
        {std::string(kGroupArnPrefix) + "app-junit", std::string(kGroupArnPrefix) + "app-coverage"}}})["reportGroups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["type"], "TEST");
  EXPECT_EQ(groups[1]["type"], "CODE_COVERAGE");

  Document test = Report(build["reportArns"][0]);
  EXPECT_EQ(test["arn"].get<std::string>().rfind("arn:aws:codebuild:us-east-1:000000000000:report/app-junit:", 0), 0u);
  EXPECT_EQ(test["type"], "TEST");
  EXPECT_EQ(test["name"], "app-junit");
  EXPECT_EQ(test["reportGroupArn"], std::string(kGroupArnPrefix) + "app-junit");
  EXPECT_EQ(test["executionId"], build["arn"]);
  EXPECT_EQ(test["status"], "FAILED");
  EXPECT_EQ(test["truncated"], false);
  EXPECT_EQ(test["testSummary"]["total"], 3);
  EXPECT_EQ(test["testSummary"]["statusCounts"], Document({{"SUCCEEDED", 2}, {"FAILED", 1}}));
  EXPECT_EQ(test["testSummary"]["durationInNanoSeconds"], 600000000);
  EXPECT_EQ(test["expired"].get<double>() - test["created"].get<double>(), 30 * 24 * 3600.0);

  // Test cases: failed first, filters by status and keyword, pages.
  EXPECT_EQ(TestCaseNames(test["arn"]), (std::vector<std::string>{"divides", "adds", "adds_negative"}));
  Document failed = Ok("DescribeTestCases", {{"reportArn", test["arn"]}, {"filter", {{"status", "FAILED"}}}});
  ASSERT_EQ(failed["testCases"].size(), 1u);
  EXPECT_EQ(failed["testCases"][0]["prefix"], "calc.DivTest");
  EXPECT_EQ(failed["testCases"][0]["testSuiteName"], "calc");
  EXPECT_EQ(failed["testCases"][0]["reportArn"], test["arn"]);
  EXPECT_NE(failed["testCases"][0]["message"].get<std::string>().find("expected 2 but was 3"), std::string::npos);
  EXPECT_EQ(TestCaseNames(test["arn"], {{"keyword", "negative"}}), std::vector<std::string>{"adds_negative"});
  EXPECT_EQ(TestCaseNames(test["arn"], {{"keyword", "AddTest"}}).size(), 2u);
  EXPECT_EQ(Error("DescribeTestCases", {{"reportArn", test["arn"]}, {"filter", {{"status", "BROKEN"}}}}).first,
            "InvalidInputException");
  std::vector<std::string> paged;
  Document page_input = {{"reportArn", test["arn"]}, {"maxResults", 2}};
  while (true) {
    Document page = Ok("DescribeTestCases", page_input);
    for (const Document& c : page["testCases"]) paged.push_back(c["name"]);
    if (!page.contains("nextToken")) break;
    page_input["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(paged, (std::vector<std::string>{"divides", "adds", "adds_negative"}));

  Document coverage = Report(build["reportArns"][1]);
  EXPECT_EQ(coverage["type"], "CODE_COVERAGE");
  EXPECT_EQ(coverage["status"], "SUCCEEDED");
  EXPECT_EQ(coverage["codeCoverageSummary"]["lineCoveragePercentage"], 75.0);
  EXPECT_EQ(coverage["codeCoverageSummary"]["linesCovered"], 3);
  EXPECT_EQ(coverage["codeCoverageSummary"]["linesMissed"], 1);
  EXPECT_FALSE(coverage.contains("testSummary"));
  Document rows = Ok("DescribeCodeCoverages", {{"reportArn", coverage["arn"]}})["codeCoverages"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["filePath"], "calc/div.py");  // least covered first
  EXPECT_EQ(rows[0]["lineCoveragePercentage"], 50.0);
  EXPECT_EQ(rows[0]["reportARN"], coverage["arn"]);
  EXPECT_FALSE(rows[0]["id"].get<std::string>().empty());
  Document by_path =
      Ok("DescribeCodeCoverages",
         {{"reportArn", coverage["arn"]}, {"sortBy", "FILE_PATH"}, {"sortOrder", "DESCENDING"}, {"maxResults", 1}});
  ASSERT_EQ(by_path["codeCoverages"].size(), 1u);
  EXPECT_EQ(by_path["codeCoverages"][0]["filePath"], "calc/div.py");
  Document rest = Ok("DescribeCodeCoverages", {{"reportArn", coverage["arn"]},
                                               {"sortBy", "FILE_PATH"},
                                               {"sortOrder", "DESCENDING"},
                                               {"nextToken", by_path["nextToken"]}});
  ASSERT_EQ(rest["codeCoverages"].size(), 1u);
  EXPECT_EQ(rest["codeCoverages"][0]["filePath"], "calc/add.py");
  Document full = Ok("DescribeCodeCoverages", {{"reportArn", coverage["arn"]}, {"minLineCoveragePercentage", 90}});
  ASSERT_EQ(full["codeCoverages"].size(), 1u);
  EXPECT_EQ(full["codeCoverages"][0]["filePath"], "calc/add.py");

  // The build's log says what happened.
  EXPECT_TRUE(aws_.Logged("Created report group " + std::string(kGroupArnPrefix) + "app-junit"));
  EXPECT_TRUE(aws_.Logged("Report " + test["arn"].get<std::string>() + ": FAILED, 3 test case(s)"));

  // A second build: a passing report, the trend over both.
  clock_.Advance(std::chrono::seconds(60));
  Document second = RunBuild({{"junit", "JUNITXML", {{"reports/TEST-calc.xml", kJUnitPassing}}}});
  ASSERT_EQ(second["reportArns"].size(), 1u);
  EXPECT_EQ(Report(second["reportArns"][0])["status"], "SUCCEEDED");
  EXPECT_EQ(aws_.CallsTo("codebuild", "CreateReportGroup").size(), 2u);  // the group was there
  std::string junit_group = std::string(kGroupArnPrefix) + "app-junit";
  EXPECT_EQ(Ok("ListReportsForReportGroup", {{"reportGroupArn", junit_group}})["reports"],
            Document::array({second["reportArns"][0], build["reportArns"][0]}));
  EXPECT_EQ(Ok("ListReportsForReportGroup", {{"reportGroupArn", junit_group}, {"sortOrder", "ASCENDING"}})["reports"],
            Document::array({build["reportArns"][0], second["reportArns"][0]}));
  EXPECT_EQ(Ok("ListReports", {{"filter", {{"status", "FAILED"}}}})["reports"],
            Document::array({build["reportArns"][0]}));
  Document all = Ok("ListReports", {{"maxResults", 2}});
  EXPECT_EQ(all["reports"].size(), 2u);
  ASSERT_TRUE(all.contains("nextToken"));
  EXPECT_EQ(Ok("ListReports", {{"maxResults", 2}, {"nextToken", all["nextToken"]}})["reports"],
            Document::array({build["reportArns"][0]}));

  Document trend = Ok("GetReportGroupTrend", {{"reportGroupArn", junit_group}, {"trendField", "PASS_RATE"}});
  EXPECT_EQ(trend["stats"], Document({{"average", "83.33"}, {"max", "100"}, {"min", "66.67"}}));
  ASSERT_EQ(trend["rawData"].size(), 2u);
  EXPECT_EQ(trend["rawData"][0], Document({{"reportArn", second["reportArns"][0]}, {"data", "100"}}));
  EXPECT_EQ(Ok("GetReportGroupTrend",
               {{"reportGroupArn", junit_group}, {"trendField", "TOTAL"}, {"numOfReports", 1}})["stats"],
            Document({{"average", "2"}, {"max", "2"}, {"min", "2"}}));
  EXPECT_EQ(Ok("GetReportGroupTrend", {{"reportGroupArn", std::string(kGroupArnPrefix) + "app-coverage"},
                                       {"trendField", "LINE_COVERAGE"}})["stats"]["average"],
            "75");
  EXPECT_NE(ConstraintError("GetReportGroupTrend", {{"reportGroupArn", junit_group}, {"trendField", "SPEED"}})
                .find("Member must satisfy enum value set"),
            std::string::npos);
  EXPECT_EQ(
      Error("GetReportGroupTrend", {{"reportGroupArn", std::string(kGroupArnPrefix) + "gone"}, {"trendField", "TOTAL"}})
          .first,
      "ResourceNotFoundException");

  // Deleting: a group with reports needs deleteReports; DeleteReport removes one with its cases.
  EXPECT_EQ(
      Error("DeleteReportGroup", {{"arn", junit_group}}),
      std::make_pair(std::string("InvalidInputException"),
                     "Cannot delete report group " + junit_group +
                         " because it contains reports. Delete its reports first, or set deleteReports to true."));
  Ok("DeleteReport", {{"arn", second["reportArns"][0]}});
  EXPECT_EQ(Ok("BatchGetReports", {{"reportArns", {second["reportArns"][0]}}})["reportsNotFound"].size(), 1u);
  EXPECT_EQ(Error("DescribeTestCases", {{"reportArn", second["reportArns"][0]}}).first, "ResourceNotFoundException");
  Ok("DeleteReportGroup", {{"arn", junit_group}, {"deleteReports", true}});
  EXPECT_EQ(Ok("BatchGetReportGroups", {{"reportGroupArns", {junit_group}}})["reportGroupsNotFound"].size(), 1u);
  EXPECT_EQ(Ok("BatchGetReports", {{"reportArns", {build["reportArns"][0]}}})["reportsNotFound"].size(), 1u);
  auto rows_left = store_->Count(kTestCaseTable, std::string(kAccount) + "/" + kRegion);
  ASSERT_TRUE(rows_left.ok());
  EXPECT_EQ(*rows_left, 0);
}

TEST_F(ReportsTest, ReportGroupByArn) {
  std::string arn = std::string(kGroupArnPrefix) + "shared";
  Document missing = RunBuild({{arn, "JUNITXML", {{"TEST-calc.xml", kJUnitPassing}}}});
  EXPECT_FALSE(missing.contains("reportArns"));
  EXPECT_TRUE(aws_.Logged("Report group " + arn + " does not exist; no report is made for it"));
  EXPECT_TRUE(aws_.CallsTo("codebuild", "CreateReportGroup").empty());

  Ok("CreateReportGroup", {{"name", "shared"}, {"type", "TEST"}, {"exportConfig", NoExport()}});
  Document made = RunBuild({{arn, "JUNITXML", {{"TEST-calc.xml", kJUnitPassing}}}});
  ASSERT_EQ(made["reportArns"].size(), 1u);
  Document report = Report(made["reportArns"][0]);
  EXPECT_EQ(report["reportGroupArn"], arn);
  EXPECT_EQ(report["name"], "shared");
  EXPECT_EQ(report["status"], "SUCCEEDED");

  // A coverage file for a TEST group makes no report.
  Document wrong = RunBuild({{arn, "COBERTURAXML", {{"coverage.xml", kCobertura}}}});
  EXPECT_FALSE(wrong.contains("reportArns"));
  EXPECT_TRUE(aws_.Logged("Report group " + arn + " collects TEST reports, not CODE_COVERAGE ones"));
}

TEST_F(ReportsTest, MissingOrBrokenFilesMakeIncompleteReports) {
  Document build = RunBuild({{"none", "JUNITXML", {}},
                             {"broken", "JUNITXML", {{"TEST-broken.xml", "<testsuite><testcase"}}},
                             {"cov", "JACOCOXML", {}}});
  ASSERT_EQ(build["reportArns"].size(), 3u);
  EXPECT_EQ(build["buildStatus"], "SUCCEEDED");  // a report's trouble never fails the build
  Document none = Report(build["reportArns"][0]);
  EXPECT_EQ(none["status"], "INCOMPLETE");
  EXPECT_EQ(none["testSummary"]["total"], 0);
  EXPECT_EQ(Report(build["reportArns"][1])["status"], "INCOMPLETE");
  Document cov = Report(build["reportArns"][2]);
  EXPECT_EQ(cov["type"], "CODE_COVERAGE");
  EXPECT_EQ(cov["status"], "INCOMPLETE");
  EXPECT_TRUE(aws_.Logged("Report none: report files not found in build"));
  EXPECT_TRUE(aws_.Logged("Report broken: "));
  // The trend leaves incomplete reports out.
  Document trend = Ok("GetReportGroupTrend",
                      {{"reportGroupArn", std::string(kGroupArnPrefix) + "app-none"}, {"trendField", "TOTAL"}});
  EXPECT_TRUE(trend["rawData"].empty());
}

TEST_F(ReportsTest, RoleMustBeAllowedToCreateTheGroup) {
  aws_.denied.insert("codebuild:CreateReportGroup");
  Document build = RunBuild({{"junit", "JUNITXML", {{"TEST-calc.xml", kJUnit}}}});
  EXPECT_FALSE(build.contains("reportArns"));
  EXPECT_TRUE(aws_.Logged("Cannot create report group " + std::string(kGroupArnPrefix) +
                          "app-junit: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/cb/"));
  EXPECT_TRUE(Ok("ListReportGroups", Document::object())["reportGroups"].empty());
}

TEST_F(ReportsTest, TruncatesToFiveHundredCasesKeepingFailures) {
  std::string xml = "<testsuite name=\"many\">\n";
  for (int i = 0; i < 510; ++i) xml += "<testcase classname=\"Many\" name=\"ok" + std::to_string(i) + "\"/>\n";
  xml += "<testcase classname=\"Many\" name=\"last\"><failure message=\"no\"/></testcase>\n</testsuite>\n";
  Document build = RunBuild({{"many", "JUNITXML", {{"TEST-many.xml", xml}}}});
  Document report = Report(build["reportArns"][0]);
  EXPECT_EQ(report["truncated"], true);
  EXPECT_EQ(report["status"], "FAILED");
  EXPECT_EQ(report["testSummary"]["total"], 511);
  EXPECT_EQ(TestCaseNames(report["arn"], {{"status", "FAILED"}}), std::vector<std::string>{"last"});
  size_t kept = 0;
  Document input = {{"reportArn", report["arn"]}};
  while (true) {
    Document page = Ok("DescribeTestCases", input);
    kept += page["testCases"].size();
    if (!page.contains("nextToken")) break;
    input["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(kept, 500u);
}

TEST_F(ReportsTest, ExportsRawFilesToS3AsTheRole) {
  Ok("CreateReportGroup",
     {{"name", "app-junit"},
      {"type", "TEST"},
      {"exportConfig", {{"exportConfigType", "S3"}, {"s3Destination", {{"bucket", "raw"}, {"path", "/junit/"}}}}}});
  Ok("CreateReportGroup",
     {{"name", "app-zipped"},
      {"type", "TEST"},
      {"exportConfig",
       {{"exportConfigType", "S3"}, {"s3Destination", {{"bucket", "raw"}, {"path", "zips"}, {"packaging", "ZIP"}}}}}});
  Document build = RunBuild({{"junit", "JUNITXML", {{"out/TEST-calc.xml", kJUnit}}},
                             {"zipped", "JUNITXML", {{"TEST-calc.xml", kJUnitPassing}}}});
  ASSERT_EQ(build["reportArns"].size(), 2u);
  std::string first = build["reportArns"][0];
  std::string uuid = first.substr(first.rfind(':') + 1);
  EXPECT_EQ(aws_.objects["raw/junit/" + uuid + "/out/TEST-calc.xml"], kJUnit);
  EXPECT_EQ(Report(first)["exportConfig"]["s3Destination"]["bucket"], "raw");
  std::string second = build["reportArns"][1];
  std::string zip_key = "raw/zips/" + second.substr(second.rfind(':') + 1) + ".zip";
  ASSERT_TRUE(aws_.objects.count(zip_key));
  std::string zip_path = work_.File("raw.zip");
  std::ofstream(zip_path, std::ios::binary) << aws_.objects[zip_key];
  std::string out = work_.File("unzipped");
  ASSERT_TRUE(archive::ExtractZip(zip_path, out).ok());
  std::ifstream in(out + "/TEST-calc.xml");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), kJUnitPassing);
  for (const auto& put : aws_.CallsTo("s3", "PutObject")) {
    EXPECT_EQ(put.principal.arn.rfind("arn:aws:sts::000000000000:assumed-role/cb/", 0), 0u);
  }
}

}  // namespace
}  // namespace gantry::services::codebuild
