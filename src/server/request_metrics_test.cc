#include "server/request_metrics.h"

#include <gtest/gtest.h>

#include "core/aws/model.h"

namespace gantry::server {
namespace {

using namespace std::chrono_literals;

class RequestMetricsTest : public ::testing::Test {
 protected:
  // A request to service:operation that arrived `took` ago; HTTP unless `in_process`.
  void Complete(const std::string& service, const std::string& operation, Duration took, const Status& result,
                bool in_process = false) {
    aws::RequestContext ctx;
    ctx.model = aws::ModelRegistry::Instance().Get(service);
    ASSERT_NE(ctx.model, nullptr);
    ctx.operation = ctx.model->FindOperation(operation);
    ASSERT_NE(ctx.operation, nullptr);
    ctx.time = clock_.Now() - took;
    ctx.http = in_process ? nullptr : &http_;
    metrics_.OnRequestComplete(ctx, aws::Document::object(), result);
  }

  std::string Text() const {
    std::string out;
    metrics_.WritePrometheus(out);
    return out;
  }

  FakeClock clock_;
  http::Request http_;
  RequestMetrics metrics_{&clock_};
};

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST_F(RequestMetricsTest, CountsByServiceOperationStatusClassAndCaller) {
  Complete("ssm", "GetParameter", 2ms, Status::Ok());
  Complete("ssm", "GetParameter", 3ms, Status::Ok());
  Complete("ssm", "GetParameter", 1ms, Status::NotFound("no", "ParameterNotFound"));
  Complete("ssm", "GetParameter", 1ms, Status::Internal("boom"));
  Complete("logs", "PutLogEvents", 1ms, Status::Ok(), /*in_process=*/true);
  std::string text = Text();
  EXPECT_TRUE(Has(text, "# TYPE gantry_aws_requests_total counter")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_requests_total{service="ssm",operation="GetParameter",status_class="2xx",caller="client"} 2)"))
      << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_requests_total{service="ssm",operation="GetParameter",status_class="4xx",caller="client"} 1)"))
      << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_requests_total{service="ssm",operation="GetParameter",status_class="5xx",caller="client"} 1)"))
      << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_requests_total{service="logs",operation="PutLogEvents",status_class="2xx",caller="service"} 1)"))
      << text;
}

TEST_F(RequestMetricsTest, LatencyHistogramIsCumulativePerService) {
  Complete("ssm", "GetParameter", 2ms, Status::Ok());      // le 0.0025
  Complete("ssm", "PutParameter", 40ms, Status::Ok());     // le 0.05
  Complete("ssm", "GetParameter", 30s, Status::Ok());      // only +Inf
  Complete("events", "PutEvents", 1ms, Status::Ok());      // le 0.001 (bounds are inclusive)
  std::string text = Text();
  EXPECT_TRUE(Has(text, "# TYPE gantry_aws_request_duration_seconds histogram")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="0.001"} 0)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="0.0025"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="0.025"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="0.05"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="10"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="ssm",le="+Inf"} 3)")) << text;
  const std::string sum = R"(gantry_aws_request_duration_seconds_sum{service="ssm"} )";
  size_t at = text.find(sum);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + sum.size())), 30.042, 1e-9);
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_count{service="ssm"} 3)")) << text;
  EXPECT_TRUE(Has(text, R"(gantry_aws_request_duration_seconds_bucket{service="events",le="0.001"} 1)")) << text;
}

TEST(PrometheusTest, LabelValuesAreEscaped) {
  EXPECT_EQ(PrometheusLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(PrometheusTest, ProcessMetricsComeFromProc) {
  std::string text;
  WriteProcessMetrics(text);
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos) << text;
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos) << text;
  EXPECT_NE(text.find("\nprocess_cpu_seconds_total "), std::string::npos) << text;
}

}  // namespace
}  // namespace gantry::server
