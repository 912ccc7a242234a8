// The anomaly-detection model behind CloudWatch anomaly detectors, ANOMALY_DETECTION_BAND and
// anomaly-band alarms: a robust seasonal baseline (docs/anomaly-detection.md).
//
// Training takes a metric's history (one value per period) and skips excluded time ranges and
// non-finite values. Each datapoint falls into an hour-of-week slot (168) and an hour-of-day slot
// (24) in UTC shifted by the metric's timezone offset. A slot's expected value is the median of its
// values, its spread 1.4826 x the median absolute deviation (MAD) of them (a robust standard
// deviation). Hour-of-week slots are used where they hold data from at least two distinct weeks,
// otherwise hour-of-day slots with data from at least two distinct days, otherwise all the data.
// Between the middles of adjacent hours the expected value and spread are also interpolated
// linearly; the band is the union of the hour's own band and the interpolated one, so it follows a
// steep daily curve and still holds at a step change (weekday to weekend).
// A spread never falls below half the model-wide robust spread of residuals, nor below 0.1% of
// the expected value's magnitude, so a flat metric gets a narrow band, not a zero-width one. The
// band for n standard deviations is expected +- n x spread.
//
// Thread-safety: a trained model is immutable; Predict may be called from several threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace gantry::telemetry::metrics {

struct AnomalyModelOptions {
  std::vector<std::pair<int64_t, int64_t>> excluded_ms;  // [start, end) ranges left out of training
  int64_t utc_offset_seconds = 0;                        // the metric's timezone (seasonal slots)
};

class AnomalyModel {
 public:
  // Fewer datapoints than this leave the model untrained (no band).
  static constexpr size_t kMinDatapoints = 12;

  enum class State { kPendingTraining, kTrainedInsufficientData, kTrained };

  static AnomalyModel Train(std::span<const int64_t> timestamps_ms, std::span<const double> values,
                            const AnomalyModelOptions& options);

  // PENDING_TRAINING below kMinDatapoints; TRAINED_INSUFFICIENT_DATA when the data used span less
  // than a day (no daily seasonality learned yet); TRAINED otherwise.
  State state() const { return state_; }
  bool trained() const { return state_ != State::kPendingTraining; }

  struct Band {
    double expected = 0;
    double lower = 0;
    double upper = 0;
  };
  // The band at a time for `stddevs` standard deviations; nullopt when untrained.
  std::optional<Band> Predict(int64_t timestamp_ms, double stddevs) const;

 private:
  struct Slot {
    bool valid = false;
    double expected = 0;
    double spread = 0;
  };
  Slot SlotAt(int64_t timestamp_ms) const;
  // The slot values at a time, interpolated linearly between the middles of adjacent hours.
  Slot Interpolated(int64_t timestamp_ms) const;

  State state_ = State::kPendingTraining;
  int64_t utc_offset_seconds_ = 0;
  std::array<Slot, 168> week_{};
  std::array<Slot, 24> day_{};
  Slot overall_;
  double spread_floor_ = 0;
};

}  // namespace gantry::telemetry::metrics
