// MetricStore: CloudWatch-style metrics without AWS shapes. A series is a tenant (an opaque scope,
// "<account>/<region>" for the CloudWatch service) + namespace + metric name + dimensions sorted
// by name. PutMetricData's data become Datums (values with counts, or a statistic set) at 1-second
// (high resolution) or 1-minute storage resolution; queries aggregate them into periods with
// SampleCount, Sum, Minimum, Maximum and a mergeable quantile sketch for percentiles and the other
// extended statistics (statistics.h).
//
// Storage: samples of a series live in compressed chunks in the Gorilla style (delta-of-delta
// or fixed-interval timestamps, XOR floats or bit-packed integers, chosen per chunk) in files under options.root; a write-ahead log makes Write durable when
// it returns OK (an acknowledged PutMetricData survives kill -9; the log is replayed at Open).
// Roll-ups and retention follow CloudWatch: sub-minute data for 3 hours, 1-minute for 15 days,
// 5-minute for 63 days, 1-hour for 455 days (Compact applies them by the injected clock).
//
// Thread-safety: all methods are thread-safe; writes to different series proceed in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/common/clock.h"
#include "core/common/status.h"
#include "telemetry/metrics/sketch.h"

namespace gantry::telemetry::metrics {

struct Dimension {
  std::string name;
  std::string value;
  bool operator==(const Dimension&) const = default;
};

struct SeriesKey {
  std::string tenant;
  std::string name_space;
  std::string metric_name;
  std::vector<Dimension> dimensions;  // sorted by name (Normalize sorts)

  void Normalize();
  // A stable, unambiguous string form (length-prefixed fields), usable as a map key.
  std::string Canonical() const;
  bool operator==(const SeriesKey&) const = default;
};

struct StatisticSet {
  double sample_count = 0;
  double sum = 0;
  double minimum = 0;
  double maximum = 0;
};

// One validated datum of PutMetricData.
struct Datum {
  SeriesKey key;
  int64_t timestamp_ms = 0;
  int storage_resolution = 60;  // 1 or 60 seconds
  std::string unit;             // CloudWatch's unit names; "" when none was given
  // Either values with their counts (Value alone is one value with count 1) ...
  std::vector<std::pair<double, double>> values;
  // ... or a statistic set (no distribution: percentiles of it are unavailable).
  std::optional<StatisticSet> statistics;
};

// What one period of one series holds.
struct Aggregate {
  double sample_count = 0;
  double sum = 0;
  double minimum = 0;
  double maximum = 0;
  Sketch sketch;                  // the distribution of individual values
  bool has_statistic_sets = false;  // some data came as statistic sets (percentiles approximate)
  std::string unit;               // the unit of the data ("" when none; "Mixed" never: see Query)
};

struct Bucket {
  int64_t start_ms = 0;  // the period's start
  Aggregate aggregate;
};

struct QueryRange {
  int64_t start_ms = 0;  // inclusive
  int64_t end_ms = 0;    // exclusive
  int period_seconds = 60;
  // Only data stored with this unit (GetMetricStatistics' Unit); nullopt = all units.
  std::optional<std::string> unit;
  // False leaves Aggregate::sketch empty (only SampleCount, Sum, Average, Minimum and Maximum are
  // needed), which makes wide queries much cheaper.
  bool distribution = true;
};

struct ListFilter {
  std::string tenant;
  std::optional<std::string> name_space;
  std::optional<std::string> metric_name;
  // Each dimension must be present; a value of nullopt matches any value.
  std::vector<std::pair<std::string, std::optional<std::string>>> dimensions;
  std::optional<int64_t> active_since_ms;  // RecentlyActive: data written at or after this time
};

struct SeriesInfo {
  SeriesKey key;
  int64_t last_timestamp_ms = 0;  // newest sample's timestamp
  int64_t last_write_ms = 0;      // when data was last written (clock time)
};

struct MetricStoreOptions {
  std::string root;               // a directory of the store's own
  Clock* clock = nullptr;
};

struct StoreStats {
  int64_t series = 0;
  int64_t samples = 0;        // samples stored (statistic sets count as one)
  int64_t bytes_on_disk = 0;  // chunk files + log
};

class MetricStore {
 public:
  static StatusOr<std::unique_ptr<MetricStore>> Open(const MetricStoreOptions& options);
  virtual ~MetricStore() = default;

  // Appends data; durable when it returns OK.
  virtual Status Write(std::span<const Datum> data) = 0;

  // The periods of [start, end) that hold data, ascending. Periods are aligned to the epoch
  // (start_ms of a bucket is a multiple of period_seconds * 1000), as CloudWatch aligns them.
  // Data older than its retention is gone; data from rolled-up ranges answers at the roll-up's
  // resolution (a period finer than what is stored gives the stored period's buckets).
  virtual StatusOr<std::vector<Bucket>> Query(const SeriesKey& key, const QueryRange& range) const = 0;

  // Series matching the filter, ordered by Canonical(), at most `limit` after `start_after` (a
  // Canonical() form; "" for the first page).
  virtual std::vector<SeriesInfo> List(const ListFilter& filter, const std::string& start_after, size_t limit) const = 0;

  // Applies roll-ups and retention as of the clock's now; compacts logs into chunks.
  virtual Status Compact() = 0;

  virtual StoreStats Stats() const = 0;
};

}  // namespace gantry::telemetry::metrics
