// ScheduleExpression: EventBridge scheduled-rule expressions, rate(value unit) and
// cron(Minutes Hours Day-of-month Month Day-of-week Year), evaluated in UTC at one-minute
// resolution with AWS's cron rules: exactly one of day-of-month and day-of-week is '?'; ',' '-'
// '*' '/' in every field but day-of-week; 'L' and 'W' in day-of-month (L, L-n, LW, nW); 'L' and
// '#' in day-of-week (L, nL, n#k); month names JAN-DEC, weekday names SUN-SAT (1 = Sunday);
// ranges may wrap (hours 20-2, FRI-MON); years 1970-2199.
//
// Immutable after Parse; NextAfter is const and safe from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/clock.h"
#include "core/common/status.h"

namespace gantry::events {

struct CronSchedule;

class ScheduleExpression {
 public:
  // Errors are InvalidArgument with aws_code "ValidationException" and AWS's message
  // "Parameter ScheduleExpression is not valid.".
  static StatusOr<ScheduleExpression> Parse(std::string_view expression);

  // The first fire time strictly after t.
  //   rate(...): t + the rate. A rate schedule starts when its rule is created or enabled, so
  //     callers pass that time for the first fire and the previous fire time afterwards.
  //   cron(...): the first whole minute after t that the expression selects, or TimePoint::max()
  //     when it never fires again (after 2199, or e.g. cron(0 0 30 2 ? *)).
  TimePoint NextAfter(TimePoint t) const;

  bool is_rate() const { return cron_ == nullptr; }
  // The interval of a rate expression (zero for cron).
  Duration rate() const { return rate_; }
  const std::string& expression() const { return expression_; }

 private:
  ScheduleExpression() = default;

  std::string expression_;
  Duration rate_{};
  std::shared_ptr<const CronSchedule> cron_;
};

}  // namespace gantry::events
