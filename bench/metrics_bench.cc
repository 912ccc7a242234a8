// metrics_bench: drives the metrics engine (telemetry/metrics) for bench/metrics.py with the same
// synthetic data that the script feeds Prometheus:
//   metrics_bench generate <file> [flags]   writes the data as OpenMetrics text (for promtool)
//   metrics_bench ingest <root> [flags]     writes it into a MetricStore, Compact()s, prints JSON
//   metrics_bench query <root> [flags]      sums all minute series per 5-minute period over the day
// Flags: --series N --minute-hours H --second-minutes M --end-s T --batch B --threads K.
// The data: series i is m{series="i"} every minute for H hours and m_hr{series="i"} every second for
// the last M minutes; values are integer-ish gauges (counts, slow levels, random walks, halves).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/common/clock.h"
#include "telemetry/metrics/metric_store.h"

using namespace gantry;
using namespace gantry::telemetry::metrics;

namespace {

struct Flags {
  int series = 10000;
  int minute_hours = 24;
  int second_minutes = 5;
  int64_t end_s = 1'700'006'400;  // a multiple of a day
  int batch = 1000;              // datums per Write (PutMetricData's limit)
  int threads = 2;
};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// The value of series i at its n-th sample (deterministic, cheap, realistic-ish).
double ValueAt(int i, int64_t n) {
  uint64_t r = Mix(static_cast<uint64_t>(i) * 1'000'003 + static_cast<uint64_t>(n));
  switch (i % 4) {
    case 0: return static_cast<double>(r % 20);                                         // request counts
    case 1: return static_cast<double>(100 + i % 50 + (n / 30) % 3);                    // slow level
    case 2: return static_cast<double>(1000 + static_cast<int64_t>(Mix(i) % 500) + (n % 64) - static_cast<int64_t>(r % 3));  // walk-ish
    default: return static_cast<double>(r % 200) / 2;                                    // halves
  }
}

// Calls f(name, series, timestamp_s, value), time-major (per-series time order, as Prometheus needs).
template <typename F>
void ForEachSample(const Flags& fl, F&& f) {
  int64_t start = fl.end_s - int64_t{fl.minute_hours} * 3600;
  for (int64_t t = start, n = 0; t < fl.end_s; t += 60, ++n) {
    for (int i = 0; i < fl.series; ++i) f("m", i, t, ValueAt(i, n));
  }
  int64_t hr_start = fl.end_s - int64_t{fl.second_minutes} * 60;
  for (int64_t t = hr_start, n = 0; t < fl.end_s; ++t, ++n) {
    for (int i = 0; i < fl.series; ++i) f("m_hr", i, t, ValueAt(i, n));
  }
}

SeriesKey Key(const char* name, int i) {
  return SeriesKey{"bench", "Bench", name, {{"series", std::to_string(i)}}};
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Generate(const std::string& path, const Flags& fl) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return 1;
  std::string current;
  ForEachSample(fl, [&](const char* name, int i, int64_t t, double v) {
    if (current != name) {
      std::fprintf(out, "# TYPE %s gauge\n", name);
      current = name;
    }
    std::fprintf(out, "%s{series=\"%d\"} %.17g %lld\n", name, i, v, static_cast<long long>(t));
  });
  std::fprintf(out, "# EOF\n");
  std::fclose(out);
  return 0;
}

std::unique_ptr<MetricStore> OpenStore(const std::string& root, Clock* clock) {
  MetricStoreOptions options;
  options.root = root;
  options.clock = clock;
  auto store = MetricStore::Open(options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(store).value();
}

int Ingest(const std::string& root, const Flags& fl) {
  FakeClock clock(TimePoint(std::chrono::seconds(fl.end_s)));
  auto store = OpenStore(root, &clock);
  // Batches are built first so that the timing is the engine's (Write and Compact) alone.
  std::vector<std::vector<Datum>> batches(1);
  int64_t samples = 0, last_t = 0;
  std::vector<size_t> compact_after;  // batch indexes after which the service's compactor would run
  ForEachSample(fl, [&](const char* name, int i, int64_t t, double v) {
    if (batches.back().size() >= static_cast<size_t>(fl.batch)) batches.emplace_back();
    if (last_t != 0 && t / 3600 != last_t / 3600) compact_after.push_back(batches.size() - 1);
    last_t = t;
    Datum d;
    d.key = Key(name, i);
    d.timestamp_ms = t * 1000;
    d.storage_resolution = name[1] == '_' ? 1 : 60;
    d.unit = "Count";
    d.values = {{v, 1}};
    batches.back().push_back(std::move(d));
    ++samples;
  });
  auto begin = std::chrono::steady_clock::now();
  size_t next_compact = 0;
  for (size_t b = 0; b < batches.size();) {
    size_t stop = next_compact < compact_after.size() ? compact_after[next_compact] + 1 : batches.size();
    std::vector<std::thread> workers;
    for (int k = 0; k < fl.threads; ++k) {
      workers.emplace_back([&, k] {
        for (size_t j = b + static_cast<size_t>(k); j < stop; j += static_cast<size_t>(fl.threads)) {
          Status s = store->Write(batches[j]);
          if (!s.ok()) {
            std::fprintf(stderr, "write: %s\n", s.ToString().c_str());
            std::exit(1);
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    b = stop;
    if (next_compact < compact_after.size()) {
      ++next_compact;
      if (!store->Compact().ok()) return 1;
    }
  }
  if (!store->Compact().ok()) return 1;
  double seconds = Seconds(begin);
  StoreStats st = store->Stats();
  std::printf("{\"samples\": %lld, \"seconds\": %.3f, \"bytes_on_disk\": %lld, \"stored_samples\": %lld}\n",
              static_cast<long long>(samples), seconds, static_cast<long long>(st.bytes_on_disk),
              static_cast<long long>(st.samples));
  return 0;
}

int QueryAll(const std::string& root, const Flags& fl) {
  FakeClock clock(TimePoint(std::chrono::seconds(fl.end_s)));
  auto store = OpenStore(root, &clock);
  auto begin = std::chrono::steady_clock::now();
  QueryRange range;
  range.start_ms = (fl.end_s - int64_t{fl.minute_hours} * 3600) * 1000;
  range.end_ms = fl.end_s * 1000;
  range.period_seconds = 300;
  range.distribution = false;
  std::vector<double> sums(static_cast<size_t>((range.end_ms - range.start_ms) / 300'000), 0.0);
  ListFilter filter;
  filter.tenant = "bench";
  filter.metric_name = "m";
  std::vector<SeriesInfo> all = store->List(filter, "", SIZE_MAX);
  for (const SeriesInfo& s : all) {
    auto buckets = store->Query(s.key, range);
    if (!buckets.ok()) return 1;
    for (const Bucket& b : *buckets) sums[static_cast<size_t>((b.start_ms - range.start_ms) / 300'000)] += b.aggregate.sum;
  }
  double seconds = Seconds(begin);
  double total = 0;
  for (double v : sums) total += v;
  std::printf("{\"series\": %zu, \"points\": %zu, \"seconds\": %.4f, \"total\": %.1f}\n", all.size(), sums.size(), seconds, total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: metrics_bench generate|ingest|query <path> [flags]\n");
    return 2;
  }
  Flags fl;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    long long v = std::atoll(argv[i + 1]);
    if (f == "--series") fl.series = static_cast<int>(v);
    else if (f == "--minute-hours") fl.minute_hours = static_cast<int>(v);
    else if (f == "--second-minutes") fl.second_minutes = static_cast<int>(v);
    else if (f == "--end-s") fl.end_s = v;
    else if (f == "--batch") fl.batch = static_cast<int>(v);
    else if (f == "--threads") fl.threads = static_cast<int>(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  std::string mode = argv[1];
  if (mode == "generate") return Generate(argv[2], fl);
  if (mode == "ingest") return Ingest(argv[2], fl);
  if (mode == "query") return QueryAll(argv[2], fl);
  return 2;
}
