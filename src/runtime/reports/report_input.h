// Shared pieces of the report parsers (test_formats.cc, coverage_formats.cc): loading an XML or
// JSON report with errors that name the file and line, and reading the numbers the formats use
// (durations in seconds, milliseconds, .NET timespans; counts). Internal to gantry_reports.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <pugixml.hpp>

#include "core/common/status.h"
#include "runtime/reports/reports.h"

namespace gantry::runtime::reports::internal {

// One report file being read: its text and the path its errors name.
struct ReportInput {
  std::string_view content;
  std::string_view path;
  std::string_view format;  // "JUnit XML", "Cobertura XML", ...: for messages

  // InvalidArgument "<path>:<line>: <what>" for the line of `node` (or of byte `offset`).
  Status Error(pugi::xml_node node, std::string_view what) const;
  Status ErrorAt(size_t offset, std::string_view what) const;
  // InvalidArgument "<path>: <what>" when no position is known.
  Status Error(std::string_view what) const;
};

// Parses content into doc; a syntax error names its line and column, an empty document is an error.
Status LoadXml(const ReportInput& in, pugi::xml_document& doc);
// Parses content as JSON; a syntax error names its line and column.
StatusOr<nlohmann::json> LoadJson(const ReportInput& in);

// Whether node is the element `name`.
bool Named(pugi::xml_node node, std::string_view name);
// The error for a document whose root element is not `expected` ("<testsuites> or <testsuite>").
Status WrongRoot(const ReportInput& in, pugi::xml_node root, std::string_view expected);

// Attribute readers. A missing or empty attribute reads as 0; anything else that is not a
// non-negative number of that kind is an error naming the attribute and the line.
StatusOr<int64_t> SecondsAttr(const ReportInput& in, pugi::xml_node node, const char* name);  // -> ns
StatusOr<int64_t> MillisAttr(const ReportInput& in, pugi::xml_node node, const char* name);   // -> ns
StatusOr<int64_t> CountAttr(const ReportInput& in, pugi::xml_node node, const char* name);
// A .NET TimeSpan "[d.]hh:mm:ss[.fffffff]" (TRX durations) -> ns; missing/empty reads as 0.
StatusOr<int64_t> TimeSpanAttr(const ReportInput& in, pugi::xml_node node, const char* name);

// The element's text with surrounding white space removed.
std::string TrimmedText(pugi::xml_node node);
// Joins a message and a detail (stack trace, body) with a newline, skipping empty parts.
std::string JoinMessage(std::string_view message, std::string_view detail);

// a + b for non-negative a and b, capped at INT64_MAX: sums of counts and durations taken from
// untrusted files must not overflow.
int64_t AddCapped(int64_t a, int64_t b);

// Adds a file's numbers to the report's totals and appends it.
void AddFile(CoverageReport& report, FileCoverage file);

// Parsers of each format (test_formats.cc, coverage_formats.cc).
StatusOr<TestReport> ParseJUnit(const ReportInput& in);
StatusOr<TestReport> ParseCucumber(const ReportInput& in);
StatusOr<TestReport> ParseTestNg(const ReportInput& in);
StatusOr<TestReport> ParseTrx(const ReportInput& in);
StatusOr<TestReport> ParseNUnit2(const ReportInput& in);
StatusOr<TestReport> ParseNUnit3(const ReportInput& in);
StatusOr<CoverageReport> ParseClover(const ReportInput& in);
StatusOr<CoverageReport> ParseCobertura(const ReportInput& in);
StatusOr<CoverageReport> ParseJaCoCo(const ReportInput& in);
StatusOr<CoverageReport> ParseSimpleCov(const ReportInput& in);

}  // namespace gantry::runtime::reports::internal
