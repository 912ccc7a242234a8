// Data-driven tests for the EventBridge engine: tests/data/events/{patterns,schedules,
// transforms}.txt hold one case per block:
//
//   === name of the case
//   key: single-line value
//   key:
//     multi-line value, indented by two spaces
//
// A case whose name starts with '@' defines a named event (its "event" field) that later cases
// use as "event: @name". Lines starting with '#' between fields are comments.
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/common/time_format.h"
#include "core/events/pattern.h"
#include "core/events/schedule.h"
#include "core/events/transform.h"
#include "test_support/case_file.h"

namespace gantry::events {
namespace {

using test_support::Case;
using test_support::CaseName;
using test_support::Where;

std::vector<Case> LoadCases(const std::string& file) { return test_support::LoadCases("events", file); }

// ---- Event patterns ----

class PatternCase : public testing::TestWithParam<Case> {};

TEST_P(PatternCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  StatusOr<EventPattern> pattern = EventPattern::Parse(c.Get("pattern"));
  if (c.Has("error")) {
    ASSERT_FALSE(pattern.ok()) << "pattern unexpectedly valid";
    EXPECT_EQ(pattern.status().message(), c.Get("error"));
    EXPECT_EQ(pattern.status().aws_code(), "InvalidEventPatternException");
    return;
  }
  ASSERT_TRUE(pattern.ok()) << pattern.status().message();
  nlohmann::json event = nlohmann::json::parse(c.Get("event"), nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << "bad event JSON in case file";
  ASSERT_TRUE(c.Get("match") == "true" || c.Get("match") == "false") << "match: true|false";
  EXPECT_EQ(pattern->Matches(event), c.Get("match") == "true");
}

INSTANTIATE_TEST_SUITE_P(EventPattern, PatternCase, testing::ValuesIn(LoadCases("patterns.txt")),
                         CaseName);

// ---- Schedule expressions ----

class ScheduleCase : public testing::TestWithParam<Case> {};

TEST_P(ScheduleCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  StatusOr<ScheduleExpression> expr = ScheduleExpression::Parse(c.Get("expr"));
  if (c.Has("error")) {
    ASSERT_FALSE(expr.ok()) << "expression unexpectedly valid";
    EXPECT_EQ(expr.status().message(), c.Get("error"));
    EXPECT_EQ(expr.status().aws_code(), "ValidationException");
    return;
  }
  ASSERT_TRUE(expr.ok()) << expr.status().message();
  std::optional<TimePoint> t = ParseIso8601(c.Get("after"));
  ASSERT_TRUE(t.has_value()) << "bad 'after' time";
  std::istringstream expected(c.Get("next"));
  std::string want;
  int n = 0;
  while (expected >> want) {
    *t = expr->NextAfter(*t);
    if (want == "never") {
      EXPECT_EQ(*t, TimePoint::max()) << "fire " << n;
      break;
    }
    ASSERT_NE(*t, TimePoint::max()) << "fire " << n << ": never fires, want " << want;
    EXPECT_EQ(FormatIso8601(*t), want) << "fire " << n;
    ++n;
  }
}

INSTANTIATE_TEST_SUITE_P(Schedule, ScheduleCase, testing::ValuesIn(LoadCases("schedules.txt")),
                         CaseName);

// ---- Target input shaping ----

class TransformCase : public testing::TestWithParam<Case> {};

TEST_P(TransformCase, Run) {
  const Case& c = GetParam();
  SCOPED_TRACE(Where(c));
  TargetInput spec;
  if (c.Has("input")) spec.input = c.Get("input");
  if (c.Has("input_path")) spec.input_path = c.Get("input_path");
  if (c.Has("input_template")) {
    InputTransformer t;
    t.input_template = c.Get("input_template");
    if (c.Has("input_paths_map")) {
      nlohmann::json map = nlohmann::json::parse(c.Get("input_paths_map"), nullptr, false);
      ASSERT_TRUE(map.is_object()) << "input_paths_map must be a JSON object";
      for (auto it = map.begin(); it != map.end(); ++it) {
        t.input_paths_map[it.key()] = it.value().get<std::string>();
      }
    }
    spec.input_transformer = std::move(t);
  }
  Status valid = ValidateTargetInput(spec, c.Has("target_id") ? c.Get("target_id") : "t1");
  if (c.Has("error")) {
    ASSERT_FALSE(valid.ok()) << "target input unexpectedly valid";
    EXPECT_EQ(valid.message(), c.Get("error"));
    EXPECT_EQ(valid.aws_code(), "ValidationException");
    return;
  }
  ASSERT_TRUE(valid.ok()) << valid.message();
  nlohmann::json event = nlohmann::json::parse(c.Get("event"), nullptr, false);
  ASSERT_FALSE(event.is_discarded()) << "bad event JSON in case file";
  RuleContext ctx;
  ctx.rule_arn = c.Has("rule_arn") ? c.Get("rule_arn")
                                   : "arn:aws:events:us-east-1:000000000000:rule/example";
  ctx.rule_name = c.Has("rule_name") ? c.Get("rule_name") : "example";
  if (c.Has("ingestion_time")) ctx.ingestion_time = ParseIso8601(c.Get("ingestion_time"));
  StatusOr<std::string> out = ShapeTargetInput(spec, event, ctx);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, c.Get("expect"));
}

INSTANTIATE_TEST_SUITE_P(Transform, TransformCase, testing::ValuesIn(LoadCases("transforms.txt")),
                         CaseName);

// ---- Properties that are not one case each ----

TEST(EventsCaseFilesTest, AllFilesHaveCases) {
  EXPECT_GE(LoadCases("patterns.txt").size(), 100u);
  EXPECT_GE(LoadCases("schedules.txt").size(), 30u);
  EXPECT_GE(LoadCases("transforms.txt").size(), 20u);
}

// Every prefix and a few mutations of every pattern in the case file parse or fail cleanly.
TEST(EventPatternRobustnessTest, TruncatedAndMutatedPatternsNeverCrash) {
  for (const Case& c : LoadCases("patterns.txt")) {
    const std::string p = c.Get("pattern");
    for (size_t n = 0; n <= p.size(); ++n) {
      StatusOr<EventPattern> r = EventPattern::Parse(p.substr(0, n));
      if (!r.ok()) {
        EXPECT_EQ(r.status().message().rfind("Event pattern is not valid. Reason: ", 0), 0u)
            << r.status().message();
      }
    }
    for (size_t i = 0; i < p.size(); ++i) {
      for (char repl : {'{', '}', '[', ']', '"', '\\', ',', ':', '\x01', '\xff'}) {
        std::string m = p;
        m[i] = repl;
        StatusOr<EventPattern> r = EventPattern::Parse(m);
        if (r.ok()) r->Matches(nlohmann::json::parse(R"({"a":[1,{"b":null}],"detail":{}})"));
      }
    }
  }
}

TEST(EventPatternTest, CopiesShareAndMatchConcurrently) {
  StatusOr<EventPattern> p = EventPattern::Parse(
      R"({"source":["aws.ec2"],"detail":{"n":[{"numeric":[">",0,"<=",5]}]}})");
  ASSERT_TRUE(p.ok());
  EventPattern copy = *p;
  EXPECT_EQ(copy.source(), p->source());
  nlohmann::json yes = nlohmann::json::parse(R"({"source":"aws.ec2","detail":{"n":3}})");
  nlohmann::json no = nlohmann::json::parse(R"({"source":"aws.ec2","detail":{"n":9}})");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 500; ++k) {
        if (!copy.Matches(yes) || copy.Matches(no)) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(EventPatternTest, MatchesJsonRejectsMalformedEvents) {
  StatusOr<EventPattern> p = EventPattern::Parse(R"({"source":["a"]})");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(*p->MatchesJson(R"({"source":"a"})"));
  EXPECT_FALSE(*p->MatchesJson(R"({"source":"b"})"));
  StatusOr<bool> bad = p->MatchesJson("not json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "Parameter Event is not valid.");
  EXPECT_EQ(bad.status().aws_code(), "ValidationException");
  EXPECT_FALSE(p->MatchesJson("[1,2]").ok());
}

TEST(EventPatternTest, DeepEventsAndManyAlternativesStayBounded) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  StatusOr<EventPattern> p = EventPattern::Parse(R"({"a":[{"exists":false}]})");
  ASSERT_TRUE(p.ok());
  nlohmann::json event = nlohmann::json::parse(R"({"a":)" + deep + "}");
  EXPECT_TRUE(p->Matches(event));

  // Thirteen parallel two-way $or multiply into 8192 branches: rejected, not expanded.
  std::string pattern = "{";
  for (int i = 0; i < 13; ++i) {
    if (i > 0) pattern += ",";
    pattern += "\"f" + std::to_string(i) + R"(":{"$or":[{"a":["1"]},{"b":["2"]}]})";
  }
  pattern += "}";
  StatusOr<EventPattern> wide = EventPattern::Parse(pattern);
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("Rule is too complex"), std::string::npos);

  std::string nested;
  for (int i = 0; i < 2000; ++i) nested += "{\"a\":";
  nested += "[1]" + std::string(2000, '}');
  StatusOr<EventPattern> too_deep = EventPattern::Parse(nested);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("nesting depth"), std::string::npos);
}

TEST(ScheduleExpressionTest, RateAdvancesFromTheGivenTime) {
  StatusOr<ScheduleExpression> s = ScheduleExpression::Parse("rate(5 minutes)");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->is_rate());
  EXPECT_EQ(s->rate(), std::chrono::minutes(5));
  FakeClock clock(*ParseIso8601("2024-02-28T23:58:30Z"));
  EXPECT_EQ(FormatIso8601(s->NextAfter(clock.Now())), "2024-02-29T00:03:30Z");
  EXPECT_EQ(s->NextAfter(TimePoint::max()), TimePoint::max());
  StatusOr<ScheduleExpression> cron = ScheduleExpression::Parse("cron(0 12 * * ? *)");
  ASSERT_TRUE(cron.ok());
  EXPECT_FALSE(cron->is_rate());
  EXPECT_EQ(cron->expression(), "cron(0 12 * * ? *)");
  EXPECT_EQ(cron->NextAfter(TimePoint::max()), TimePoint::max());
  EXPECT_EQ(FormatIso8601(cron->NextAfter(TimePoint(std::chrono::seconds(-86400 * 400)))),
            "1970-01-01T12:00:00Z");
}

TEST(TransformTest, IngestionTimeDefaultsToEventTime) {
  TargetInput spec;
  spec.input_transformer = InputTransformer{{}, "\"at <aws.events.event.ingestion-time>\""};
  nlohmann::json event = nlohmann::json::parse(R"({"time":"2024-01-02T03:04:05Z"})");
  RuleContext ctx;
  EXPECT_EQ(*ShapeTargetInput(spec, event, ctx), "\"at 2024-01-02T03:04:05Z\"");
  ctx.ingestion_time = *ParseIso8601("2024-05-06T07:08:09Z");
  EXPECT_EQ(*ShapeTargetInput(spec, event, ctx), "\"at 2024-05-06T07:08:09Z\"");
}

TEST(TransformTest, JsonPathSyntax) {
  EXPECT_TRUE(JsonPath::Parse("$").ok());
  EXPECT_TRUE(JsonPath::Parse("$.detail.a-b[3]['x y']").ok());
  EXPECT_FALSE(JsonPath::Parse("").ok());
  EXPECT_FALSE(JsonPath::Parse("detail").ok());
  EXPECT_FALSE(JsonPath::Parse("$..a").ok());
  EXPECT_FALSE(JsonPath::Parse("$.a[*]").ok());
  EXPECT_FALSE(JsonPath::Parse("$.a[").ok());
  EXPECT_FALSE(JsonPath::Parse("$.").ok());
}

}  // namespace
}  // namespace gantry::events
