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

namespace gantry::telemetry::logs {
namespace {

struct Case {
  std::string file;
  int line = 0;
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;

  bool Has(const std::string& key) const { return !All(key).empty(); }
  std::string Get(const std::string& key) const {
    auto all = All(key);
    return all.empty() ? std::string() : all.front();
  }
  std::vector<std::string> All(const std::string& key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : fields) {
      if (k == key) out.push_back(v);
    }
    return out;
  }
};

std::string DataDir() {
  if (const char* env = std::getenv("GANTRY_TEST_DATA"); env != nullptr && *env != '\0') {
    return std::string(env) + "/logs";
  }
  return std::string(GANTRY_TEST_DATA_DIR) + "/logs";
}

std::vector<Case> LoadCases(const std::string& file) {
  std::ifstream in(DataDir() + "/" + file);
  std::vector<Case> cases;
  std::map<std::string, std::string> fixtures;
  std::string line;
  int line_no = 0;
  std::string* multiline = nullptr;
  auto finish = [&]() {
    if (cases.empty()) return;
    Case& c = cases.back();
    if (!c.name.empty() && c.name[0] == '@') {
      fixtures[c.name] = c.Get("event");
      cases.pop_back();
      return;
    }
    for (auto& [key, value] : c.fields) {
      if ((key == "match" || key == "no match") && !value.empty() && value[0] == '@') {
        auto f = fixtures.find(value);
        if (f != fixtures.end()) value = f->second;
      }
    }
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("=== ", 0) == 0) {
      finish();
      multiline = nullptr;
      Case c;
      c.file = file;
      c.line = line_no;
      c.name = line.substr(4);
      cases.push_back(std::move(c));
      continue;
    }
    if (multiline != nullptr && line.rfind("  ", 0) == 0) {
      if (!multiline->empty()) multiline->push_back('\n');
      multiline->append(line.substr(2));
      continue;
    }
    multiline = nullptr;
    if (line.empty() || line[0] == '#' || cases.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    cases.back().fields.emplace_back(key, value);
    if (value.empty()) multiline = &cases.back().fields.back().second;
  }
  finish();
  return cases;
}

std::string CaseName(const testing::TestParamInfo<Case>& info) {
  std::string name = "L" + std::to_string(info.param.line) + "_";
  for (char c : info.param.name) name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return name;
}

std::string Where(const Case& c) { return c.file + ":" + std::to_string(c.line) + " (" + c.name + ")"; }

void PrintTo(const Case& c, std::ostream* os) { *os << Where(c); }

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
