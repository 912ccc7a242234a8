#include "core/common/clock.h"

namespace gantry {

SystemClock* SystemClock::Instance() {
  static SystemClock clock;
  return &clock;
}

double ToEpochSeconds(TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

TimePoint FromEpochSeconds(double s) {
  return TimePoint(std::chrono::round<Duration>(std::chrono::duration<double>(s)));
}

int64_t ToEpochMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace gantry
