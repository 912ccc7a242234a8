// Gantry's own metrics for GET /_gantry/metrics, in the Prometheus text exposition format 0.0.4:
// requests that reached an operation (HTTP or in-process) by service, operation, status class and
// caller ("client" for HTTP, "service" for a service's in-process call), a latency histogram per
// service (from the request's arrival to the handler's answer), and the process's resident memory,
// open file descriptors and CPU time read from /proc/self.
// Thread-safe: OnRequestComplete runs concurrently on request threads, Write* at any time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/aws/service.h"
#include "core/common/clock.h"

namespace gantry::server {

class RequestMetrics final : public aws::RequestObserver {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 13> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,    1,     2.5,  5,     10};

  // clock must be the dispatcher's (the one that stamps RequestContext::time).
  explicit RequestMetrics(const Clock* clock) : clock_(clock) {}

  void OnRequestComplete(const aws::RequestContext& ctx, const aws::Document& input, const Status& result) override;

  // Appends gantry_aws_requests_total and gantry_aws_request_duration_seconds.
  void WritePrometheus(std::string& out) const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size() + 1> buckets{};  // not cumulative; last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  // service, operation, status class ("2xx"), caller
  using RequestKey = std::tuple<std::string, std::string, std::string, std::string>;

  const Clock* clock_;
  mutable std::mutex mu_;
  std::map<RequestKey, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by service
};

// Appends process_resident_memory_bytes, process_open_fds and process_cpu_seconds_total (what
// /proc/self tells; a family whose file cannot be read is left out).
void WriteProcessMetrics(std::string& out);

// A Prometheus label value with \, " and newline escaped.
std::string PrometheusLabelValue(std::string_view value);

}  // namespace gantry::server
