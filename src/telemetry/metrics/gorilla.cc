#include "telemetry/metrics/gorilla.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

namespace gantry::telemetry::metrics {

namespace {

class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  // Appends the low n bits of v (n <= 64), most significant first.
  void Put(uint64_t v, int n) {
    if (n == 0) return;
    if (n < 64) v &= (uint64_t{1} << n) - 1;
    int free = 64 - used_;
    if (n <= free) {
      acc_ = n == 64 ? v : (acc_ << n) | v;
      used_ += n;
      if (used_ == 64) Flush();
      return;
    }
    int rest = n - free;
    acc_ = (acc_ << free) | (v >> rest);
    Flush();
    acc_ = v & ((uint64_t{1} << rest) - 1);
    used_ = rest;
  }
  void Finish() {
    if (used_ == 0) return;
    acc_ <<= (64 - used_);
    for (int i = 0; i < (used_ + 7) / 8; ++i) out_.push_back(static_cast<char>(acc_ >> (56 - i * 8)));
    acc_ = 0;
    used_ = 0;
  }

 private:
  void Flush() {
    for (int i = 7; i >= 0; --i) out_.push_back(static_cast<char>(acc_ >> (i * 8)));
    acc_ = 0;
    used_ = 0;
  }

  std::string& out_;
  uint64_t acc_ = 0;
  int used_ = 0;
};

class BitReader {
 public:
  BitReader(std::string_view data) : data_(data), bits_(data.size() * 8) {}
  bool Overrun() const { return pos_ > bits_; }
  // Reads n bits (n <= 64); past the end reads zeros and Overrun() turns true.
  uint64_t Get(int n) {
    if (n == 0) return 0;
    if (n > 56) {
      uint64_t hi = Get(n - 32);
      return (hi << 32) | Get(32);
    }
    size_t byte = pos_ >> 3;
    uint64_t word = 0;
    if (byte + 8 <= data_.size()) {
      for (int i = 0; i < 8; ++i) word = (word << 8) | static_cast<uint8_t>(data_[byte + i]);
    } else {
      for (size_t i = 0; i < 8; ++i) word = (word << 8) | (byte + i < data_.size() ? static_cast<uint8_t>(data_[byte + i]) : 0);
    }
    uint64_t v = (word << (pos_ & 7)) >> (64 - n);
    pos_ += n;
    return v;
  }
  bool Bit() { return Get(1) != 0; }
  size_t BytesUsed() const { return (pos_ + 7) / 8; }

 private:
  std::string_view data_;
  size_t bits_;
  size_t pos_ = 0;
};

struct XorColumn {
  uint64_t prev = 0;
  int lead = -1;  // the current window; -1 before the first
  int trail = 0;
};

void PutXor(BitWriter& w, XorColumn& c, double value) {
  uint64_t bits = std::bit_cast<uint64_t>(value);
  uint64_t x = bits ^ c.prev;
  c.prev = bits;
  if (x == 0) {
    w.Put(0, 1);
    return;
  }
  int lead = std::min(std::countl_zero(x), 31);
  int trail = std::countr_zero(x);
  if (c.lead >= 0 && lead >= c.lead && trail >= c.trail) {
    w.Put(0b10, 2);
    w.Put(x >> c.trail, 64 - c.lead - c.trail);
    return;
  }
  int significant = 64 - lead - trail;
  w.Put(0b11, 2);
  w.Put(static_cast<uint64_t>(lead), 5);
  w.Put(static_cast<uint64_t>(significant - 1), 6);
  w.Put(x >> trail, significant);
  c.lead = lead;
  c.trail = trail;
}

double GetXor(BitReader& r, XorColumn& c) {
  if (r.Bit()) {
    if (r.Bit()) {
      c.lead = static_cast<int>(r.Get(5));
      int significant = static_cast<int>(r.Get(6)) + 1;
      c.trail = std::max(0, 64 - c.lead - significant);
    }
    if (c.lead < 0) c.lead = 0;
    int significant = 64 - c.lead - c.trail;
    c.prev ^= r.Get(significant) << c.trail;
  }
  return std::bit_cast<double>(c.prev);
}

// Delta-of-delta buckets: '0'; '10' + 14 bits; '110' + 17; '1110' + 20; '1111' + 64.
void PutDod(BitWriter& w, int64_t dod) {
  auto fits = [dod](int n) { return dod >= -(int64_t{1} << (n - 1)) && dod < (int64_t{1} << (n - 1)); };
  if (dod == 0) {
    w.Put(0, 1);
  } else if (fits(14)) {
    w.Put(0b10, 2);
    w.Put(static_cast<uint64_t>(dod), 14);
  } else if (fits(17)) {
    w.Put(0b110, 3);
    w.Put(static_cast<uint64_t>(dod), 17);
  } else if (fits(20)) {
    w.Put(0b1110, 4);
    w.Put(static_cast<uint64_t>(dod), 20);
  } else {
    w.Put(0b1111, 4);
    w.Put(static_cast<uint64_t>(dod), 64);
  }
}

int64_t SignExtend(uint64_t v, int n) {
  if (n == 64) return static_cast<int64_t>(v);
  uint64_t sign = uint64_t{1} << (n - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}

int64_t GetDod(BitReader& r) {
  if (!r.Bit()) return 0;
  if (!r.Bit()) return SignExtend(r.Get(14), 14);
  if (!r.Bit()) return SignExtend(r.Get(17), 17);
  if (!r.Bit()) return SignExtend(r.Get(20), 20);
  return SignExtend(r.Get(64), 64);
}

}  // namespace

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutZigzag(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutDouble(std::string& out, double v) {
  uint64_t bits = std::bit_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (i * 8)));
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

bool GetVarint(std::string_view data, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && pos < data.size(); shift += 7) {
    uint8_t b = static_cast<uint8_t>(data[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool GetZigzag(std::string_view data, size_t& pos, int64_t& v) {
  uint64_t u = 0;
  if (!GetVarint(data, pos, u)) return false;
  v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

bool GetDouble(std::string_view data, size_t& pos, double& v) {
  if (pos > data.size() || data.size() - pos < 8) return false;
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(data[pos + i])) << (i * 8);
  pos += 8;
  v = std::bit_cast<double>(bits);
  return true;
}

bool GetString(std::string_view data, size_t& pos, std::string& s) {
  uint64_t n = 0;
  if (!GetVarint(data, pos, n) || n > data.size() - pos) return false;
  s.assign(data.substr(pos, n));
  pos += n;
  return true;
}

namespace {

constexpr int kMaxDecimals = 6;
constexpr double kPow10[kMaxDecimals + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr double kIntegerLimit = 9007199254740992.0;  // 2^53

enum : uint8_t { kFixedInterval = 0, kDodTimestamps = 1 };
enum : uint8_t { kUniformKinds = 0, kKindBits = 1 };
enum : uint8_t { kXorValues = 0, kIntegersFromMin = 1, kIntegerDeltas = 2, kIntegerDeltaOfDeltas = 3 };

uint64_t Zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t Unzigzag(uint64_t u) { return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1); }

double FromInteger(int64_t m, int decimals) { return static_cast<double>(m) / kPow10[decimals]; }

// The values as integers m with value == FromInteger(m, decimals) bit for bit, for the smallest
// such decimals; false when there is none (fractions, -0, huge values).
bool ToIntegers(std::span<const ChunkSample> samples, std::vector<int64_t>& m, int& decimals) {
  for (int d = 0; d <= kMaxDecimals; ++d) {
    m.clear();
    for (const ChunkSample& s : samples) {
      double scaled = s.value * kPow10[d];
      if (!(std::fabs(scaled) < kIntegerLimit)) return false;  // larger decimals only grow it
      int64_t x = std::llround(scaled);
      if (std::bit_cast<uint64_t>(FromInteger(x, d)) != std::bit_cast<uint64_t>(s.value)) break;
      m.push_back(x);
    }
    if (m.size() == samples.size()) {
      decimals = d;
      return true;
    }
  }
  return false;
}

// The width w minimizing the bits of codes written as in the header's "values" modes 1-3.
int BestWidth(std::span<const uint64_t> codes, uint64_t& best_bits) {
  uint64_t by_width[65] = {}, all_ones[65] = {};
  for (uint64_t u : codes) {
    int b = std::bit_width(u);
    ++by_width[b];
    if (b > 0 && u == (b == 64 ? ~uint64_t{0} : (uint64_t{1} << b) - 1)) ++all_ones[b];
  }
  int best = 64;
  best_bits = 64 * codes.size();
  if (by_width[0] == codes.size()) {
    best_bits = 0;
    return 0;
  }
  for (int w = 1; w < 64; ++w) {
    uint64_t bits = 0;
    for (int b = 0; b <= 64; ++b) {
      uint64_t escaped = b < w ? 0 : b == w ? all_ones[b] : by_width[b];
      bits += by_width[b] * static_cast<uint64_t>(w) + escaped * static_cast<uint64_t>(6 + b);
    }
    if (bits < best_bits) {
      best_bits = bits;
      best = w;
    }
  }
  return best;
}

void PutCode(BitWriter& w, uint64_t u, int width) {
  if (width == 0) return;
  if (width == 64) {
    w.Put(u, 64);
    return;
  }
  uint64_t escape = (uint64_t{1} << width) - 1;
  if (u < escape) {
    w.Put(u, width);
    return;
  }
  int length = std::bit_width(u);
  w.Put(escape, width);
  w.Put(static_cast<uint64_t>(length - 1), 6);
  w.Put(u, length);
}

uint64_t GetCode(BitReader& r, int width) {
  if (width == 0) return 0;
  uint64_t u = r.Get(width);
  if (width == 64 || u != (uint64_t{1} << width) - 1) return u;
  int length = static_cast<int>(r.Get(6)) + 1;
  return r.Get(length);
}

// The value column as integers (modes 1-3), or "" when the values are not all integers.
std::string EncodeIntegerValues(std::span<const ChunkSample> samples) {
  std::vector<int64_t> m;
  int decimals = 0;
  if (!ToIntegers(samples, m, decimals)) return "";
  uint64_t g = 0;
  int64_t min = m[0];
  for (int64_t x : m) {
    g = std::gcd(g, static_cast<uint64_t>(x > m[0] ? x - m[0] : m[0] - x));
    min = std::min(min, x);
  }
  if (g == 0) g = 1;
  const int64_t step = static_cast<int64_t>(g);
  std::vector<uint64_t> candidates[3];
  for (int64_t x : m) candidates[0].push_back(static_cast<uint64_t>((x - min) / step));
  for (size_t i = 1; i < m.size(); ++i) {
    int64_t delta = (m[i] - m[i - 1]) / step;
    candidates[1].push_back(Zigzag(delta));
    if (i > 1) candidates[2].push_back(Zigzag(delta - (m[i - 1] - m[i - 2]) / step));
  }
  int mode = 0, width = 0;
  uint64_t best_bits = UINT64_MAX;
  for (int c = 0; c < 3; ++c) {
    uint64_t bits = 0;
    int w = BestWidth(candidates[c], bits);
    if (bits < best_bits) {
      best_bits = bits;
      mode = c;
      width = w;
    }
  }
  std::string out;
  out.push_back(static_cast<char>(kIntegersFromMin + mode));
  out.push_back(static_cast<char>(decimals));
  PutVarint(out, g);
  PutZigzag(out, mode == 0 ? min : m[0]);
  if (mode == 2) PutZigzag(out, m.size() > 1 ? (m[1] - m[0]) / step : 0);
  out.push_back(static_cast<char>(width));
  BitWriter w(out);
  for (uint64_t u : candidates[mode]) PutCode(w, u, width);
  w.Finish();
  return out;
}

std::string EncodeXorValues(std::span<const ChunkSample> samples) {
  std::string out(1, static_cast<char>(kXorValues));
  BitWriter w(out);
  XorColumn column;
  for (const ChunkSample& s : samples) PutXor(w, column, s.value);
  w.Finish();
  return out;
}

bool SameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

// Reads a bit stream section at data[pos...] with f(reader); advances pos past it.
template <typename F>
bool ReadSection(std::string_view data, size_t& pos, F&& f) {
  BitReader r(data.substr(pos));
  if (!f(r) || r.Overrun()) return false;
  pos += r.BytesUsed();
  return true;
}

bool DecodeValues(std::string_view data, size_t& pos, std::vector<ChunkSample>& out) {
  if (pos >= data.size()) return false;
  uint8_t mode = static_cast<uint8_t>(data[pos++]);
  if (mode == kXorValues) {
    return ReadSection(data, pos, [&out](BitReader& r) {
      XorColumn column;
      for (ChunkSample& s : out) s.value = GetXor(r, column);
      return true;
    });
  }
  if (mode > kIntegerDeltaOfDeltas || pos >= data.size()) return false;
  int decimals = static_cast<uint8_t>(data[pos++]);
  uint64_t g = 0;
  int64_t base = 0, first_delta = 0;
  if (decimals > kMaxDecimals || !GetVarint(data, pos, g) || !GetZigzag(data, pos, base)) return false;
  if (mode == kIntegerDeltaOfDeltas && !GetZigzag(data, pos, first_delta)) return false;
  if (pos >= data.size()) return false;
  int width = static_cast<uint8_t>(data[pos++]);
  if (width > 64) return false;
  return ReadSection(data, pos, [&](BitReader& r) {
    // Unsigned arithmetic: a malformed chunk decodes to garbage, never to overflow.
    uint64_t m = static_cast<uint64_t>(base), delta = g * static_cast<uint64_t>(first_delta);
    for (size_t i = 0; i < out.size(); ++i) {
      if (mode == kIntegersFromMin) {
        m = static_cast<uint64_t>(base) + g * GetCode(r, width);
      } else if (mode == kIntegerDeltas && i > 0) {
        m += g * static_cast<uint64_t>(Unzigzag(GetCode(r, width)));
      } else if (i > 0) {
        if (i > 1) delta += g * static_cast<uint64_t>(Unzigzag(GetCode(r, width)));
        m += delta;
      }
      out[i].value = FromInteger(static_cast<int64_t>(m), decimals);
    }
    return true;
  });
}

}  // namespace

std::string EncodeChunk(std::span<const ChunkSample> samples, std::span<const std::string> unit_names) {
  // The chunk's own unit table: the units its samples use, in order of first use.
  std::vector<uint16_t> used;
  std::vector<int> local(unit_names.size(), -1);
  for (const ChunkSample& s : samples) {
    if (local[s.unit] < 0) {
      local[s.unit] = static_cast<int>(used.size());
      used.push_back(s.unit);
    }
  }
  std::string out;
  out.reserve(32 + samples.size());
  PutVarint(out, samples.size());
  if (samples.empty()) return out;
  PutZigzag(out, samples.front().timestamp_ms);
  PutVarint(out, used.size());
  for (uint16_t u : used) PutString(out, unit_names[u]);

  // Timestamps.
  const size_t n = samples.size();
  bool fixed = true;
  for (size_t i = 2; i < n && fixed; ++i) {
    fixed = samples[i].timestamp_ms - samples[i - 1].timestamp_ms == samples[1].timestamp_ms - samples[0].timestamp_ms;
  }
  if (fixed) {
    out.push_back(static_cast<char>(kFixedInterval));
    if (n > 1) PutZigzag(out, samples[1].timestamp_ms - samples[0].timestamp_ms);
  } else {
    out.push_back(static_cast<char>(kDodTimestamps));
    BitWriter w(out);
    int64_t prev_delta = 0;
    for (size_t i = 1; i < n; ++i) {
      int64_t delta = samples[i].timestamp_ms - samples[i - 1].timestamp_ms;
      PutDod(w, delta - prev_delta);
      prev_delta = delta;
    }
    w.Finish();
  }

  // Kinds and units.
  bool uniform = std::all_of(samples.begin(), samples.end(), [&](const ChunkSample& s) {
    return s.kind == samples.front().kind && s.unit == samples.front().unit;
  });
  if (uniform) {
    out.push_back(static_cast<char>(kUniformKinds));
    out.push_back(static_cast<char>(samples.front().kind));
    PutVarint(out, static_cast<uint64_t>(local[samples.front().unit]));
  } else {
    out.push_back(static_cast<char>(kKindBits));
    BitWriter w(out);
    SampleKind kind = SampleKind::kValue;
    int unit = 0;
    for (const ChunkSample& s : samples) {
      int u = local[s.unit];
      if (s.kind == kind && u == unit) {
        w.Put(0, 1);
        continue;
      }
      w.Put(1, 1);
      w.Put(static_cast<uint64_t>(s.kind), 2);
      w.Put(static_cast<uint64_t>(u), 16);
      kind = s.kind;
      unit = u;
    }
    w.Finish();
  }

  // Values: the smaller of the two encodings.
  std::string xor_values = EncodeXorValues(samples);
  std::string integer_values = EncodeIntegerValues(samples);
  out.append(!integer_values.empty() && integer_values.size() < xor_values.size() ? integer_values : xor_values);

  // Extras.
  BitWriter w(out);
  XorColumn count, sum, maximum;
  count.prev = std::bit_cast<uint64_t>(1.0);
  for (const ChunkSample& s : samples) {
    if (s.kind == SampleKind::kValue) continue;
    PutXor(w, count, s.count);
    if (s.kind != SampleKind::kStatisticSet) continue;
    bool plain_maximum = SameBits(s.maximum, s.value);
    w.Put(plain_maximum ? 0 : 1, 1);
    if (!plain_maximum) PutXor(w, maximum, s.maximum);
    bool plain_sum = SameBits(s.sum, s.value * s.count);
    w.Put(plain_sum ? 0 : 1, 1);
    if (!plain_sum) PutXor(w, sum, s.sum);
  }
  w.Finish();
  return out;
}

bool DecodeChunk(std::string_view data, std::vector<std::string>& units, std::vector<ChunkSample>& out) {
  out.clear();
  units.clear();
  size_t pos = 0;
  uint64_t n = 0;
  if (!GetVarint(data, pos, n) || n > kChunkSampleLimit) return false;
  if (n == 0) return pos == data.size();
  int64_t ts = 0;
  uint64_t unit_count = 0;
  if (!GetZigzag(data, pos, ts) || !GetVarint(data, pos, unit_count) || unit_count > 65536) return false;
  for (uint64_t i = 0; i < unit_count; ++i) {
    units.emplace_back();
    if (!GetString(data, pos, units.back())) return false;
  }
  out.resize(n);

  // Timestamps.
  if (pos >= data.size()) return false;
  uint8_t ts_mode = static_cast<uint8_t>(data[pos++]);
  if (ts_mode == kFixedInterval) {
    int64_t interval = 0;
    if (n > 1 && !GetZigzag(data, pos, interval)) return false;
    for (ChunkSample& s : out) {
      s.timestamp_ms = ts;
      ts = static_cast<int64_t>(static_cast<uint64_t>(ts) + static_cast<uint64_t>(interval));
    }
  } else if (ts_mode == kDodTimestamps) {
    bool ok = ReadSection(data, pos, [&](BitReader& r) {
      uint64_t t = static_cast<uint64_t>(ts), delta = 0;
      out[0].timestamp_ms = ts;
      for (size_t i = 1; i < n; ++i) {
        delta += static_cast<uint64_t>(GetDod(r));
        t += delta;
        out[i].timestamp_ms = static_cast<int64_t>(t);
      }
      return true;
    });
    if (!ok) return false;
  } else {
    return false;
  }

  // Kinds and units.
  if (pos >= data.size()) return false;
  uint8_t kind_mode = static_cast<uint8_t>(data[pos++]);
  bool extras = false;
  if (kind_mode == kUniformKinds) {
    uint64_t unit = 0;
    if (pos >= data.size()) return false;
    uint8_t kind = static_cast<uint8_t>(data[pos++]);
    if (kind > 2 || !GetVarint(data, pos, unit) || unit >= units.size()) return false;
    for (ChunkSample& s : out) {
      s.kind = static_cast<SampleKind>(kind);
      s.unit = static_cast<uint16_t>(unit);
    }
    extras = kind != 0;
  } else if (kind_mode == kKindBits) {
    bool ok = ReadSection(data, pos, [&](BitReader& r) {
      SampleKind kind = SampleKind::kValue;
      uint16_t unit = 0;
      for (ChunkSample& s : out) {
        if (r.Bit()) {
          uint64_t k = r.Get(2);
          if (k > 2) return false;
          kind = static_cast<SampleKind>(k);
          unit = static_cast<uint16_t>(r.Get(16));
          if (unit >= units.size()) return false;
        }
        s.kind = kind;
        s.unit = unit;
        extras = extras || kind != SampleKind::kValue;
      }
      return true;
    });
    if (!ok) return false;
  } else {
    return false;
  }

  if (!DecodeValues(data, pos, out)) return false;

  // Extras (count, sum and maximum).
  for (ChunkSample& s : out) {
    s.count = 1;
    s.sum = s.value;
    s.maximum = s.value;
  }
  if (extras) {
    bool ok = ReadSection(data, pos, [&out](BitReader& r) {
      XorColumn count, sum, maximum;
      count.prev = std::bit_cast<uint64_t>(1.0);
      for (ChunkSample& s : out) {
        if (s.kind == SampleKind::kValue) continue;
        s.count = GetXor(r, count);
        s.sum = s.value * s.count;
        if (s.kind != SampleKind::kStatisticSet) continue;
        if (r.Bit()) s.maximum = GetXor(r, maximum);
        if (r.Bit()) s.sum = GetXor(r, sum);
      }
      return true;
    });
    if (!ok) return false;
  }
  return pos == data.size();
}

}  // namespace gantry::telemetry::metrics
