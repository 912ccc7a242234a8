#include "telemetry/metrics/sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace gantry::telemetry::metrics {
namespace {

// The nearest-rank percentile of sorted values, with the percentile in tenths of a percent so the
// rank ceil(p * n) is computed in integers: the value of rank max(1, ceil(permille * n / 1000)).
double NearestRank(std::vector<double> v, int permille) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  size_t rank = std::max<size_t>(1, (static_cast<size_t>(permille) * n + 999) / 1000);
  return v[rank - 1];
}

TEST(SketchTest, EmptyHasNoQuantile) {
  Sketch s;
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
}

TEST(SketchTest, QuantilesAreNearestRank) {
  // CloudWatch: p99 of {5, 7} is 7; of 1..10 it is 10 (rank ceil(9.9)).
  Sketch two;
  two.Add(5);
  two.Add(7);
  EXPECT_EQ(two.Quantile(0.99), 7);
  EXPECT_EQ(two.Quantile(0.5), 5);
  EXPECT_EQ(two.Quantile(0.51), 7);
  EXPECT_EQ(two.Quantile(0), 5);
  EXPECT_EQ(two.Quantile(1), 7);
  Sketch ten;
  for (int i = 1; i <= 10; ++i) ten.Add(i);
  EXPECT_EQ(ten.Quantile(0.99), 10);
  EXPECT_EQ(ten.Quantile(0.9), 9);
  EXPECT_EQ(ten.Quantile(0.5), 5);
  EXPECT_EQ(ten.Quantile(0.05), 1);
  EXPECT_EQ(ten.Quantile(0.11), 2);
  Sketch hundred;  // 1..50, then 51 fifty times
  for (int i = 1; i <= 50; ++i) hundred.Add(i);
  hundred.Add(51, 50);
  EXPECT_EQ(hundred.Quantile(0.07), 7);    // 0.07 * 100 is 7.000000000000001 in doubles
  EXPECT_EQ(hundred.Quantile(0.14), 14);   // 14.000000000000002
  EXPECT_EQ(hundred.Quantile(0.29), 29);   // 28.999999999999996
  EXPECT_EQ(hundred.Quantile(0.501), 51);
}

TEST(SketchTest, SmallSetsAreExactAtEveryPercentile) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> values;
    Sketch s;
    int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      // Repeats, negatives, zero and decimals.
      double v = trial % 2 ? static_cast<double>(static_cast<int>(rng() % 21) - 5) : static_cast<double>(rng() % 100000) / 1000 - 20;
      values.push_back(v);
      s.Add(v);
    }
    ASSERT_TRUE(s.exact());
    for (int permille = 0; permille <= 1000; ++permille) {
      ASSERT_EQ(s.Quantile(permille / 1000.0), NearestRank(values, permille)) << "n=" << n << " permille=" << permille;
    }
  }
}

TEST(SketchTest, WeightedValuesTakeTheirCountOfRanks) {
  Sketch s;
  s.Add(1, 3);  // ranks 1..3
  s.Add(2, 1);  // rank 4
  s.Add(9, 6);  // ranks 5..10
  EXPECT_EQ(s.Quantile(0.3), 1);
  EXPECT_EQ(s.Quantile(0.31), 2);
  EXPECT_EQ(s.Quantile(0.4), 2);
  EXPECT_EQ(s.Quantile(0.41), 9);
  Sketch::Slice mid = s.Between(0.2, 0.5);  // positions (2, 5]: 1, 2, 9
  EXPECT_EQ(mid.count, 3);
  EXPECT_EQ(mid.sum, 12);
  Sketch::Slice part = s.Between(0.25, 0.45);  // positions [2.5, 4.5]: half a 1, the 2, half a 9
  EXPECT_DOUBLE_EQ(part.count, 2);
  EXPECT_DOUBLE_EQ(part.sum, 0.5 + 2 + 4.5);
}

TEST(SketchTest, KeepsValuesExactUpToTheLimit) {
  Sketch s;
  for (size_t i = 0; i < Sketch::kExactLimit; ++i) s.Add(static_cast<double>(i) * 1.5, 2);
  s.Add(0, 5);  // a repeat adds no distinct value
  EXPECT_TRUE(s.exact());
  EXPECT_EQ(s.Quantile(1), (Sketch::kExactLimit - 1) * 1.5);
  s.Add(-1);
  EXPECT_FALSE(s.exact());
  EXPECT_DOUBLE_EQ(s.count(), 2.0 * Sketch::kExactLimit + 6);
  EXPECT_NEAR(s.Quantile(1), (Sketch::kExactLimit - 1) * 1.5, (Sketch::kExactLimit - 1) * 1.5 * 0.0101);
  EXPECT_NEAR(s.Quantile(0), -1, 0.0101);
}

TEST(SketchTest, QuantilesWithinRelativeAccuracy) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(3, 2);
  std::vector<double> values;
  Sketch s;
  for (int i = 0; i < 100000; ++i) {
    double v = dist(rng);
    values.push_back(v);
    s.Add(v);
  }
  ASSERT_FALSE(s.exact());
  for (int permille : {0, 1, 10, 100, 250, 500, 900, 990, 999, 1000}) {
    double exact = NearestRank(values, permille);
    EXPECT_NEAR(s.Quantile(permille / 1000.0), exact, exact * 0.0101) << permille;
  }
}

TEST(SketchTest, NegativeZeroAndPositiveValuesOrder) {
  Sketch exact, bucketed;
  for (double v : {-100.0, -1.0, 0.0, 0.0, 1.0, 100.0}) {
    exact.Add(v);
    bucketed.Add(v);
  }
  for (size_t i = 0; i < Sketch::kExactLimit; ++i) bucketed.Add(1000 + static_cast<double>(i), 0.0001);
  ASSERT_FALSE(bucketed.exact());
  EXPECT_EQ(exact.Quantile(0), -100);
  EXPECT_EQ(exact.Quantile(0.2), -1);
  EXPECT_EQ(exact.Quantile(0.5), 0);
  EXPECT_EQ(exact.Quantile(1), 100);
  EXPECT_DOUBLE_EQ(exact.CountBelow(0, false), 4);
  EXPECT_DOUBLE_EQ(exact.CountBelow(0, true), 2);
  EXPECT_NEAR(bucketed.Quantile(0), -100, 1);
  EXPECT_NEAR(bucketed.Quantile(0.2), -1, 0.01);
  EXPECT_EQ(bucketed.Quantile(0.5), 0);
  EXPECT_NEAR(bucketed.Quantile(0.9), 100, 1);
  EXPECT_DOUBLE_EQ(bucketed.CountBelow(0, false), 4);
  EXPECT_DOUBLE_EQ(bucketed.CountBelow(0, true), 2);
}

TEST(SketchTest, MergeEqualsAddingEverything) {
  Sketch a, b, all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 ? a : b).Add(i, 2);
    all.Add(i, 2);
  }
  a.Merge(b);
  EXPECT_DOUBLE_EQ(a.count(), 2000);
  for (double q : {0.0, 0.3, 0.5, 0.95, 1.0}) EXPECT_DOUBLE_EQ(a.Quantile(q), all.Quantile(q));
}

TEST(SketchTest, MergeKeepsExactValuesWhileTheyFit) {
  Sketch a, b, c;
  for (int i = 0; i < 30; ++i) a.Add(i);
  for (int i = 20; i < 50; ++i) b.Add(i, 2);
  a.Merge(b);
  ASSERT_TRUE(a.exact());
  EXPECT_EQ(a.count(), 90);
  EXPECT_EQ(a.Quantile(0.5), 28);  // rank 45: 0..19 once (ranks 1..20), then 20..29 three times each
  EXPECT_EQ(a.Between(0, 1).sum, 435 + 2 * 1035);
  for (int i = 100; i < 140; ++i) c.Add(i);
  a.Merge(c);  // 90 distinct values: bucketed
  EXPECT_FALSE(a.exact());
  EXPECT_EQ(a.count(), 130);
  EXPECT_NEAR(a.Quantile(1), 139, 1.4);
  Sketch bucketed = a;
  Sketch small;
  small.Add(-7);
  bucketed.Merge(small);  // exact into bucketed
  small.Merge(a);         // bucketed into exact
  EXPECT_FALSE(small.exact());
  for (double q : {0.0, 0.5, 1.0}) EXPECT_EQ(small.Quantile(q), bucketed.Quantile(q));
  EXPECT_NEAR(small.Quantile(0), -7, 0.071);
}

Sketch RoundTrip(const Sketch& s, size_t* size = nullptr) {
  std::string data;
  s.Serialize(data);
  if (size) *size = data.size();
  Sketch t;
  size_t pos = 0;
  EXPECT_TRUE(t.Deserialize(data, pos));
  EXPECT_EQ(pos, data.size());
  for (size_t cut = 0; cut < data.size(); ++cut) {
    Sketch u;
    pos = 0;
    EXPECT_FALSE(u.Deserialize(data.substr(0, cut), pos)) << cut;
  }
  return t;
}

TEST(SketchTest, SerializeRoundTrip) {
  Sketch s;
  for (int i = -50; i < 500; ++i) s.Add(i * 0.37, i % 3 == 0 ? 1.5 : 1);
  ASSERT_FALSE(s.exact());
  Sketch t = RoundTrip(s);
  EXPECT_FALSE(t.exact());
  EXPECT_DOUBLE_EQ(t.count(), s.count());
  for (double q : {0.0, 0.5, 0.99}) EXPECT_DOUBLE_EQ(t.Quantile(q), s.Quantile(q));
}

TEST(SketchTest, SerializeKeepsExactValuesExactly) {
  std::vector<std::vector<std::pair<double, double>>> cases = {
      {},
      {{42, 1}},
      {{-3, 1}, {0, 2}, {5, 1}, {1e15, 7}},                    // integers
      {{-0.25, 1}, {0.001, 1}, {12.345, 3}, {99.999999, 1}},   // decimals
      {{0.1 + 0.2, 1}, {M_PI, 2.5}, {-1e-300, 1}, {1e300, 1}},  // any doubles, fractional counts
  };
  for (const auto& values : cases) {
    Sketch s;
    for (const auto& [v, c] : values) s.Add(v, c);
    Sketch t = RoundTrip(s);
    ASSERT_TRUE(t.exact());
    EXPECT_EQ(t.count(), s.count());
    if (s.empty()) continue;
    for (int permille = 0; permille <= 1000; permille += 5) {
      EXPECT_EQ(t.Quantile(permille / 1000.0), s.Quantile(permille / 1000.0));
    }
    EXPECT_EQ(t.Between(0, 1).sum, s.Between(0, 1).sum);
  }
}

TEST(SketchTest, ExactFormIsSmall) {
  // An hour of minutely integer levels (a roll-up): about two bytes a distinct value.
  Sketch s;
  for (int i = 0; i < 60; ++i) s.Add(100 + i % 12);
  size_t size = 0;
  RoundTrip(s, &size);
  EXPECT_LE(size, 30u);
  Sketch decimals;  // milliseconds with three decimals: a few bytes each
  std::mt19937_64 rng(5);
  for (int i = 0; i < 60; ++i) decimals.Add(static_cast<double>(rng() % 500000) / 1000);
  RoundTrip(decimals, &size);
  EXPECT_LE(size, 60u * 3 + 10);
}

TEST(SketchTest, RejectsMalformedExactForms) {
  std::string unordered = {0, 2, 0, 4, 0, 2};  // exact, 2 values, scale 0: 2 then 2 + 0
  Sketch t;
  size_t pos = 0;
  EXPECT_FALSE(t.Deserialize(unordered, pos));
  std::string too_many = {0, static_cast<char>(Sketch::kExactLimit + 1)};
  pos = 0;
  EXPECT_FALSE(t.Deserialize(too_many, pos));
  std::string zero_count = {0, 1, 0, 4, 1, 0};  // one value, 2, with count 0
  pos = 0;
  EXPECT_FALSE(t.Deserialize(zero_count, pos));
  std::string good = {0, 1, 0, 4, 1, 3};  // one value, 2, with count 3
  pos = 0;
  ASSERT_TRUE(t.Deserialize(good, pos));
  EXPECT_EQ(t.count(), 3);
  EXPECT_EQ(t.Quantile(0.5), 2);
}

TEST(SketchTest, SlicesByRankAndByValue) {
  Sketch s;
  for (int i = 1; i <= 60; ++i) s.Add(i);
  Sketch::Slice middle = s.Between(0.25, 0.75);  // 16..45
  EXPECT_EQ(middle.count, 30);
  EXPECT_EQ(middle.sum, 915);
  Sketch::Slice by_value = s.BetweenValues(10, 20, false, true);  // (10, 20]
  EXPECT_EQ(by_value.count, 10);
  EXPECT_EQ(by_value.sum, 155);
  for (int i = 61; i <= 1000; ++i) s.Add(i);
  ASSERT_FALSE(s.exact());
  middle = s.Between(0.25, 0.75);  // 251..750
  EXPECT_NEAR(middle.count, 500, 1e-9);
  EXPECT_NEAR(middle.sum / middle.count, 500.5, 5.1);
  by_value = s.BetweenValues(100, 200, false, true);
  EXPECT_NEAR(by_value.count, 100, 3);
}

TEST(SketchTest, BoundsClampRepresentativesAndThresholds) {
  // More distinct values than kept exactly, all in one bucket whose representative lies outside them.
  Sketch s;
  const double lo = 42, hi = 42.0001;
  for (int i = 0; i <= 100; ++i) s.Add(lo + (hi - lo) * i / 100);
  ASSERT_FALSE(s.exact());
  double q = s.Quantile(0.5);
  EXPECT_TRUE(q < lo || q > hi) << q;  // the bucket's representative ...
  const Sketch::Bounds exact{lo, hi};
  q = s.Quantile(0.5, exact);
  EXPECT_TRUE(q == lo || q == hi) << q;  // ... clamped to the exact bounds
  Sketch::Slice mid = s.Between(0.1, 0.9, exact);
  EXPECT_GE(mid.sum / mid.count, lo);
  EXPECT_LE(mid.sum / mid.count, hi);
  EXPECT_EQ(s.CountBelow(41.99, false, exact), 0);
  EXPECT_EQ(s.CountBelow(lo, true, exact), 0);
  EXPECT_EQ(s.CountBelow(hi, false, exact), 101);
  EXPECT_EQ(s.BetweenValues(hi, 50, false, true, exact).count, 0);
  EXPECT_EQ(s.BetweenValues(41.99, hi, false, true, exact).count, 101);
}

TEST(SketchTest, ExtremeRangesStayBounded) {
  Sketch s;
  for (int e = -300; e <= 300; ++e) s.Add(std::pow(10.0, e));
  std::string data;
  s.Serialize(data);
  EXPECT_LT(data.size(), 40000u);
  EXPECT_NEAR(s.Quantile(1), 1e300, 1e298 * 2);
}

}  // namespace
}  // namespace gantry::telemetry::metrics
