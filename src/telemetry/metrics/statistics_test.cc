#include "telemetry/metrics/statistics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

namespace gantry::telemetry::metrics {
namespace {

using Kind = Statistic::Kind;

TEST(StatisticsTest, ParsesValidForms) {
  struct Case {
    const char* text;
    Kind kind;
    std::optional<double> lo, hi;
    bool absolute;
  } cases[] = {
      {"SampleCount", Kind::kSampleCount, {}, {}, false},
      {"Average", Kind::kAverage, {}, {}, false},
      {"p99", Kind::kPercentile, 99, 99, false},
      {"p99.9", Kind::kPercentile, 99.9, 99.9, false},
      {"p0", Kind::kPercentile, 0, 0, false},
      {"p100", Kind::kPercentile, 100, 100, false},
      {"p99.9999999999", Kind::kPercentile, 99.9999999999, 99.9999999999, false},
      {"tm99", Kind::kTrimmedMean, {}, 99, false},
      {"TM(10%:90%)", Kind::kTrimmedMean, 10, 90, false},
      {"tm(10%:90%)", Kind::kTrimmedMean, 10, 90, false},
      {"TM(:80%)", Kind::kTrimmedMean, {}, 80, false},
      {"TM(150:1000)", Kind::kTrimmedMean, 150, 1000, true},
      {"TM(100:)", Kind::kTrimmedMean, 100, {}, true},
      {"wm98", Kind::kWinsorizedMean, {}, 98, false},
      {"WM(10%:90%)", Kind::kWinsorizedMean, 10, 90, false},
      {"IQM", Kind::kIqm, 25, 75, false},
      {"tc90", Kind::kTrimmedCount, {}, 90, false},
      {"TC(0.005:0.030)", Kind::kTrimmedCount, 0.005, 0.030, true},
      {"ts90", Kind::kTrimmedSum, {}, 90, false},
      {"TS(80%:)", Kind::kTrimmedSum, 80, {}, false},
      {"PR(:300)", Kind::kPercentileRank, {}, 300, true},
      {"PR(100:2000)", Kind::kPercentileRank, 100, 2000, true},
      {"TM(-5:5)", Kind::kTrimmedMean, -5, 5, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<Statistic> st = ParseStatistic(c.text);
    ASSERT_TRUE(st.ok()) << st.status().message();
    EXPECT_EQ(st->kind, c.kind);
    EXPECT_EQ(st->lo, c.lo);
    EXPECT_EQ(st->hi, c.hi);
    EXPECT_EQ(st->absolute, c.absolute);
    EXPECT_EQ(st->text, c.text);
    EXPECT_EQ(st->extended(), c.kind > Kind::kMaximum);
  }
}

TEST(StatisticsTest, RejectsInvalidFormsWithMessages) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"", "a statistic is required"},
      {"average", "expected SampleCount"},
      {"Median", "expected SampleCount"},
      {"p", "a number or a range in parentheses must follow 'p'"},
      {"p101", "between 0 and 100"},
      {"p-1", "is not a number"},
      {"p99.99999999999", "is not a number with at most 10 decimal places"},
      {"p99.", "is not a number"},
      {"p(99)", "a percentile takes one number"},
      {"Tm90", "expected SampleCount"},
      {"tm", "must follow 'tm'"},
      {"TM(10%:90%", "missing ')'"},
      {"TM(10%)", "a range is written (lower:upper)"},
      {"TM(:)", "at least one bound"},
      {"TM(10%:1000)", "both bounds must be percentages or both absolute values"},
      {"TM(90%:10%)", "the lower bound is greater than the upper bound"},
      {"TM(10%:120%)", "a percentage must be between 0 and 100"},
      {"PR(10%:90%)", "percentile rank bounds are values"},
      {"pr99", "percentile rank takes a range"},
      {"WM(10:90)", "winsorized mean bounds are percentages"},
      {"TM(a:b)", "'a' is not a number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    StatusOr<Statistic> st = ParseStatistic(c.text);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.status().message().find(c.message), std::string::npos) << st.status().message();
    EXPECT_NE(st.status().message().find(std::string("'") + c.text + "'"), std::string::npos);
  }
}

Aggregate Of(const std::vector<double>& values) {
  Aggregate a;
  for (double v : values) {
    if (a.sample_count == 0) {
      a.minimum = a.maximum = v;
    }
    a.minimum = std::min(a.minimum, v);
    a.maximum = std::max(a.maximum, v);
    a.sample_count += 1;
    a.sum += v;
    a.sketch.Add(v);
  }
  return a;
}

double Stat(const char* text, const Aggregate& a) {
  StatusOr<Statistic> st = ParseStatistic(text);
  EXPECT_TRUE(st.ok()) << text;
  std::optional<double> v = Compute(*st, a);
  EXPECT_TRUE(v.has_value()) << text;
  return v.value_or(-1);
}

TEST(StatisticsTest, ComputesWithinAccuracyWhenBucketed) {
  // 1..100, more distinct values than the sketch keeps exactly: within its accuracy.
  std::vector<double> v(100);
  std::iota(v.begin(), v.end(), 1);
  Aggregate a = Of(v);
  EXPECT_DOUBLE_EQ(Stat("SampleCount", a), 100);
  EXPECT_DOUBLE_EQ(Stat("Sum", a), 5050);
  EXPECT_DOUBLE_EQ(Stat("Average", a), 50.5);
  EXPECT_DOUBLE_EQ(Stat("Minimum", a), 1);
  EXPECT_DOUBLE_EQ(Stat("Maximum", a), 100);
  EXPECT_DOUBLE_EQ(Stat("p0", a), 1);
  EXPECT_DOUBLE_EQ(Stat("p100", a), 100);
  EXPECT_NEAR(Stat("p50", a), 50, 1);
  EXPECT_NEAR(Stat("p90", a), 90, 1);
  ASSERT_FALSE(a.sketch.exact());
  EXPECT_NEAR(Stat("p99.9", a), 100, 1);   // nearest rank: ceil(99.9) = 100
  EXPECT_NEAR(Stat("tm90", a), 45.5, 0.5);          // mean of 1..90
  EXPECT_NEAR(Stat("TM(10%:90%)", a), 50.5, 0.5);   // mean of 11..90
  EXPECT_NEAR(Stat("IQM", a), 50.5, 0.5);           // mean of 26..75
  EXPECT_NEAR(Stat("TM(50:60)", a), 55.5, 0.6);     // mean of 51..60
  EXPECT_NEAR(Stat("tc90", a), 90, 1e-9);
  EXPECT_NEAR(Stat("ts90", a), 4095, 45);           // sum of 1..90
  EXPECT_NEAR(Stat("TC(50:60)", a), 10, 1);
  EXPECT_NEAR(Stat("TS(50:60)", a), 555, 12);
  EXPECT_NEAR(Stat("PR(:30)", a), 30, 1.01);
  EXPECT_NEAR(Stat("PR(20:40)", a), 20, 2.01);
  EXPECT_NEAR(Stat("PR(100:)", a), 0, 1e-9);
  // wm90: the top 10 values count as the 90th percentile (90): (sum 1..90 + 10 * 90) / 100.
  EXPECT_NEAR(Stat("wm90", a), (4095 + 900) / 100.0, 0.6);
  EXPECT_NEAR(Stat("WM(10%:90%)", a), (10 * 10 + (5050 - 55 - 955) + 10 * 90) / 100.0, 0.6);
}

// Brute-force CloudWatch statistics over sorted values, independent of the sketch: the i-th value
// (0-based) occupies the positions [i, i + 1]; percentages are in tenths of a percent.
struct Reference {
  std::vector<double> v;
  double n() const { return static_cast<double>(v.size()); }
  double AtPermille(int permille) const {  // nearest rank: max(1, ceil(permille * n / 1000))
    size_t rank = std::max<size_t>(1, (static_cast<size_t>(permille) * v.size() + 999) / 1000);
    return v[rank - 1];
  }
  static double Overlap(double a, double b, double lo, double hi) { return std::max(0.0, std::min(b, hi) - std::max(a, lo)); }
  std::pair<double, double> ByRank(int lo, int hi) const {  // (count, sum)
    double l = lo * n() / 1000, h = hi * n() / 1000, count = 0, sum = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      double o = Overlap(static_cast<double>(i), static_cast<double>(i + 1), l, h);
      count += o;
      sum += o * v[i];
    }
    return {count, sum};
  }
  std::pair<double, double> ByValue(double lo, double hi) const {  // (lo, hi]
    double count = 0, sum = 0;
    for (double x : v) {
      if (x > lo && x <= hi) {
        count += 1;
        sum += x;
      }
    }
    return {count, sum};
  }
  double Winsorized(int lo, int hi) const {
    double l = lo * n() / 1000, h = hi * n() / 1000, low = AtPermille(lo), high = AtPermille(hi), total = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      double a = static_cast<double>(i), b = a + 1;
      total += low * Overlap(a, b, 0, l) + v[i] * Overlap(a, b, l, h) + high * Overlap(a, b, h, n());
    }
    return total / n();
  }
};

std::string Percent(int permille) {
  char buf[16];
  if (permille % 10) {
    std::snprintf(buf, sizeof buf, "%d.%d", permille / 10, permille % 10);
  } else {
    std::snprintf(buf, sizeof buf, "%d", permille / 10);
  }
  return buf;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

void ExpectMatches(const std::string& text, const Aggregate& a, std::optional<double> want) {
  StatusOr<Statistic> st = ParseStatistic(text);
  ASSERT_TRUE(st.ok()) << text << ": " << st.status().message();
  std::optional<double> got = Compute(*st, a);
  ASSERT_EQ(got.has_value(), want.has_value()) << text;
  if (want) {
    EXPECT_NEAR(*got, *want, 1e-9 * std::max(1.0, std::fabs(*want))) << text;
  }
}

TEST(StatisticsTest, SmallSetsAreExactForEveryStatistic) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE(trial);
    Reference ref;
    int n = 1 + static_cast<int>(rng() % 50);
    for (int i = 0; i < n; ++i) {
      ref.v.push_back(trial % 2 ? static_cast<double>(static_cast<int>(rng() % 15) - 3)
                                : static_cast<double>(static_cast<int64_t>(rng() % 200000) - 50000) / 1000);
    }
    Aggregate a = Of(ref.v);
    ASSERT_TRUE(a.sketch.exact());
    std::sort(ref.v.begin(), ref.v.end());
    for (int permille = 0; permille <= 1000; permille += 1 + static_cast<int>(rng() % 40)) {
      ExpectMatches("p" + Percent(permille), a, ref.AtPermille(permille));
    }
    ExpectMatches("p100", a, ref.v.back());
    for (int k = 0; k < 10; ++k) {
      int lo = static_cast<int>(rng() % 1001), hi = static_cast<int>(rng() % 1001);
      if (lo > hi) std::swap(lo, hi);
      auto [count, sum] = ref.ByRank(lo, hi);
      std::string range = "(" + Percent(lo) + "%:" + Percent(hi) + "%)";
      ExpectMatches("TM" + range, a, count > 0 ? std::optional(sum / count) : std::nullopt);
      ExpectMatches("TC" + range, a, count);
      ExpectMatches("TS" + range, a, sum);
      ExpectMatches("WM" + range, a, ref.Winsorized(lo, hi));
      auto [top_count, top_sum] = ref.ByRank(0, hi);
      ExpectMatches("tm" + Percent(hi), a, top_count > 0 ? std::optional(top_sum / top_count) : std::nullopt);
      ExpectMatches("tc" + Percent(hi), a, top_count);
      ExpectMatches("ts" + Percent(hi), a, top_sum);
      ExpectMatches("wm" + Percent(hi), a, ref.Winsorized(0, hi));
      // Absolute bounds, often on a value: (lo, hi].
      double x = ref.v[rng() % ref.v.size()], y = ref.v[rng() % ref.v.size()] + (k % 2 ? 0.5 : 0);
      if (x > y) std::swap(x, y);
      auto [vcount, vsum] = ref.ByValue(x, y);
      std::string values = "(" + Number(x) + ":" + Number(y) + ")";
      ExpectMatches("TM" + values, a, vcount > 0 ? std::optional(vsum / vcount) : std::nullopt);
      ExpectMatches("TC" + values, a, vcount);
      ExpectMatches("TS" + values, a, vsum);
      ExpectMatches("PR" + values, a, 100 * vcount / ref.n());
      ExpectMatches("PR(:" + Number(y) + ")", a, 100 * ref.ByValue(-1e300, y).first / ref.n());
      ExpectMatches("TS(" + Number(x) + ":)", a, ref.ByValue(x, 1e300).second);
    }
    auto [iqm_count, iqm_sum] = ref.ByRank(250, 750);
    ExpectMatches("IQM", a, iqm_sum / iqm_count);
  }
}

TEST(StatisticsTest, NearestRankExamples) {
  // CloudWatch's answers for small sets, which interpolating or (n - 1)-based ranks miss.
  Aggregate two = Of({5, 7});
  EXPECT_EQ(Stat("p99", two), 7);
  EXPECT_EQ(Stat("p50", two), 5);
  EXPECT_EQ(Stat("p0", two), 5);
  std::vector<double> v(10);
  std::iota(v.begin(), v.end(), 1);
  Aggregate ten = Of(v);
  EXPECT_EQ(Stat("p99", ten), 10);
  EXPECT_EQ(Stat("p90", ten), 9);
  EXPECT_EQ(Stat("p10", ten), 1);
  EXPECT_EQ(Stat("TS(:5)", ten), 15);
  EXPECT_EQ(Stat("TM(:50%)", ten), 3);
  EXPECT_EQ(Stat("tm50", ten), 3);
  EXPECT_EQ(Stat("tc90", ten), 9);
  EXPECT_EQ(Stat("ts90", ten), 45);
  EXPECT_EQ(Stat("IQM", Of({1, 2, 3, 4, 5, 6, 7, 8})), 4.5);  // mean of 3..6
  EXPECT_EQ(Stat("WM(10%:90%)", ten), (1 + 44 + 9) / 10.0);   // 1 and 10 become p10 = 1 and p90 = 9
  EXPECT_EQ(Stat("PR(:5)", ten), 50);
  EXPECT_EQ(Stat("PR(5:)", ten), 50);
  EXPECT_EQ(Stat("TC(2:5)", ten), 3);  // 3, 4, 5
}

TEST(StatisticsTest, LargeSetsWithinAccuracyOfNearestRank) {
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> dist(4, 1.5);
  Reference ref;
  for (int i = 0; i < 20000; ++i) ref.v.push_back(dist(rng));
  Aggregate a = Of(ref.v);
  ASSERT_FALSE(a.sketch.exact());
  std::sort(ref.v.begin(), ref.v.end());
  for (int permille : {1, 10, 100, 250, 500, 750, 900, 990, 999}) {
    double want = ref.AtPermille(permille);
    EXPECT_NEAR(Stat(("p" + Percent(permille)).c_str(), a), want, want * 0.0101) << permille;
  }
  for (auto [lo, hi] : {std::pair{0, 900}, std::pair{100, 900}, std::pair{250, 750}, std::pair{800, 1000}}) {
    std::string range = "(" + Percent(lo) + "%:" + Percent(hi) + "%)";
    auto [count, sum] = ref.ByRank(lo, hi);
    EXPECT_NEAR(Stat(("TC" + range).c_str(), a), count, 1e-6) << range;
    EXPECT_NEAR(Stat(("TS" + range).c_str(), a), sum, sum * 0.0101) << range;
    EXPECT_NEAR(Stat(("TM" + range).c_str(), a), sum / count, sum / count * 0.0101) << range;
    double wm = ref.Winsorized(lo, hi);
    EXPECT_NEAR(Stat(("WM" + range).c_str(), a), wm, wm * 0.0101) << range;
  }
}

TEST(StatisticsTest, EqualValuesGiveExactResults) {
  // min == max: every statistic is exact, whatever the sketch's bucket representative is.
  for (double value : {42.0, -3.5, 0.0, 0.1, 1e9 + 7}) {
    SCOPED_TRACE(value);
    for (int n : {1, 7}) {
      Aggregate a = Of(std::vector<double>(static_cast<size_t>(n), value));
      for (const char* text : {"p0", "p1", "p50", "p99.9", "p100", "tm90", "tm10", "TM(10%:90%)", "IQM", "wm90",
                               "WM(10%:90%)", "tm(:99%)"}) {
        EXPECT_EQ(Stat(text, a), value) << text;
      }
      EXPECT_DOUBLE_EQ(Stat("ts90", a), value * n * 0.9);
      EXPECT_DOUBLE_EQ(Stat("tc90", a), n * 0.9);
      // Absolute bounds on either side of the value, as CloudWatch's (lo:hi].
      EXPECT_EQ(Stat("PR(:1000000000000)", a), 100);
      EXPECT_EQ(Stat("PR(-1000000000000:)", a), 100);
      EXPECT_EQ(Stat("TC(-1000000000000:1000000000000)", a), n);
      EXPECT_EQ(Stat("TS(-1000000000000:1000000000000)", a), value * n);
      EXPECT_EQ(Stat("TM(-1000000000000:1000000000000)", a), value);
    }
  }
  Aggregate a = Of({42});
  EXPECT_EQ(Stat("TM(10:50)", a), 42);
  EXPECT_EQ(Stat("TM(41.99:42)", a), 42);  // (41.99, 42] holds it ...
  EXPECT_EQ(Stat("TC(41.99:42)", a), 1);
  EXPECT_EQ(Stat("TC(42:50)", a), 0);      // ... (42, 50] does not, though both share its bucket
  EXPECT_EQ(Stat("TC(41:41.99)", a), 0);
  EXPECT_EQ(Stat("PR(:42)", a), 100);
  EXPECT_EQ(Stat("PR(:41.99)", a), 0);
  EXPECT_EQ(Stat("PR(42:)", a), 0);
}

TEST(StatisticsTest, ResultsStayWithinMinimumAndMaximum) {
  // Values within one or two of the sketch's 2% buckets, whose representatives lie outside them.
  for (auto [lo, hi] : {std::pair{1000.0, 1003.0}, std::pair{-1003.0, -1000.0}, std::pair{99.5, 100.5}}) {
    SCOPED_TRACE(lo);
    std::vector<double> v;
    for (int i = 0; i <= 100; ++i) v.push_back(lo + (hi - lo) * i / 100);
    Aggregate a = Of(v);
    ASSERT_FALSE(a.sketch.exact());
    for (const char* text : {"p1", "p10", "p50", "p90", "p99", "tm90", "tm10", "TM(10%:90%)", "TM(90%:)", "IQM",
                             "wm90", "WM(10%:90%)", "TM(-2000:2000)"}) {
      double r = Stat(text, a);
      EXPECT_GE(r, lo) << text;
      EXPECT_LE(r, hi) << text;
    }
    double ts = Stat("ts90", a), tc = Stat("tc90", a);
    EXPECT_GE(ts / tc, lo);
    EXPECT_LE(ts / tc, hi);
  }
}

TEST(StatisticsTest, UndefinedWhereNoValues) {
  Aggregate empty;
  EXPECT_FALSE(Compute(*ParseStatistic("Sum"), empty).has_value());
  Aggregate sets;  // statistic sets only: no distribution
  sets.sample_count = 10;
  sets.sum = 100;
  sets.minimum = 1;
  sets.maximum = 20;
  sets.has_statistic_sets = true;
  EXPECT_DOUBLE_EQ(*Compute(*ParseStatistic("Average"), sets), 10);
  EXPECT_FALSE(Compute(*ParseStatistic("p90"), sets).has_value());
  EXPECT_FALSE(Compute(*ParseStatistic("IQM"), sets).has_value());
  Aggregate a = Of({1, 2, 3});
  EXPECT_FALSE(Compute(*ParseStatistic("TM(100:200)"), a).has_value());  // nothing in the slice
  EXPECT_DOUBLE_EQ(*Compute(*ParseStatistic("TC(100:200)"), a), 0);
}

}  // namespace
}  // namespace gantry::telemetry::metrics
