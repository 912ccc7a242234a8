// The alarm evaluation rules and the composite rule language, from tests/data/alarms/.
#include "services/cloudwatch/alarm_evaluation.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "core/common/strings.h"
#include "services/cloudwatch/alarm_rule.h"
#include "test_support/case_file.h"

namespace gantry::services::cloudwatch {
namespace {

using test_support::Case;
using test_support::Where;

constexpr int64_t kPeriodMs = 60'000;
constexpr int64_t kStartMs = 1'700'000'040'000;  // a minute boundary

std::vector<Datapoint> Range(const std::string& text) {
  std::vector<Datapoint> range;
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    Datapoint p;
    p.timestamp_ms = kStartMs + static_cast<int64_t>(range.size()) * kPeriodMs;
    if (token == "X") p.value = 10;
    if (token == "0") p.value = 0;
    range.push_back(p);
  }
  return range;
}

class MissingDataTable : public ::testing::TestWithParam<Case> {};

TEST_P(MissingDataTable, EveryTreatmentFromEveryState) {
  const Case& c = GetParam();
  EvaluationConfig config;
  config.comparison = Comparison::kGreaterThan;
  config.threshold = 5;
  config.evaluation_periods = std::stoi(c.Get("evaluation periods"));
  config.datapoints_to_alarm = std::stoi(c.Get("datapoints to alarm"));
  std::vector<Datapoint> range = Range(c.Get("datapoints"));
  ASSERT_EQ(static_cast<int>(range.size()), EvaluationRangeLength(config.evaluation_periods)) << Where(c);
  for (const char* column : {"missing", "ignore", "breaching", "notBreaching"}) {
    config.missing = *ParseMissingData(column);
    const std::string expected = c.Get(column);
    for (AlarmState current : {AlarmState::kOk, AlarmState::kAlarm, AlarmState::kInsufficientData}) {
      Evaluation result = Evaluate(config, range, current);
      std::string got = result.state ? std::string(AlarmStateName(*result.state)) : "retain";
      EXPECT_EQ(got, expected) << Where(c) << " column " << column << " from " << AlarmStateName(current);
      if (result.state) {
        EXPECT_FALSE(result.reason.empty()) << Where(c);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Alarms, MissingDataTable,
                         ::testing::ValuesIn(test_support::LoadCases("alarms", "missing_data.txt")),
                         test_support::CaseName);

class ComparisonTable : public ::testing::TestWithParam<Case> {};

TEST_P(ComparisonTable, Breaches) {
  const Case& c = GetParam();
  EvaluationConfig config;
  auto comparison = ParseComparison(c.Get("comparison"));
  ASSERT_TRUE(comparison) << Where(c);
  config.comparison = *comparison;
  if (c.Has("threshold")) config.threshold = std::stod(c.Get("threshold"));
  Datapoint p;
  p.value = std::stod(c.Get("value"));
  if (c.Has("lower")) p.lower = std::stod(c.Get("lower"));
  if (c.Has("upper")) p.upper = std::stod(c.Get("upper"));
  EXPECT_EQ(Breaches(config, p), c.Get("breaches") == "true") << Where(c);
  Evaluation result = Evaluate(config, {p}, AlarmState::kInsufficientData);
  ASSERT_TRUE(result.state) << Where(c);
  EXPECT_EQ(*result.state, c.Get("breaches") == "true" ? AlarmState::kAlarm : AlarmState::kOk) << Where(c);
}

INSTANTIATE_TEST_SUITE_P(Alarms, ComparisonTable,
                         ::testing::ValuesIn(test_support::LoadCases("alarms", "comparisons.txt")),
                         test_support::CaseName);

class CompositeRuleTable : public ::testing::TestWithParam<Case> {};

TEST_P(CompositeRuleTable, ParsesAndEvaluates) {
  const Case& c = GetParam();
  auto rule = AlarmRule::Parse(c.Get("rule"));
  if (c.Has("error")) {
    ASSERT_FALSE(rule.ok()) << Where(c);
    EXPECT_EQ(rule.status().message(), c.Get("error")) << Where(c);
    EXPECT_EQ(rule.status().aws_code(), "ValidationError") << Where(c);
    return;
  }
  ASSERT_TRUE(rule.ok()) << Where(c) << ": " << rule.status().ToString();
  std::map<std::string, AlarmState> states;
  const std::string state_list = c.Get("states");
  for (std::string_view entry : Split(state_list, ';')) {
    entry = Trim(entry);
    if (entry.empty()) continue;
    size_t eq = entry.rfind('=');
    states[std::string(entry.substr(0, eq))] = *ParseAlarmState(entry.substr(eq + 1));
  }
  bool holds = rule->Evaluate([&](const std::string& name) -> std::optional<AlarmState> {
    auto it = states.find(name);
    if (it == states.end()) return std::nullopt;
    return it->second;
  });
  EXPECT_EQ(holds, c.Get("result") == "true") << Where(c);
  if (c.Has("references")) {
    std::vector<std::string> expected;
    const std::string reference_list = c.Get("references");
    for (std::string_view r : Split(reference_list, '|')) {
      if (!r.empty()) expected.emplace_back(r);
    }
    EXPECT_EQ(rule->references(), expected) << Where(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Alarms, CompositeRuleTable,
                         ::testing::ValuesIn(test_support::LoadCases("alarms", "composite_rules.txt")),
                         test_support::CaseName);

TEST(AlarmEvaluation, OkReasonWithDatapointsToAlarmCountsFilledPointsAndListsOnlyClearOnes) {
  EvaluationConfig config;
  config.comparison = Comparison::kGreaterThan;
  config.threshold = 5;
  config.evaluation_periods = 3;
  config.datapoints_to_alarm = 2;
  config.datapoints_to_alarm_set = true;
  config.missing = MissingData::kNotBreaching;
  Evaluation ok = Evaluate(config, Range("X - -"), AlarmState::kAlarm);
  ASSERT_EQ(ok.state, AlarmState::kOk);
  EXPECT_EQ(ok.reason, "Threshold Crossed: 2 out of the last 3 datapoints were not greater than the threshold (5.0) and "
                       "2 missing datapoints were treated as [NonBreaching] (minimum 2 datapoints for ALARM -> OK "
                       "transition).");
  ok = Evaluate(config, Range("X 0 -"), AlarmState::kAlarm);
  EXPECT_EQ(ok.reason, "Threshold Crossed: 2 out of the last 3 datapoints [0.0 (14/11/23 22:15:00)] were not greater "
                       "than the threshold (5.0) and 1 missing datapoint was treated as [NonBreaching] (minimum 2 "
                       "datapoints for ALARM -> OK transition).");
}

TEST(AlarmEvaluation, ReasonsSayWhatCrossed) {
  EvaluationConfig config;
  config.comparison = Comparison::kGreaterThanOrEqual;
  config.threshold = 8;
  Evaluation alarm = Evaluate(config, Range("- 0 X"), AlarmState::kOk);
  EXPECT_EQ(alarm.reason, "Threshold Crossed: 1 datapoint [10.0 (14/11/23 22:16:00)] was greater than or equal to the "
                          "threshold (8.0).");
  config.threshold = 5;
  config.datapoints_to_alarm_set = true;
  alarm = Evaluate(config, Range("- 0 X"), AlarmState::kOk);
  EXPECT_EQ(alarm.reason, "Threshold Crossed: 1 out of the last 1 datapoints [10.0 (14/11/23 22:16:00)] was greater than "
                          "or equal to the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition).");
  Evaluation ok = Evaluate(config, Range("- X 0"), AlarmState::kAlarm);
  EXPECT_EQ(ok.reason, "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (14/11/23 22:16:00)] was not greater than "
                       "or equal to the threshold (5.0) (minimum 1 datapoint for ALARM -> OK transition).");
  config.evaluation_periods = 3;
  config.datapoints_to_alarm_set = false;
  Evaluation unknown = Evaluate(config, Range("- - - - -"), AlarmState::kOk);
  EXPECT_EQ(unknown.reason, "Insufficient Data: 3 datapoints were unknown.");
  config.missing = MissingData::kBreaching;
  Evaluation breaching = Evaluate(config, Range("- - - - -"), AlarmState::kOk);
  EXPECT_EQ(breaching.reason, "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints "
                              "were treated as [Breaching].");
}

TEST(AlarmEvaluation, EvaluatedDatapointsAreMostRecentFirst) {
  EvaluationConfig config;
  config.evaluation_periods = 2;
  config.datapoints_to_alarm = 2;
  Evaluation result = Evaluate(config, Range("X - 0 X"), AlarmState::kOk);
  ASSERT_EQ(result.evaluated.size(), 2u);
  EXPECT_EQ(result.evaluated[0].timestamp_ms, kStartMs + 3 * kPeriodMs);
  EXPECT_EQ(result.evaluated[1].timestamp_ms, kStartMs + 2 * kPeriodMs);
}

TEST(AlarmEvaluation, LowSampleCountPercentileKeepsTheState) {
  EvaluationConfig config;
  config.comparison = Comparison::kGreaterThan;
  config.threshold = 5;
  config.min_samples = MinSamplesForPercentile(99);
  EXPECT_NEAR(*config.min_samples, 1000, 1e-6);
  std::vector<Datapoint> range = Range("- - X");
  range[2].sample_count = 20;
  EXPECT_FALSE(Evaluate(config, range, AlarmState::kOk).state);
  range[2].sample_count = 1000;
  EXPECT_EQ(Evaluate(config, range, AlarmState::kOk).state, AlarmState::kAlarm);
  config.min_samples.reset();  // EvaluateLowSampleCountPercentile=evaluate
  range[2].sample_count = 20;
  EXPECT_EQ(Evaluate(config, range, AlarmState::kOk).state, AlarmState::kAlarm);
}

TEST(AlarmEvaluation, BandReasonsNameTheBounds) {
  EvaluationConfig config;
  config.comparison = Comparison::kAboveBand;
  Datapoint p;
  p.timestamp_ms = kStartMs;
  p.value = 12;
  p.lower = 2;
  p.upper = 8.5;
  Evaluation result = Evaluate(config, {p}, AlarmState::kOk);
  EXPECT_EQ(result.state, AlarmState::kAlarm);
  EXPECT_EQ(result.reason, "Thresholds Crossed: 1 datapoint [12.0 (14/11/23 22:14:00)] was greater than the upper "
                           "thresholds [8.5].");
}

TEST(AlarmEvaluation, RangeEndsWithTheCurrentPeriodOnlyWhenItHasData) {
  std::map<int64_t, Datapoint> points;
  Datapoint old;
  old.value = 1;
  points[kStartMs] = old;
  int64_t now = kStartMs + 2 * kPeriodMs + 30'000;  // half way through the third period
  std::vector<Datapoint> range = EvaluationRange(points, kPeriodMs, now, 3);
  ASSERT_EQ(range.size(), 3u);
  EXPECT_EQ(range[0].timestamp_ms, kStartMs - kPeriodMs);
  EXPECT_EQ(range[1].timestamp_ms, kStartMs);
  EXPECT_TRUE(range[1].value);
  EXPECT_EQ(range[2].timestamp_ms, kStartMs + kPeriodMs);
  Datapoint current;
  current.value = 2;
  points[kStartMs + 2 * kPeriodMs] = current;
  range = EvaluationRange(points, kPeriodMs, now, 3);
  EXPECT_EQ(range[2].timestamp_ms, kStartMs + 2 * kPeriodMs);
  EXPECT_EQ(*range[2].value, 2);
}

TEST(AlarmEvaluation, NumbersPrintAsCloudWatchPrintsThem) {
  EXPECT_EQ(FormatReasonNumber(5), "5.0");
  EXPECT_EQ(FormatReasonNumber(0.25), "0.25");
  EXPECT_EQ(FormatReasonNumber(-3), "-3.0");
  EXPECT_EQ(FormatReasonNumber(0.00001), "1.0E-5");
  EXPECT_EQ(FormatReasonNumber(12345678), "1.2345678E7");
}

}  // namespace
}  // namespace gantry::services::cloudwatch
