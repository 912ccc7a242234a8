// Sketch: a mergeable summary of a distribution of values for percentiles and the other extended
// statistics, in bounded space. While it holds at most kExactLimit distinct values it keeps them
// exactly (value, count) and every answer is exact; beyond that it becomes a relative-error
// log-bucketed sketch (DDSketch-style, 1% relative accuracy) with separate stores for positive and
// negative values and a zero count. Exact count, sum, min and max are kept beside it by Aggregate;
// queries take the exact min and max as Bounds, which keeps every bucketed result within them and
// makes a distribution of equal values (min == max) exact.
// Ranks follow CloudWatch's nearest-rank definition: the n values, sorted, occupy the positions
// (0, 1], (1, 2], ..., (n-1, n] (a value with count c occupies c of them); the quantile q is the
// value at position q*n (the value of rank ceil(q*n), the smallest for q = 0), and a slice of
// quantiles [lo, hi] is the part of the values lying in positions [lo*n, hi*n] (fractional at its
// ends). Not thread-safe (a value type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace gantry::telemetry::metrics {

// The exact smallest and largest value added to a sketch (unknown: infinite). Bucket
// representatives are clamped to them, and thresholds outside them count all or nothing exactly.
struct SketchBounds {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

class Sketch {
 public:
  using Bounds = SketchBounds;
  // Distinct values kept exactly; the sketch switches to buckets when a value beyond it arrives.
  static constexpr size_t kExactLimit = 64;

  void Add(double value, double count = 1);
  void Merge(const Sketch& other);
  bool empty() const;
  double count() const;
  // Whether the values are held exactly (at most kExactLimit distinct values).
  bool exact() const { return !bucketed_; }

  // The value at quantile q in [0, 1] by nearest rank (exact, or within the relative accuracy when
  // bucketed); NaN when empty.
  double Quantile(double q, const Bounds& bounds = {}) const;
  // How many values are <= value (exclusive=false) or < value (exclusive=true); approximate when
  // bucketed.
  double CountBelow(double value, bool exclusive, const Bounds& bounds = {}) const;
  // Count and sum of the values in the positions [lo_q * n, hi_q * n] (the trimmed mean/count/sum
  // statistics by percentage); a value straddling an end counts for the fraction inside.
  struct Slice {
    double count = 0;
    double sum = 0;
  };
  Slice Between(double lo_q, double hi_q, const Bounds& bounds = {}) const;
  // Count and sum of values in [lo, hi] by value (TC/TS/TM with absolute bounds: TM(100:200)).
  Slice BetweenValues(double lo, double hi, bool lo_inclusive, bool hi_inclusive, const Bounds& bounds = {}) const;

  // Form byte 0 (exact): varint k, the k ascending values (a scale byte d in [0, 6], the first
  // value times 10^d as a zigzag varint and k - 1 varint deltas of the scaled values when every
  // value is an integer so scaled; else 255 and k doubles), then the counts; form 1 (bucketed): the zero count, then the positive and the
  // negative store (zigzag offset, varint size, counts). Counts are a mode byte (0: doubles follow,
  // 1: varints follow, 2: every count is 1).
  void Serialize(std::string& out) const;
  // Reads what Serialize wrote at data[pos...], advancing pos; false when malformed.
  bool Deserialize(const std::string& data, size_t& pos);

 private:
  // Counts of consecutive bucket indexes starting at offset; bucket i holds magnitudes in
  // (gamma^(i-1), gamma^i].
  struct Store {
    int offset = 0;
    std::vector<double> counts;
    void Add(int index, double count);
  };
  // Calls f(position, value, count) for every non-empty bucket in ascending order of value, the
  // value being the bucket's representative clamped to bounds.
  template <typename F>
  void ForEachBucket(const Bounds& bounds, F&& f) const;
  // Calls f(value, count) in ascending order of value: the exact values, or the buckets.
  template <typename F>
  void ForEachAscending(const Bounds& bounds, F&& f) const;
  Slice Below(double value, bool exclusive, const Bounds& bounds) const;
  void AddExact(double value, double count);
  void AddToBuckets(double value, double count);
  void ConvertToBuckets();

  bool bucketed_ = false;
  std::vector<std::pair<double, double>> exact_;  // (value, count) ascending, while !bucketed_
  Store positive_;
  Store negative_;  // by the magnitude of the values
  double zero_ = 0;
  double count_ = 0;
};

}  // namespace gantry::telemetry::metrics
