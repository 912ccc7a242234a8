#include "telemetry/metrics/sketch.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string_view>

#include "telemetry/metrics/gorilla.h"

namespace gantry::telemetry::metrics {

namespace {

constexpr double kRelativeAccuracy = 0.01;
const double kGamma = (1 + kRelativeAccuracy) / (1 - kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);
constexpr double kMinIndexable = 1e-9;  // smaller magnitudes count as zero
constexpr size_t kMaxBuckets = 4096;    // per store; the lowest buckets collapse beyond it

int IndexOf(double magnitude) {
  double i = std::ceil(std::log(magnitude) / kLogGamma);
  return static_cast<int>(std::clamp(i, -1e6, 1e6));
}

double ValueOf(int index) { return 2 * std::pow(kGamma, index) / (kGamma + 1); }

// A total order over buckets: (-1, -i) for negative bucket i, (0, 0) for zero, (1, i) for positive.
struct Position {
  int region;
  int index;
  auto operator<=>(const Position&) const = default;
};

Position PositionOf(double value) {
  if (std::fabs(value) < kMinIndexable) return {0, 0};
  if (value > 0) return {1, IndexOf(value)};
  return {-1, -IndexOf(-value)};
}

// q * n, snapped to the nearest integer when it is one but for rounding (0.07 * 100), so that
// ranks that are whole numbers in decimal stay whole.
double PositionAt(double q, double n) {
  double x = std::clamp(q, 0.0, 1.0) * n;
  double r = std::round(x);
  return std::fabs(x - r) <= 1e-12 * std::max(1.0, r) ? r : x;
}

bool Integral(double c) { return c == std::floor(c) && c >= 0 && c < 9e15; }

// A mode byte (0: doubles, 1: varints, 2: all are 1, nothing follows), then the counts.
void PutCounts(std::string& out, std::span<const double> counts) {
  if (!counts.empty() && std::all_of(counts.begin(), counts.end(), [](double c) { return c == 1; })) {
    out.push_back(2);
    return;
  }
  bool integral = std::all_of(counts.begin(), counts.end(), Integral);
  out.push_back(integral ? 1 : 0);
  for (double c : counts) {
    if (integral) {
      PutVarint(out, static_cast<uint64_t>(c));
    } else {
      PutDouble(out, c);
    }
  }
}

// Reads counts.size() counts, each >= 0.
bool GetCounts(std::string_view data, size_t& pos, std::span<double> counts) {
  if (pos >= data.size()) return false;
  uint8_t mode = static_cast<uint8_t>(data[pos++]);
  if (mode > 2) return false;
  for (double& c : counts) {
    if (mode == 2) {
      c = 1;
    } else if (mode == 1) {
      uint64_t v = 0;
      if (!GetVarint(data, pos, v)) return false;
      c = static_cast<double>(v);
    } else if (!GetDouble(data, pos, c) || !(c >= 0) || !std::isfinite(c)) {
      return false;
    }
  }
  return true;
}

void SerializeStore(std::string& out, int offset, const std::vector<double>& counts) {
  PutZigzag(out, offset);
  PutVarint(out, counts.size());
  PutCounts(out, counts);
}

bool DeserializeStore(std::string_view data, size_t& pos, int& offset, std::vector<double>& counts) {
  int64_t off = 0;
  uint64_t n = 0;
  if (!GetZigzag(data, pos, off) || !GetVarint(data, pos, n) || n > kMaxBuckets) return false;
  if (off < -2'000'000 || off > 2'000'000) return false;
  offset = static_cast<int>(off);
  counts.assign(n, 0);
  return GetCounts(data, pos, counts);
}

constexpr double kPowersOfTen[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr uint8_t kRawValues = 255;

// The smallest d for which every value is m / 10^d exactly with |m| < 2^53, or kRawValues.
uint8_t DecimalScale(std::span<const std::pair<double, double>> values) {
  for (uint8_t d = 0; d < std::size(kPowersOfTen); ++d) {
    bool fits = std::all_of(values.begin(), values.end(), [d](const std::pair<double, double>& e) {
      double m = e.first * kPowersOfTen[d];
      return std::fabs(m) < 9007199254740992.0 && std::round(m) / kPowersOfTen[d] == e.first;
    });
    if (fits) return d;
  }
  return kRawValues;
}

}  // namespace

void Sketch::Store::Add(int index, double count) {
  if (counts.empty()) {
    offset = index;
    counts.push_back(count);
    return;
  }
  if (index < offset) {
    if (static_cast<size_t>(offset - index) + counts.size() > kMaxBuckets) {
      // Collapse: the value goes to the lowest bucket kept.
      counts.front() += count;
      return;
    }
    counts.insert(counts.begin(), static_cast<size_t>(offset - index), 0.0);
    offset = index;
  } else if (static_cast<size_t>(index - offset) >= counts.size()) {
    counts.resize(static_cast<size_t>(index - offset) + 1, 0.0);
  }
  counts[static_cast<size_t>(index - offset)] += count;
  if (counts.size() > kMaxBuckets) {
    size_t excess = counts.size() - kMaxBuckets;
    double moved = 0;
    for (size_t i = 0; i < excess; ++i) moved += counts[i];
    counts.erase(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(excess));
    counts.front() += moved;
    offset += static_cast<int>(excess);
  }
}

void Sketch::AddToBuckets(double value, double count) {
  double magnitude = std::fabs(value);
  if (magnitude < kMinIndexable) {
    zero_ += count;
  } else if (value > 0) {
    positive_.Add(IndexOf(magnitude), count);
  } else {
    negative_.Add(IndexOf(magnitude), count);
  }
}

void Sketch::AddExact(double value, double count) {
  auto it = std::lower_bound(exact_.begin(), exact_.end(), value,
                             [](const std::pair<double, double>& e, double v) { return e.first < v; });
  if (it != exact_.end() && it->first == value) {
    it->second += count;
    return;
  }
  exact_.insert(it, {value, count});
  if (exact_.size() > kExactLimit) ConvertToBuckets();
}

void Sketch::ConvertToBuckets() {
  bucketed_ = true;
  for (const auto& [value, count] : exact_) AddToBuckets(value, count);
  exact_.clear();
  exact_.shrink_to_fit();
}

void Sketch::Add(double value, double count) {
  if (!(count > 0) || !std::isfinite(value) || !std::isfinite(count)) return;
  if (value == 0) value = 0;  // -0 is 0
  count_ += count;
  if (bucketed_) {
    AddToBuckets(value, count);
  } else {
    AddExact(value, count);
  }
}

void Sketch::Merge(const Sketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  count_ += other.count_;
  if (!other.bucketed_) {
    for (const auto& [value, count] : other.exact_) {
      if (bucketed_) {
        AddToBuckets(value, count);
      } else {
        AddExact(value, count);
      }
    }
    return;
  }
  if (!bucketed_) ConvertToBuckets();
  zero_ += other.zero_;
  for (size_t i = 0; i < other.positive_.counts.size(); ++i) {
    if (other.positive_.counts[i] > 0) positive_.Add(other.positive_.offset + static_cast<int>(i), other.positive_.counts[i]);
  }
  for (size_t i = 0; i < other.negative_.counts.size(); ++i) {
    if (other.negative_.counts[i] > 0) negative_.Add(other.negative_.offset + static_cast<int>(i), other.negative_.counts[i]);
  }
}

bool Sketch::empty() const { return count_ == 0; }
double Sketch::count() const { return count_; }

template <typename F>
void Sketch::ForEachBucket(const Bounds& bounds, F&& f) const {
  auto clamp = [&bounds](double v) { return std::min(std::max(v, bounds.min), bounds.max); };
  for (size_t i = negative_.counts.size(); i-- > 0;) {
    int index = negative_.offset + static_cast<int>(i);
    if (negative_.counts[i] > 0) f(Position{-1, -index}, clamp(-ValueOf(index)), negative_.counts[i]);
  }
  if (zero_ > 0) f(Position{0, 0}, clamp(0.0), zero_);
  for (size_t i = 0; i < positive_.counts.size(); ++i) {
    int index = positive_.offset + static_cast<int>(i);
    if (positive_.counts[i] > 0) f(Position{1, index}, clamp(ValueOf(index)), positive_.counts[i]);
  }
}

template <typename F>
void Sketch::ForEachAscending(const Bounds& bounds, F&& f) const {
  if (!bucketed_) {
    for (const auto& [value, count] : exact_) f(value, count);
    return;
  }
  ForEachBucket(bounds, [&f](Position, double value, double count) { f(value, count); });
}

double Sketch::Quantile(double q, const Bounds& bounds) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // Nearest rank: the first value whose positions reach q * n (the first value for q = 0).
  double position = PositionAt(q, count_);
  double cumulative = 0;
  double result = std::numeric_limits<double>::quiet_NaN();
  bool found = false;
  ForEachAscending(bounds, [&](double value, double count) {
    if (found) return;
    result = value;
    cumulative += count;
    if (cumulative >= position) found = true;
  });
  return result;
}

Sketch::Slice Sketch::Below(double value, bool exclusive, const Bounds& bounds) const {
  Slice s;
  if (std::isnan(value)) return s;
  if (!bucketed_) {
    for (const auto& [v, count] : exact_) {
      if (v > value || (exclusive && v == value)) break;
      s.count += count;
      s.sum += v * count;
    }
    return s;
  }
  // Beyond the exact bounds the answer is exact: nothing or everything.
  if (value == -std::numeric_limits<double>::infinity() || value < bounds.min || (exclusive && value == bounds.min)) return s;
  bool all = value == std::numeric_limits<double>::infinity() || value > bounds.max || (!exclusive && value == bounds.max);
  Position limit = all ? Position{} : PositionOf(value);
  ForEachBucket(bounds, [&](Position p, double v, double count) {
    if (all || p < limit || (!exclusive && p == limit)) {
      s.count += count;
      s.sum += v * count;
    }
  });
  return s;
}

double Sketch::CountBelow(double value, bool exclusive, const Bounds& bounds) const {
  return Below(value, exclusive, bounds).count;
}

Sketch::Slice Sketch::Between(double lo_q, double hi_q, const Bounds& bounds) const {
  Slice s;
  if (count_ == 0) return s;
  double lo = PositionAt(lo_q, count_);
  double hi = PositionAt(hi_q, count_);
  double cumulative = 0;
  ForEachAscending(bounds, [&](double value, double count) {
    double overlap = std::min(cumulative + count, hi) - std::max(cumulative, lo);
    if (overlap > 0) {
      s.count += overlap;
      s.sum += overlap * value;
    }
    cumulative += count;
  });
  return s;
}

Sketch::Slice Sketch::BetweenValues(double lo, double hi, bool lo_inclusive, bool hi_inclusive, const Bounds& bounds) const {
  if (!bucketed_) {
    Slice s;
    for (const auto& [v, count] : exact_) {
      bool above_lo = v > lo || (lo_inclusive && v == lo);
      bool below_hi = v < hi || (hi_inclusive && v == hi);
      if (above_lo && below_hi) {
        s.count += count;
        s.sum += v * count;
      }
    }
    return s;
  }
  Slice upper = Below(hi, !hi_inclusive, bounds);
  Slice lower = Below(lo, lo_inclusive, bounds);
  return {std::max(0.0, upper.count - lower.count), upper.sum - lower.sum};
}

void Sketch::Serialize(std::string& out) const {
  if (bucketed_) {
    out.push_back(1);
    PutCounts(out, std::span<const double>(&zero_, 1));
    SerializeStore(out, positive_.offset, positive_.counts);
    SerializeStore(out, negative_.offset, negative_.counts);
    return;
  }
  out.push_back(0);
  PutVarint(out, exact_.size());
  uint8_t scale = DecimalScale(exact_);
  out.push_back(static_cast<char>(scale));
  int64_t previous = 0;
  for (size_t i = 0; i < exact_.size(); ++i) {
    if (scale == kRawValues) {
      PutDouble(out, exact_[i].first);
      continue;
    }
    auto m = static_cast<int64_t>(std::round(exact_[i].first * kPowersOfTen[scale]));
    if (i == 0) {
      PutZigzag(out, m);
    } else {
      PutVarint(out, static_cast<uint64_t>(m - previous));
    }
    previous = m;
  }
  std::vector<double> counts;
  counts.reserve(exact_.size());
  for (const auto& e : exact_) counts.push_back(e.second);
  PutCounts(out, counts);
}

bool Sketch::Deserialize(const std::string& data, size_t& pos) {
  Sketch s;
  if (pos >= data.size()) return false;
  uint8_t form = static_cast<uint8_t>(data[pos++]);
  if (form == 1) {
    s.bucketed_ = true;
    if (!GetCounts(data, pos, std::span<double>(&s.zero_, 1))) return false;
    if (!DeserializeStore(data, pos, s.positive_.offset, s.positive_.counts)) return false;
    if (!DeserializeStore(data, pos, s.negative_.offset, s.negative_.counts)) return false;
    s.count_ = s.zero_;
    for (double c : s.positive_.counts) s.count_ += c;
    for (double c : s.negative_.counts) s.count_ += c;
  } else if (form == 0) {
    uint64_t k = 0;
    if (!GetVarint(data, pos, k) || k > kExactLimit || pos >= data.size()) return false;
    uint8_t scale = static_cast<uint8_t>(data[pos++]);
    if (scale != kRawValues && scale >= std::size(kPowersOfTen)) return false;
    s.exact_.resize(k);
    int64_t m = 0;
    for (uint64_t i = 0; i < k; ++i) {
      double& v = s.exact_[i].first;
      if (scale == kRawValues) {
        if (!GetDouble(data, pos, v) || !std::isfinite(v)) return false;
      } else {
        if (i == 0) {
          if (!GetZigzag(data, pos, m)) return false;
        } else {
          uint64_t delta = 0;
          if (!GetVarint(data, pos, delta) || delta > (uint64_t{1} << 54)) return false;
          m += static_cast<int64_t>(delta);
        }
        if (m >= (int64_t{1} << 53) || m <= -(int64_t{1} << 53)) return false;
        v = static_cast<double>(m) / kPowersOfTen[scale];
      }
      if (i > 0 && !(v > s.exact_[i - 1].first)) return false;
    }
    std::vector<double> counts(k);
    if (!GetCounts(data, pos, counts)) return false;
    for (uint64_t i = 0; i < k; ++i) {
      if (!(counts[i] > 0)) return false;
      s.exact_[i].second = counts[i];
      s.count_ += counts[i];
    }
  } else {
    return false;
  }
  *this = std::move(s);
  return true;
}

}  // namespace gantry::telemetry::metrics
