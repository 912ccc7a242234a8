// MetricStore's implementation. Layout under options.root (docs in metric_store.h):
//   wal-<gen>.log   write-ahead logs; each Write is one record (replayed at Open when newer than
//                   what the segments cover)
//   seg-<gen>.dat   segments: a header (magic "GMSEG" + a 3-digit format version, generation,
//                   kind, the WAL generation they cover) and one record per series (key,
//                   metadata, Gorilla chunks, roll-ups). A "delta" segment holds the chunks sealed
//                   by one Compact; a "snapshot" holds everything and supersedes older segments.
// Format versions: 001 chunks were the paper's interleaved encoding; 002 (current) chunks have
// per-chunk timestamp, kind and value modes (integer values, fixed intervals; gorilla.h). No store
// of 001 was ever released, so 002 does not read 001: Open names the version and fails.
// Sealed chunks are also kept in memory (they are small: under a byte a sample for typical data);
// the files are for durability. Heads (samples not yet sealed) are plain vectors, sorted when
// sealed, so samples may arrive in any order.
#include "telemetry/metrics/metric_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "telemetry/metrics/gorilla.h"
#include "telemetry/metrics/wal.h"

namespace gantry::telemetry::metrics {

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kHighResolutionRetention = 3 * kHourMs;
constexpr int64_t kMinuteRetention = 15 * kDayMs;
constexpr int64_t kFiveMinuteRetention = 63 * kDayMs;
constexpr int64_t kHourRetention = 455 * kDayMs;
constexpr size_t kMaxChunkSamples = 8192;
static_assert(kMaxChunkSamples <= kChunkSampleLimit);
constexpr int kMaxDeltaSegments = 12;  // then a snapshot merges their small chunks
constexpr char kSegmentMagic[8] = {'G', 'M', 'S', 'E', 'G', '0', '0', '2'};
constexpr uint8_t kDeltaSegment = 0;
constexpr uint8_t kSnapshotSegment = 1;

int64_t FloorTo(int64_t v, int64_t step) {
  int64_t q = v / step;
  if (v % step != 0 && v < 0) --q;
  return q * step;
}

struct Chunk {
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  uint32_t samples = 0;
  std::string data;
};

struct Rollup {
  int64_t start_ms = 0;
  int period_seconds = 60;
  Aggregate aggregate;
};

struct Series {
  SeriesKey key;
  std::string canonical;
  mutable std::shared_mutex mu;
  std::vector<ChunkSample> head;  // units index the store's unit table
  std::vector<std::shared_ptr<const Chunk>> chunks;
  std::vector<Rollup> rollups;  // ascending start_ms
  bool high_resolution = false;
  int64_t last_timestamp_ms = std::numeric_limits<int64_t>::min();
  int64_t last_write_ms = 0;
  // Set (under the exclusive mu) when WriteSnapshot drops this empty series from the index; a
  // writer that looked the series up earlier must not append to it and looks it up again.
  bool erased = false;
};

void AddSample(Aggregate& a, const ChunkSample& s, const std::string& unit, bool distribution) {
  if (a.sample_count == 0) {
    a.minimum = s.value;
    a.maximum = s.maximum;
    a.unit = unit;
  } else {
    a.minimum = std::min(a.minimum, s.value);
    a.maximum = std::max(a.maximum, s.maximum);
  }
  a.sample_count += s.count;
  a.sum += s.sum;
  if (s.kind == SampleKind::kStatisticSet) {
    a.has_statistic_sets = true;
  } else if (distribution) {
    a.sketch.Add(s.value, s.count);
  }
}

void MergeAggregate(Aggregate& a, const Aggregate& b, bool distribution) {
  if (b.sample_count == 0) return;
  if (a.sample_count == 0) {
    a.minimum = b.minimum;
    a.maximum = b.maximum;
    a.unit = b.unit;
  } else {
    a.minimum = std::min(a.minimum, b.minimum);
    a.maximum = std::max(a.maximum, b.maximum);
  }
  a.sample_count += b.sample_count;
  a.sum += b.sum;
  a.has_statistic_sets = a.has_statistic_sets || b.has_statistic_sets;
  if (distribution) a.sketch.Merge(b.sketch);
}

void EncodeKey(std::string& out, const SeriesKey& key) {
  PutString(out, key.tenant);
  PutString(out, key.name_space);
  PutString(out, key.metric_name);
  PutVarint(out, key.dimensions.size());
  for (const Dimension& d : key.dimensions) {
    PutString(out, d.name);
    PutString(out, d.value);
  }
}

bool DecodeKey(std::string_view data, size_t& pos, SeriesKey& key) {
  uint64_t n = 0;
  if (!GetString(data, pos, key.tenant) || !GetString(data, pos, key.name_space) ||
      !GetString(data, pos, key.metric_name) || !GetVarint(data, pos, n) || n > data.size()) {
    return false;
  }
  key.dimensions.resize(n);
  for (Dimension& d : key.dimensions) {
    if (!GetString(data, pos, d.name) || !GetString(data, pos, d.value)) return false;
  }
  return true;
}

void EncodeAggregate(std::string& out, const Aggregate& a) {
  PutDouble(out, a.sample_count);
  PutDouble(out, a.sum);
  PutDouble(out, a.minimum);
  PutDouble(out, a.maximum);
  out.push_back(a.has_statistic_sets ? 1 : 0);
  PutString(out, a.unit);
  a.sketch.Serialize(out);
}

bool DecodeAggregate(const std::string& data, size_t& pos, Aggregate& a) {
  if (!GetDouble(data, pos, a.sample_count) || !GetDouble(data, pos, a.sum) || !GetDouble(data, pos, a.minimum) ||
      !GetDouble(data, pos, a.maximum) || pos >= data.size()) {
    return false;
  }
  a.has_statistic_sets = data[pos++] != 0;
  return GetString(data, pos, a.unit) && a.sketch.Deserialize(data, pos);
}

Status ValidateDatum(const Datum& d) {
  if (d.key.name_space.empty() || d.key.metric_name.empty()) return Status::InvalidArgument("a metric needs a namespace and a name");
  if (d.storage_resolution != 1 && d.storage_resolution != 60) return Status::InvalidArgument("the storage resolution must be 1 or 60 seconds");
  if (d.unit.size() > 255) return Status::InvalidArgument("the unit is too long");
  if (d.statistics) {
    const StatisticSet& s = *d.statistics;
    if (!std::isfinite(s.sample_count) || !std::isfinite(s.sum) || !std::isfinite(s.minimum) || !std::isfinite(s.maximum)) {
      return Status::InvalidArgument("statistic set values must be finite numbers");
    }
    if (!(s.sample_count > 0)) return Status::InvalidArgument("a statistic set's SampleCount must be greater than 0");
    if (s.minimum > s.maximum) return Status::InvalidArgument("a statistic set's Minimum is greater than its Maximum");
    return Status::Ok();
  }
  if (d.values.empty()) return Status::InvalidArgument("a datum needs a value, values or a statistic set");
  for (const auto& [v, c] : d.values) {
    if (!std::isfinite(v)) return Status::InvalidArgument("metric values must be finite numbers (no NaN or Infinity)");
    if (!std::isfinite(c) || !(c > 0)) return Status::InvalidArgument("counts must be finite numbers greater than 0");
  }
  return Status::Ok();
}

std::string EncodeWalRecord(int64_t write_ms, std::span<const Datum> data) {
  std::string out;
  PutZigzag(out, write_ms);
  PutVarint(out, data.size());
  for (const Datum& d : data) {
    EncodeKey(out, d.key);
    PutZigzag(out, d.timestamp_ms);
    out.push_back(static_cast<char>(d.storage_resolution));
    PutString(out, d.unit);
    if (d.statistics) {
      out.push_back(1);
      PutDouble(out, d.statistics->sample_count);
      PutDouble(out, d.statistics->sum);
      PutDouble(out, d.statistics->minimum);
      PutDouble(out, d.statistics->maximum);
    } else {
      out.push_back(0);
      PutVarint(out, d.values.size());
      for (const auto& [v, c] : d.values) {
        PutDouble(out, v);
        PutDouble(out, c);
      }
    }
  }
  return out;
}

bool DecodeWalRecord(std::string_view data, int64_t& write_ms, std::vector<Datum>& out) {
  size_t pos = 0;
  uint64_t n = 0;
  if (!GetZigzag(data, pos, write_ms) || !GetVarint(data, pos, n) || n > data.size()) return false;
  out.resize(n);
  for (Datum& d : out) {
    if (!DecodeKey(data, pos, d.key) || !GetZigzag(data, pos, d.timestamp_ms) || pos >= data.size()) return false;
    d.storage_resolution = static_cast<uint8_t>(data[pos++]);
    if (!GetString(data, pos, d.unit) || pos >= data.size()) return false;
    if (data[pos++] == 1) {
      StatisticSet s;
      if (!GetDouble(data, pos, s.sample_count) || !GetDouble(data, pos, s.sum) || !GetDouble(data, pos, s.minimum) ||
          !GetDouble(data, pos, s.maximum)) {
        return false;
      }
      d.statistics = s;
    } else {
      uint64_t m = 0;
      if (!GetVarint(data, pos, m) || m > data.size()) return false;
      d.values.resize(m);
      for (auto& [v, c] : d.values) {
        if (!GetDouble(data, pos, v) || !GetDouble(data, pos, c)) return false;
      }
    }
  }
  return pos == data.size();
}

// Numbered files "<prefix><gen><suffix>" in dir, ascending.
std::vector<uint64_t> NumberedFiles(const std::string& dir, const std::string& prefix, const std::string& suffix) {
  std::vector<uint64_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    out.push_back(std::stoull(digits));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string SegmentName(uint64_t gen) { return "seg-" + std::to_string(gen) + ".dat"; }
std::string WalName(uint64_t gen) { return "wal-" + std::to_string(gen) + ".log"; }

// The retention tiers as of a time: the resolution (seconds) data of a time must have at least,
// or 0 when it is past retention. Boundaries are hour-aligned when used by Compact so that roll-ups
// happen at most once an hour.
struct Tiers {
  int64_t high_resolution_cut;  // older: at least 60 s
  int64_t minute_cut;           // older: at least 300 s
  int64_t five_minute_cut;      // older: at least 3600 s
  int64_t drop_cut;             // older: gone

  Tiers(int64_t now, bool hour_aligned) {
    auto f = [&](int64_t t) { return hour_aligned ? FloorTo(t, kHourMs) : t; };
    high_resolution_cut = f(now - kHighResolutionRetention);
    minute_cut = f(now - kMinuteRetention);
    five_minute_cut = f(now - kFiveMinuteRetention);
    drop_cut = f(now - kHourRetention);
  }
  int ResolutionAt(int64_t ts, int stored) const {
    if (ts < drop_cut) return 0;
    if (ts < five_minute_cut) return std::max(stored, 3600);
    if (ts < minute_cut) return std::max(stored, 300);
    if (ts < high_resolution_cut) return std::max(stored, 60);
    return stored;
  }
};

// Buckets of one query keyed by start.
class Accumulator {
 public:
  Aggregate& At(int64_t start) {
    if (last_ != buckets_.end() && last_->first == start) return last_->second;
    last_ = buckets_.try_emplace(start).first;
    return last_->second;
  }
  std::vector<Bucket> Take() {
    std::vector<Bucket> out;
    out.reserve(buckets_.size());
    for (auto& [start, a] : buckets_) out.push_back(Bucket{start, std::move(a)});
    return out;
  }

 private:
  std::map<int64_t, Aggregate> buckets_;
  std::map<int64_t, Aggregate>::iterator last_ = buckets_.end();
};

class MetricStoreImpl final : public MetricStore {
 public:
  explicit MetricStoreImpl(const MetricStoreOptions& options)
      : root_(options.root), clock_(options.clock != nullptr ? options.clock : SystemClock::Instance()) {}

  Status Load();
  Status Write(std::span<const Datum> data) override;
  StatusOr<std::vector<Bucket>> Query(const SeriesKey& key, const QueryRange& range) const override;
  std::vector<SeriesInfo> List(const ListFilter& filter, const std::string& start_after, size_t limit) const override;
  Status Compact() override;
  StoreStats Stats() const override;

 private:
  int64_t NowMs() const { return ToEpochMillis(clock_->Now()); }
  std::shared_ptr<Series> GetOrCreate(SeriesKey key);
  std::shared_ptr<Series> Find(const SeriesKey& key) const;
  uint16_t InternUnit(const std::string& unit);
  std::vector<std::string> UnitNames() const;
  void Apply(std::span<const Datum> data, int64_t write_ms);
  Status LoadSegment(const std::string& data, uint64_t& wal_through);
  std::string EncodeSeriesRecord(const Series& s, std::span<const std::shared_ptr<const Chunk>> chunks,
                                 std::span<const Rollup> rollups) const;
  std::vector<std::shared_ptr<const Chunk>> EncodeChunks(std::vector<ChunkSample> samples) const;
  Status WriteSnapshot(int64_t now, bool forced);

  const std::string root_;
  Clock* const clock_;

  std::mutex compact_mu_;             // one Compact at a time; it alone changes chunks and roll-ups
  mutable std::shared_mutex rotate_mu_;  // Write holds it shared; the WAL's rotation exclusively
  std::unique_ptr<WriteAheadLog> wal_;
  uint64_t wal_gen_ = 0;

  mutable std::shared_mutex series_mu_;
  std::map<std::string, std::shared_ptr<Series>> series_;  // by canonical key

  mutable std::shared_mutex units_mu_;
  std::vector<std::string> units_;
  std::unordered_map<std::string, uint16_t> unit_ids_;

  uint64_t next_segment_gen_ = 1;  // guarded by compact_mu_ (and Load)
  int deltas_since_snapshot_ = 0;
};

std::shared_ptr<Series> MetricStoreImpl::Find(const SeriesKey& key) const {
  std::string canonical = key.Canonical();
  std::shared_lock lock(series_mu_);
  auto it = series_.find(canonical);
  return it == series_.end() ? nullptr : it->second;
}

std::shared_ptr<Series> MetricStoreImpl::GetOrCreate(SeriesKey key) {
  std::string canonical = key.Canonical();
  {
    std::shared_lock lock(series_mu_);
    auto it = series_.find(canonical);
    if (it != series_.end()) return it->second;
  }
  std::unique_lock lock(series_mu_);
  auto& slot = series_[canonical];
  if (!slot) {
    slot = std::make_shared<Series>();
    slot->key = std::move(key);
    slot->canonical = canonical;
  }
  return slot;
}

uint16_t MetricStoreImpl::InternUnit(const std::string& unit) {
  {
    std::shared_lock lock(units_mu_);
    auto it = unit_ids_.find(unit);
    if (it != unit_ids_.end()) return it->second;
  }
  std::unique_lock lock(units_mu_);
  auto [it, inserted] = unit_ids_.try_emplace(unit, static_cast<uint16_t>(units_.size()));
  if (inserted) units_.push_back(unit);
  return it->second;
}

std::vector<std::string> MetricStoreImpl::UnitNames() const {
  std::shared_lock lock(units_mu_);
  return units_;
}

void MetricStoreImpl::Apply(std::span<const Datum> data, int64_t write_ms) {
  for (const Datum& d : data) {
    SeriesKey key = d.key;
    key.Normalize();
    // The unit is interned before the series is locked, so a Query that copies the unit table
    // while holding the series lock sees every unit id in the head.
    uint16_t unit = InternUnit(d.unit);
    std::shared_ptr<Series> s = GetOrCreate(key);
    std::unique_lock lock(s->mu);
    while (s->erased) {
      lock.unlock();
      s = GetOrCreate(key);
      lock = std::unique_lock(s->mu);
    }
    if (d.statistics) {
      const StatisticSet& st = *d.statistics;
      s->head.push_back({d.timestamp_ms, SampleKind::kStatisticSet, unit, st.minimum, st.sample_count, st.sum, st.maximum});
    } else {
      for (const auto& [v, c] : d.values) {
        if (c == 1) {
          s->head.push_back({d.timestamp_ms, SampleKind::kValue, unit, v, 1, v, v});
        } else {
          s->head.push_back({d.timestamp_ms, SampleKind::kCounted, unit, v, c, v * c, v});
        }
      }
    }
    s->high_resolution = s->high_resolution || d.storage_resolution == 1;
    s->last_timestamp_ms = std::max(s->last_timestamp_ms, d.timestamp_ms);
    s->last_write_ms = std::max(s->last_write_ms, write_ms);
  }
}

Status MetricStoreImpl::Write(std::span<const Datum> data) {
  for (const Datum& d : data) GANTRY_RETURN_IF_ERROR(ValidateDatum(d));
  if (data.empty()) return Status::Ok();
  int64_t now = NowMs();
  std::string record = EncodeWalRecord(now, data);
  std::shared_lock rotate(rotate_mu_);
  GANTRY_RETURN_IF_ERROR(wal_->Append(record));
  Apply(data, now);
  return Status::Ok();
}

StatusOr<std::vector<Bucket>> MetricStoreImpl::Query(const SeriesKey& key, const QueryRange& range) const {
  if (range.period_seconds <= 0) return Status::InvalidArgument("the period must be a positive number of seconds");
  SeriesKey normalized = key;
  normalized.Normalize();
  std::shared_ptr<Series> s = Find(normalized);
  if (!s || range.end_ms <= range.start_ms) return std::vector<Bucket>();
  const Tiers tiers(NowMs(), false);
  const bool distribution = range.distribution;
  Accumulator acc;
  std::vector<std::string> chunk_units;
  std::vector<ChunkSample> samples;

  std::shared_lock lock(s->mu);
  // Copied under the series lock: Apply interns a unit before locking the series, so every unit
  // id in the head is in this copy.
  std::vector<std::string> head_units = UnitNames();
  const int stored = s->high_resolution ? 1 : 60;
  auto add_samples = [&](const std::vector<ChunkSample>& list, const std::vector<std::string>& units) {
    std::vector<char> wanted(units.size(), 1);
    if (range.unit) {
      for (size_t i = 0; i < units.size(); ++i) wanted[i] = units[i] == *range.unit;
    }
    int64_t cached_start = std::numeric_limits<int64_t>::min(), cached_end = cached_start;
    Aggregate* cached = nullptr;
    for (const ChunkSample& x : list) {
      if (x.timestamp_ms < range.start_ms || x.timestamp_ms >= range.end_ms || !wanted[x.unit]) continue;
      if (cached == nullptr || x.timestamp_ms < cached_start || x.timestamp_ms >= cached_end) {
        int resolution = tiers.ResolutionAt(x.timestamp_ms, stored);
        if (resolution == 0) continue;
        int64_t period_ms = int64_t{std::max(range.period_seconds, resolution)} * 1000;
        cached_start = FloorTo(x.timestamp_ms, period_ms);
        cached_end = cached_start + period_ms;
        cached = &acc.At(cached_start);
      }
      AddSample(*cached, x, units[x.unit], distribution);
    }
  };
  for (const auto& chunk : s->chunks) {
    if (chunk->max_ts < range.start_ms || chunk->min_ts >= range.end_ms) continue;
    if (!DecodeChunk(chunk->data, chunk_units, samples)) return Status::Internal("a metric chunk of " + s->canonical + " is corrupt");
    add_samples(samples, chunk_units);
  }
  add_samples(s->head, head_units);
  auto first = std::lower_bound(s->rollups.begin(), s->rollups.end(), range.start_ms,
                                [](const Rollup& r, int64_t t) { return r.start_ms < t; });
  for (auto it = first; it != s->rollups.end() && it->start_ms < range.end_ms; ++it) {
    if (range.unit && it->aggregate.unit != *range.unit) continue;
    int resolution = tiers.ResolutionAt(it->start_ms, it->period_seconds);
    if (resolution == 0) continue;
    int64_t period_ms = int64_t{std::max(range.period_seconds, resolution)} * 1000;
    MergeAggregate(acc.At(FloorTo(it->start_ms, period_ms)), it->aggregate, distribution);
  }
  return acc.Take();
}

std::vector<SeriesInfo> MetricStoreImpl::List(const ListFilter& filter, const std::string& start_after, size_t limit) const {
  std::vector<std::shared_ptr<Series>> candidates;
  std::string prefix = std::to_string(filter.tenant.size()) + ":" + filter.tenant;
  {
    std::shared_lock lock(series_mu_);
    auto it = series_.lower_bound(std::max(prefix, start_after));
    if (it != series_.end() && it->first == start_after) ++it;
    for (; it != series_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) candidates.push_back(it->second);
  }
  std::vector<SeriesInfo> out;
  for (const auto& s : candidates) {
    if (out.size() >= limit) break;
    const SeriesKey& k = s->key;
    if (k.tenant != filter.tenant) continue;
    if (filter.name_space && k.name_space != *filter.name_space) continue;
    if (filter.metric_name && k.metric_name != *filter.metric_name) continue;
    bool match = std::all_of(filter.dimensions.begin(), filter.dimensions.end(), [&k](const auto& want) {
      return std::any_of(k.dimensions.begin(), k.dimensions.end(), [&want](const Dimension& d) {
        return d.name == want.first && (!want.second || d.value == *want.second);
      });
    });
    if (!match) continue;
    SeriesInfo info;
    {
      std::shared_lock lock(s->mu);
      if (filter.active_since_ms && s->last_write_ms < *filter.active_since_ms) continue;
      info.last_timestamp_ms = s->last_timestamp_ms;
      info.last_write_ms = s->last_write_ms;
    }
    info.key = k;
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::shared_ptr<const Chunk>> MetricStoreImpl::EncodeChunks(std::vector<ChunkSample> samples) const {
  std::stable_sort(samples.begin(), samples.end(),
                   [](const ChunkSample& a, const ChunkSample& b) { return a.timestamp_ms < b.timestamp_ms; });
  std::vector<std::string> names = UnitNames();
  std::vector<std::shared_ptr<const Chunk>> out;
  for (size_t i = 0; i < samples.size(); i += kMaxChunkSamples) {
    size_t n = std::min(kMaxChunkSamples, samples.size() - i);
    auto c = std::make_shared<Chunk>();
    std::span<const ChunkSample> part(samples.data() + i, n);
    c->min_ts = part.front().timestamp_ms;
    c->max_ts = part.back().timestamp_ms;
    c->samples = static_cast<uint32_t>(n);
    c->data = EncodeChunk(part, names);
    out.push_back(std::move(c));
  }
  return out;
}

std::string MetricStoreImpl::EncodeSeriesRecord(const Series& s, std::span<const std::shared_ptr<const Chunk>> chunks,
                                                std::span<const Rollup> rollups) const {
  std::string out;
  EncodeKey(out, s.key);
  out.push_back(s.high_resolution ? 1 : 0);
  PutZigzag(out, s.last_timestamp_ms);
  PutZigzag(out, s.last_write_ms);
  PutVarint(out, chunks.size());
  for (const auto& c : chunks) {
    PutZigzag(out, c->min_ts);
    PutZigzag(out, c->max_ts);
    PutVarint(out, c->samples);
    PutString(out, c->data);
  }
  PutVarint(out, rollups.size());
  for (const Rollup& r : rollups) {
    PutZigzag(out, r.start_ms);
    PutVarint(out, static_cast<uint64_t>(r.period_seconds));
    EncodeAggregate(out, r.aggregate);
  }
  return out;
}

Status MetricStoreImpl::LoadSegment(const std::string& data, uint64_t& wal_through) {
  size_t pos = sizeof kSegmentMagic + 17;
  uint64_t through = 0;
  for (int i = 0; i < 8; ++i) through |= static_cast<uint64_t>(static_cast<uint8_t>(data[sizeof kSegmentMagic + 9 + i])) << (i * 8);
  wal_through = std::max(wal_through, through);
  std::string_view payload;
  std::string record;
  while (NextFrame(data, pos, payload)) {
    record.assign(payload);
    size_t p = 0;
    SeriesKey key;
    if (!DecodeKey(record, p, key) || p >= record.size()) return Status::Internal("corrupt metric segment record");
    bool high_resolution = record[p++] != 0;
    int64_t last_ts = 0, last_write = 0;
    uint64_t n = 0;
    if (!GetZigzag(record, p, last_ts) || !GetZigzag(record, p, last_write) || !GetVarint(record, p, n)) {
      return Status::Internal("corrupt metric segment record");
    }
    std::vector<std::shared_ptr<const Chunk>> chunks;
    for (uint64_t i = 0; i < n; ++i) {
      auto c = std::make_shared<Chunk>();
      uint64_t samples = 0;
      if (!GetZigzag(record, p, c->min_ts) || !GetZigzag(record, p, c->max_ts) || !GetVarint(record, p, samples) ||
          !GetString(record, p, c->data)) {
        return Status::Internal("corrupt metric chunk");
      }
      c->samples = static_cast<uint32_t>(samples);
      chunks.push_back(std::move(c));
    }
    std::vector<Rollup> rollups;
    if (!GetVarint(record, p, n)) return Status::Internal("corrupt metric segment record");
    for (uint64_t i = 0; i < n; ++i) {
      Rollup r;
      uint64_t period = 0;
      if (!GetZigzag(record, p, r.start_ms) || !GetVarint(record, p, period) || !DecodeAggregate(record, p, r.aggregate)) {
        return Status::Internal("corrupt metric roll-up");
      }
      r.period_seconds = static_cast<int>(period);
      rollups.push_back(std::move(r));
    }
    std::shared_ptr<Series> s = GetOrCreate(std::move(key));
    std::unique_lock lock(s->mu);
    s->high_resolution = s->high_resolution || high_resolution;
    s->last_timestamp_ms = std::max(s->last_timestamp_ms, last_ts);
    s->last_write_ms = std::max(s->last_write_ms, last_write);
    s->chunks.insert(s->chunks.end(), chunks.begin(), chunks.end());
    s->rollups.insert(s->rollups.end(), rollups.begin(), rollups.end());
    std::stable_sort(s->rollups.begin(), s->rollups.end(), [](const Rollup& a, const Rollup& b) { return a.start_ms < b.start_ms; });
  }
  if (pos != data.size()) return Status::Internal("a metric segment is truncated or corrupt");
  return Status::Ok();
}

Status MetricStoreImpl::Load() {
  if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) return Status::Internal("cannot create " + root_);
  // Segments: the newest snapshot and the deltas after it.
  std::vector<uint64_t> gens = NumberedFiles(root_, "seg-", ".dat");
  std::vector<std::pair<uint64_t, std::string>> segments;
  uint64_t base = 0;
  for (uint64_t gen : gens) {
    GANTRY_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(root_ + "/" + SegmentName(gen)));
    if (data.size() < sizeof kSegmentMagic + 17 || data.compare(0, 5, kSegmentMagic, 5) != 0) {
      return Status::Internal("metric segment " + SegmentName(gen) + " has a bad header");
    }
    if (data.compare(0, sizeof kSegmentMagic, kSegmentMagic, sizeof kSegmentMagic) != 0) {
      return Status::Internal("metric segment " + SegmentName(gen) + " has format version " + data.substr(5, 3) +
                              "; this build reads version " + std::string(kSegmentMagic + 5, 3));
    }
    if (static_cast<uint8_t>(data[sizeof kSegmentMagic + 8]) == kSnapshotSegment) base = gen;
    segments.emplace_back(gen, std::move(data));
  }
  uint64_t wal_through = 0;
  for (const auto& [gen, data] : segments) {
    if (gen < base) {
      ::unlink((root_ + "/" + SegmentName(gen)).c_str());
      continue;
    }
    GANTRY_RETURN_IF_ERROR(LoadSegment(data, wal_through));
    if (gen > base) ++deltas_since_snapshot_;
  }
  if (!gens.empty()) next_segment_gen_ = gens.back() + 1;
  // Logs newer than the segments: replay (a torn tail is where the log ends).
  std::vector<uint64_t> wals = NumberedFiles(root_, "wal-", ".log");
  std::vector<Datum> data;
  for (uint64_t gen : wals) {
    if (gen <= wal_through) {
      ::unlink((root_ + "/" + WalName(gen)).c_str());
      continue;
    }
    GANTRY_ASSIGN_OR_RETURN(std::string log, ReadWholeFile(root_ + "/" + WalName(gen)));
    size_t pos = 0;
    std::string_view payload;
    while (NextFrame(log, pos, payload)) {
      int64_t write_ms = 0;
      if (!DecodeWalRecord(payload, write_ms, data)) break;
      Apply(data, write_ms);
    }
  }
  wal_gen_ = std::max(wal_through, wals.empty() ? 0 : wals.back()) + 1;
  GANTRY_ASSIGN_OR_RETURN(wal_, WriteAheadLog::Open(root_ + "/" + WalName(wal_gen_)));
  return Status::Ok();
}

Status MetricStoreImpl::Compact() {
  std::lock_guard compact(compact_mu_);
  const int64_t now = NowMs();
  // 1. Rotate the log; what the heads hold now is what the old logs hold.
  std::vector<std::pair<std::shared_ptr<Series>, size_t>> sealing;
  uint64_t sealed_through = 0;
  {
    std::unique_lock rotate(rotate_mu_);
    std::shared_lock lock(series_mu_);
    for (const auto& [name, s] : series_) {
      std::shared_lock series_lock(s->mu);
      if (!s->head.empty()) sealing.emplace_back(s, s->head.size());
    }
    if (!sealing.empty() || wal_->bytes() > 0) {
      GANTRY_ASSIGN_OR_RETURN(std::unique_ptr<WriteAheadLog> next, WriteAheadLog::Open(root_ + "/" + WalName(wal_gen_ + 1)));
      sealed_through = wal_gen_;
      wal_ = std::move(next);
      ++wal_gen_;
    }
  }
  // 2. Seal the heads into chunks and write them as a delta segment.
  if (sealed_through > 0) {
    std::vector<std::vector<std::shared_ptr<const Chunk>>> sealed(sealing.size());
    std::string segment(kSegmentMagic, sizeof kSegmentMagic);
    for (int i = 0; i < 8; ++i) segment.push_back(static_cast<char>(next_segment_gen_ >> (i * 8)));
    segment.push_back(static_cast<char>(kDeltaSegment));
    for (int i = 0; i < 8; ++i) segment.push_back(static_cast<char>(sealed_through >> (i * 8)));
    for (size_t i = 0; i < sealing.size(); ++i) {
      Series& s = *sealing[i].first;
      std::string record;
      {
        std::shared_lock lock(s.mu);
        sealed[i] = EncodeChunks(std::vector<ChunkSample>(s.head.begin(), s.head.begin() + static_cast<std::ptrdiff_t>(sealing[i].second)));
        record = EncodeSeriesRecord(s, sealed[i], {});
      }
      AppendFrame(segment, record);
    }
    GANTRY_RETURN_IF_ERROR(WriteFileDurably(root_, SegmentName(next_segment_gen_), segment));
    ++next_segment_gen_;
    ++deltas_since_snapshot_;
    for (size_t i = 0; i < sealing.size(); ++i) {
      Series& s = *sealing[i].first;
      std::unique_lock lock(s.mu);
      s.chunks.insert(s.chunks.end(), sealed[i].begin(), sealed[i].end());
      s.head.erase(s.head.begin(), s.head.begin() + static_cast<std::ptrdiff_t>(sealing[i].second));
    }
    for (uint64_t gen : NumberedFiles(root_, "wal-", ".log")) {
      if (gen <= sealed_through) ::unlink((root_ + "/" + WalName(gen)).c_str());
    }
  }
  // 3. Roll-ups, retention and merging of small chunks: a snapshot when any is due.
  return WriteSnapshot(now, deltas_since_snapshot_ >= kMaxDeltaSegments);
}

Status MetricStoreImpl::WriteSnapshot(int64_t now, bool forced) {
  const Tiers tiers(now, true);
  std::vector<std::shared_ptr<Series>> all;
  {
    std::shared_lock lock(series_mu_);
    for (const auto& [name, s] : series_) all.push_back(s);
  }
  struct Plan {
    bool rewrite = false;
    std::vector<std::shared_ptr<const Chunk>> chunks;
    std::vector<Rollup> rollups;
  };
  std::vector<Plan> plans(all.size());
  bool due = forced;
  for (size_t i = 0; i < all.size(); ++i) {
    Series& s = *all[i];
    std::shared_lock lock(s.mu);
    int stored = s.high_resolution ? 1 : 60;
    Plan& plan = plans[i];
    plan.chunks = s.chunks;
    plan.rollups = s.rollups;
    for (const auto& c : s.chunks) plan.rewrite = plan.rewrite || tiers.ResolutionAt(c->min_ts, stored) != stored;
    for (const Rollup& r : s.rollups) plan.rewrite = plan.rewrite || tiers.ResolutionAt(r.start_ms, r.period_seconds) != r.period_seconds;
    if (forced && s.chunks.size() > 1) plan.rewrite = true;
    due = due || plan.rewrite;
  }
  if (!due) return Status::Ok();

  std::vector<std::string> chunk_units;
  std::vector<ChunkSample> decoded;
  for (size_t i = 0; i < all.size(); ++i) {
    Plan& plan = plans[i];
    if (!plan.rewrite) continue;
    Series& s = *all[i];
    int stored;
    {
      std::shared_lock lock(s.mu);
      stored = s.high_resolution ? 1 : 60;
    }
    std::vector<ChunkSample> kept;
    std::map<std::pair<int64_t, std::string>, Rollup> rolled;  // by (start, unit)
    auto roll = [&rolled](int64_t start, int period, const std::string& unit) -> Rollup& {
      Rollup& r = rolled[{start, unit}];
      r.start_ms = start;
      r.period_seconds = std::max(r.period_seconds, period);
      return r;
    };
    for (const auto& c : plan.chunks) {
      if (!DecodeChunk(c->data, chunk_units, decoded)) return Status::Internal("a metric chunk of " + s.canonical + " is corrupt");
      for (ChunkSample& x : decoded) {
        int resolution = tiers.ResolutionAt(x.timestamp_ms, stored);
        if (resolution == 0) continue;
        if (resolution == stored) {
          x.unit = InternUnit(chunk_units[x.unit]);
          kept.push_back(x);
          continue;
        }
        const std::string& unit = chunk_units[x.unit];
        Rollup& r = roll(FloorTo(x.timestamp_ms, int64_t{resolution} * 1000), resolution, unit);
        AddSample(r.aggregate, x, unit, true);
      }
    }
    for (const Rollup& old : plan.rollups) {
      int resolution = tiers.ResolutionAt(old.start_ms, old.period_seconds);
      if (resolution == 0) continue;
      Rollup& r = roll(FloorTo(old.start_ms, int64_t{resolution} * 1000), resolution, old.aggregate.unit);
      MergeAggregate(r.aggregate, old.aggregate, true);
    }
    plan.chunks = EncodeChunks(std::move(kept));
    plan.rollups.clear();
    for (auto& [k, r] : rolled) plan.rollups.push_back(std::move(r));
  }

  const uint64_t gen = next_segment_gen_;
  std::string segment(kSegmentMagic, sizeof kSegmentMagic);
  for (int i = 0; i < 8; ++i) segment.push_back(static_cast<char>(gen >> (i * 8)));
  segment.push_back(static_cast<char>(kSnapshotSegment));
  for (int i = 0; i < 8; ++i) segment.push_back(static_cast<char>((wal_gen_ - 1) >> (i * 8)));
  for (size_t i = 0; i < all.size(); ++i) {
    if (plans[i].chunks.empty() && plans[i].rollups.empty()) continue;
    std::shared_lock lock(all[i]->mu);
    AppendFrame(segment, EncodeSeriesRecord(*all[i], plans[i].chunks, plans[i].rollups));
  }
  GANTRY_RETURN_IF_ERROR(WriteFileDurably(root_, SegmentName(gen), segment));
  ++next_segment_gen_;
  deltas_since_snapshot_ = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    Series& s = *all[i];
    bool empty;
    {
      std::unique_lock lock(s.mu);
      s.chunks = std::move(plans[i].chunks);
      s.rollups = std::move(plans[i].rollups);
      empty = s.chunks.empty() && s.rollups.empty() && s.head.empty();
    }
    if (empty) {
      std::unique_lock index(series_mu_);
      std::unique_lock lock(s.mu);
      auto it = series_.find(s.canonical);
      if (s.head.empty() && s.chunks.empty() && s.rollups.empty() && it != series_.end() && it->second.get() == &s) {
        series_.erase(it);
        s.erased = true;
      }
    }
  }
  for (uint64_t old : NumberedFiles(root_, "seg-", ".dat")) {
    if (old < gen) ::unlink((root_ + "/" + SegmentName(old)).c_str());
  }
  return Status::Ok();
}

StoreStats MetricStoreImpl::Stats() const {
  StoreStats stats;
  std::vector<std::shared_ptr<Series>> all;
  {
    std::shared_lock lock(series_mu_);
    for (const auto& [name, s] : series_) all.push_back(s);
  }
  stats.series = static_cast<int64_t>(all.size());
  for (const auto& s : all) {
    std::shared_lock lock(s->mu);
    stats.samples += static_cast<int64_t>(s->head.size() + s->rollups.size());
    for (const auto& c : s->chunks) stats.samples += c->samples;
  }
  DIR* d = ::opendir(root_.c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.rfind("seg-", 0) != 0 && name.rfind("wal-", 0) != 0) continue;
      struct stat st {};
      if (::stat((root_ + "/" + name).c_str(), &st) == 0) stats.bytes_on_disk += st.st_size;
    }
    ::closedir(d);
  }
  return stats;
}

}  // namespace

void SeriesKey::Normalize() {
  std::stable_sort(dimensions.begin(), dimensions.end(), [](const Dimension& a, const Dimension& b) { return a.name < b.name; });
}

std::string SeriesKey::Canonical() const {
  std::string out;
  auto field = [&out](const std::string& s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
  };
  field(tenant);
  field(name_space);
  field(metric_name);
  for (const Dimension& d : dimensions) {
    field(d.name);
    field(d.value);
  }
  return out;
}

StatusOr<std::unique_ptr<MetricStore>> MetricStore::Open(const MetricStoreOptions& options) {
  if (options.root.empty()) return Status::InvalidArgument("the metric store needs a root directory");
  auto store = std::make_unique<MetricStoreImpl>(options);
  GANTRY_RETURN_IF_ERROR(store->Load());
  return std::unique_ptr<MetricStore>(std::move(store));
}

}  // namespace gantry::telemetry::metrics
