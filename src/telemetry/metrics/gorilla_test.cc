#include "telemetry/metrics/gorilla.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace gantry::telemetry::metrics {
namespace {

ChunkSample Value(int64_t ts, double v, uint16_t unit = 0) { return {ts, SampleKind::kValue, unit, v, 1, v, v}; }

void ExpectRoundTrip(const std::vector<ChunkSample>& in, const std::vector<std::string>& units) {
  std::string data = EncodeChunk(in, units);
  std::vector<std::string> out_units;
  std::vector<ChunkSample> out;
  ASSERT_TRUE(DecodeChunk(data, out_units, out));
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].timestamp_ms, in[i].timestamp_ms);
    EXPECT_EQ(out[i].kind, in[i].kind);
    EXPECT_EQ(out_units[out[i].unit], units[in[i].unit]);
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].value), std::bit_cast<uint64_t>(in[i].value));
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].count), std::bit_cast<uint64_t>(in[i].count));
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].sum), std::bit_cast<uint64_t>(in[i].sum));
    EXPECT_EQ(std::bit_cast<uint64_t>(out[i].maximum), std::bit_cast<uint64_t>(in[i].maximum));
  }
}

TEST(GorillaTest, EmptyAndSingle) {
  ExpectRoundTrip({}, {""});
  ExpectRoundTrip({Value(1700000000000, 42.5)}, {""});
}

TEST(GorillaTest, EdgeFloatsRoundTrip) {
  std::vector<double> edges = {0.0, -0.0, 1.0, -1.0, std::numeric_limits<double>::min(),
                               std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
                               std::numeric_limits<double>::lowest(), 1e-300, 1e300, 0.1, 1.0 / 3, 123456789.123,
                               -2.5e-7, 1.0, 1.0, 1.0};
  std::vector<ChunkSample> in;
  int64_t ts = -5000;  // before the epoch too
  for (double v : edges) in.push_back(Value(ts += 1000, v));
  ExpectRoundTrip(in, {""});
}

TEST(GorillaTest, RandomSamplesOfEveryKindRoundTrip) {
  std::mt19937_64 rng(7);
  std::vector<std::string> units = {"", "Seconds", "Count", "Bytes/Second"};
  std::vector<ChunkSample> in;
  int64_t ts = 1700000000000;
  for (int i = 0; i < 5000; ++i) {
    // Regular, jittered and huge timestamp steps, and duplicates.
    int step = static_cast<int>(rng() % 5);
    ts += step == 0 ? 0 : step == 1 ? 1000 : step == 2 ? static_cast<int64_t>(rng() % 100000) : step == 3 ? 60000 : static_cast<int64_t>(rng() % (int64_t{1} << 40));
    double v = std::bit_cast<double>(rng());
    if (!std::isfinite(v)) v = static_cast<double>(rng() % 1000);
    if (rng() % 3 == 0) v = std::round(v);
    uint16_t unit = static_cast<uint16_t>(rng() % units.size());
    switch (rng() % 3) {
      case 0: in.push_back(Value(ts, v, unit)); break;
      case 1: {
        double c = static_cast<double>(rng() % 50 + 2);
        in.push_back({ts, SampleKind::kCounted, unit, v, c, v * c, v});
        break;
      }
      default: in.push_back({ts, SampleKind::kStatisticSet, unit, -1.5, 10, static_cast<double>(rng() % 1000), 77.25});
    }
  }
  ExpectRoundTrip(in, units);
}

TEST(GorillaTest, RegularIntegerSeriesIsSmall) {
  std::vector<ChunkSample> in;
  for (int i = 0; i < 1000; ++i) in.push_back(Value(1700000000000 + i * 60000, i % 10 == 0 ? 5 : 4));
  std::string data = EncodeChunk(in, std::vector<std::string>{""});
  EXPECT_LT(data.size(), 1000u);  // about a byte a sample at most for repeated small integers
}

std::vector<ChunkSample> Regular(const std::vector<double>& values, int64_t step_ms = 60000) {
  std::vector<ChunkSample> in;
  for (size_t i = 0; i < values.size(); ++i) in.push_back(Value(1700000000000 + static_cast<int64_t>(i) * step_ms, values[i]));
  return in;
}

// Bits a sample beyond an allowance of 32 bytes for the chunk's header.
double BitsPerSample(const std::vector<ChunkSample>& in) {
  return 8.0 * (static_cast<double>(EncodeChunk(in, std::vector<std::string>{"Count"}).size()) - 32) / static_cast<double>(in.size());
}

TEST(GorillaTest, IntegerModesRoundTrip) {
  std::mt19937_64 rng(11);
  std::vector<std::vector<double>> cases(12);
  for (int i = 0; i < 2000; ++i) {
    cases[0].push_back(static_cast<double>(rng() % 20));                               // noisy counts
    cases[1].push_back(1000 + i % 64 - static_cast<double>(rng() % 3));                 // a walk
    cases[2].push_back(5e6 + i * 37.0 + (i % 500 == 0 ? 1e6 : 0));                      // a counter with jumps
    cases[3].push_back(static_cast<double>(rng() % 200) / 2);                            // halves
    cases[4].push_back(static_cast<double>(rng() % 100000) / 1000);                      // milliseconds as seconds
    cases[5].push_back(-static_cast<double>(rng() % 7) * 0.25 - 1e5);                     // negative quarters
    cases[6].push_back(7);                                                                // constant
    cases[7].push_back(i % 100 == 0 ? 9007199254740991.0 : -9007199254740991.0);        // +-(2^53 - 1)
    cases[8].push_back(i % 2 ? 0.0 : -0.0);                                              // -0 is not an integer
    cases[9].push_back(i % 3 ? 1.0 : 9007199254740992.0);                                 // 2^53: too large
    cases[10].push_back(i % 5 ? 3.0 : 0.1 * i);                                           // decimals beyond 6 places
    cases[11].push_back(static_cast<double>(rng() % 4) + (i % 300 == 0 ? 1e12 : 0));     // rare escapes
  }
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE(c);
    ExpectRoundTrip(Regular(cases[c]), {""});
    ExpectRoundTrip(Regular({cases[c][0], cases[c][1]}), {""});
    ExpectRoundTrip(Regular({cases[c][0]}), {""});
  }
}

TEST(GorillaTest, EncodingAdaptsToTheData) {
  std::mt19937_64 rng(5);
  std::vector<double> counts, walk, counter, halves, level;
  for (int i = 0; i < 1440; ++i) {
    counts.push_back(static_cast<double>(rng() % 20));
    walk.push_back(1000 + i % 64 - static_cast<double>(rng() % 3));
    counter.push_back(1e9 + i * 1234.0);
    halves.push_back(static_cast<double>(rng() % 200) / 2);
    level.push_back(100 + (i / 30) % 3);
  }
  // Regular timestamps and plain values cost nothing beyond the value column.
  EXPECT_LE(BitsPerSample(Regular(std::vector<double>(1440, 42))), 0.01);
  EXPECT_LE(BitsPerSample(Regular(counts)), 5.01);   // 20 values: 5 bits
  EXPECT_LE(BitsPerSample(Regular(halves)), 8.01);   // 200 halves: 8 bits
  EXPECT_LE(BitsPerSample(Regular(walk)), 3.5);      // deltas -1..3 in 3 bits, a wrap every 64
  EXPECT_LE(BitsPerSample(Regular(counter)), 0.01);  // a constant rate: delta-of-deltas are 0
  EXPECT_LE(BitsPerSample(Regular(level)), 1.5);
  // Jittered timestamps fall back to delta-of-delta; irregular floats to XOR.
  std::vector<ChunkSample> jittered = Regular(counts);
  for (size_t i = 0; i < jittered.size(); i += 7) jittered[i].timestamp_ms += 3;
  EXPECT_GT(BitsPerSample(jittered), BitsPerSample(Regular(counts)));
  ExpectRoundTrip(jittered, {"Count"});
  std::vector<double> floats;
  for (int i = 0; i < 1440; ++i) floats.push_back(std::sin(i * 0.01));
  ExpectRoundTrip(Regular(floats), {""});
}

TEST(GorillaTest, DegenerateStatisticSetsCostLikeValues) {
  std::vector<ChunkSample> values = Regular(std::vector<double>(1000, 0)), sets;
  std::mt19937_64 rng(3);
  for (ChunkSample& s : values) {
    s.value = s.sum = s.maximum = static_cast<double>(rng() % 16);
    sets.push_back(s);
    sets.back().kind = SampleKind::kStatisticSet;
  }
  // count 1 and minimum == maximum == sum: one bit each for count, maximum and sum.
  EXPECT_LE(BitsPerSample(sets), BitsPerSample(values) + 3.01);
  ExpectRoundTrip(sets, {""});
  for (size_t i = 0; i < sets.size(); i += 3) {
    sets[i].count = 4;
    sets[i].maximum = sets[i].value + 2.5;
    sets[i].sum = sets[i].value * 4 + 1;
  }
  ExpectRoundTrip(sets, {""});
}

TEST(GorillaTest, EveryTruncationIsRejected) {
  std::mt19937_64 rng(9);
  std::vector<std::vector<ChunkSample>> chunks = {Regular({1, 2, 3, 5, 8, 13}), Regular({0.5, 0.25, 1e300}),
                                                  Regular(std::vector<double>(50, 7))};
  std::vector<ChunkSample> mixed = Regular({4, 4, 4, 9, 1e12});
  mixed[2].kind = SampleKind::kCounted;
  mixed[2].count = 3;
  mixed[2].sum = 12;
  mixed[3].timestamp_ms += 17;
  chunks.push_back(mixed);
  for (const auto& in : chunks) {
    std::string data = EncodeChunk(in, std::vector<std::string>{""});
    std::vector<std::string> units;
    std::vector<ChunkSample> out;
    ASSERT_TRUE(DecodeChunk(data, units, out));
    for (size_t n = 0; n < data.size(); ++n) EXPECT_FALSE(DecodeChunk(data.substr(0, n), units, out)) << n;
    EXPECT_FALSE(DecodeChunk(data + "x", units, out));
  }
}

TEST(GorillaTest, MalformedInputIsRejected) {
  std::vector<ChunkSample> in;
  for (int i = 0; i < 100; ++i) in.push_back(Value(1000 * i, i * 1.5));
  std::string data = EncodeChunk(in, std::vector<std::string>{"Count"});
  std::vector<std::string> units;
  std::vector<ChunkSample> out;
  EXPECT_FALSE(DecodeChunk(data.substr(0, data.size() / 2), units, out));
  EXPECT_FALSE(DecodeChunk("\xff\xff\xff", units, out));
}

}  // namespace
}  // namespace gantry::telemetry::metrics
