#include "telemetry/metrics/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/common/crypto.h"

namespace gantry::telemetry::metrics {

namespace {

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (i * 8)));
}

uint32_t GetU32(std::string_view data, size_t pos) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(data[pos + i])) << (i * 8);
  return v;
}

Status OsError(const std::string& what, const std::string& path) {
  return Status::Internal(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Makes a directory's entries (a created or renamed file) durable.
Status SyncDir(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return OsError("open", dir);
  Status s;
  if (::fsync(dfd) != 0) s = OsError("fsync", dir);
  ::close(dfd);
  return s;
}

}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  PutU32(out, static_cast<uint32_t>(payload.size()));
  PutU32(out, Crc32c(payload));
  out.append(payload);
}

bool NextFrame(std::string_view data, size_t& pos, std::string_view& payload) {
  if (pos > data.size() || data.size() - pos < 8) return false;
  uint32_t length = GetU32(data, pos);
  uint32_t crc = GetU32(data, pos + 4);
  if (data.size() - pos - 8 < length) return false;
  std::string_view p = data.substr(pos + 8, length);
  if (Crc32c(p) != crc) return false;
  payload = p;
  pos += 8 + length;
  return true;
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return OsError("open", path);
  }
  std::string data;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = OsError("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view data) {
  std::string tmp = dir + "/" + name + ".tmp";
  std::string path = dir + "/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return OsError("create", tmp);
  Status s = WriteAll(fd, data, tmp);
  if (s.ok() && ::fdatasync(fd) != 0) s = OsError("fdatasync", tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = OsError("rename", tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<WriteAheadLog>> WriteAheadLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return OsError("open", path);
  struct stat st {};
  ::fstat(fd, &st);
  // The log's directory entry must be durable before the first append is acknowledged, or a crash
  // can lose the whole (fdatasync'ed) file.
  size_t slash = path.rfind('/');
  Status synced = SyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
  if (!synced.ok()) {
    ::close(fd);
    return synced;
  }
  return std::unique_ptr<WriteAheadLog>(new WriteAheadLog(fd, st.st_size));
}

WriteAheadLog::~WriteAheadLog() { ::close(fd_); }

int64_t WriteAheadLog::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

Status WriteAheadLog::Append(std::string_view payload) {
  std::unique_lock lock(mu_);
  if (!error_.ok()) return error_;
  AppendFrame(pending_, payload);
  uint64_t mine = ++queued_;
  while (durable_ < mine) {
    if (!error_.ok()) return error_;
    if (syncing_) {
      synced_cv_.wait(lock);
      continue;
    }
    // Lead a group commit of everything queued so far.
    syncing_ = true;
    std::string batch = std::move(pending_);
    pending_.clear();
    uint64_t through = queued_;
    lock.unlock();
    Status s = WriteAll(fd_, batch, "metrics write-ahead log");
    if (s.ok() && ::fdatasync(fd_) != 0) s = OsError("fdatasync", "metrics write-ahead log");
    lock.lock();
    syncing_ = false;
    if (s.ok()) {
      durable_ = through;
      bytes_ += static_cast<int64_t>(batch.size());
    } else {
      error_ = s;
    }
    synced_cv_.notify_all();
  }
  return Status::Ok();
}

}  // namespace gantry::telemetry::metrics
