// Data-driven tests of the metric-math language (tests/data/metric_math/*.txt; the format is
// described at the top of expressions.txt), and tests of SEARCH queries and the callbacks.
#include "telemetry/metrics/math.h"
#include "test_support/case_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gantry::telemetry::metrics::math {
namespace {

constexpr int64_t kBaseMs = 1700438400000;  // Monday 2023-11-20 00:00:00 UTC

struct Case {
  std::string name;
  std::string file;
  int line = 0;
  std::vector<TimeSeries> series;
  std::optional<std::pair<int64_t, int64_t>> range;  // seconds from base
  int period = 60;
  std::string expression;
  std::vector<std::string> expect;
};

std::string TrimCopy(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

// "0=1 60=2.5" → timestamps (ms, from base) and values.
void ParsePoints(const std::string& text, TimeSeries& s) {
  std::istringstream in(text);
  std::string point;
  while (in >> point) {
    size_t eq = point.find('=');
    s.timestamps_ms.push_back(kBaseMs + std::stoll(point.substr(0, eq)) * 1000);
    s.values.push_back(std::stod(point.substr(eq + 1)));
  }
}

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  std::filesystem::path dir = std::filesystem::path(test_support::TestDataDir()) / "metric_math";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".txt" && entry.path().filename().string().rfind("expr", 0) == 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string raw;
    int line_no = 0;
    Case* current = nullptr;
    bool in_expect = false;
    while (std::getline(in, raw)) {
      ++line_no;
      std::string line = TrimCopy(raw);
      if (line.empty() || line[0] == '#') continue;
      if (line.rfind("===", 0) == 0) {
        cases.push_back({});
        current = &cases.back();
        current->name = TrimCopy(line.substr(3));
        current->file = path.filename().string();
        current->line = line_no;
        in_expect = false;
        continue;
      }
      if (!current) continue;
      if (in_expect) {
        current->expect.push_back(line);
        continue;
      }
      size_t colon = line.find(':');
      std::string key = line.substr(0, colon);
      std::string rest = colon == std::string::npos ? "" : TrimCopy(line.substr(colon + 1));
      if (key == "expr") {
        current->expression = rest;
        in_expect = true;
      } else if (key == "range") {
        std::istringstream r(rest);
        int64_t a = 0, b = 0;
        r >> a >> b;
        current->range = {a, b};
      } else if (key == "period") {
        current->period = std::stoi(rest);
      } else {
        TimeSeries s;
        size_t at = key.find('@');
        s.id = key.substr(0, at);
        s.label = s.id;
        if (at != std::string::npos) s.period_seconds = std::stoi(key.substr(at + 1));
        ParsePoints(rest, s);
        current->series.push_back(std::move(s));
      }
    }
  }
  return cases;
}

std::string Render(const TimeSeries& s) {
  std::ostringstream out;
  for (size_t i = 0; i < s.values.size(); ++i) {
    out << (i ? " " : "") << (s.timestamps_ms[i] - kBaseMs) / 1000 << "=" << s.values[i];
  }
  return out.str();
}

bool SamePoints(const TimeSeries& actual, const std::string& expected_text, std::string& why) {
  TimeSeries expected;
  ParsePoints(expected_text, expected);
  bool same = actual.timestamps_ms == expected.timestamps_ms;
  for (size_t i = 0; same && i < actual.values.size(); ++i) {
    same = std::fabs(actual.values[i] - expected.values[i]) <= 1e-6 * std::max(1.0, std::fabs(expected.values[i]));
  }
  if (!same) why = "got points [" + Render(actual) + "], want [" + expected_text + "]";
  return same;
}

EvalContext ContextFor(const Case& c) {
  EvalContext ctx;
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const auto& s : c.series) {
    for (int64_t t : s.timestamps_ms) {
      first = std::min(first, t);
      last = std::max(last, t + int64_t{s.period_seconds} * 1000);
    }
  }
  if (c.range) {
    ctx.start_ms = kBaseMs + c.range->first * 1000;
    ctx.end_ms = kBaseMs + c.range->second * 1000;
  } else if (first <= last) {
    ctx.start_ms = first;
    ctx.end_ms = last;
  } else {
    ctx.start_ms = kBaseMs;
    ctx.end_ms = kBaseMs + 300 * 1000;
  }
  ctx.period_seconds = c.period;
  const std::vector<TimeSeries>* series = &c.series;
  ctx.resolve = [series](const std::string& id) -> StatusOr<Value> {
    for (const auto& s : *series) {
      if (s.id == id) return Value::Series(s);
    }
    return Status::InvalidArgument("Unrecognized identifier '" + id + "'");
  };
  ctx.metrics = [series](const std::string& filter) -> StatusOr<std::vector<TimeSeries>> {
    std::vector<TimeSeries> out;
    for (const auto& s : *series) {
      if (s.id.find(filter) != std::string::npos) out.push_back(s);
    }
    return out;
  };
  return ctx;
}

void Check(const Case& c) {
  SCOPED_TRACE(c.file + ":" + std::to_string(c.line) + " " + c.name + " — " + c.expression);
  ASSERT_FALSE(c.expect.empty()) << "case without expectations";
  StatusOr<Expression> parsed = Parse(c.expression);
  StatusOr<EvalResult> result = parsed.ok() ? Evaluate(*parsed, ContextFor(c)) : StatusOr<EvalResult>(parsed.status());
  const std::string& first = c.expect.front();
  if (first.rfind("error:", 0) == 0) {
    ASSERT_FALSE(result.ok()) << "expected an error";
    std::string want = TrimCopy(first.substr(6));
    EXPECT_NE(result.status().message().find(want), std::string::npos)
        << "error \"" << result.status().message() << "\" lacks \"" << want << "\"";
    return;
  }
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Value& v = result->value;
  size_t member = 0;
  for (const std::string& line : c.expect) {
    size_t colon = line.find(':');
    std::string key = line.substr(0, colon);
    std::string rest = colon == std::string::npos ? "" : TrimCopy(line.substr(colon + 1));
    std::string why;
    if (key == "scalar") {
      ASSERT_EQ(v.kind, Value::Kind::kScalar);
      EXPECT_NEAR(v.scalar, std::stod(rest), 1e-6 * std::max(1.0, std::fabs(std::stod(rest))));
    } else if (key == "series") {
      ASSERT_EQ(v.kind, Value::Kind::kSeries);
      EXPECT_TRUE(SamePoints(v.series[0], rest, why)) << why;
    } else if (key == "count") {
      ASSERT_EQ(v.kind, Value::Kind::kArray);
      EXPECT_EQ(v.series.size(), std::stoul(rest));
    } else if (key.rfind("member ", 0) == 0) {
      ASSERT_EQ(v.kind, Value::Kind::kArray);
      ASSERT_LT(member, v.series.size());
      EXPECT_EQ(v.series[member].label, TrimCopy(key.substr(7)));
      EXPECT_TRUE(SamePoints(v.series[member], rest, why)) << why;
      ++member;
    } else if (key == "dropped") {
      EXPECT_EQ(result->dropped_non_finite, std::stoll(rest));
    } else if (key == "period") {
      ASSERT_NE(v.kind, Value::Kind::kScalar);
      EXPECT_EQ(v.series[0].period_seconds, std::stoi(rest));
    } else {
      FAIL() << "unknown expectation: " << line;
    }
  }
}

TEST(MetricMathData, Cases) {
  std::vector<Case> cases = LoadCases();
  ASSERT_GT(cases.size(), 50u);
  for (const Case& c : cases) Check(c);
}

TEST(MetricMath, ReferencesAndCounts) {
  StatusOr<Expression> e = Parse("SUM(METRICS()) / m1 + FILL(m2, 0) + SEARCH('{AWS/EC2,InstanceId}', 'Average', 300)");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->references(), (std::vector<std::string>{"m1", "m2"}));
  EXPECT_TRUE(e->uses_metrics());
  EXPECT_EQ(e->search_count(), 1);
}

TEST(MetricMath, IdRules) {
  EXPECT_TRUE(IsValidId("m1"));
  EXPECT_TRUE(IsValidId("errors_total"));
  EXPECT_FALSE(IsValidId("M1"));
  EXPECT_FALSE(IsValidId("1m"));
  EXPECT_FALSE(IsValidId("m-1"));
  EXPECT_FALSE(IsValidId(""));
}

SeriesKey Key(std::string ns, std::string name, std::vector<Dimension> dims) {
  SeriesKey k{"acct/us-east-1", std::move(ns), std::move(name), std::move(dims)};
  k.Normalize();
  return k;
}

TEST(SearchQuery, SchemaAndTerms) {
  SeriesKey a = Key("AWS/EC2", "CPUUtilization", {{"InstanceId", "i-1"}});
  SeriesKey b = Key("AWS/EC2", "CPUUtilization", {{"InstanceId", "i-2"}, {"InstanceType", "t3.micro"}});
  SeriesKey c = Key("App", "Latency", {{"Service", "checkout"}});

  auto q = SearchQuery::Parse("{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(q->Matches(a));
  EXPECT_FALSE(q->Matches(b));  // a schema requires exactly its dimensions
  EXPECT_FALSE(q->Matches(c));
  EXPECT_EQ(q->name_space(), "AWS/EC2");

  q = SearchQuery::Parse("cpu");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Matches(a));
  EXPECT_TRUE(q->Matches(b));
  EXPECT_FALSE(q->Matches(c));

  q = SearchQuery::Parse("Latency OR InstanceType=t3.micro");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->Matches(a));
  EXPECT_TRUE(q->Matches(b));
  EXPECT_TRUE(q->Matches(c));

  q = SearchQuery::Parse("{AWS/EC2} NOT i-2");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(q->Matches(a));  // {AWS/EC2} alone means no dimensions
  q = SearchQuery::Parse("Namespace=\"AWS/EC2\" NOT \"i-2\"");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Matches(a));
  EXPECT_FALSE(q->Matches(b));
  EXPECT_EQ(q->name_space(), std::nullopt);  // a Namespace= term inside a conjunction narrows nothing

  q = SearchQuery::Parse("(checkout AND Latency) OR \"i-1\"");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->Matches(a));
  EXPECT_FALSE(q->Matches(b));
  EXPECT_TRUE(q->Matches(c));

  EXPECT_FALSE(SearchQuery::Parse("{AWS/EC2,").ok());
  EXPECT_FALSE(SearchQuery::Parse("(cpu").ok());
  EXPECT_FALSE(SearchQuery::Parse("   ").ok());
  EXPECT_FALSE(SearchQuery::Parse("MetricName=").ok());
}

TEST(MetricMath, SearchAndBandGoThroughCallbacks) {
  EvalContext ctx;
  ctx.start_ms = kBaseMs;
  ctx.end_ms = kBaseMs + 600000;
  SearchRequest seen;
  ctx.search = [&](const SearchRequest& r) -> StatusOr<std::vector<TimeSeries>> {
    seen = r;
    TimeSeries s;
    s.label = "i-1";
    s.timestamps_ms = {kBaseMs};
    s.values = {4};
    return std::vector<TimeSeries>{s, s};
  };
  std::string band_of;
  ctx.anomaly_band = [&](const std::string& id, double stddevs) -> StatusOr<std::vector<TimeSeries>> {
    band_of = id + "/" + std::to_string(static_cast<int>(stddevs));
    return std::vector<TimeSeries>(2);
  };
  auto e = Parse("SUM(SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300))");
  ASSERT_TRUE(e.ok());
  auto r = Evaluate(*e, ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen.stat, "Average");
  EXPECT_EQ(seen.period_seconds, 300);
  ASSERT_EQ(r->value.kind, Value::Kind::kSeries);
  EXPECT_EQ(r->value.series[0].values, std::vector<double>{8});

  e = Parse("ANOMALY_DETECTION_BAND(m1, 3)");
  ASSERT_TRUE(e.ok());
  r = Evaluate(*e, ctx);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(band_of, "m1/3");
  EXPECT_EQ(r->value.series.size(), 2u);

  e = Parse("ANOMALY_DETECTION_BAND(m1 * 2)");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(Evaluate(*e, ctx).ok());
  e = Parse("SEARCH('{AWS/EC2', 'Average', 300)");
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(Evaluate(*e, ctx).ok());
}

}  // namespace
}  // namespace gantry::telemetry::metrics::math
