// GetMetricData and the anomaly-detector operations through the service's handlers: MetricStat,
// expressions, SEARCH, ANOMALY_DETECTION_BAND, ScanBy, MaxDatapoints/NextToken and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "services/cloudwatch/cloudwatch_service.h"
#include "test_support/service_test.h"

namespace gantry::services::cloudwatch {
namespace {

using aws::Document;

class MetricDataTest : public test_support::ServiceTest<CloudWatchService> {
 protected:
  MetricDataTest() : ServiceTest("cloudwatch", "000000000000", "us-east-1") {}

  std::unique_ptr<CloudWatchService> MakeService() override {
    return std::make_unique<CloudWatchService>(store_.get(), &clock_, &ids_, nullptr, dir_.path());
  }
  Status Prepare(CloudWatchService& service) override { return service.Open(); }

  void SetUp() override {
    ServiceTest::SetUp();
    double now = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
    hour_ = std::floor(now / 3600) * 3600 - 3600;  // the start of the previous hour
  }

  void Put(const std::string& name, double timestamp, double value, Document dimensions = Document::array(),
           const std::string& name_space = "App") {
    Document datum = {{"MetricName", name}, {"Timestamp", timestamp}, {"Value", value}};
    if (!dimensions.empty()) datum["Dimensions"] = std::move(dimensions);
    Ok("PutMetricData", {{"Namespace", name_space}, {"MetricData", Document::array({datum})}});
  }

  static Document Stat(const std::string& id, const std::string& name, const std::string& stat, int period = 60,
                       Document dimensions = Document::array()) {
    Document metric = {{"Namespace", "App"}, {"MetricName", name}};
    if (!dimensions.empty()) metric["Dimensions"] = std::move(dimensions);
    return {{"Id", id}, {"MetricStat", {{"Metric", metric}, {"Period", period}, {"Stat", stat}}}};
  }

  static Document Expr(const std::string& id, const std::string& expression) {
    return {{"Id", id}, {"Expression", expression}};
  }

  Document Get(Document queries, Document extra = Document::object()) {
    Document input = {{"MetricDataQueries", std::move(queries)}, {"StartTime", hour_}, {"EndTime", hour_ + 600}};
    input.update(extra);
    return Ok("GetMetricData", input);
  }

  std::pair<std::string, std::string> GetError(Document queries) {
    return Error("GetMetricData", {{"MetricDataQueries", std::move(queries)}, {"StartTime", hour_}, {"EndTime", hour_ + 600}});
  }

  static const Document* Result(const Document& out, const std::string& id, size_t nth = 0) {
    for (const auto& r : out["MetricDataResults"]) {
      if (r["Id"] == id && nth-- == 0) return &r;
    }
    return nullptr;
  }

  double hour_ = 0;
};

TEST_F(MetricDataTest, GridsOverTheRequestBudgetAreRefusedWithTheDatapointLimit) {
  double now = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
  Put("Hot", now - 60, 1);
  Document queries = Document::array({Stat("m1", "Hot", "Sum", 1)});
  for (int i = 0; i < 10; ++i) queries.push_back(Expr("f" + std::to_string(i), "FILL(m1, 0)"));
  auto [code, message] = Error("GetMetricData", {{"MetricDataQueries", queries},
                                                 {"StartTime", now - 3 * 3600 + 60},
                                                 {"EndTime", now}});
  EXPECT_EQ(code, "InvalidParameterCombination");
  EXPECT_NE(message.find("which exceeds the limit of 100800"), std::string::npos) << message;
}

TEST_F(MetricDataTest, NoGridsForPeriodsRetentionHasEmptied) {
  double now = std::chrono::duration<double>(clock_.Now().time_since_epoch()).count();
  Put("Hot", now - 60, 1);
  Document queries = Document::array({Stat("m1", "Hot", "Sum", 1)});
  for (int i = 0; i < 100; ++i) queries.push_back(Expr("f" + std::to_string(i), "FILL(m1, 0)"));
  Document out = Ok("GetMetricData", {{"MetricDataQueries", queries},
                                      {"StartTime", now - 11 * 24 * 3600},
                                      {"EndTime", now}});
  ASSERT_EQ(out["MetricDataResults"].size(), 101u);
  for (const auto& r : out["MetricDataResults"]) EXPECT_TRUE(r["Values"].empty()) << r.dump();
}

TEST_F(MetricDataTest, MetricStatAndExpressionsNewestFirst) {
  for (int i = 0; i < 3; ++i) {
    Put("Errors", hour_ + i * 60 + 5, i + 1);
    Put("Requests", hour_ + i * 60 + 5, 10);
    Put("Requests", hour_ + i * 60 + 6, 10);
  }
  Document out = Get({Stat("errors", "Errors", "Sum"), Stat("requests", "Requests", "Sum"),
                      Expr("rate", "errors / requests * 100")});
  ASSERT_EQ(out["MetricDataResults"].size(), 3u);
  const Document* errors = Result(out, "errors");
  ASSERT_NE(errors, nullptr);
  EXPECT_EQ((*errors)["Label"], "Errors");
  EXPECT_EQ((*errors)["StatusCode"], "Complete");
  EXPECT_EQ((*errors)["Values"], Document({3.0, 2.0, 1.0}));
  EXPECT_EQ((*errors)["Timestamps"], Document({hour_ + 120, hour_ + 60, hour_}));
  const Document* rate = Result(out, "rate");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ((*rate)["Label"], "rate");
  EXPECT_EQ((*rate)["Values"], Document({15.0, 10.0, 5.0}));
}

TEST_F(MetricDataTest, ReturnDataLabelsAndScanBy) {
  Put("A", hour_ + 1, 1);
  Put("A", hour_ + 61, 2);
  Put("B", hour_ + 1, 10);
  Document a = Stat("a1", "A", "Average");
  a["ReturnData"] = false;
  Document b = Stat("b1", "B", "Average");
  b["Label"] = "Bee";
  Document e = Expr("e1", "METRICS() * 2");
  e["Label"] = "Doubled";
  Document out = Get({a, b, e}, {{"ScanBy", "TimestampAscending"}});
  EXPECT_EQ(Result(out, "a1"), nullptr);
  ASSERT_NE(Result(out, "b1"), nullptr);
  EXPECT_EQ((*Result(out, "b1"))["Label"], "Bee");
  const Document* first = Result(out, "e1", 0);
  const Document* second = Result(out, "e1", 1);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ((*first)["Label"], "Doubled A");
  EXPECT_EQ((*first)["Values"], Document({2.0, 4.0}));
  EXPECT_EQ((*first)["Timestamps"], Document({hour_, hour_ + 60}));
  EXPECT_EQ((*second)["Label"], "Doubled Bee");
}

TEST_F(MetricDataTest, MaxDatapointsPagesWithNextToken) {
  for (int i = 0; i < 5; ++i) Put("N", hour_ + i * 60, i);
  Document queries = {Stat("m1", "N", "Maximum"), Expr("e1", "m1 + 100")};
  Document page1 = Get(queries, {{"MaxDatapoints", 3}, {"ScanBy", "TimestampAscending"}});
  ASSERT_EQ(page1["MetricDataResults"].size(), 1u);
  EXPECT_EQ(page1["MetricDataResults"][0]["Values"], Document({0.0, 1.0, 2.0}));
  EXPECT_EQ(page1["MetricDataResults"][0]["StatusCode"], "PartialData");
  ASSERT_TRUE(page1.contains("NextToken"));
  Document page2 = Get(queries, {{"MaxDatapoints", 3}, {"ScanBy", "TimestampAscending"}, {"NextToken", page1["NextToken"]}});
  ASSERT_EQ(page2["MetricDataResults"].size(), 2u);
  EXPECT_EQ(page2["MetricDataResults"][0]["Values"], Document({3.0, 4.0}));
  EXPECT_EQ(page2["MetricDataResults"][1]["Values"], Document({100.0}));
  Document page3 = Get(queries, {{"MaxDatapoints", 3}, {"ScanBy", "TimestampAscending"}, {"NextToken", page2["NextToken"]}});
  ASSERT_EQ(page3["MetricDataResults"].size(), 1u);
  EXPECT_EQ(page3["MetricDataResults"][0]["Values"], Document({101.0, 102.0, 103.0}));
  Document page4 = Get(queries, {{"MaxDatapoints", 3}, {"ScanBy", "TimestampAscending"}, {"NextToken", page3["NextToken"]}});
  EXPECT_FALSE(page4.contains("NextToken"));
  EXPECT_EQ(page4["MetricDataResults"][0]["Values"], Document({104.0}));
  EXPECT_EQ(Error("GetMetricData", {{"MetricDataQueries", queries}, {"StartTime", hour_}, {"EndTime", hour_ + 600},
                                    {"NextToken", "bogus"}}).first,
            "InvalidNextToken");
}

TEST_F(MetricDataTest, ArithmeticErrorsAreReportedPerResult) {
  Put("Z", hour_ + 1, 0);
  Put("Z", hour_ + 61, 2);
  Document out = Get({Stat("m1", "Z", "Sum"), Expr("e1", "10 / m1")});
  const Document* e1 = Result(out, "e1");
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ((*e1)["Values"], Document({5.0}));
  ASSERT_EQ((*e1)["Messages"].size(), 1u);
  EXPECT_EQ((*e1)["Messages"][0]["Code"], "ArithmeticError");
}

TEST_F(MetricDataTest, ScalarResultsBecomeSeriesAtTheExpressionPeriod) {
  Put("S", hour_ + 1, 4);
  Put("S", hour_ + 61, 8);
  Document e = Expr("e1", "AVG(m1)");
  e["Period"] = 300;
  Document out = Get({Stat("m1", "S", "Sum"), e}, {{"ScanBy", "TimestampAscending"}});
  const Document* e1 = Result(out, "e1");
  ASSERT_NE(e1, nullptr);
  EXPECT_EQ((*e1)["Timestamps"], Document({hour_, hour_ + 300}));
  EXPECT_EQ((*e1)["Values"], Document({6.0, 6.0}));
}

TEST_F(MetricDataTest, PeriodsFinerThanRetainedGiveNoDatapoints) {
  double old = hour_ - 3 * 3600;  // more than three hours ago: only 1-minute data is kept
  Ok("PutMetricData", {{"Namespace", "App"},
                       {"MetricData", {{{"MetricName", "Hi"}, {"Timestamp", old + 1}, {"Value", 3}, {"StorageResolution", 1}}}}});
  Document input = {{"StartTime", old}, {"EndTime", old + 600}};
  input["MetricDataQueries"] = {Stat("fine", "Hi", "Sum", 1)};
  EXPECT_TRUE(Ok("GetMetricData", input)["MetricDataResults"][0]["Values"].empty());
  input["MetricDataQueries"] = {Stat("minute", "Hi", "Sum", 60)};
  EXPECT_EQ(Ok("GetMetricData", input)["MetricDataResults"][0]["Values"], Document({3.0}));
}

TEST_F(MetricDataTest, SearchFindsStoredSeries) {
  Put("CPU", hour_ + 1, 10, {{{"Name", "Host"}, {"Value", "a"}}});
  Put("CPU", hour_ + 1, 30, {{{"Name", "Host"}, {"Value", "b"}}});
  Put("CPU", hour_ + 1, 99, {{{"Name", "Host"}, {"Value", "c"}}, {{"Name", "Az"}, {"Value", "z"}}});
  Put("Memory", hour_ + 1, 500, {{{"Name", "Host"}, {"Value", "a"}}});
  Document out = Get({Expr("s", "SEARCH('{App,Host} MetricName=\"CPU\"', 'Average', 60)"),
                      Expr("total", "SUM(SEARCH('{App,Host} CPU', 'Sum', 60))")});
  const Document* a = Result(out, "s", 0);
  const Document* b = Result(out, "s", 1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Result(out, "s", 2), nullptr);
  EXPECT_EQ((*a)["Label"], "a CPU");
  EXPECT_EQ((*a)["Values"], Document({10.0}));
  EXPECT_EQ((*b)["Label"], "b CPU");
  EXPECT_EQ((*Result(out, "total"))["Values"], Document({40.0}));
}

TEST_F(MetricDataTest, ValidationErrors) {
  auto code_message = [&](Document queries) { return GetError(std::move(queries)); };
  EXPECT_EQ(code_message({Expr("E1", "1")}).second,
            "The value E1 for parameter MetricDataQueries.member.1.Id is not valid. The Id must start with a lowercase "
            "letter and contain only letters, numbers and underscores.");
  EXPECT_EQ(code_message({Expr("E1", "1")}).first, "ValidationError");
  EXPECT_EQ(code_message({Expr("e1", "1"), Expr("e1", "2")}).second,
            "The value e1 for parameter MetricDataQueries.member.2.Id is not unique.");
  Document both = Stat("m1", "X", "Sum");
  both["Expression"] = "1";
  EXPECT_EQ(code_message({both}).second,
            "The parameters MetricDataQueries.member.1.MetricStat and MetricDataQueries.member.1.Expression are "
            "mutually exclusive.");
  EXPECT_EQ(code_message({{{"Id", "m1"}}}).second,
            "Exactly one of the parameters MetricDataQueries.member.1.MetricStat and MetricDataQueries.member.1."
            "Expression must be specified.");
  EXPECT_EQ(code_message({Stat("m1", "X", "Median")}).second,
            "The value Median for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic.");
  EXPECT_EQ(code_message({Stat("m1", "X", "Sum", 45)}).second,
            "The parameter MetricDataQueries.member.1.MetricStat.Period must be 1, 5, 10, 20, 30, or a multiple of 60.");
  EXPECT_EQ(code_message({Expr("e1", "FOO(1)")}).second, "Error in expression e1: Unrecognized function 'FOO' at position 1");
  EXPECT_EQ(code_message({Expr("e1", "m1 * 2")}).second, "Error in expression e1: Unrecognized identifier 'm1'");
  EXPECT_EQ(code_message({Expr("e1", "e2 + 1"), Expr("e2", "e1 + 1")}).second,
            "Error in expression e1: Circular dependency between expressions");
  EXPECT_EQ(code_message({Stat("m1", "X", "Sum"), Expr("e1", "SORT(m1, AVG, ASC)")}).second,
            "Error in expression e1: Invalid argument for function SORT: expected an array of time series");
  Document many = Document::array();
  for (int i = 0; i < 11; ++i) many.push_back(Expr("s" + std::to_string(i), "SEARCH('x', 'Sum', 60)"));
  EXPECT_EQ(code_message(many).second, "The number of SEARCH expressions in MetricDataQueries must not exceed 10.");
  Document too_many = Document::array();
  for (int i = 0; i < 501; ++i) too_many.push_back(Expr("e" + std::to_string(i), "1"));
  EXPECT_EQ(code_message(too_many).second, "The collection MetricDataQueries must not have a size greater than 500.");
  EXPECT_EQ(Error("GetMetricData", {{"MetricDataQueries", {Expr("e1", "1")}}, {"StartTime", hour_}, {"EndTime", hour_}}).second,
            "The parameter StartTime must be less than the parameter EndTime.");
}

TEST_F(MetricDataTest, AnomalyDetectorsAndTheBand) {
  // Two days of 5-minute data following a daily curve, with one spike in the last hour.
  double start = hour_ - 2 * 86400;
  Document batch = Document::array();
  for (double t = start; t < hour_ + 3600; t += 300) {
    double value = 100 + 20 * std::sin(2 * M_PI * std::fmod(t, 86400) / 86400);
    if (t == hour_ + 1800) value = 1000;
    batch.push_back({{"MetricName", "Load"}, {"Timestamp", t}, {"Value", value}});
    if (batch.size() == 500) {
      Ok("PutMetricData", {{"Namespace", "App"}, {"MetricData", batch}});
      batch = Document::array();
    }
  }
  Ok("PutMetricData", {{"Namespace", "App"}, {"MetricData", batch}});

  Document single = {{"Namespace", "App"}, {"MetricName", "Load"}, {"Stat", "Average"}};
  Ok("PutAnomalyDetector", {{"SingleMetricAnomalyDetector", single},
                            {"Configuration", {{"ExcludedTimeRanges", {{{"StartTime", start}, {"EndTime", start + 600}}}}}}});
  Document described = Ok("DescribeAnomalyDetectors", {{"Namespace", "App"}});
  ASSERT_EQ(described["AnomalyDetectors"].size(), 1u);
  const Document& detector = described["AnomalyDetectors"][0];
  EXPECT_EQ(detector["SingleMetricAnomalyDetector"]["MetricName"], "Load");
  EXPECT_EQ(detector["Stat"], "Average");
  EXPECT_EQ(detector["StateValue"], "TRAINED");
  EXPECT_EQ(detector["Configuration"]["ExcludedTimeRanges"].size(), 1u);
  EXPECT_TRUE(Ok("DescribeAnomalyDetectors", {{"AnomalyDetectorTypes", {"METRIC_MATH"}}})["AnomalyDetectors"].empty());

  Document band = Ok("GetMetricData", {{"MetricDataQueries", {Stat("m1", "Load", "Average", 300),
                                                                Expr("ad1", "ANOMALY_DETECTION_BAND(m1, 2)")}},
                                       {"StartTime", hour_},
                                       {"EndTime", hour_ + 3600},
                                       {"ScanBy", "TimestampAscending"}});
  const Document* m1 = Result(band, "m1");
  const Document* lower = Result(band, "ad1", 0);
  const Document* upper = Result(band, "ad1", 1);
  ASSERT_NE(m1, nullptr);
  ASSERT_NE(lower, nullptr);
  ASSERT_NE(upper, nullptr);
  ASSERT_EQ((*lower)["Values"].size(), 12u);
  ASSERT_EQ((*m1)["Values"].size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    double v = (*m1)["Values"][i].get<double>();
    bool inside = v >= (*lower)["Values"][i].get<double>() && v <= (*upper)["Values"][i].get<double>();
    EXPECT_EQ(inside, v != 1000) << "at " << (*m1)["Timestamps"][i] << ": " << v;
  }

  EXPECT_EQ(Error("DeleteAnomalyDetector", {{"SingleMetricAnomalyDetector", {{"Namespace", "App"}, {"MetricName", "Load"}, {"Stat", "Sum"}}}}).first,
            "ResourceNotFoundException");
  Ok("DeleteAnomalyDetector", {{"SingleMetricAnomalyDetector", single}});
  EXPECT_TRUE(Ok("DescribeAnomalyDetectors", Document::object())["AnomalyDetectors"].empty());
  EXPECT_FALSE(Error("PutAnomalyDetector", {{"Namespace", "App"}, {"MetricName", "Load"}, {"Stat", "Bogus"}}).second.empty());
  EXPECT_EQ(Error("PutAnomalyDetector", Document::object()).first, "MissingParameter");
}

TEST_F(MetricDataTest, MetricMathAnomalyDetector) {
  Document queries = {Stat("m1", "Load", "Sum", 300), Expr("e1", "m1 * 2")};
  queries[0]["ReturnData"] = false;
  Ok("PutAnomalyDetector", {{"MetricMathAnomalyDetector", {{"MetricDataQueries", queries}}}});
  Document described = Ok("DescribeAnomalyDetectors", {{"AnomalyDetectorTypes", {"METRIC_MATH"}}});
  ASSERT_EQ(described["AnomalyDetectors"].size(), 1u);
  EXPECT_EQ(described["AnomalyDetectors"][0]["StateValue"], "PENDING_TRAINING");
  EXPECT_EQ(described["AnomalyDetectors"][0]["MetricMathAnomalyDetector"]["MetricDataQueries"].size(), 2u);
  queries[0]["ReturnData"] = true;
  EXPECT_EQ(Error("PutAnomalyDetector", {{"MetricMathAnomalyDetector", {{"MetricDataQueries", queries}}}}).first,
            "InvalidParameterValue");
}

}  // namespace
}  // namespace gantry::services::cloudwatch
