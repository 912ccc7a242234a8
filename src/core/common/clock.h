// Clock: the injected source of time. Everything that schedules, expires or timestamps asks a Clock,
// so tests of alarms, schedules and retention run with FakeClock in milliseconds.
// SystemClock is thread-safe; FakeClock is thread-safe (guarded by a mutex).
#pragma once

#include <chrono>
#include <mutex>

namespace gantry {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::system_clock::duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  static SystemClock* Instance();
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1700000000))) : now_(start) {}
  TimePoint Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void Set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

// Seconds since the epoch as a double (the JSON protocols' timestamp form).
double ToEpochSeconds(TimePoint t);
TimePoint FromEpochSeconds(double s);
int64_t ToEpochMillis(TimePoint t);

}  // namespace gantry
