#include "telemetry/metrics/anomaly.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace gantry::telemetry::metrics {

namespace {

constexpr double kMadToStddev = 1.4826;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kWeekMs = 7 * kDayMs;
constexpr size_t kMinSlotValues = 3;

double Median(std::vector<double> values) {
  size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(mid), values.end());
  double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct SlotData {
  std::vector<double> values;
  std::set<int64_t> cycles;  // distinct weeks (week slots) or days (day slots) seen
};

}  // namespace

AnomalyModel AnomalyModel::Train(std::span<const int64_t> timestamps_ms, std::span<const double> values,
                                 const AnomalyModelOptions& options) {
  AnomalyModel model;
  model.utc_offset_seconds_ = options.utc_offset_seconds;
  std::array<SlotData, 168> week;
  std::array<SlotData, 24> day;
  std::vector<double> all;
  int64_t first = 0, last = 0;
  for (size_t i = 0; i < values.size() && i < timestamps_ms.size(); ++i) {
    int64_t t = timestamps_ms[i];
    if (!std::isfinite(values[i])) continue;
    bool excluded = std::any_of(options.excluded_ms.begin(), options.excluded_ms.end(),
                                [&](const auto& r) { return t >= r.first && t < r.second; });
    if (excluded) continue;
    int64_t local = t + options.utc_offset_seconds * 1000;
    // The epoch fell on a Thursday; shift so that week slots start on Monday 00:00.
    int64_t since_monday = local + 3 * kDayMs;
    int64_t week_index = FloorDiv(since_monday, kWeekMs);
    int64_t day_index = FloorDiv(local, kDayMs);
    size_t hour_of_week = static_cast<size_t>(FloorDiv(since_monday - week_index * kWeekMs, kHourMs));
    size_t hour_of_day = static_cast<size_t>(FloorDiv(local - day_index * kDayMs, kHourMs));
    week[hour_of_week].values.push_back(values[i]);
    week[hour_of_week].cycles.insert(week_index);
    day[hour_of_day].values.push_back(values[i]);
    day[hour_of_day].cycles.insert(day_index);
    if (all.empty()) first = last = t;
    first = std::min(first, t);
    last = std::max(last, t);
    all.push_back(values[i]);
  }
  if (all.size() < kMinDatapoints) return model;

  auto fit = [](const std::vector<double>& v) {
    Slot slot;
    slot.valid = true;
    slot.expected = Median(v);
    std::vector<double> deviations;
    deviations.reserve(v.size());
    for (double x : v) deviations.push_back(std::fabs(x - slot.expected));
    slot.spread = kMadToStddev * Median(std::move(deviations));
    return slot;
  };
  model.overall_ = fit(all);
  for (size_t h = 0; h < week.size(); ++h) {
    if (week[h].values.size() >= kMinSlotValues && week[h].cycles.size() >= 2) model.week_[h] = fit(week[h].values);
  }
  for (size_t h = 0; h < day.size(); ++h) {
    if (day[h].values.size() >= kMinSlotValues && day[h].cycles.size() >= 2) model.day_[h] = fit(day[h].values);
  }

  // The model-wide noise level: the robust spread of residuals against each value's slot.
  std::vector<double> residuals;
  residuals.reserve(all.size());
  for (size_t i = 0; i < values.size() && i < timestamps_ms.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    bool excluded = std::any_of(options.excluded_ms.begin(), options.excluded_ms.end(),
                                [&](const auto& r) { return timestamps_ms[i] >= r.first && timestamps_ms[i] < r.second; });
    if (!excluded) residuals.push_back(std::fabs(values[i] - model.Interpolated(timestamps_ms[i]).expected));
  }
  model.spread_floor_ = 0.5 * kMadToStddev * Median(std::move(residuals));
  model.state_ = last - first >= kDayMs ? State::kTrained : State::kTrainedInsufficientData;
  return model;
}

AnomalyModel::Slot AnomalyModel::SlotAt(int64_t timestamp_ms) const {
  int64_t local = timestamp_ms + utc_offset_seconds_ * 1000;
  int64_t since_monday = local + 3 * kDayMs;
  size_t hour_of_week = static_cast<size_t>(FloorDiv(since_monday - FloorDiv(since_monday, kWeekMs) * kWeekMs, kHourMs));
  size_t hour_of_day = static_cast<size_t>(FloorDiv(local - FloorDiv(local, kDayMs) * kDayMs, kHourMs));
  if (week_[hour_of_week].valid) return week_[hour_of_week];
  if (day_[hour_of_day].valid) return day_[hour_of_day];
  return overall_;
}

AnomalyModel::Slot AnomalyModel::Interpolated(int64_t timestamp_ms) const {
  Slot slot = SlotAt(timestamp_ms);
  int64_t local = timestamp_ms + utc_offset_seconds_ * 1000;
  double fraction = static_cast<double>(local - FloorDiv(local, kHourMs) * kHourMs) / static_cast<double>(kHourMs);
  Slot other = SlotAt(fraction < 0.5 ? timestamp_ms - kHourMs : timestamp_ms + kHourMs);
  double weight = std::fabs(fraction - 0.5);  // of the neighbouring slot, 0 at this slot's middle
  slot.expected = (1 - weight) * slot.expected + weight * other.expected;
  slot.spread = (1 - weight) * slot.spread + weight * other.spread;
  return slot;
}

std::optional<AnomalyModel::Band> AnomalyModel::Predict(int64_t timestamp_ms, double stddevs) const {
  if (!trained()) return std::nullopt;
  auto band_of = [&](const Slot& slot) {
    double spread = std::max({slot.spread, spread_floor_, 0.001 * std::fabs(slot.expected), 1e-9});
    return Band{slot.expected, slot.expected - stddevs * spread, slot.expected + stddevs * spread};
  };
  // The hour's own band joined with the band interpolated towards the neighbouring hour: the first
  // holds at a step change (weekday to weekend), the second on a steep curve.
  Band own = band_of(SlotAt(timestamp_ms));
  Band interpolated = band_of(Interpolated(timestamp_ms));
  return Band{interpolated.expected, std::min(own.lower, interpolated.lower), std::max(own.upper, interpolated.upper)};
}

}  // namespace gantry::telemetry::metrics
