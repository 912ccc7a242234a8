// Dispatch from a buildspec file-format to its parser (test_formats.cc, coverage_formats.cc).
// Pure functions; thread-safe.
#include "runtime/reports/reports.h"

#include "runtime/reports/report_input.h"

namespace gantry::runtime::reports {

bool IsTestFormat(std::string_view format) {
  for (std::string_view f : {"JUNITXML", "CUCUMBERJSON", "TESTNGXML", "VISUALSTUDIOTRX", "NUNITXML", "NUNIT3XML"}) {
    if (format == f) return true;
  }
  return false;
}

bool IsCoverageFormat(std::string_view format) {
  for (std::string_view f : {"CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV"}) {
    if (format == f) return true;
  }
  return false;
}

StatusOr<TestReport> ParseTestReport(std::string_view format, std::string_view content, std::string_view path) {
  using namespace internal;
  if (format == "JUNITXML") return ParseJUnit({content, path, "JUnit XML"});
  if (format == "CUCUMBERJSON") return ParseCucumber({content, path, "Cucumber JSON"});
  if (format == "TESTNGXML") return ParseTestNg({content, path, "TestNG XML"});
  if (format == "VISUALSTUDIOTRX") return ParseTrx({content, path, "Visual Studio TRX"});
  if (format == "NUNITXML") return ParseNUnit2({content, path, "NUnit XML"});
  if (format == "NUNIT3XML") return ParseNUnit3({content, path, "NUnit3 XML"});
  return Status::InvalidArgument(std::string(path) + ": " + std::string(format) + " is not a test report format");
}

StatusOr<CoverageReport> ParseCoverageReport(std::string_view format, std::string_view content,
                                             std::string_view path) {
  using namespace internal;
  if (format == "CLOVERXML") return ParseClover({content, path, "Clover XML"});
  if (format == "COBERTURAXML") return ParseCobertura({content, path, "Cobertura XML"});
  if (format == "JACOCOXML") return ParseJaCoCo({content, path, "JaCoCo XML"});
  if (format == "SIMPLECOV") return ParseSimpleCov({content, path, "SimpleCov JSON"});
  return Status::InvalidArgument(std::string(path) + ": " + std::string(format) +
                                 " is not a code coverage report format");
}

}  // namespace gantry::runtime::reports
