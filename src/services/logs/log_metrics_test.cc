#include "services/logs/log_metrics.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "services/logs/logs_service.h"
#include "test_support/service_test.h"

namespace gantry::services::logs {
namespace {

using telemetry::logs::NewEvent;

constexpr int64_t kNow = 1700000000000;

Document Filter(const std::string& pattern, Document transformation) {
  return {{"filterName", "f"}, {"filterPattern", pattern}, {"metricTransformations", Document::array({transformation})}};
}

std::vector<MetricBatch> Evaluate(const std::vector<Document>& filters, const std::vector<std::string>& messages) {
  std::vector<NewEvent> events;
  for (size_t i = 0; i < messages.size(); ++i) events.push_back({kNow - 1000 + static_cast<int64_t>(i), messages[i]});
  return MetricsFromEvents(filters, events, kNow);
}

TEST(LogMetricsTest, TermFiltersCountMatchingEvents) {
  auto batches = Evaluate({Filter("ERROR", {{"metricName", "Errors"}, {"metricNamespace", "App"}, {"metricValue", "1"},
                                       {"unit", "Count"}})},
                     {"INFO ok", "ERROR bad", "ERROR worse"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].name_space, "App");
  ASSERT_EQ(batches[0].metric_data.size(), 2u);
  EXPECT_EQ(batches[0].metric_data[0]["MetricName"], "Errors");
  EXPECT_EQ(batches[0].metric_data[0]["Value"], 1.0);
  EXPECT_EQ(batches[0].metric_data[0]["Unit"], "Count");
  EXPECT_EQ(batches[0].metric_data[0]["Timestamp"], (kNow - 999) / 1000.0);
}

TEST(LogMetricsTest, ValuesAndDimensionsComeFromJsonPathsAndDelimitedFields) {
  auto json = Evaluate({Filter("{ $.latency > 0 }", {{"metricName", "Latency"}, {"metricNamespace", "App"},
                                                {"metricValue", "$.latency"},
                                                {"dimensions", {{"Route", "$.route.path"}}}})},
                  {R"({"latency": 12.5, "route": {"path": "/a"}})", R"({"latency": 0})", "not json"});
  ASSERT_EQ(json.size(), 1u);
  ASSERT_EQ(json[0].metric_data.size(), 1u);
  EXPECT_EQ(json[0].metric_data[0]["Value"], 12.5);
  EXPECT_EQ(json[0].metric_data[0]["Dimensions"][0], Document({{"Name", "Route"}, {"Value", "/a"}}));

  auto delimited = Evaluate({Filter("[ip, user, status, bytes]", {{"metricName", "Bytes"}, {"metricNamespace", "Web"},
                                                              {"metricValue", "$bytes"},
                                                              {"dimensions", {{"Status", "$status"}}}})},
                       {"1.2.3.4 bob 200 512", "1.2.3.4 bob 404 -"});
  ASSERT_EQ(delimited.size(), 1u);
  ASSERT_EQ(delimited[0].metric_data.size(), 1u) << delimited[0].metric_data.dump();
  EXPECT_EQ(delimited[0].metric_data[0]["Value"], 512.0);
  EXPECT_EQ(delimited[0].metric_data[0]["Dimensions"][0]["Value"], "200");
}

TEST(LogMetricsTest, DefaultValueIsReportedWhenNothingMatches) {
  Document t = {{"metricName", "Errors"}, {"metricNamespace", "App"}, {"metricValue", "1"}, {"defaultValue", 0}};
  auto none = Evaluate({Filter("ERROR", t)}, {"INFO a", "INFO b"});
  ASSERT_EQ(none.size(), 1u);
  ASSERT_EQ(none[0].metric_data.size(), 1u);
  EXPECT_EQ(none[0].metric_data[0]["Value"], 0);
  EXPECT_EQ(none[0].metric_data[0]["Timestamp"], kNow / 1000.0);
  EXPECT_EQ(Evaluate({Filter("ERROR", t)}, {"ERROR"})[0].metric_data.size(), 1u);
}

TEST(LogMetricsTest, EmbeddedMetricFormatProducesOneDatumPerDimensionSetAndMetric) {
  std::string emf = R"({"_aws": {"Timestamp": 1699999990000, "CloudWatchMetrics": [{"Namespace": "Shop",
      "Dimensions": [["Service"], ["Service", "Op"]],
      "Metrics": [{"Name": "Time", "Unit": "Milliseconds"}, {"Name": "Sizes"}]}]},
      "Service": "cart", "Op": "add", "Time": 42, "Sizes": [1, 2, 3]})";
  auto batches = Evaluate({}, {emf, R"({"_aws": "nonsense"})", "plain"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].name_space, "Shop");
  const Document& data = batches[0].metric_data;
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0]["MetricName"], "Time");
  EXPECT_EQ(data[0]["Values"], Document::array({42}));
  EXPECT_EQ(data[0]["Unit"], "Milliseconds");
  EXPECT_EQ(data[0]["Timestamp"], 1699999990.0);
  EXPECT_EQ(data[0]["Dimensions"].size(), 1u);
  EXPECT_EQ(data[3]["MetricName"], "Sizes");
  EXPECT_EQ(data[3]["Dimensions"].size(), 2u);
  EXPECT_EQ(data[3]["Values"].size(), 3u);
}

TEST(LogMetricsTest, DataPutMetricDataWouldRejectIsDropped) {
  std::string old = R"({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]],
      "Metrics": [{"Name": "M"}]}]}, "M": 1})";
  EXPECT_TRUE(Evaluate({}, {old}).empty());
}

// Records the calls the logs service makes to other services.
class RecordingClient : public aws::Client {
 public:
  struct Recorded {
    aws::Principal principal;
    std::string service, operation;
    Document input;
  };
  StatusOr<Document> Call(const aws::Principal& principal, std::string_view service, std::string_view operation,
                          const Document& input, std::string_view region) override {
    std::lock_guard lock(mu_);
    calls.push_back({principal, std::string(service), std::string(operation), input});
    return Document::object();
  }
  std::mutex mu_;
  std::vector<Recorded> calls;
};

class LogMetricsServiceTest : public test_support::ServiceTest<LogsService> {
 protected:
  LogMetricsServiceTest() : ServiceTest("logs", "000000000000", "us-east-1") {}
  std::unique_ptr<LogsService> MakeService() override {
    telemetry::logs::LogStoreOptions engine;
    engine.root = dir_.File("logs");
    return std::make_unique<LogsService>(store_.get(), &clock_, &ids_, engine, &client_);
  }
  Status Prepare(LogsService& service) override { return service.Start(); }
  RecordingClient client_;
};

TEST_F(LogMetricsServiceTest, PutLogEventsPublishesAsTheLogsServicePrincipal) {
  Ok("CreateLogGroup", {{"logGroupName", "/app"}});
  Ok("CreateLogStream", {{"logGroupName", "/app"}, {"logStreamName", "s"}});
  Ok("PutMetricFilter", {{"logGroupName", "/app"}, {"filterName", "errors"}, {"filterPattern", "ERROR"},
                         {"metricTransformations", {{{"metricName", "Errors"}, {"metricNamespace", "App"},
                                                     {"metricValue", "1"}}}}});
  int64_t now = ToEpochMillis(clock_.Now());
  Ok("PutLogEvents", {{"logGroupName", "/app"}, {"logStreamName", "s"},
                      {"logEvents", {{{"timestamp", now}, {"message", "ERROR x"}}, {{"timestamp", now}, {"message", "ok"}}}}});
  ASSERT_EQ(client_.calls.size(), 1u);
  const auto& call = client_.calls[0];
  EXPECT_EQ(call.service, "cloudwatch");
  EXPECT_EQ(call.operation, "PutMetricData");
  EXPECT_EQ(call.principal.service, "logs.amazonaws.com");
  EXPECT_EQ(call.input["Namespace"], "App");
  EXPECT_EQ(call.input["MetricData"].size(), 1u);
}

}  // namespace
}  // namespace gantry::services::logs
