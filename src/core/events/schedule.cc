#include "core/events/schedule.h"

#include <array>
#include <bitset>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <vector>

namespace gantry::events {

namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;
constexpr int64_t kMaxRateValue = 1'000'000'000;

Status Invalid() {
  return Status::InvalidArgument("Parameter ScheduleExpression is not valid.",
                                 "ValidationException");
}

// ---- Civil calendar (proleptic Gregorian, UTC) ----

int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// AWS numbering: 1 = Sunday ... 7 = Saturday.
int DayOfWeek(int64_t y, int m, int d) {
  int64_t days = DaysFromCivil(y, m, d);
  int64_t w = (days + 4) % 7;  // 1970-01-01 was a Thursday
  if (w < 0) w += 7;
  return static_cast<int>(w) + 1;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// ---- Field parsing ----

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED",
                                                       "THU", "FRI", "SAT"};

struct FieldSpec {
  int min;
  int max;
  const std::string_view* names;  // names[i] is the value min + i (nullptr: numbers only)
  size_t name_count;
};

bool ParseNumber(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool ParseValue(std::string_view s, const FieldSpec& spec, int* out) {
  if (spec.names != nullptr && s.size() == 3 && std::isalpha(static_cast<unsigned char>(s[0]))) {
    for (size_t i = 0; i < spec.name_count; ++i) {
      std::string_view n = spec.names[i];
      bool eq = true;
      for (size_t k = 0; k < 3; ++k) {
        if (std::toupper(static_cast<unsigned char>(s[k])) != n[k]) eq = false;
      }
      if (eq) {
        *out = spec.min + static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  int v;
  if (!ParseNumber(s, &v) || v < spec.min || v > spec.max) return false;
  *out = v;
  return true;
}

// Parses a list of values, ranges (wrapping past max back to min) and steps into a bitset
// indexed by value - min. allow_step is false for day-of-week, where AWS does not allow '/'.
template <size_t N>
bool ParseList(std::string_view field, const FieldSpec& spec, bool allow_step, std::bitset<N>* out) {
  if (field.empty()) return false;
  size_t start = 0;
  while (start <= field.size()) {
    size_t comma = field.find(',', start);
    if (comma == std::string_view::npos) comma = field.size();
    std::string_view item = field.substr(start, comma - start);
    if (item.empty()) return false;
    int step = 1;
    bool has_step = false;
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      if (!allow_step) return false;
      if (!ParseNumber(item.substr(slash + 1), &step) || step < 1) return false;
      item = item.substr(0, slash);
      has_step = true;
    }
    int from, to;
    if (item == "*") {
      from = spec.min;
      to = spec.max;
    } else {
      size_t dash = item.find('-');
      if (dash == std::string_view::npos) {
        if (!ParseValue(item, spec, &from)) return false;
        to = has_step ? spec.max : from;  // "5/10" runs from 5 to the end of the field
      } else {
        if (!ParseValue(item.substr(0, dash), spec, &from)) return false;
        if (!ParseValue(item.substr(dash + 1), spec, &to)) return false;
      }
    }
    int span = spec.max - spec.min + 1;
    int length = (to - from + span) % span + 1;  // number of values from 'from' to 'to', wrapping
    for (int k = 0; k < length; k += step) {
      out->set(static_cast<size_t>((from - spec.min + k) % span));
    }
    if (comma == field.size()) break;
    start = comma + 1;
  }
  return true;
}

}  // namespace

struct CronSchedule {
  enum class DayMode {
    kDaysOfMonth,     // day_of_month bits
    kLastDay,         // L or L-n: the (last - offset)th day
    kLastWeekday,     // LW
    kNearestWeekday,  // nW
    kDaysOfWeek,      // day_of_week bits
    kLastOfWeekday,   // nL: the last given weekday of the month
    kNthWeekday,      // n#k
  };

  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<12> months;  // January is bit 0
  std::bitset<kMaxYear - kMinYear + 1> years;
  DayMode day_mode = DayMode::kDaysOfMonth;
  std::bitset<31> days_of_month;  // the 1st is bit 0
  std::bitset<7> days_of_week;    // Sunday (1) is bit 0
  int day_value = 0;              // offset for L-n, day for nW, weekday for nL and n#k
  int nth = 0;                    // k for n#k

  bool DayMatches(int64_t y, int m, int d) const;
};

bool CronSchedule::DayMatches(int64_t y, int m, int d) const {
  const int last = DaysInMonth(y, m);
  switch (day_mode) {
    case DayMode::kDaysOfMonth:
      return days_of_month.test(static_cast<size_t>(d - 1));
    case DayMode::kLastDay:
      return d == last - day_value;
    case DayMode::kLastWeekday: {
      int w = DayOfWeek(y, m, last);
      int target = w == 7 ? last - 1 : w == 1 ? last - 2 : last;
      return d == target;
    }
    case DayMode::kNearestWeekday: {
      int n = day_value;
      if (n > last) return false;
      int w = DayOfWeek(y, m, n);
      int target = n;
      if (w == 7) target = n == 1 ? 3 : n - 1;          // Saturday: Friday, or Monday the 3rd
      if (w == 1) target = n == last ? n - 2 : n + 1;   // Sunday: Monday, or Friday before
      return d == target;
    }
    case DayMode::kDaysOfWeek:
      return days_of_week.test(static_cast<size_t>(DayOfWeek(y, m, d) - 1));
    case DayMode::kLastOfWeekday:
      return DayOfWeek(y, m, d) == day_value && d + 7 > last;
    case DayMode::kNthWeekday:
      return DayOfWeek(y, m, d) == day_value && (d - 1) / 7 + 1 == nth;
  }
  return false;
}

namespace {

bool ParseDayOfMonth(std::string_view f, CronSchedule* c) {
  static const FieldSpec kSpec{1, 31, nullptr, 0};
  if (f == "L") {
    c->day_mode = CronSchedule::DayMode::kLastDay;
    c->day_value = 0;
    return true;
  }
  if (f == "LW") {
    c->day_mode = CronSchedule::DayMode::kLastWeekday;
    return true;
  }
  if (f.size() > 2 && f.substr(0, 2) == "L-") {
    int offset;
    if (!ParseNumber(f.substr(2), &offset) || offset > 30) return false;
    c->day_mode = CronSchedule::DayMode::kLastDay;
    c->day_value = offset;
    return true;
  }
  if (f.size() > 1 && f.back() == 'W') {
    int day;
    if (!ParseValue(f.substr(0, f.size() - 1), kSpec, &day)) return false;
    c->day_mode = CronSchedule::DayMode::kNearestWeekday;
    c->day_value = day;
    return true;
  }
  c->day_mode = CronSchedule::DayMode::kDaysOfMonth;
  return ParseList(f, kSpec, true, &c->days_of_month);
}

bool ParseDayOfWeek(std::string_view f, CronSchedule* c) {
  static const FieldSpec kSpec{1, 7, kDayNames.data(), kDayNames.size()};
  if (f == "L") {  // the last day of the week: Saturday
    c->day_mode = CronSchedule::DayMode::kDaysOfWeek;
    c->days_of_week.set(6);
    return true;
  }
  size_t hash = f.find('#');
  if (hash != std::string_view::npos) {
    int day, nth;
    if (!ParseValue(f.substr(0, hash), kSpec, &day)) return false;
    if (!ParseNumber(f.substr(hash + 1), &nth) || nth < 1 || nth > 5) return false;
    c->day_mode = CronSchedule::DayMode::kNthWeekday;
    c->day_value = day;
    c->nth = nth;
    return true;
  }
  if (f.size() > 1 && f.back() == 'L') {
    int day;
    if (!ParseValue(f.substr(0, f.size() - 1), kSpec, &day)) return false;
    c->day_mode = CronSchedule::DayMode::kLastOfWeekday;
    c->day_value = day;
    return true;
  }
  c->day_mode = CronSchedule::DayMode::kDaysOfWeek;
  return ParseList(f, kSpec, false, &c->days_of_week);
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

StatusOr<std::shared_ptr<const CronSchedule>> ParseCron(std::string_view body) {
  std::vector<std::string_view> f = SplitFields(body);
  if (f.size() != 6) return Invalid();
  auto c = std::make_shared<CronSchedule>();
  static const FieldSpec kMinutes{0, 59, nullptr, 0};
  static const FieldSpec kHours{0, 23, nullptr, 0};
  static const FieldSpec kMonths{1, 12, kMonthNames.data(), kMonthNames.size()};
  static const FieldSpec kYears{kMinYear, kMaxYear, nullptr, 0};
  if (!ParseList(f[0], kMinutes, true, &c->minutes)) return Invalid();
  if (!ParseList(f[1], kHours, true, &c->hours)) return Invalid();
  if (!ParseList(f[3], kMonths, true, &c->months)) return Invalid();
  if (!ParseList(f[5], kYears, true, &c->years)) return Invalid();

  // Exactly one of day-of-month and day-of-week is '?'.
  bool dom_any = f[2] == "?";
  bool dow_any = f[4] == "?";
  if (dom_any == dow_any) return Invalid();
  if (dow_any) {
    if (!ParseDayOfMonth(f[2], c.get())) return Invalid();
  } else {
    if (!ParseDayOfWeek(f[4], c.get())) return Invalid();
  }
  return std::shared_ptr<const CronSchedule>(std::move(c));
}

bool ParseRate(std::string_view body, Duration* rate) {
  std::vector<std::string_view> f = SplitFields(body);
  if (f.size() != 2) return false;
  int64_t value = 0;
  for (char c : f[0]) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
    if (value > kMaxRateValue) return false;
  }
  if (f[0].empty() || value < 1) return false;
  std::string_view unit = f[1];
  bool singular = value == 1;
  std::chrono::minutes per_unit;
  if (unit == (singular ? "minute" : "minutes")) {
    per_unit = std::chrono::minutes(1);
  } else if (unit == (singular ? "hour" : "hours")) {
    per_unit = std::chrono::hours(1);
  } else if (unit == (singular ? "day" : "days")) {
    per_unit = std::chrono::hours(24);
  } else {
    return false;
  }
  *rate = std::chrono::duration_cast<Duration>(per_unit * value);
  return true;
}

}  // namespace

StatusOr<ScheduleExpression> ScheduleExpression::Parse(std::string_view expression) {
  ScheduleExpression s;
  s.expression_ = std::string(expression);
  if (expression.size() < 6 || expression.back() != ')') return Invalid();
  if (expression.substr(0, 5) == "rate(") {
    if (!ParseRate(expression.substr(5, expression.size() - 6), &s.rate_)) return Invalid();
    return s;
  }
  if (expression.substr(0, 5) == "cron(") {
    GANTRY_ASSIGN_OR_RETURN(s.cron_, ParseCron(expression.substr(5, expression.size() - 6)));
    return s;
  }
  return Invalid();
}

TimePoint ScheduleExpression::NextAfter(TimePoint t) const {
  if (cron_ == nullptr) return t > TimePoint::max() - rate_ ? TimePoint::max() : t + rate_;
  const CronSchedule& c = *cron_;

  // Start at the first whole minute strictly after t.
  int64_t minute_index =
      FloorDiv(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(), 60) +
      1;
  int64_t day_index = FloorDiv(minute_index, 1440);
  int64_t minute_of_day = minute_index - day_index * 1440;
  int64_t y;
  int mo, d;
  CivilFromDays(day_index, &y, &mo, &d);
  int h = static_cast<int>(minute_of_day / 60);
  int mi = static_cast<int>(minute_of_day % 60);
  if (y < kMinYear) {
    y = kMinYear;
    mo = 1;
    d = 1;
    h = 0;
    mi = 0;
  }

  auto next_month = [&]() {
    d = 1;
    h = 0;
    mi = 0;
    if (++mo > 12) {
      mo = 1;
      ++y;
    }
  };
  auto next_day = [&]() {
    h = 0;
    mi = 0;
    if (++d > DaysInMonth(y, mo)) next_month();
  };

  while (y <= kMaxYear) {
    if (!c.years.test(static_cast<size_t>(y - kMinYear))) {
      ++y;
      mo = 1;
      d = 1;
      h = 0;
      mi = 0;
      continue;
    }
    if (!c.months.test(static_cast<size_t>(mo - 1))) {
      next_month();
      continue;
    }
    if (!c.DayMatches(y, mo, d)) {
      next_day();
      continue;
    }
    if (!c.hours.test(static_cast<size_t>(h))) {
      mi = 0;
      if (++h > 23) next_day();
      continue;
    }
    if (!c.minutes.test(static_cast<size_t>(mi))) {
      if (++mi > 59) {
        mi = 0;
        if (++h > 23) next_day();
      }
      continue;
    }
    int64_t minutes = DaysFromCivil(y, mo, d) * 1440 + h * 60 + mi;
    return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::minutes(minutes)));
  }
  return TimePoint::max();
}

}  // namespace gantry::events
