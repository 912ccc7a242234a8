// Data-driven tests of the filter-pattern language: tests/data/logs/filter_patterns.txt holds one
// case per block:
//
//   === name of the case
//   key: single-line value
//   key:
//     multi-line value, indented by two spaces
//
// Keys may repeat ("match:", "no match:"). A case whose name starts with '@' defines a named
// message (its "event" field) that later cases use as "match: @name". Plus a few tests of the
// regex engine's limits that do not fit the case format.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/logs/filter_pattern.h"
#include "telemetry/logs/filter_regex.h"
#include "test_support/case_file.h"

namespace gantry::telemetry::logs {
namespace {

using test_support::Case;
using test_support::CaseName;
using test_support::Where;

std::vector<Case> LoadCases(const std::string& file) { return test_support::LoadCases("logs", file); }

class FilterPatternCase : public testing::TestWithParam<Case> {};

TEST_P(FilterPatternCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  StatusOr<FilterPattern> pattern = FilterPattern::Parse(c.Get("pattern"));
  if (c.Has("error")) {
    ASSERT_FALSE(pattern.ok()) << "pattern unexpectedly valid";
    EXPECT_EQ(pattern.status().message(), c.Get("error"));
    EXPECT_EQ(pattern.status().code(), StatusCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(pattern.ok()) << pattern.status().message();
  ASSERT_TRUE(c.Has("match") || c.Has("no match")) << "a case needs match: or no match: lines";
  for (const std::string& message : c.All("match")) {
    EXPECT_TRUE(pattern->Matches(message)) << "should match: " << message;
  }
  for (const std::string& message : c.All("no match")) {
    EXPECT_FALSE(pattern->Matches(message)) << "should not match: " << message;
  }
  if (c.Has("fields")) {
    nlohmann::json want = nlohmann::json::parse(c.Get("fields"), nullptr, false);
    ASSERT_TRUE(want.is_object()) << "fields: must be a JSON object";
    FilterPattern::Fields fields;
    ASSERT_TRUE(pattern->Match(c.Get("match"), &fields));
    nlohmann::json got = nlohmann::json::object();
    for (const auto& [key, value] : fields) got[key] = value;
    EXPECT_EQ(got, want);
  }
}

INSTANTIATE_TEST_SUITE_P(FilterPattern, FilterPatternCase, testing::ValuesIn(LoadCases("filter_patterns.txt")),
                         CaseName);

TEST(FilterPattern, CaseFileIsNotEmpty) { EXPECT_GT(LoadCases("filter_patterns.txt").size(), 50u); }

TEST(FilterPattern, RequiredLiteralIsTheLongestRequiredTerm) {
  auto pattern = FilterPattern::Parse("ERROR \"connection refused\" ?x -y");
  ASSERT_TRUE(pattern.ok());
  EXPECT_EQ(pattern->required_literal(), "connection refused");
  EXPECT_TRUE(FilterPattern::Parse("?a ?b")->required_literal().empty());
  EXPECT_TRUE(FilterPattern::Parse("{ $.a = 1 }")->json_only());
}

TEST(FilterPattern, ExtractedFieldsAreEmptyForOtherKinds) {
  auto pattern = FilterPattern::Parse("{ $.a = 1 }");
  ASSERT_TRUE(pattern.ok());
  FilterPattern::Fields fields = {{"stale", "x"}};
  EXPECT_TRUE(pattern->Match("{\"a\":1}", &fields));
  EXPECT_TRUE(fields.empty());
}

TEST(FilterPattern, ManyEllipsesStayBounded) {
  std::string text = "[";
  for (int i = 0; i < 40; ++i) text += "..., x = nomatch, ";
  text += "...]";
  auto pattern = FilterPattern::Parse(text);
  ASSERT_TRUE(pattern.ok()) << pattern.status().message();
  std::string message;
  for (int i = 0; i < 2000; ++i) message += "word ";
  EXPECT_FALSE(pattern->Matches(message));
}

TEST(FilterPattern, DeepParenthesesAreRefused) {
  std::string text = "{ " + std::string(200, '(') + "$.a = 1" + std::string(200, ')') + " }";
  auto pattern = FilterPattern::Parse(text);
  ASSERT_FALSE(pattern.ok());
  EXPECT_EQ(pattern.status().message(), "Invalid filter pattern: too many nested parentheses");
}

TEST(FilterRegex, LinearOnPathologicalInput) {
  auto regex = FilterRegex::Compile("a*a*a*a*a*a*a*a*a*a*b");
  ASSERT_TRUE(regex.ok());
  EXPECT_FALSE(regex->Search(std::string(100000, 'a')));
  EXPECT_TRUE(regex->Search(std::string(100000, 'a') + "b"));
}

TEST(FilterRegex, HugeRepetitionIsRefused) {
  auto regex = FilterRegex::Compile("a{900}b{900}");
  ASSERT_FALSE(regex.ok());
  EXPECT_EQ(regex.status().message(), "Invalid regular expression '%a{900}b{900}%': the expression is too large");
}

}  // namespace
}  // namespace gantry::telemetry::logs
