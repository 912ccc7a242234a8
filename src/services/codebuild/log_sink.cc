#include "services/codebuild/log_sink.h"

#include <algorithm>

namespace gantry::services::codebuild {

namespace {

constexpr size_t kMaxLines = 1000;
constexpr size_t kMaxBytes = 512 * 1024;
constexpr auto kMaxAge = std::chrono::milliseconds(100);
// CloudWatch Logs' event limit (256 KiB) less the per-event overhead it counts.
constexpr size_t kMaxEventBytes = 256 * 1024 - 26;
constexpr size_t kEventOverhead = 26;

// The length of the longest prefix of s, at most n bytes, that does not cut a UTF-8 sequence.
size_t Utf8Prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

BuildLogSink::BuildLogSink(const Clock* clock, SendFn send, std::string file_path)
    : clock_(clock), send_(std::move(send)) {
  if (!file_path.empty()) file_ = std::fopen(file_path.c_str(), "wb");
}

BuildLogSink::~BuildLogSink() { Close(); }

void BuildLogSink::Start() {
  if (send_ && !thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void BuildLogSink::Append(std::string_view line) {
  int64_t now = ToEpochMillis(clock_->Now());
  std::lock_guard lock(mu_);
  if (closing_) return;
  if (file_ != nullptr) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
  if (!send_) return;
  // CloudWatch Logs refuses an empty message, and with it the whole batch. CodeBuild's own events
  // keep each line's newline, so an empty line is the event "\n" there, a blank line in the
  // console; Gantry's events carry no newline, so an empty line goes as one space, as blank
  // wherever it is shown and never refused.
  if (line.empty()) line = " ";
  now = std::max(now, last_timestamp_);
  last_timestamp_ = now;
  // A line that does not fit beside what waits for CloudWatch Logs is dropped (the file keeps it);
  // the first line that fits again is preceded by the count of those dropped.
  size_t events = (line.size() + kMaxEventBytes - 1) / kMaxEventBytes;
  size_t marker_bytes = dropped_lines_ > 0 ? kMaxDroppedMarkerBytes + kEventOverhead : 0;
  if (!buffer_.empty() && buffered_bytes_ + marker_bytes + line.size() + events * kEventOverhead > kMaxPendingBytes) {
    ++dropped_lines_;
    return;
  }
  if (buffer_.empty()) oldest_ = std::chrono::steady_clock::now();
  PushDroppedMarker(now);
  do {
    size_t n = Utf8Prefix(line, kMaxEventBytes);
    if (n == 0) n = std::min(line.size(), kMaxEventBytes);
    buffer_.push_back({now, std::string(line.substr(0, n))});
    buffered_bytes_ += n + kEventOverhead;
    line.remove_prefix(n);
  } while (!line.empty());
  if (buffer_.size() >= kMaxLines || buffered_bytes_ >= kMaxBytes) wake_.notify_one();
}

void BuildLogSink::PushDroppedMarker(int64_t timestamp) {
  if (dropped_lines_ == 0) return;
  std::string marker = "log output dropped: " + std::to_string(dropped_lines_) +
                       " lines (more than 8 MiB of output was waiting for CloudWatch Logs)";
  buffered_bytes_ += marker.size() + kEventOverhead;
  buffer_.push_back({timestamp, std::move(marker)});
  dropped_lines_ = 0;
}

void BuildLogSink::Loop() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    if (buffer_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto due = oldest_ + kMaxAge;
    if (buffer_.size() < kMaxLines && buffered_bytes_ < kMaxBytes && std::chrono::steady_clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void BuildLogSink::Flush() {
  std::lock_guard send_lock(send_mu_);
  std::vector<Line> lines;
  {
    std::lock_guard lock(mu_);
    lines.swap(buffer_);
    buffered_bytes_ = 0;
  }
  size_t at = 0;
  while (at < lines.size()) {
    aws::Document events = aws::Document::array();
    size_t bytes = 0;
    while (at < lines.size() && events.size() < kMaxLines * 10 &&
           bytes + lines[at].message.size() + kEventOverhead <= 1048576) {
      bytes += lines[at].message.size() + kEventOverhead;
      events.push_back({{"timestamp", lines[at].timestamp}, {"message", std::move(lines[at].message)}});
      ++at;
    }
    Status sent = send_(events);
    if (!sent.ok()) {
      std::lock_guard lock(mu_);
      if (first_error_.ok()) first_error_ = sent;
    }
  }
}

void BuildLogSink::Close() {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    closing_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    PushDroppedMarker(last_timestamp_);
  }
  if (send_) Flush();
  std::lock_guard lock(mu_);
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

Status BuildLogSink::first_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

}  // namespace gantry::services::codebuild
