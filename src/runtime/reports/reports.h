// Test and code coverage reports as CodeBuild reads them from a build's report files: the test
// formats JUNITXML, CUCUMBERJSON, TESTNGXML, VISUALSTUDIOTRX, NUNITXML, NUNIT3XML and the coverage
// formats CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV, parsed into plain values. Knows no AWS
// wire shapes: the CodeBuild service turns these into Report, TestCase and CodeCoverage.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace gantry::runtime::reports {

// Whether format (upper case, as the buildspec's file-format) is one of the test formats, or one of
// the coverage formats.
bool IsTestFormat(std::string_view format);
bool IsCoverageFormat(std::string_view format);

// CodeBuild's TestCase status values.
inline constexpr std::string_view kSucceeded = "SUCCEEDED";
inline constexpr std::string_view kFailed = "FAILED";
inline constexpr std::string_view kError = "ERROR";
inline constexpr std::string_view kSkipped = "SKIPPED";
inline constexpr std::string_view kUnknown = "UNKNOWN";

struct TestCaseResult {
  std::string test_suite_name;            // the suite (JUnit <testsuite name>, Cucumber feature, ...)
  std::string prefix;                     // CodeBuild's prefix: the class name (JUnit classname, ...)
  std::string name;                       // the test's own name
  std::string status;                     // one of the constants above
  std::string message;                    // failure / error / skip message and detail ("" when none)
  int64_t duration_ns = 0;
};

struct TestReport {
  std::vector<TestCaseResult> cases;      // in file order
  int64_t duration_ns = 0;                // the file's total duration (the sum of its cases when it
                                          // names none)
};

// Parses one test report file. InvalidArgument naming the file (`path`, for messages) and, where
// the parser knows it, the line, when the content is not that format.
StatusOr<TestReport> ParseTestReport(std::string_view format, std::string_view content, std::string_view path);

struct FileCoverage {
  std::string path;                       // the source file as the report names it
  int64_t lines_covered = 0;
  int64_t lines_missed = 0;
  int64_t branches_covered = 0;
  int64_t branches_missed = 0;
};

struct CoverageReport {
  std::vector<FileCoverage> files;        // in file order, one entry per source file
  int64_t lines_covered = 0;              // totals over the files
  int64_t lines_missed = 0;
  int64_t branches_covered = 0;
  int64_t branches_missed = 0;
};

// Parses one coverage report file; errors as ParseTestReport.
StatusOr<CoverageReport> ParseCoverageReport(std::string_view format, std::string_view content,
                                             std::string_view path);

}  // namespace gantry::runtime::reports
