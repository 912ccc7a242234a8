// Chunk codec for the samples of one series, in the Gorilla style (Pelkonen et al., VLDB 2015)
// with per-chunk choices that make common data much smaller than the paper's one-size encoding.
// A sample is a plain value (count 1), a value with a count, or a statistic set.
//
// Format (version 2; the version is the segment's, see metric_store.cc): varint sample count,
// zigzag varint first timestamp, varint unit count and the unit names (varint length + bytes), then
// four byte-aligned sections, each starting with a mode byte where it has one:
//   timestamps  0: a fixed interval (zigzag varint; absent for one sample): 0 bits a sample;
//               1: delta-of-delta bit stream ('0'; '10'+14 bits; '110'+17; '1110'+20; '1111'+64).
//   kinds       0: all samples share one kind and unit (kind byte, varint unit): 0 bits a sample;
//               1: bit stream, '0' when kind and unit repeat, else '1' + 2-bit kind + 16-bit unit.
//   values      the value (kValue, kCounted) or minimum (kStatisticSet) column, whichever of these
//               is smaller for the chunk:
//               0: XOR floats (the paper's encoding);
//               1, 2, 3: integers. Every value is m / 10^d exactly for an integer |m| < 2^53 and a
//               d in [0, 6]; m_i = base + g * k_i for the gcd g of the differences. Mode 1 codes k
//               against the minimum (base = min; good for noisy levels), 2 the zigzag deltas of k
//               (base = m_0; walks), 3 the zigzag delta-of-deltas (base = m_0, then the first
//               delta of k as a zigzag varint; counters). Header: d byte, varint g, zigzag base
//               [, first delta], width byte w; then the codes (n for mode 1, n - 1 for mode 2,
//               n - 2 for mode 3) in w bits each, where all-ones escapes to a 6-bit length L - 1
//               and the code in L bits (w = 0: every code is 0; w = 64: no escape).
//   extras      bit stream, only for kCounted and kStatisticSet samples: the count (XOR against the
//               previous count, starting at 1); for statistic sets then '0' when the maximum equals
//               the minimum, else '1' + XOR maximum, and '0' when the sum is minimum * count, else
//               '1' + XOR sum. Plain values have no extras, so count, sum and maximum cost nothing.
// Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::telemetry::metrics {

enum class SampleKind : uint8_t { kValue = 0, kCounted = 1, kStatisticSet = 2 };

// EncodeChunk takes at most this many samples; DecodeChunk rejects chunks claiming more.
inline constexpr size_t kChunkSampleLimit = 65536;

struct ChunkSample {
  int64_t timestamp_ms = 0;
  SampleKind kind = SampleKind::kValue;
  uint16_t unit = 0;     // an index into a unit table (the caller's when encoding, the chunk's when decoding)
  double value = 0;      // the value (kValue, kCounted) or the minimum (kStatisticSet)
  double count = 1;      // 1 for kValue
  double sum = 0;        // value * count for kValue and kCounted
  double maximum = 0;    // == value for kValue and kCounted
};

// Encodes samples sorted by timestamp (at most kChunkSampleLimit); unit_names maps their unit
// indexes to names.
std::string EncodeChunk(std::span<const ChunkSample> samples, std::span<const std::string> unit_names);

// Decodes a chunk, replacing units (the chunk's unit table) and out; false when malformed.
bool DecodeChunk(std::string_view data, std::vector<std::string>& units, std::vector<ChunkSample>& out);

// Varint helpers shared by the store's file formats.
void PutVarint(std::string& out, uint64_t v);
void PutZigzag(std::string& out, int64_t v);
void PutDouble(std::string& out, double v);
void PutString(std::string& out, std::string_view s);
bool GetVarint(std::string_view data, size_t& pos, uint64_t& v);
bool GetZigzag(std::string_view data, size_t& pos, int64_t& v);
bool GetDouble(std::string_view data, size_t& pos, double& v);
bool GetString(std::string_view data, size_t& pos, std::string& s);

}  // namespace gantry::telemetry::metrics
