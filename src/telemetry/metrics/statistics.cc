#include "telemetry/metrics/statistics.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace gantry::telemetry::metrics {

namespace {

using Kind = Statistic::Kind;

Status Invalid(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("Invalid statistic '" + std::string(text) + "': " + std::string(why) + ".");
}

// A number as the statistics write it: digits with up to 10 decimals, optionally signed (only
// absolute bounds may be negative).
std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  size_t digits = 0, decimals = 0;
  bool dot = false;
  for (; i < s.size(); ++i) {
    if (s[i] == '.' && !dot) {
      dot = true;
    } else if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      (dot ? decimals : digits)++;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || (dot && decimals == 0) || decimals > 10) return std::nullopt;
  double v = 0;
  std::string copy(s[0] == '+' ? s.substr(1) : s);
  auto [end, ec] = std::from_chars(copy.data(), copy.data() + copy.size(), v);
  if (ec != std::errc() || end != copy.data() + copy.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool SameCase(std::string_view s, bool upper) {
  return std::all_of(s.begin(), s.end(), [upper](char c) { return upper ? std::isupper(static_cast<unsigned char>(c)) : std::islower(static_cast<unsigned char>(c)); });
}

}  // namespace

StatusOr<Statistic> ParseStatistic(std::string_view text) {
  Statistic st;
  st.text = std::string(text);
  static const std::pair<const char*, Kind> kSimple[] = {
      {"SampleCount", Kind::kSampleCount}, {"Sum", Kind::kSum}, {"Average", Kind::kAverage},
      {"Minimum", Kind::kMinimum}, {"Maximum", Kind::kMaximum}};
  for (const auto& [name, kind] : kSimple) {
    if (text == name) {
      st.kind = kind;
      return st;
    }
  }
  if (text == "IQM" || text == "iqm") {
    st.kind = Kind::kIqm;
    st.lo = 25;
    st.hi = 75;
    return st;
  }
  if (text.empty()) return Invalid(text, "a statistic is required");
  size_t prefix_end = 0;
  while (prefix_end < text.size() && std::isalpha(static_cast<unsigned char>(text[prefix_end]))) ++prefix_end;
  std::string_view prefix = text.substr(0, prefix_end);
  std::string_view rest = text.substr(prefix_end);
  if (prefix.empty() || (!SameCase(prefix, false) && !SameCase(prefix, true))) {
    return Invalid(text, "expected SampleCount, Sum, Average, Minimum, Maximum or an extended statistic such as p99, tm90, TM(10%:90%), wm99, IQM, tc90, ts90 or PR(:300)");
  }
  std::string lower(prefix);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, Kind> kExtended[] = {
      {"p", Kind::kPercentile}, {"tm", Kind::kTrimmedMean}, {"wm", Kind::kWinsorizedMean},
      {"tc", Kind::kTrimmedCount}, {"ts", Kind::kTrimmedSum}, {"pr", Kind::kPercentileRank}};
  bool known = false;
  for (const auto& [name, kind] : kExtended) {
    if (lower == name) {
      st.kind = kind;
      known = true;
    }
  }
  if (!known) {
    return Invalid(text, "expected SampleCount, Sum, Average, Minimum, Maximum or an extended statistic such as p99, tm90, TM(10%:90%), wm99, IQM, tc90, ts90 or PR(:300)");
  }
  if (rest.empty()) return Invalid(text, "a number or a range in parentheses must follow '" + std::string(prefix) + "'");

  if (rest.front() != '(') {
    // pNN.NN, tmNN, wmNN, tcNN, tsNN: one percentage, the upper bound.
    if (st.kind == Kind::kPercentileRank) return Invalid(text, "percentile rank takes a range of values, as in PR(:300) or PR(100:2000)");
    std::optional<double> v = ParseNumber(rest);
    if (!v || rest.front() == '-' || rest.front() == '+') return Invalid(text, "'" + std::string(rest) + "' is not a number with at most 10 decimal places");
    if (*v < 0 || *v > 100) return Invalid(text, "the percentage must be between 0 and 100");
    if (st.kind == Kind::kPercentile) st.lo = *v;
    st.hi = *v;
    return st;
  }

  if (st.kind == Kind::kPercentile) return Invalid(text, "a percentile takes one number, as in p99 or p99.9");
  if (rest.back() != ')') return Invalid(text, "missing ')'");
  std::string_view inner = rest.substr(1, rest.size() - 2);
  size_t colon = inner.find(':');
  if (colon == std::string_view::npos) return Invalid(text, "a range is written (lower:upper), either bound may be omitted");
  std::string_view parts[2] = {inner.substr(0, colon), inner.substr(colon + 1)};
  if (parts[0].empty() && parts[1].empty()) return Invalid(text, "at least one bound of the range is required");
  std::optional<double> bounds[2];
  int percents = 0, numbers = 0;
  for (int i = 0; i < 2; ++i) {
    std::string_view p = parts[i];
    if (p.empty()) continue;
    bool percent = p.back() == '%';
    if (percent) p.remove_suffix(1);
    bounds[i] = ParseNumber(p);
    if (!bounds[i]) return Invalid(text, "'" + std::string(parts[i]) + "' is not a number with at most 10 decimal places");
    ++numbers;
    if (percent) {
      ++percents;
      if (*bounds[i] < 0 || *bounds[i] > 100) return Invalid(text, "a percentage must be between 0 and 100");
    }
  }
  if (percents != 0 && percents != numbers) return Invalid(text, "both bounds must be percentages or both absolute values");
  st.absolute = percents == 0;
  if (st.kind == Kind::kPercentileRank && !st.absolute) return Invalid(text, "percentile rank bounds are values, not percentages");
  if (st.kind == Kind::kWinsorizedMean && st.absolute) return Invalid(text, "winsorized mean bounds are percentages, as in WM(10%:90%)");
  if (bounds[0] && bounds[1] && *bounds[0] > *bounds[1]) return Invalid(text, "the lower bound is greater than the upper bound");
  st.lo = bounds[0];
  st.hi = bounds[1];
  return st;
}

std::optional<double> Compute(const Statistic& statistic, const Aggregate& a) {
  if (!(a.sample_count > 0)) return std::nullopt;
  const Sketch& sketch = a.sketch;
  // The exact bounds keep results within [Minimum, Maximum] and make equal values exact.
  const Sketch::Bounds bounds{a.minimum, a.maximum};
  switch (statistic.kind) {
    case Kind::kSampleCount:
      return a.sample_count;
    case Kind::kSum:
      return a.sum;
    case Kind::kAverage:
      return a.sum / a.sample_count;
    case Kind::kMinimum:
      return a.minimum;
    case Kind::kMaximum:
      return a.maximum;
    default:
      break;
  }
  if (sketch.empty()) return std::nullopt;
  double n = sketch.count();
  double lo_pct = statistic.lo.value_or(0);
  double hi_pct = statistic.hi.value_or(100);
  if (statistic.kind == Kind::kPercentile) {
    double p = statistic.hi.value_or(lo_pct);
    if (p <= 0) return a.minimum;
    if (p >= 100) return a.maximum;
    return sketch.Quantile(p / 100, bounds);
  }
  if (statistic.kind == Kind::kPercentileRank) {
    double lo = statistic.lo.value_or(-std::numeric_limits<double>::infinity());
    double hi = statistic.hi.value_or(std::numeric_limits<double>::infinity());
    return 100 * sketch.BetweenValues(lo, hi, false, true, bounds).count / n;
  }
  if (statistic.kind == Kind::kWinsorizedMean) {
    double ql = lo_pct / 100, qh = hi_pct / 100;
    Sketch::Slice mid = sketch.Between(ql, qh, bounds);
    double low_value = ql <= 0 ? a.minimum : sketch.Quantile(ql, bounds);
    double high_value = qh >= 1 ? a.maximum : sketch.Quantile(qh, bounds);
    if (a.minimum == a.maximum) return a.minimum;
    return std::clamp((mid.sum + ql * n * low_value + (1 - qh) * n * high_value) / n, a.minimum, a.maximum);
  }
  Sketch::Slice slice;
  if (statistic.absolute) {
    double lo = statistic.lo.value_or(-std::numeric_limits<double>::infinity());
    double hi = statistic.hi.value_or(std::numeric_limits<double>::infinity());
    slice = sketch.BetweenValues(lo, hi, false, true, bounds);
  } else {
    slice = sketch.Between(lo_pct / 100, hi_pct / 100, bounds);
  }
  switch (statistic.kind) {
    case Kind::kTrimmedMean:
    case Kind::kIqm:
      if (!(slice.count > 0)) return std::nullopt;
      if (a.minimum == a.maximum) return a.minimum;  // exact, without the slice's rounding
      return std::clamp(slice.sum / slice.count, a.minimum, a.maximum);
    case Kind::kTrimmedCount:
      return slice.count;
    case Kind::kTrimmedSum:
      return a.minimum == a.maximum ? slice.count * a.minimum : slice.sum;
    default:
      return std::nullopt;
  }
}

}  // namespace gantry::telemetry::metrics
