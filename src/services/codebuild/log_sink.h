// A build's output on its way to CloudWatch Logs: lines are buffered as they come and sent in
// batches (PutLogEvents) by a flusher thread when 1,000 lines, 512 KiB or 100 ms of output have
// gathered, never one call per line; every line is also appended to a file, the whole log that
// S3 logs upload at the end. Lines longer than a log event may be are split. At most 8 MiB wait to
// be sent: lines beyond that are dropped from CloudWatch Logs (not from the file), never waited
// for, and one line "log output dropped: N lines (...)" takes their place once there is room.
//
// Thread-safety: Append may be called from any thread while the sink is open; Start and Close are
// called from the build's thread. The send function runs on the flusher thread (and in Close).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/aws/document.h"
#include "core/common/clock.h"
#include "core/common/status.h"

namespace gantry::services::codebuild {

class BuildLogSink {
 public:
  // Sends one batch: a logEvents array ({timestamp, message}, in time order). Null: no CloudWatch Logs.
  using SendFn = std::function<Status(const aws::Document& events)>;

  // file_path: where the whole log is kept ("" for none).
  BuildLogSink(const Clock* clock, SendFn send, std::string file_path);
  ~BuildLogSink();
  BuildLogSink(const BuildLogSink&) = delete;
  BuildLogSink& operator=(const BuildLogSink&) = delete;

  void Start();
  void Append(std::string_view line);
  // Sends what is buffered, stops the flusher and closes the file.
  void Close();
  // The first error a send returned (later batches are still attempted).
  Status first_error() const;

 private:
  struct Line {
    int64_t timestamp;
    std::string message;
  };
  void Loop();
  // Takes the buffer and sends it (the caller holds no lock).
  void Flush();
  // Buffers the line counting the lines dropped since the last one, if any (mu_ held).
  void PushDroppedMarker(int64_t timestamp);

  // What may wait to be sent, in CloudWatch Logs' bytes (message plus 26 per event).
  static constexpr size_t kMaxPendingBytes = 8 * 1024 * 1024;
  // Room kept for the dropped-lines line beside kMaxPendingBytes.
  static constexpr size_t kMaxDroppedMarkerBytes = 128;

  const Clock* clock_;
  SendFn send_;
  std::FILE* file_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Line> buffer_;
  size_t buffered_bytes_ = 0;
  uint64_t dropped_lines_ = 0;  // since the last dropped-lines line
  std::chrono::steady_clock::time_point oldest_;
  int64_t last_timestamp_ = 0;
  bool closing_ = false;
  Status first_error_;
  std::mutex send_mu_;  // one batch at a time, in order
  std::thread thread_;
};

}  // namespace gantry::services::codebuild
