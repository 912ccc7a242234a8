// libFuzzer target for the metric-math language and SEARCH queries (telemetry/metrics/math.h): the
// input is parsed as an expression and, when valid, evaluated against fixed series (ids m1 and m2,
// METRICS(), SEARCH and ANOMALY_DETECTION_BAND callbacks); it is also parsed as a SEARCH query and
// matched against a fixed series key. Any input must yield a Status or a value, never a crash or a
// hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "telemetry/metrics/math.h"

namespace math = gantry::telemetry::metrics::math;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kStart = 1700000040000;
  math::TimeSeries m1{"m1", "M1", 60, {kStart, kStart + 60000, kStart + 180000}, {1, -2, 0}};
  math::TimeSeries m2{"m2", "M2", 300, {kStart, kStart + 300000}, {5, 7}};
  math::EvalContext ctx;
  ctx.start_ms = kStart;
  ctx.end_ms = kStart + 3600000;
  ctx.resolve = [&](const std::string& id) -> gantry::StatusOr<math::Value> {
    if (id == "m1") return math::Value::Series(m1);
    if (id == "m2") return math::Value::Series(m2);
    return gantry::Status::InvalidArgument("Unrecognized identifier");
  };
  ctx.metrics = [&](const std::string&) -> gantry::StatusOr<std::vector<math::TimeSeries>> {
    return std::vector<math::TimeSeries>{m1, m2};
  };
  ctx.search = [&](const math::SearchRequest&) -> gantry::StatusOr<std::vector<math::TimeSeries>> {
    return std::vector<math::TimeSeries>{m2};
  };
  ctx.anomaly_band = [&](const std::string&, double) -> gantry::StatusOr<std::vector<math::TimeSeries>> {
    return std::vector<math::TimeSeries>{m1, m1};
  };
  auto expression = math::Parse(input);
  if (expression.ok()) (void)math::Evaluate(*expression, ctx);
  auto search = math::SearchQuery::Parse(input);
  if (search.ok()) {
    gantry::telemetry::metrics::SeriesKey key{"t", "AWS/EC2", "CPUUtilization", {{"InstanceId", "i-1"}}};
    (void)search->Matches(key);
  }
  return 0;
}
