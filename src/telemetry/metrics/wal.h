// WriteAheadLog: an append-only file of checksummed records, made durable by fdatasync before
// Append returns. Concurrent appenders share one write + fdatasync (group commit): the first
// appender to find no sync in flight writes everything queued so far for everyone.
// Also the record framing shared by the store's segment files: u32 length, u32 CRC-32C, payload.
// Thread-safety: WriteAheadLog is thread-safe; the functions are pure.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace gantry::telemetry::metrics {

void AppendFrame(std::string& out, std::string_view payload);
// Reads the frame at data[pos...] into payload and advances pos; false at the end or at a torn or
// corrupt frame.
bool NextFrame(std::string_view data, size_t& pos, std::string_view& payload);

// Reads a whole file; NotFound when it does not exist.
StatusOr<std::string> ReadWholeFile(const std::string& path);
// Writes a file atomically and durably: a temporary file, fdatasync, rename, fsync of the directory.
Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view data);

class WriteAheadLog {
 public:
  // Opens path for appending (created when missing).
  static StatusOr<std::unique_ptr<WriteAheadLog>> Open(const std::string& path);
  ~WriteAheadLog();
  WriteAheadLog(const WriteAheadLog&) = delete;
  WriteAheadLog& operator=(const WriteAheadLog&) = delete;

  // Appends one record; returns once it is on disk.
  Status Append(std::string_view payload);
  int64_t bytes() const;

 private:
  WriteAheadLog(int fd, int64_t size) : fd_(fd), bytes_(size) {}

  const int fd_;
  mutable std::mutex mu_;
  std::condition_variable synced_cv_;
  std::string pending_;       // framed records not yet written
  uint64_t queued_ = 0;       // records queued so far
  uint64_t durable_ = 0;      // records written and synced
  bool syncing_ = false;
  Status error_;              // sticky: a failed write leaves the log unusable
  int64_t bytes_ = 0;
};

}  // namespace gantry::telemetry::metrics
