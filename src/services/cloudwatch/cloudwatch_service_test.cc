#include "services/cloudwatch/cloudwatch_service.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "core/common/strings.h"
#include "test_support/service_test.h"

namespace gantry::services::cloudwatch {
namespace {

using aws::Document;
using namespace std::chrono_literals;

constexpr char kAccount[] = "000000000000";
constexpr char kRegion[] = "us-east-1";

class CloudWatchServiceTest : public test_support::ServiceTest<CloudWatchService> {
 protected:
  CloudWatchServiceTest() : ServiceTest("cloudwatch", kAccount, kRegion) {}

  std::unique_ptr<CloudWatchService> MakeService() override {
    return std::make_unique<CloudWatchService>(store_.get(), &clock_, &ids_, nullptr, dir_.path());
  }
  Status Prepare(CloudWatchService& service) override { return service.Open(); }

  void SetUp() override {
    ServiceTest::SetUp();
    now_ = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
    hour_ = std::floor(now_ / 3600) * 3600;  // the start of the current hour: periods align to it
  }

  Document Datum(const std::string& name, double timestamp, Document fields) {
    fields["MetricName"] = name;
    fields["Timestamp"] = timestamp;
    return fields;
  }

  void Put(const std::string& name_space, Document data) {
    Ok("PutMetricData", {{"Namespace", name_space}, {"MetricData", std::move(data)}});
  }

  Document Stats(const std::string& name, double start, double end, int period, Document statistics,
                 Document dimensions = Document::array(), const char* member = "Statistics") {
    Document input = {{"Namespace", "App"},
                      {"MetricName", name},
                      {"StartTime", start},
                      {"EndTime", end},
                      {"Period", period},
                      {member, std::move(statistics)}};
    if (!dimensions.empty()) input["Dimensions"] = std::move(dimensions);
    return Ok("GetMetricStatistics", input);
  }

  std::pair<std::string, std::string> PutError(Document datum, const std::string& name_space = "App") {
    return Error("PutMetricData", {{"Namespace", name_space}, {"MetricData", Document::array({std::move(datum)})}});
  }

  double now_ = 0;
  double hour_ = 0;
};

TEST_F(CloudWatchServiceTest, ValuesCountsAndStatisticSetsAggregateIntoPeriods) {
  Put("App", {Datum("Latency", hour_ + 10, {{"Value", 10}, {"Unit", "Milliseconds"}}),
              Datum("Latency", hour_ + 20, {{"Values", {20, 30}}, {"Counts", {2, 1}}, {"Unit", "Milliseconds"}}),
              Datum("Latency", hour_ + 70, {{"StatisticValues", {{"SampleCount", 4}, {"Sum", 400}, {"Minimum", 50},
                                                                  {"Maximum", 150}}},
                                            {"Unit", "Milliseconds"}})});
  Document out = Stats("Latency", hour_, hour_ + 120, 60, {"SampleCount", "Sum", "Minimum", "Maximum", "Average"});
  EXPECT_EQ(out["Label"], "Latency");
  ASSERT_EQ(out["Datapoints"].size(), 2u);
  Document first = out["Datapoints"][0]["Timestamp"] == hour_ ? out["Datapoints"][0] : out["Datapoints"][1];
  EXPECT_EQ(first["SampleCount"], 4.0);
  EXPECT_EQ(first["Sum"], 80.0);
  EXPECT_EQ(first["Minimum"], 10.0);
  EXPECT_EQ(first["Maximum"], 30.0);
  EXPECT_EQ(first["Average"], 20.0);
  EXPECT_EQ(first["Unit"], "Milliseconds");

  Document whole = Stats("Latency", hour_, hour_ + 120, 120, {"Sum", "SampleCount"});
  ASSERT_EQ(whole["Datapoints"].size(), 1u);
  EXPECT_EQ(whole["Datapoints"][0]["Sum"], 480.0);
  EXPECT_EQ(whole["Datapoints"][0]["SampleCount"], 8.0);
}

TEST_F(CloudWatchServiceTest, PercentilesComeFromTheValuesDistribution) {
  Document values = Document::array(), counts = Document::array();
  for (int v = 1; v <= 100; ++v) {
    values.push_back(v);
    counts.push_back(1);
  }
  Put("App", {Datum("Size", hour_ + 5, {{"Values", values}, {"Counts", counts}})});
  Document out = Stats("Size", hour_, hour_ + 60, 60, {"p99", "p50"}, Document::array(), "ExtendedStatistics");
  ASSERT_EQ(out["Datapoints"].size(), 1u);
  const Document& extended = out["Datapoints"][0]["ExtendedStatistics"];
  EXPECT_NEAR(extended["p99"].get<double>(), 99, 2);
  EXPECT_NEAR(extended["p50"].get<double>(), 50, 2);
  EXPECT_FALSE(out["Datapoints"][0].contains("Sum"));
}

TEST_F(CloudWatchServiceTest, DimensionsAndUnitSelectTheSeries) {
  Put("App", {Datum("Hits", hour_ + 1, {{"Value", 1}, {"Dimensions", {{{"Name", "Host"}, {"Value", "a"}}}}}),
              Datum("Hits", hour_ + 2, {{"Value", 5}, {"Dimensions", {{{"Name", "Host"}, {"Value", "b"}}}}}),
              Datum("Hits", hour_ + 3, {{"Value", 7}, {"Unit", "Count"}})});
  Document a = Stats("Hits", hour_, hour_ + 60, 60, {"Sum"}, {{{"Name", "Host"}, {"Value", "a"}}});
  ASSERT_EQ(a["Datapoints"].size(), 1u);
  EXPECT_EQ(a["Datapoints"][0]["Sum"], 1.0);
  EXPECT_EQ(a["Datapoints"][0]["Unit"], "None");
  Document plain = Stats("Hits", hour_, hour_ + 60, 60, {"Sum"});
  ASSERT_EQ(plain["Datapoints"].size(), 1u);
  EXPECT_EQ(plain["Datapoints"][0]["Sum"], 7.0);
  Document other_unit = Ok("GetMetricStatistics", {{"Namespace", "App"}, {"MetricName", "Hits"},
                                                   {"StartTime", hour_}, {"EndTime", hour_ + 60}, {"Period", 60},
                                                   {"Statistics", {"Sum"}}, {"Unit", "Seconds"}});
  EXPECT_TRUE(other_unit["Datapoints"].empty());
}

TEST_F(CloudWatchServiceTest, PutMetricDataRejectsWhatCloudWatchRejects) {
  EXPECT_EQ(PutError(Datum("M", now_, {{"Value", std::nan("")}})),
            std::make_pair(std::string("InvalidParameterValue"),
                           std::string("The value NaN for parameter MetricData.member.1.Value is invalid.")));
  EXPECT_EQ(PutError(Datum("M", now_, {{"Value", 1}, {"StatisticValues", {{"SampleCount", 1}, {"Sum", 1},
                                                                          {"Minimum", 1}, {"Maximum", 1}}}})),
            std::make_pair(std::string("InvalidParameterCombination"),
                           std::string("The parameters MetricData.member.1.Value and MetricData.member.1."
                                       "StatisticValues are mutually exclusive and you have specified both.")));
  EXPECT_EQ(PutError(Datum("M", now_, {{"Values", {1, 2}}, {"Counts", {1}}})).second,
            "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size.");
  EXPECT_EQ(PutError(Datum("M", now_ - 15 * 86400, {{"Value", 1}})).second,
            "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.");
  EXPECT_EQ(PutError(Datum("M", now_ + 3 * 3600, {{"Value", 1}})).second,
            "The parameter MetricData.member.1.Timestamp must specify a time no more than two hours in the future.");
  EXPECT_EQ(PutError(Datum("M", now_, {{"Value", 1}, {"StorageResolution", 5}})).first, "InvalidParameterValue");
  EXPECT_EQ(PutError(Datum("M", now_, {{"Value", 1}}), "AWS/EC2"),
            std::make_pair(std::string("InvalidParameterValue"),
                           std::string("The value AWS/EC2 for parameter Namespace is invalid.")));
  Document many = Document::array();
  for (int i = 0; i < 151; ++i) many.push_back(i);
  EXPECT_EQ(PutError(Datum("M", now_, {{"Values", many}})).second,
            "The collection MetricData.member.1.Values must not have a size greater than 150.");
  Document thousand = Document::array();
  for (int i = 0; i < 1001; ++i) thousand.push_back(Datum("M", now_, {{"Value", i}}));
  EXPECT_EQ(Error("PutMetricData", {{"Namespace", "App"}, {"MetricData", thousand}}).second,
            "The collection MetricData must not have a size greater than 1000.");
  EXPECT_EQ(Error("PutMetricData", {{"Namespace", "App"}}),
            std::make_pair(std::string("MissingParameter"), std::string("The parameter MetricData is required.")));
  thousand.erase(thousand.end() - 1);
  Ok("PutMetricData", {{"Namespace", "App"}, {"MetricData", thousand}});
}

TEST_F(CloudWatchServiceTest, ServicePrincipalsMayWriteAwsNamespaces) {
  aws::Principal logs = aws::Principal::Root(kAccount);
  logs.service = "logs.amazonaws.com";
  Document input = {{"Namespace", "AWS/Logs"}, {"MetricData", {Datum("IncomingLogEvents", now_, {{"Value", 1}})}}};
  auto result = Call("PutMetricData", input, &logs);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(CloudWatchServiceTest, GetMetricStatisticsChecksPeriodsAndLimits) {
  auto get = [&](double start, double end, int period, Document statistics) {
    Document input = {{"Namespace", "App"}, {"MetricName", "M"}, {"StartTime", start}, {"EndTime", end},
                      {"Period", period}};
    if (!statistics.empty()) input["Statistics"] = statistics;
    return Error("GetMetricStatistics", input);
  };
  EXPECT_EQ(get(hour_, hour_, 60, {"Sum"}).second, "The parameter StartTime must be less than the parameter EndTime.");
  EXPECT_EQ(get(hour_, hour_ + 60, 7, {"Sum"}).first, "InvalidParameterValue");
  EXPECT_EQ(get(hour_, hour_ + 60, 90, {"Sum"}).first, "InvalidParameterValue");
  EXPECT_EQ(get(hour_ - 86400, hour_ + 60, 60, {"Sum"}).second,
            "You have requested up to 1,441 datapoints, which exceeds the limit of 1,440. You may reduce the "
            "datapoints requested by increasing Period, or decreasing the time range.");
  EXPECT_EQ(get(hour_, hour_ + 60, 60, Document::array()).first, "InvalidParameterCombination");

  // Sub-minute periods only reach three hours back.
  Put("App", {Datum("Old", now_ - 4 * 3600, {{"Value", 1}, {"StorageResolution", 1}})});
  EXPECT_TRUE(Stats("Old", now_ - 5 * 3600, now_ - 3.5 * 3600, 30, {"Sum"})["Datapoints"].empty());
  EXPECT_EQ(Stats("Old", now_ - 5 * 3600, now_ - 3.5 * 3600, 60, {"Sum"})["Datapoints"].size(), 1u);
}

TEST_F(CloudWatchServiceTest, ListMetricsFiltersAndPages) {
  Document data = Document::array();
  for (int i = 0; i < 600; ++i) {
    data.push_back(Datum("Req", now_, {{"Value", 1}, {"Dimensions", {{{"Name", "Id"}, {"Value", std::to_string(i)}}}}}));
    if (data.size() == 300) {
      Put("App", data);
      data = Document::array();
    }
  }
  Put("Other", {Datum("Req", now_, {{"Value", 1}, {"Dimensions", {{{"Name", "Stage"}, {"Value", "prod"}}}}})});

  Document first = Ok("ListMetrics", {{"Namespace", "App"}});
  ASSERT_EQ(first["Metrics"].size(), 500u);
  ASSERT_TRUE(first.contains("NextToken"));
  Document second = Ok("ListMetrics", {{"Namespace", "App"}, {"NextToken", first["NextToken"]}});
  EXPECT_EQ(second["Metrics"].size(), 100u);
  EXPECT_FALSE(second.contains("NextToken"));

  Document by_dimension = Ok("ListMetrics", {{"Dimensions", {{{"Name", "Stage"}}}}});
  ASSERT_EQ(by_dimension["Metrics"].size(), 1u);
  EXPECT_EQ(by_dimension["Metrics"][0]["Namespace"], "Other");
  EXPECT_EQ(by_dimension["Metrics"][0]["Dimensions"][0]["Value"], "prod");
  EXPECT_EQ(Ok("ListMetrics", {{"Dimensions", {{{"Name", "Id"}, {"Value", "42"}}}}})["Metrics"].size(), 1u);
  EXPECT_TRUE(Ok("ListMetrics", {{"MetricName", "Nope"}})["Metrics"].empty());

  clock_.Advance(4h);
  EXPECT_TRUE(Ok("ListMetrics", {{"RecentlyActive", "PT3H"}})["Metrics"].empty());
  EXPECT_EQ(Ok("ListMetrics", {{"Namespace", "Other"}})["Metrics"].size(), 1u);
  EXPECT_EQ(Error("ListMetrics", {{"NextToken", "!!"}}).first, "InvalidParameterValue");
  // Well-formed base64 that is not a page token ("hello"; another account's series) is refused too.
  auto [code, message] = Error("ListMetrics", {{"NextToken", "aGVsbG8="}});
  EXPECT_EQ(code, "InvalidParameterValue");
  EXPECT_EQ(message, "The value aGVsbG8= for parameter NextToken is invalid.");
  EXPECT_EQ(Error("ListMetrics", {{"NextToken", Base64Encode("22:111111111111/us-east-1" "3:App" "1:m")}}).first,
            "InvalidParameterValue");
}

TEST_F(CloudWatchServiceTest, DataSurvivesAReopen) {
  Put("App", {Datum("Kept", hour_ + 1, {{"Value", 3}})});
  Close();
  Open();
  Document out = Stats("Kept", hour_, hour_ + 60, 60, {"Sum"});
  ASSERT_EQ(out["Datapoints"].size(), 1u);
  EXPECT_EQ(out["Datapoints"][0]["Sum"], 3.0);
}

TEST_F(CloudWatchServiceTest, DashboardsAreStoredAsGivenListedAndDeleted) {
  std::string body = R"({"widgets": [ {"type":"text","x":0,"y":0,"width":6,"height":3,"properties":{"markdown":"hi"}} ]})";
  Document put = Ok("PutDashboard", {{"DashboardName", "ops-main"}, {"DashboardBody", body}});
  EXPECT_TRUE(put["DashboardValidationMessages"].empty());
  Ok("PutDashboard", {{"DashboardName", "ops-b"}, {"DashboardBody", R"({"widgets":[]})"}});
  Ok("PutDashboard", {{"DashboardName", "dev"}, {"DashboardBody", R"({"widgets":[]})"}});

  Document got = Ok("GetDashboard", {{"DashboardName", "ops-main"}});
  EXPECT_EQ(got["DashboardBody"], body);
  EXPECT_EQ(got["DashboardArn"], "arn:aws:cloudwatch::000000000000:dashboard/ops-main");

  Document listed = Ok("ListDashboards", {{"DashboardNamePrefix", "ops"}});
  ASSERT_EQ(listed["DashboardEntries"].size(), 2u);
  EXPECT_EQ(listed["DashboardEntries"][1]["DashboardName"], "ops-main");
  EXPECT_EQ(listed["DashboardEntries"][1]["Size"], body.size());

  EXPECT_EQ(Error("DeleteDashboards", {{"DashboardNames", {"dev", "missing"}}}),
            std::make_pair(std::string("ResourceNotFound"),
                           std::string("The specified dashboard does not exist. [missing]")));
  Ok("DeleteDashboards", {{"DashboardNames", {"dev", "ops-b"}}});
  EXPECT_EQ(Ok("ListDashboards", Document::object())["DashboardEntries"].size(), 1u);
  EXPECT_EQ(Error("GetDashboard", {{"DashboardName", "dev"}}).first, "ResourceNotFound");
}

TEST_F(CloudWatchServiceTest, InvalidDashboardBodiesNameWhatIsWrong) {
  EXPECT_EQ(Error("PutDashboard", {{"DashboardName", "d"}, {"DashboardBody", "{not json"}}),
            std::make_pair(std::string("InvalidParameterInput"),
                           std::string("The field DashboardBody must be a valid JSON object")));
  auto [code, message] =
      Error("PutDashboard", {{"DashboardName", "d"},
                             {"DashboardBody", R"({"widgets":[{"type":"metric","width":30,"properties":{}}]})"}});
  EXPECT_EQ(code, "InvalidParameterInput");
  EXPECT_EQ(message,
            R"(The dashboard body is invalid, there are 1 validation errors: [ { "message": "Should be <= 24", "dataPath": "/widgets/0/width" } ])");
  EXPECT_EQ(Error("PutDashboard", {{"DashboardName", "a b"}, {"DashboardBody", R"({"widgets":[]})"}}).first,
            "InvalidParameterInput");
  EXPECT_EQ(Error("PutDashboard", {{"DashboardName", "d"}, {"DashboardBody", R"({"widget":[]})"}}).first,
            "InvalidParameterInput");
}

}  // namespace
}  // namespace gantry::services::cloudwatch
