#include "telemetry/metrics/metric_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "telemetry/metrics/statistics.h"

namespace gantry::telemetry::metrics {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

class MetricStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/metric_store_testXXXXXX";
    root_ = ::mkdtemp(pattern);
    // Now is a round hour so that roll-up boundaries are easy to state.
    clock_.Set(TimePoint(std::chrono::milliseconds(kNow)));
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(root_);
  }
  void Reopen() {
    store_.reset();
    MetricStoreOptions options;
    options.root = root_;
    options.clock = &clock_;
    auto opened = MetricStore::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  static SeriesKey Key(const std::string& name = "Latency", std::vector<Dimension> dims = {{"Host", "a"}}) {
    SeriesKey k{"123/us-east-1", "App", name, std::move(dims)};
    k.Normalize();
    return k;
  }
  static Datum Value(int64_t ts, double v, int resolution = 60, const std::string& unit = "Milliseconds", SeriesKey key = Key()) {
    Datum d;
    d.key = std::move(key);
    d.timestamp_ms = ts;
    d.storage_resolution = resolution;
    d.unit = unit;
    d.values = {{v, 1}};
    return d;
  }
  std::vector<Bucket> Query(int64_t start, int64_t end, int period, std::optional<std::string> unit = {}, SeriesKey key = Key()) {
    QueryRange r;
    r.start_ms = start;
    r.end_ms = end;
    r.period_seconds = period;
    r.unit = std::move(unit);
    auto result = store_->Query(key, r);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : std::vector<Bucket>{};
  }

  static constexpr int64_t kNow = 1'700'002'800'000;  // a multiple of an hour
  std::string root_;
  FakeClock clock_;
  std::unique_ptr<MetricStore> store_;
};

TEST_F(MetricStoreTest, QueriesAlignPeriodsToTheEpoch) {
  int64_t t0 = kNow - kHour;
  std::vector<Datum> data;
  for (int i = 0; i < 60; ++i) data.push_back(Value(t0 + i * kMinute + 1234, i));
  ASSERT_TRUE(store_->Write(data).ok());
  std::vector<Bucket> b = Query(t0 + 2 * kMinute, t0 + 17 * kMinute, 300);
  // Samples 2..16 in the five-minute periods starting at t0, t0+5, t0+10 and t0+15 minutes.
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].start_ms, t0);
  EXPECT_EQ(b[0].aggregate.sample_count, 3);  // 2, 3, 4
  EXPECT_EQ(b[1].aggregate.sum, 5 + 6 + 7 + 8 + 9);
  EXPECT_EQ(b[3].start_ms, t0 + 15 * kMinute);
  EXPECT_EQ(b[3].aggregate.sample_count, 2);
  for (const Bucket& x : b) EXPECT_EQ(x.start_ms % 300'000, 0);
  EXPECT_EQ(b[1].aggregate.minimum, 5);
  EXPECT_EQ(b[1].aggregate.maximum, 9);
  EXPECT_EQ(b[1].aggregate.unit, "Milliseconds");
  // Standard-resolution data answers a 10-second period with minute buckets.
  b = Query(t0, t0 + 3 * kMinute, 10);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[1].start_ms, t0 + kMinute);
  // Unknown series: no buckets.
  EXPECT_TRUE(Query(t0, kNow, 60, {}, Key("Other")).empty());
}

TEST_F(MetricStoreTest, ValuesCountsStatisticSetsAndUnits) {
  int64_t t = kNow - 10 * kMinute;
  Datum counted = Value(t, 0);
  counted.values = {{10, 3}, {20, 1}};
  Datum set = Value(t + 1000, 0);
  set.values.clear();
  set.statistics = StatisticSet{5, 100, 1, 50};
  Datum other_unit = Value(t + 2000, 7, 60, "Seconds");
  ASSERT_TRUE(store_->Write(std::vector<Datum>{counted, set, other_unit}).ok());
  std::vector<Bucket> b = Query(t, t + kMinute, 60);
  ASSERT_EQ(b.size(), 1u);
  const Aggregate& a = b[0].aggregate;
  EXPECT_DOUBLE_EQ(a.sample_count, 3 + 1 + 5 + 1);
  EXPECT_DOUBLE_EQ(a.sum, 30 + 20 + 100 + 7);
  EXPECT_DOUBLE_EQ(a.minimum, 1);
  EXPECT_DOUBLE_EQ(a.maximum, 50);
  EXPECT_TRUE(a.has_statistic_sets);
  EXPECT_DOUBLE_EQ(a.sketch.count(), 5);  // the values, not the statistic set
  b = Query(t, t + kMinute, 60, "Seconds");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0].aggregate.sum, 7);
  EXPECT_EQ(b[0].aggregate.unit, "Seconds");
  EXPECT_TRUE(Query(t, t + kMinute, 60, "Bytes").empty());
}

TEST_F(MetricStoreTest, RejectsNonFiniteValues) {
  Datum nan = Value(kNow, std::nan(""));
  EXPECT_EQ(store_->Write(std::vector<Datum>{nan}).code(), StatusCode::kInvalidArgument);
  Datum inf = Value(kNow, std::numeric_limits<double>::infinity());
  EXPECT_EQ(store_->Write(std::vector<Datum>{inf}).code(), StatusCode::kInvalidArgument);
  Datum bad_resolution = Value(kNow, 1, 5);
  EXPECT_EQ(store_->Write(std::vector<Datum>{bad_resolution}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Stats().samples, 0);
}

TEST_F(MetricStoreTest, AcknowledgedWritesSurviveACrash) {
  int64_t t = kNow - kHour;
  std::vector<Datum> data;
  for (int i = 0; i < 100; ++i) data.push_back(Value(t + i * 1000, i, 1));
  ASSERT_TRUE(store_->Write(data).ok());
  ASSERT_TRUE(store_->Compact().ok());  // the first half is sealed into a segment ...
  data.clear();
  for (int i = 100; i < 200; ++i) data.push_back(Value(t + i * 1000, i, 1));
  ASSERT_TRUE(store_->Write(data).ok());  // ... the second half is only in the log
  // A crash: the object goes away without Compact; a torn record at the log's end is ignored.
  store_.reset();
  for (const auto& e : std::filesystem::directory_iterator(root_)) {
    if (e.path().extension() == ".log") {
      FILE* f = std::fopen(e.path().c_str(), "ab");
      std::fputs("\x20\x00\x00", f);
      std::fclose(f);
    }
  }
  Reopen();
  std::vector<Bucket> b = Query(t, kNow, 3600);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0].aggregate.sample_count, 200);
  EXPECT_DOUBLE_EQ(b[0].aggregate.sum, 199 * 200 / 2);
  // And again after sealing everything: the log is gone and nothing is counted twice.
  ASSERT_TRUE(store_->Compact().ok());
  Reopen();
  b = Query(t, kNow, 3600);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0].aggregate.sample_count, 200);
  EXPECT_EQ(Query(t, t + 1000, 1).size(), 1u);  // high resolution survives the reopen
}

TEST_F(MetricStoreTest, RollUpsAndRetentionFollowCloudWatch) {
  // High-resolution samples every second for the last 4 hours.
  int64_t start = kNow - 4 * kHour;
  std::vector<Datum> data;
  for (int64_t t = start; t < kNow; t += 1000) data.push_back(Value(t, static_cast<double>((t / 1000) % 100), 1));
  ASSERT_TRUE(store_->Write(data).ok());
  // A sample 20 days old (1-minute data older than 15 days: 5-minute), one 100 days old (1 hour)
  // and one 500 days old (gone).
  ASSERT_TRUE(store_->Write(std::vector<Datum>{Value(kNow - 20 * kDay + 7 * kMinute, 1, 1),
                                              Value(kNow - 100 * kDay + 37 * kMinute, 2, 1),
                                              Value(kNow - 500 * kDay, 3, 1)})
                  .ok());
  ASSERT_TRUE(store_->Compact().ok());
  StoreStats before = store_->Stats();

  // Recent data: 1-second periods. Older than 3 hours: minute periods even when asking for 1 s.
  EXPECT_EQ(Query(kNow - kHour, kNow - kHour + 10'000, 1).size(), 10u);
  std::vector<Bucket> old = Query(start, start + 2 * kMinute, 1);
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0].start_ms, start);
  EXPECT_DOUBLE_EQ(old[0].aggregate.sample_count, 60);
  EXPECT_NEAR(*Compute(*ParseStatistic("p50"), old[0].aggregate), 29.5, 0.6);  // of 0..59: percentiles survive roll-up
  std::vector<Bucket> b20 = Query(kNow - 21 * kDay, kNow - 19 * kDay, 60);
  ASSERT_EQ(b20.size(), 1u);
  EXPECT_EQ(b20[0].start_ms % 300'000, 0);
  std::vector<Bucket> b100 = Query(kNow - 101 * kDay, kNow - 99 * kDay, 60);
  ASSERT_EQ(b100.size(), 1u);
  EXPECT_EQ(b100[0].start_ms % 3'600'000, 0);
  EXPECT_DOUBLE_EQ(b100[0].aggregate.sum, 2);
  EXPECT_TRUE(Query(kNow - 501 * kDay, kNow - 499 * kDay, 60).empty());
  // The totals are unchanged by the roll-up.
  std::vector<Bucket> all = Query(start, kNow, 3600);
  double count = 0;
  for (const Bucket& x : all) count += x.aggregate.sample_count;
  EXPECT_DOUBLE_EQ(count, 4 * 3600);

  // Three hours later everything older than 3 h (hour-aligned) is 1-minute roll-ups on disk.
  clock_.Advance(std::chrono::hours(3));
  ASSERT_TRUE(store_->Compact().ok());
  StoreStats after = store_->Stats();
  EXPECT_LT(after.samples, before.samples / 10);
  Reopen();
  all = Query(start, kNow, 3600);
  count = 0;
  for (const Bucket& x : all) count += x.aggregate.sample_count;
  EXPECT_DOUBLE_EQ(count, 4 * 3600);
  // 500 days later nothing is left, and the series is gone.
  clock_.Advance(std::chrono::hours(24 * 500));
  ASSERT_TRUE(store_->Compact().ok());
  EXPECT_EQ(store_->Stats().series, 0);
  ListFilter filter;
  filter.tenant = "123/us-east-1";
  EXPECT_TRUE(store_->List(filter, "", 10).empty());
}

TEST_F(MetricStoreTest, ListFiltersAndPages) {
  std::vector<Datum> data;
  for (const char* host : {"a", "b", "c"}) {
    data.push_back(Value(kNow, 1, 60, "", Key("CPU", {{"Host", host}, {"AZ", "1a"}})));
  }
  data.push_back(Value(kNow, 1, 60, "", Key("Memory", {{"Host", "a"}})));
  Datum other_tenant = Value(kNow, 1);
  other_tenant.key.tenant = "999/us-east-1";
  data.push_back(other_tenant);
  ASSERT_TRUE(store_->Write(data).ok());
  ListFilter f;
  f.tenant = "123/us-east-1";
  EXPECT_EQ(store_->List(f, "", 100).size(), 4u);
  f.metric_name = "CPU";
  std::vector<SeriesInfo> page = store_->List(f, "", 2);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].key.dimensions[0].name, "AZ");  // sorted by name
  std::vector<SeriesInfo> next = store_->List(f, page[1].key.Canonical(), 2);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key.dimensions[1].value, "c");
  f.metric_name.reset();
  f.dimensions = {{"Host", std::string("a")}};
  EXPECT_EQ(store_->List(f, "", 100).size(), 2u);
  f.dimensions = {{"AZ", std::nullopt}};
  EXPECT_EQ(store_->List(f, "", 100).size(), 3u);
  f.dimensions.clear();
  f.active_since_ms = kNow + 1;
  EXPECT_TRUE(store_->List(f, "", 100).empty());
  f.active_since_ms = kNow;
  EXPECT_EQ(store_->List(f, "", 100).size(), 4u);
}

TEST_F(MetricStoreTest, ConcurrentWritersAreAllDurable) {
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([this, w] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(store_->Write(std::vector<Datum>{Value(kNow - kMinute + w * 1000 + i, 1)}).ok());
      }
    });
  }
  threads.emplace_back([this] {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Compact().ok());
  });
  for (auto& t : threads) t.join();
  Reopen();
  std::vector<Bucket> b = Query(kNow - kHour, kNow + kHour, 3600);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_DOUBLE_EQ(b[0].aggregate.sample_count, 200);
}

TEST_F(MetricStoreTest, SealedDataIsCompact) {
  std::mt19937 rng(3);
  std::vector<Datum> data;
  double level = 100;
  for (int i = 0; i < 1440; ++i) {
    level += static_cast<int>(rng() % 3) - 1;
    data.push_back(Value(kNow - kDay + i * kMinute, level));
  }
  ASSERT_TRUE(store_->Write(data).ok());
  ASSERT_TRUE(store_->Compact().ok());
  StoreStats s = store_->Stats();
  EXPECT_EQ(s.samples, 1440);
  // Integer deltas of -1..1 in 2 bits, regular timestamps in none, plus the series' record.
  EXPECT_LT(static_cast<double>(s.bytes_on_disk) / 1440, 0.4);
  Reopen();
  double want = 0, got = 0;
  for (const Datum& d : data) want += d.values[0].first;
  for (const Bucket& b : Query(kNow - kDay, kNow, 3600)) got += b.aggregate.sum;
  EXPECT_EQ(got, want);
}

TEST_F(MetricStoreTest, OtherSegmentFormatVersionsAreNamed) {
  store_.reset();
  std::string header = "GMSEG001";
  header.append(17, '\0');
  FILE* f = std::fopen((root_ + "/seg-1.dat").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fwrite(header.data(), 1, header.size(), f);
  std::fclose(f);
  MetricStoreOptions options;
  options.root = root_;
  options.clock = &clock_;
  auto opened = MetricStore::Open(options);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("format version 001; this build reads version 002"), std::string::npos)
      << opened.status().message();
}

}  // namespace
}  // namespace gantry::telemetry::metrics
