#include "services/cloudwatch/metric_validation.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <set>

namespace gantry::services::cloudwatch {

namespace {

using telemetry::metrics::Datum;
using telemetry::metrics::Dimension;
using telemetry::metrics::StatisticSet;

constexpr int64_t kSecond = 1000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kMaxPast = 14 * kDay;
constexpr int64_t kMaxFuture = 2 * kHour;
// CloudWatch accepts values in [-2^360, 2^360]; magnitudes below 2^-260 are rejected as well.
const double kMaxMagnitude = std::ldexp(1.0, 360);
const double kMinMagnitude = std::ldexp(1.0, -260);

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, end);
}

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

Status InvalidValue(double value, const std::string& parameter) {
  return InvalidParameterValue("The value " + FormatNumber(value) + " for parameter " + parameter + " is invalid.");
}

// A double member as the codecs give it: a number, or NaN/Infinity as a number or a string.
std::optional<double> NumberOf(const aws::Document& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "NaN") return std::nan("");
    if (text == "Infinity") return HUGE_VAL;
    if (text == "-Infinity") return -HUGE_VAL;
  }
  return std::nullopt;
}

Status CheckValue(double value, const std::string& parameter) {
  double magnitude = std::fabs(value);
  if (!std::isfinite(value) || magnitude > kMaxMagnitude || (magnitude != 0 && magnitude < kMinMagnitude)) {
    return InvalidValue(value, parameter);
  }
  return Status::Ok();
}

StatusOr<double> ValueAt(const aws::Document& value, const std::string& parameter) {
  std::optional<double> number = NumberOf(value);
  if (!number) return InvalidParameterValue("The value " + value.dump() + " for parameter " + parameter + " is invalid.");
  GANTRY_RETURN_IF_ERROR(CheckValue(*number, parameter));
  return *number;
}

StatusOr<Datum> ParseDatum(const aws::Document& metric, const std::string& path, const std::string& tenant,
                           const std::string& name_space, int64_t now_ms) {
  Datum datum;
  datum.key.tenant = tenant;
  datum.key.name_space = name_space;
  datum.key.metric_name = metric["MetricName"].get<std::string>();
  std::set<std::string> names;
  if (metric.contains("Dimensions")) {
    for (const auto& dimension : metric["Dimensions"]) {
      std::string name = dimension["Name"].get<std::string>();
      if (!names.insert(name).second) {
        return InvalidParameterValue("No metric may have duplicate dimension names. The dimension name " + name +
                                     " appears more than once in " + path + ".Dimensions.");
      }
      datum.key.dimensions.push_back({name, dimension["Value"].get<std::string>()});
    }
  }
  datum.key.Normalize();

  datum.timestamp_ms = now_ms;
  if (metric.contains("Timestamp")) {
    datum.timestamp_ms = static_cast<int64_t>(std::llround(metric["Timestamp"].get<double>() * 1000));
    if (datum.timestamp_ms < now_ms - kMaxPast) {
      return InvalidParameterValue("The parameter " + path + ".Timestamp must specify a time within the past two weeks.");
    }
    if (datum.timestamp_ms > now_ms + kMaxFuture) {
      return InvalidParameterValue("The parameter " + path +
                                   ".Timestamp must specify a time no more than two hours in the future.");
    }
  }
  if (metric.contains("StorageResolution")) {
    int64_t resolution = metric["StorageResolution"].get<int64_t>();
    if (resolution != 1 && resolution != 60) {
      return InvalidParameterValue("The value " + std::to_string(resolution) + " for parameter " + path +
                                   ".StorageResolution is invalid. Valid values are 1 and 60.");
    }
    datum.storage_resolution = static_cast<int>(resolution);
  }
  if (metric.contains("Unit")) datum.unit = metric["Unit"].get<std::string>();

  bool has_value = metric.contains("Value");
  bool has_values = metric.contains("Values") && !metric["Values"].empty();
  bool has_counts = metric.contains("Counts") && !metric["Counts"].empty();
  bool has_statistics = metric.contains("StatisticValues");
  auto exclusive = [&](const char* a, const char* b) {
    return InvalidParameterCombination("The parameters " + path + "." + a + " and " + path + "." + b +
                                       " are mutually exclusive and you have specified both.");
  };
  if (has_value && has_statistics) return exclusive("Value", "StatisticValues");
  if (has_value && has_values) return exclusive("Value", "Values");
  if (has_values && has_statistics) return exclusive("Values", "StatisticValues");
  if (has_counts && !has_values) {
    return InvalidParameterCombination("The parameter " + path + ".Counts must be specified with " + path + ".Values.");
  }

  if (has_value) {
    GANTRY_ASSIGN_OR_RETURN(double value, ValueAt(metric["Value"], path + ".Value"));
    datum.values.push_back({value, 1});
  } else if (has_values) {
    const aws::Document& values = metric["Values"];
    if (values.size() > kMaxValuesPerDatum) {
      return InvalidParameterValue("The collection " + path + ".Values must not have a size greater than " +
                                   std::to_string(kMaxValuesPerDatum) + ".");
    }
    if (has_counts && metric["Counts"].size() != values.size()) {
      return InvalidParameterValue("The parameters " + path + ".Values and " + path +
                                   ".Counts must be of the same size.");
    }
    for (size_t i = 0; i < values.size(); ++i) {
      GANTRY_ASSIGN_OR_RETURN(double value, ValueAt(values[i], path + ".Values.member." + std::to_string(i + 1)));
      double count = 1;
      if (has_counts) {
        std::string count_path = path + ".Counts.member." + std::to_string(i + 1);
        GANTRY_ASSIGN_OR_RETURN(count, ValueAt(metric["Counts"][i], count_path));
        if (count < 0) return InvalidValue(count, count_path);
      }
      if (count > 0) datum.values.push_back({value, count});
    }
  } else if (has_statistics) {
    const aws::Document& set = metric["StatisticValues"];
    std::string set_path = path + ".StatisticValues";
    StatisticSet statistics;
    GANTRY_ASSIGN_OR_RETURN(statistics.sample_count, ValueAt(set["SampleCount"], set_path + ".SampleCount"));
    GANTRY_ASSIGN_OR_RETURN(statistics.sum, ValueAt(set["Sum"], set_path + ".Sum"));
    GANTRY_ASSIGN_OR_RETURN(statistics.minimum, ValueAt(set["Minimum"], set_path + ".Minimum"));
    GANTRY_ASSIGN_OR_RETURN(statistics.maximum, ValueAt(set["Maximum"], set_path + ".Maximum"));
    if (statistics.sample_count <= 0) return InvalidValue(statistics.sample_count, set_path + ".SampleCount");
    if (statistics.minimum > statistics.maximum) {
      return InvalidParameterValue("The parameter " + set_path + ".Maximum must be greater than or equal to " +
                                   set_path + ".Minimum.");
    }
    datum.statistics = statistics;
  } else {
    return InvalidParameterCombination("At least one of the parameters " + path + ".Value, " + path + ".Values or " +
                                       path + ".StatisticValues must be specified.");
  }
  return datum;
}

Status AddData(const aws::Document& metric_data, const std::string& prefix, const std::string& tenant,
               const std::string& name_space, int64_t now_ms, std::vector<Datum>& out) {
  for (size_t i = 0; i < metric_data.size(); ++i) {
    std::string path = prefix + ".member." + std::to_string(i + 1);
    GANTRY_ASSIGN_OR_RETURN(Datum datum, ParseDatum(metric_data[i], path, tenant, name_space, now_ms));
    out.push_back(std::move(datum));
  }
  return Status::Ok();
}

}  // namespace

Status InvalidParameterValue(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterValue");
}

Status InvalidParameterCombination(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidParameterCombination");
}

Status MissingParameter(std::string message) { return Status::InvalidArgument(std::move(message), "MissingParameter"); }

StatusOr<std::vector<Datum>> ParsePutMetricData(const aws::Document& input, const std::string& tenant, TimePoint now,
                                                bool may_use_aws_namespace) {
  std::string name_space = input["Namespace"].get<std::string>();
  if (!may_use_aws_namespace && name_space.rfind("AWS/", 0) == 0) {
    return InvalidParameterValue("The value " + name_space + " for parameter Namespace is invalid.");
  }
  size_t total = 0;
  if (input.contains("MetricData")) total += input["MetricData"].size();
  if (input.contains("EntityMetricData")) {
    for (const auto& entity : input["EntityMetricData"]) {
      if (entity.contains("MetricData")) total += entity["MetricData"].size();
    }
  }
  if (total == 0) return MissingParameter("The parameter MetricData is required.");
  if (total > kMaxMetricsPerPut) {
    return InvalidParameterValue("The collection MetricData must not have a size greater than " +
                                 std::to_string(kMaxMetricsPerPut) + ".");
  }
  int64_t now_ms = ToEpochMillis(now);
  std::vector<Datum> data;
  data.reserve(total);
  if (input.contains("MetricData")) {
    GANTRY_RETURN_IF_ERROR(AddData(input["MetricData"], "MetricData", tenant, name_space, now_ms, data));
  }
  if (input.contains("EntityMetricData")) {
    const aws::Document& entities = input["EntityMetricData"];
    for (size_t i = 0; i < entities.size(); ++i) {
      if (!entities[i].contains("MetricData")) continue;
      std::string prefix = "EntityMetricData.member." + std::to_string(i + 1) + ".MetricData";
      GANTRY_RETURN_IF_ERROR(AddData(entities[i]["MetricData"], prefix, tenant, name_space, now_ms, data));
    }
  }
  return data;
}

Status CheckStatisticsPeriod(int64_t period_seconds, int64_t start_ms, int64_t end_ms) {
  bool high_resolution = period_seconds == 1 || period_seconds == 5 || period_seconds == 10 || period_seconds == 30;
  if (!high_resolution && period_seconds % 60 != 0) {
    return InvalidParameterValue("The parameter Period must be 1, 5, 10, 30 or a multiple of 60.");
  }
  int64_t period_ms = period_seconds * kSecond;
  int64_t datapoints = (end_ms - start_ms + period_ms - 1) / period_ms;
  if (datapoints > kMaxDatapoints) {
    return InvalidParameterValue("You have requested up to " + WithThousands(datapoints) +
                                 " datapoints, which exceeds the limit of " + WithThousands(kMaxDatapoints) +
                                 ". You may reduce the datapoints requested by increasing Period, or decreasing the "
                                 "time range.");
  }
  return Status::Ok();
}

bool PeriodServesStart(int64_t period_seconds, int64_t start_ms, int64_t now_ms) {
  int64_t age = now_ms - start_ms;
  if (age > 63 * kDay) return period_seconds % 3600 == 0;
  if (age > 15 * kDay) return period_seconds % 300 == 0;
  if (age > 3 * kHour) return period_seconds % 60 == 0;
  return true;
}

}  // namespace gantry::services::cloudwatch
