// Data-driven tests of the anomaly model (tests/data/metric_math/anomaly_bands.txt, format at its
// top): synthetic seasonal series with injected anomalies, and what the band contains and excludes.
#include "telemetry/metrics/anomaly.h"
#include "test_support/case_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace gantry::telemetry::metrics {
namespace {

constexpr int64_t kBaseMs = 1700438400000;  // Monday 2023-11-20 00:00:00 UTC
constexpr double kHourMs = 3600.0 * 1000.0;

struct Synthetic {
  double days = 14, period = 300, base = 100, daily = 0, weekend = 0, noise = 0;
  uint64_t seed = 1;

  double Expected(double hours) const {
    double hour_of_day = std::fmod(hours, 24.0);
    int day_of_week = static_cast<int>(std::floor(hours / 24.0)) % 7;  // 0 = Monday
    return base + daily * std::sin(2 * M_PI * hour_of_day / 24.0) + (day_of_week >= 5 ? weekend : 0);
  }
};

struct Case {
  std::string name;
  int line = 0;
  Synthetic synthetic;
  std::vector<std::tuple<double, double, double>> sets;
  std::vector<std::pair<double, double>> excluded;
  std::vector<std::string> expect;
};

std::vector<Case> LoadCases() {
  std::ifstream in(std::filesystem::path(test_support::TestDataDir()) / "metric_math" / "anomaly_bands.txt");
  std::vector<Case> cases;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("===", 0) == 0) {
      cases.push_back({});
      cases.back().name = line.substr(4);
      cases.back().line = line_no;
      continue;
    }
    if (cases.empty()) continue;
    Case& c = cases.back();
    std::string key = line.substr(0, line.find(':'));
    std::istringstream rest(line.substr(line.find(':') + 1));
    if (key == "train") {
      std::map<std::string, double> kv;
      std::string item;
      while (rest >> item) kv[item.substr(0, item.find('='))] = std::stod(item.substr(item.find('=') + 1));
      c.synthetic = {kv["days"], kv["period"], kv["base"], kv["daily"], kv["weekend"], kv["noise"],
                     static_cast<uint64_t>(kv["seed"])};
    } else if (key == "set") {
      double a = 0, b = 0, v = 0;
      rest >> a >> b >> v;
      c.sets.emplace_back(a, b, v);
    } else if (key == "exclude") {
      double a = 0, b = 0;
      rest >> a >> b;
      c.excluded.emplace_back(a, b);
    } else {
      c.expect.push_back(line);
    }
  }
  return cases;
}

void Check(const Case& c) {
  SCOPED_TRACE("anomaly_bands.txt:" + std::to_string(c.line) + " " + c.name);
  const Synthetic& s = c.synthetic;
  std::vector<int64_t> times;
  std::vector<double> values;
  uint64_t state = s.seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (double ms = 0; ms < s.days * 24 * kHourMs; ms += s.period * 1000) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    double uniform = static_cast<double>(state >> 11) / 9007199254740992.0;  // [0, 1)
    double hours = ms / kHourMs;
    double v = s.Expected(hours) + s.noise * (2 * uniform - 1);
    for (const auto& [from, to, value] : c.sets) {
      if (hours >= from && hours < to) v = value;
    }
    times.push_back(kBaseMs + static_cast<int64_t>(ms));
    values.push_back(v);
  }
  AnomalyModelOptions options;
  for (const auto& [from, to] : c.excluded) {
    options.excluded_ms.emplace_back(kBaseMs + static_cast<int64_t>(from * kHourMs), kBaseMs + static_cast<int64_t>(to * kHourMs));
  }
  AnomalyModel model = AnomalyModel::Train(times, values, options);

  for (const std::string& line : c.expect) {
    SCOPED_TRACE(line);
    std::string key = line.substr(0, line.find(':'));
    std::istringstream rest(line.substr(line.find(':') + 1));
    if (key == "state") {
      std::string want;
      rest >> want;
      static const std::map<std::string, AnomalyModel::State> kStates = {
          {"PENDING_TRAINING", AnomalyModel::State::kPendingTraining},
          {"TRAINED_INSUFFICIENT_DATA", AnomalyModel::State::kTrainedInsufficientData},
          {"TRAINED", AnomalyModel::State::kTrained}};
      ASSERT_TRUE(kStates.count(want)) << want;
      EXPECT_EQ(static_cast<int>(model.state()), static_cast<int>(kStates.at(want)));
      continue;
    }
    std::istringstream head(key);
    std::string verb;
    double stddevs = 0;
    head >> verb >> stddevs;
    if (verb == "narrower") {
      double at = 0, width = 0;
      rest >> at >> width;
      auto band = model.Predict(kBaseMs + static_cast<int64_t>(at * kHourMs), stddevs);
      ASSERT_TRUE(band.has_value());
      EXPECT_GT(band->upper - band->lower, 0);
      EXPECT_LT(band->upper - band->lower, width);
      continue;
    }
    ASSERT_TRUE(verb == "contains" || verb == "excludes") << verb;
    double from = 0, to = 0, step = 1, offset = 0;
    rest >> from >> to >> step;
    if (!(rest >> offset)) offset = 0;
    for (double h = from; h < to; h += step) {
      double value = s.Expected(h) + offset;
      auto band = model.Predict(kBaseMs + static_cast<int64_t>(h * kHourMs), stddevs);
      ASSERT_TRUE(band.has_value()) << "untrained model";
      bool inside = value >= band->lower && value <= band->upper;
      EXPECT_EQ(inside, verb == "contains")
          << "hour " << h << ": value " << value << ", band [" << band->lower << ", " << band->upper << "]";
    }
  }
}

TEST(AnomalyModelData, Cases) {
  std::vector<Case> cases = LoadCases();
  ASSERT_GE(cases.size(), 8u);
  for (const Case& c : cases) Check(c);
}

TEST(AnomalyModel, UntrainedGivesNoBand) {
  AnomalyModel model = AnomalyModel::Train({}, {}, {});
  EXPECT_FALSE(model.trained());
  EXPECT_FALSE(model.Predict(kBaseMs, 2).has_value());
}

TEST(AnomalyModel, IgnoresNonFiniteValues) {
  std::vector<int64_t> times;
  std::vector<double> values;
  for (int i = 0; i < 40; ++i) {
    times.push_back(kBaseMs + i * 60000);
    values.push_back(i % 2 ? NAN : 10.0);
  }
  AnomalyModel model = AnomalyModel::Train(times, values, {});
  ASSERT_TRUE(model.trained());
  auto band = model.Predict(kBaseMs, 2);
  ASSERT_TRUE(band.has_value());
  EXPECT_DOUBLE_EQ(band->expected, 10.0);
}

}  // namespace
}  // namespace gantry::telemetry::metrics
