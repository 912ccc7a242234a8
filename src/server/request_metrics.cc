#include "server/request_metrics.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/aws/error.h"

namespace gantry::server {

namespace {

// "0.25", "1", "2.5": the shortest form that reads back as the same double.
std::string Number(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

std::string StatusClass(int http_status) { return std::to_string(http_status / 100) + "xx"; }

}  // namespace

std::string PrometheusLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void RequestMetrics::OnRequestComplete(const aws::RequestContext& ctx, const aws::Document&, const Status& result) {
  if (ctx.model == nullptr || ctx.operation == nullptr) return;
  double seconds = std::max(0.0, std::chrono::duration<double>(clock_->Now() - ctx.time).count());
  int http_status = result.ok() ? (ctx.response_status != 0 ? ctx.response_status : 200)
                                : aws::ToAwsError(result, ctx.model).http_status;
  RequestKey key{ctx.model->service(), ctx.operation->name, StatusClass(http_status),
                 ctx.http != nullptr ? "client" : "service"};
  size_t bucket = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds) - kLatencyBuckets.begin();
  std::lock_guard lock(mu_);
  ++requests_[key];
  Histogram& histogram = latency_[ctx.model->service()];
  ++histogram.buckets[bucket];
  histogram.sum += seconds;
  ++histogram.count;
}

void RequestMetrics::WritePrometheus(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP gantry_aws_requests_total AWS API requests that reached an operation.\n";
  out += "# TYPE gantry_aws_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [service, operation, status_class, caller] = key;
    out += "gantry_aws_requests_total{service=\"" + PrometheusLabelValue(service) + "\",operation=\"" +
           PrometheusLabelValue(operation) + "\",status_class=\"" + status_class + "\",caller=\"" + caller + "\"} " +
           std::to_string(count) + "\n";
  }
  out += "# HELP gantry_aws_request_duration_seconds Time from a request's arrival to its operation's answer.\n";
  out += "# TYPE gantry_aws_request_duration_seconds histogram\n";
  for (const auto& [service, histogram] : latency_) {
    std::string label = "service=\"" + PrometheusLabelValue(service) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += histogram.buckets[i];
      out += "gantry_aws_request_duration_seconds_bucket{" + label + ",le=\"" + Number(kLatencyBuckets[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "gantry_aws_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(histogram.count) +
           "\n";
    out += "gantry_aws_request_duration_seconds_sum{" + label + "} " + Number(histogram.sum) + "\n";
    out += "gantry_aws_request_duration_seconds_count{" + label + "} " + std::to_string(histogram.count) + "\n";
  }
}

void WriteProcessMetrics(std::string& out) {
  long page_size = ::sysconf(_SC_PAGESIZE);
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
    out += "# TYPE process_resident_memory_bytes gauge\n";
    out += "process_resident_memory_bytes " + std::to_string(resident_pages * static_cast<uint64_t>(page_size)) + "\n";
  }
  std::error_code ec;
  uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++fds;
  if (!ec) {
    out += "# HELP process_open_fds Number of open file descriptors.\n";
    out += "# TYPE process_open_fds gauge\n";
    out += "process_open_fds " + std::to_string(fds) + "\n";
  }
  // /proc/self/stat: fields 14 and 15 (utime, stime) in clock ticks, after the parenthesised name.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int skipped = 0; skipped < 11; ++skipped) fields >> field;  // fields 3 to 13
    uint64_t utime = 0, stime = 0;
    long ticks = ::sysconf(_SC_CLK_TCK);
    if (fields >> utime >> stime && ticks > 0) {
      out += "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n";
      out += "# TYPE process_cpu_seconds_total counter\n";
      out += "process_cpu_seconds_total " + Number(static_cast<double>(utime + stime) / static_cast<double>(ticks)) +
             "\n";
    }
  }
}

}  // namespace gantry::server
