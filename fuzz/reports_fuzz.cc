// libFuzzer target for the test and coverage report parsers (runtime/reports/reports.h): the first
// byte picks the format ('0'..'5' the test formats, '6'..'9' the coverage formats, any other byte
// one of them by its value), the rest is the report file. Any input must yield a Status naming the
// file or a report that keeps the parsers' promises (known statuses, non-negative numbers, totals
// that are the sums of the files), never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/reports/reports.h"

namespace reports = gantry::runtime::reports;

namespace {

constexpr std::string_view kFormats[] = {"JUNITXML",  "CUCUMBERJSON", "TESTNGXML",    "VISUALSTUDIOTRX", "NUNITXML",
                                         "NUNIT3XML", "CLOVERXML",    "COBERTURAXML", "JACOCOXML",       "SIMPLECOV"};
constexpr std::string_view kPath = "fuzz/report";

bool NamesFile(const gantry::Status& status) { return status.message().rfind(kPath, 0) == 0; }

void CheckTests(std::string_view format, std::string_view content) {
  auto report = reports::ParseTestReport(format, content, kPath);
  if (!report.ok()) {
    if (!NamesFile(report.status())) __builtin_trap();
    return;
  }
  if (report->duration_ns < 0) __builtin_trap();
  for (const reports::TestCaseResult& c : report->cases) {
    bool known = false;
    for (std::string_view s : {reports::kSucceeded, reports::kFailed, reports::kError, reports::kSkipped,
                               reports::kUnknown}) {
      known = known || c.status == s;
    }
    if (!known || c.duration_ns < 0) __builtin_trap();
  }
}

void CheckCoverage(std::string_view format, std::string_view content) {
  auto report = reports::ParseCoverageReport(format, content, kPath);
  if (!report.ok()) {
    if (!NamesFile(report.status())) __builtin_trap();
    return;
  }
  int64_t lines_covered = 0, lines_missed = 0, branches_covered = 0, branches_missed = 0;
  for (const reports::FileCoverage& f : report->files) {
    if (f.lines_covered < 0 || f.lines_missed < 0 || f.branches_covered < 0 || f.branches_missed < 0) {
      __builtin_trap();
    }
    lines_covered += f.lines_covered;
    lines_missed += f.lines_missed;
    branches_covered += f.branches_covered;
    branches_missed += f.branches_missed;
  }
  if (lines_covered != report->lines_covered || lines_missed != report->lines_missed ||
      branches_covered != report->branches_covered || branches_missed != report->branches_missed) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view format = kFormats[static_cast<uint8_t>(data[0] - '0') % 10];
  std::string_view content(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (reports::IsTestFormat(format)) {
    CheckTests(format, content);
  } else {
    CheckCoverage(format, content);
  }
  return 0;
}
