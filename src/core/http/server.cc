// The one translation unit that includes Beast. Beast parses request heads and decodes bodies;
// sockets, timeouts, response framing and file streaming are plain POSIX calls, which gives the
// server exact control over timeouts and shutdown (Asio's blocking sockets ignore SO_RCVTIMEO).
//
// A connection thread loops: wait for a request (poll on the socket and on the stop eventfd, so
// Stop() wakes idle connections), read the head, ask the body policy, read the body into memory or
// a spool file, call the handler, write the response. Reads and writes time out after
// idle_timeout without progress; a head must arrive whole within idle_timeout of its first byte.
// Boost 1.74's chunked parser asserts n >= 5 when a final chunk arrives split across reads
// ("0\r\n" then "\r"), although the code after the assert handles it (fixed upstream in
// boostorg/beast#2861). With asserts on, a client could abort a debug build; keep them off here.
#define BOOST_DISABLE_ASSERTS

#include "core/http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <limits>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "core/common/ids.h"
#include "core/common/log.h"
#include "core/common/strings.h"
#include "core/common/time_format.h"
#include "core/http/parse.h"

namespace gantry::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kDefaultBodyLimit = 16ull << 20;
// Bodies going to disk and files going to the client move through buffers of this size.
constexpr size_t kChunkBytes = 256 << 10;
// After a response that closes the connection, how long unread request bytes are drained so the
// client sees the response rather than a reset.
constexpr std::chrono::milliseconds kLingerTime{2000};

int ToPollTimeout(std::chrono::milliseconds d) {
  if (d.count() <= 0) return -1;  // no timeout
  return static_cast<int>(std::min<int64_t>(d.count(), INT_MAX));
}

int RemainingMs(SteadyClock::time_point deadline) {
  auto left = deadline - SteadyClock::now();
  if (left <= SteadyClock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, INT_MAX));
}

// Sends every byte of iov (modified in place). False on error or when the peer stops reading for
// timeout_ms.
bool SendAll(int fd, iovec* iov, int count, int timeout_ms, int flags = 0) {
  while (count > 0 && iov->iov_len == 0) {
    ++iov;
    --count;
  }
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | flags);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, timeout_ms);
      if (r == 0) return false;
      if (r < 0 && errno != EINTR) return false;
      continue;
    }
    size_t left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool SendAll(int fd, std::string_view data, int timeout_ms, int flags = 0) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  return SendAll(fd, &iov, 1, timeout_ms, flags);
}

bool WriteFileFully(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Where the head and body parser gets its bytes: a socket in the server, memory in ParseRequest.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to size bytes. At end of input returns 0 with net::error::eof; on a timeout
  // beast::error::timeout; when the server stops an idle connection net::error::operation_aborted.
  virtual size_t ReadSome(void* data, size_t size, beast::error_code& ec) = 0;
  // The head is parsed; what follows is body.
  virtual void OnHeadComplete() {}
  // Sends the interim "100 Continue"; false when the connection failed.
  virtual bool SendContinue() { return true; }
};

// Beast's SyncReadStream over a ByteSource.
class ReadStream {
 public:
  explicit ReadStream(ByteSource& source) : source_(source) {}

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {  // NOLINT: Beast's name
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      net::mutable_buffer b = *it;
      if (b.size() > 0) return source_.ReadSome(b.data(), b.size(), ec);
    }
    ec = {};
    return 0;
  }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {  // NOLINT: Beast's name
    beast::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  ByteSource& source_;
};

class SocketSource final : public ByteSource {
 public:
  SocketSource(int fd, int stop_fd, std::chrono::milliseconds timeout)
      : fd_(fd), stop_fd_(stop_fd), timeout_(timeout), timeout_ms_(ToPollTimeout(timeout)) {}

  // Starts waiting for the next request: idle (and stoppable) until its first byte arrives, unless
  // bytes of it are already buffered.
  void BeginRequest(bool have_bytes) {
    phase_ = Phase::kIdle;
    if (have_bytes) StartHead();
  }
  SteadyClock::time_point request_start() const { return request_start_; }

  size_t ReadSome(void* data, size_t size, beast::error_code& ec) override {
    bool try_read = phase_ != Phase::kIdle;
    for (;;) {
      if (try_read) {
        ssize_t n = ::recv(fd_, data, size, 0);
        if (n > 0) {
          if (phase_ == Phase::kIdle) StartHead();
          ec = {};
          return static_cast<size_t>(n);
        }
        if (n == 0) {
          ec = net::error::eof;
          return 0;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          ec.assign(errno, beast::system_category());
          return 0;
        }
      }
      try_read = true;
      int wait = timeout_ms_;
      if (phase_ == Phase::kHead && timeout_ms_ >= 0) wait = RemainingMs(head_deadline_);
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      const bool idle = phase_ == Phase::kIdle;
      int r = wait == 0 ? 0 : ::poll(fds, idle ? 2 : 1, wait);
      if (r < 0) {
        if (errno == EINTR) continue;
        ec.assign(errno, beast::system_category());
        return 0;
      }
      if (r == 0) {
        ec = beast::error::timeout;
        return 0;
      }
      if (idle && fds[1].revents != 0) {
        ec = net::error::operation_aborted;
        return 0;
      }
    }
  }

  void OnHeadComplete() override { phase_ = Phase::kBody; }

  bool SendContinue() override {
    return SendAll(fd_, std::string_view("HTTP/1.1 100 Continue\r\n\r\n"), timeout_ms_);
  }

 private:
  enum class Phase { kIdle, kHead, kBody };

  void StartHead() {
    phase_ = Phase::kHead;
    request_start_ = SteadyClock::now();
    head_deadline_ = request_start_ + timeout_;
  }

  int fd_;
  int stop_fd_;
  std::chrono::milliseconds timeout_;
  int timeout_ms_;
  Phase phase_ = Phase::kIdle;
  SteadyClock::time_point request_start_;
  SteadyClock::time_point head_deadline_;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string_view data, size_t read_size) : data_(data), read_size_(std::max<size_t>(read_size, 1)) {}

  size_t ReadSome(void* out, size_t size, beast::error_code& ec) override {
    if (data_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    size_t n = std::min({size, read_size_, data_.size()});
    std::memcpy(out, data_.data(), n);
    data_.remove_prefix(n);
    ec = {};
    return n;
  }

 private:
  std::string_view data_;
  size_t read_size_;
};

struct ReadSettings {
  size_t max_header = 64 * 1024;
  const std::function<BodyPolicy(const Request&)>* body_policy = nullptr;  // null or empty: memory
  uint64_t default_limit = kDefaultBodyLimit;
  const std::string* spool_dir = nullptr;  // null or empty: kFile bodies are refused with 500
};

// What a connection keeps between requests.
struct ConnectionBuffers {
  beast::flat_buffer input;          // bytes read but not yet parsed (pipelined requests)
  std::unique_ptr<char[]> chunk;     // kChunkBytes, allocated on first use
  std::string head;                  // response head being built

  char* Chunk() {
    if (!chunk) chunk.reset(new char[kChunkBytes]);
    return chunk.get();
  }
};

enum class ReadResult {
  kRequest,  // a whole request is in Request
  kClosed,   // the connection ended (EOF, timeout, stop, I/O error): close without answering
  kFailed,   // answer with status/message, then close
};

struct ReadOutcome {
  ReadResult result = ReadResult::kClosed;
  bool head_parsed = false;  // Request's head fields are filled
  bool keep_alive = false;   // per the request's version and Connection header
  unsigned version = 11;
  int status = 0;
  std::string message;
};

ReadOutcome Fail(ReadOutcome& out, int status, std::string message) {
  out.result = ReadResult::kFailed;
  out.status = status;
  out.message = std::move(message);
  return std::move(out);
}

bool IsHttpParseError(const beast::error_code& ec) {
  static const beast::error_category& category = bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == category && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Outcome of an error while reading a body.
ReadOutcome BodyError(ReadOutcome& out, const beast::error_code& ec, uint64_t limit) {
  if (ec == bhttp::error::body_limit) {
    return Fail(out, 413, "Your proposed upload exceeds the maximum allowed size of " + std::to_string(limit) + " bytes.");
  }
  if (IsHttpParseError(ec)) return Fail(out, 400, "Malformed HTTP request body: " + ec.message());
  out.result = ReadResult::kClosed;
  return std::move(out);
}

// Whether the unparsed request line ends in a well-formed "HTTP/d.d" that Beast refused because
// it is neither 1.0 nor 1.1 (answered with 505 rather than 400).
bool IsWellFormedOtherVersion(const beast::flat_buffer& input) {
  std::string_view data(static_cast<const char*>(input.data().data()), input.size());
  size_t eol = data.find("\r\n");
  if (eol == std::string_view::npos || eol < 9) return false;
  std::string_view v = data.substr(eol - 9, 9);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.substr(0, 6) == " HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]);
}

// Next size of an in-memory body buffer that is full at `filled` bytes, for a body of at most
// `limit` bytes.
size_t GrowSize(size_t filled, uint64_t limit) {
  uint64_t want = std::max<uint64_t>(64 * 1024, static_cast<uint64_t>(filled) * 2);
  want = std::min(want, limit);
  return static_cast<size_t>(std::max<uint64_t>(want, filled + 1));
}

// Creates a new spool file (0600, exclusive); -1 with errno on failure.
int CreateSpoolFile(const std::string& dir, std::string& path) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    path = dir;
    if (!path.empty() && path.back() != '/') path += '/';
    path += "body-";
    path += RandomIdSource::Instance()->Hex(24);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

// Reads one request: head, then body as the body policy says. The body goes to memory or to a new
// spool file (Request::body_file), which the caller deletes after the handler.
ReadOutcome ReadRequest(ByteSource& source, ConnectionBuffers& buffers, const ReadSettings& settings, Request& req) {
  ReadOutcome out;
  ReadStream stream(source);
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(static_cast<uint32_t>(std::min<size_t>(settings.max_header, UINT32_MAX)));
  // Checked against the policy once the head is known. Not boost::none: Beast 1.74 compares a
  // Content-Length against an empty optional as "greater".
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  beast::error_code ec;
  bhttp::read_header(stream, buffers.input, parser, ec);
  if (ec == bhttp::error::header_limit) {
    return Fail(out, 431, "The request header is larger than " + std::to_string(settings.max_header) + " bytes.");
  }
  if (ec == bhttp::error::bad_version && IsWellFormedOtherVersion(buffers.input)) {
    return Fail(out, 505, "HTTP version not supported.");
  }
  if (IsHttpParseError(ec)) return Fail(out, 400, "Malformed HTTP request: " + ec.message() + ".");
  if (ec) return out;  // EOF, timeout, stop, reset

  auto& msg = parser.get();
  req.method.assign(msg.method_string().data(), msg.method_string().size());
  req.target.assign(msg.target().data(), msg.target().size());
  SplitTarget(req.target, req.path, req.query);
  for (const auto& field : msg) {
    req.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  out.head_parsed = true;
  out.version = msg.version();
  out.keep_alive = msg.keep_alive();
  source.OnHeadComplete();
  if (parser.is_done()) {
    out.result = ReadResult::kRequest;
    return out;
  }

  BodyPolicy policy{BodySink::kMemory, settings.default_limit};
  if (settings.body_policy != nullptr && *settings.body_policy) {
    try {
      policy = (*settings.body_policy)(req);
    } catch (const std::exception& e) {
      GANTRY_LOG(kError, "http: body policy threw on " << req.method << ' ' << req.target << ": " << e.what());
      return Fail(out, 500, "We encountered an internal error. Please try again.");
    }
  }
  const boost::optional<uint64_t> content_length = parser.content_length();
  if (content_length && *content_length > policy.limit) {
    return Fail(out, 413, "Your proposed upload exceeds the maximum allowed size of " + std::to_string(policy.limit) +
                              " bytes.");
  }
  parser.body_limit(policy.limit);

  int spool_fd = -1;
  std::string spool_path;
  if (policy.sink == BodySink::kFile) {
    if (settings.spool_dir == nullptr || settings.spool_dir->empty()) {
      return Fail(out, 500, "No spool directory is configured for streamed request bodies.");
    }
    spool_fd = CreateSpoolFile(*settings.spool_dir, spool_path);
    if (spool_fd < 0) return Fail(out, 500, std::string("Cannot create a spool file: ") + std::strerror(errno) + ".");
  }
  if (out.version == 11 && EqualsIgnoreCase(Trim(req.headers.Get("Expect")), "100-continue") &&
      !source.SendContinue()) {
    if (spool_fd >= 0) {
      ::close(spool_fd);
      ::unlink(spool_path.c_str());
    }
    return out;
  }

  auto& body = msg.body();
  if (spool_fd < 0) {
    // Memory grows as bytes arrive, so a large Content-Length alone commits little.
    std::string& data = req.body;
    size_t filled = 0;
    const uint64_t most = content_length ? *content_length : policy.limit;
    if (content_length) data.resize(static_cast<size_t>(std::min<uint64_t>(*content_length, kChunkBytes)));
    while (!parser.is_done()) {
      if (filled == data.size()) data.resize(GrowSize(filled, most));
      body.data = data.data() + filled;
      body.size = data.size() - filled;
      bhttp::read(stream, buffers.input, parser, ec);
      filled = data.size() - body.size;
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        data.clear();
        return BodyError(out, ec, policy.limit);
      }
    }
    data.resize(filled);
    req.body_size = filled;
  } else {
    char* chunk = buffers.Chunk();
    uint64_t total = 0;
    while (!parser.is_done()) {
      body.data = chunk;
      body.size = kChunkBytes;
      bhttp::read(stream, buffers.input, parser, ec);
      size_t n = kChunkBytes - body.size;
      if (n > 0 && !WriteFileFully(spool_fd, chunk, n)) {
        int err = errno;
        ::close(spool_fd);
        ::unlink(spool_path.c_str());
        return Fail(out, 500, std::string("Cannot write the request body to disk: ") + std::strerror(err) + ".");
      }
      total += n;
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        ::close(spool_fd);
        ::unlink(spool_path.c_str());
        return BodyError(out, ec, policy.limit);
      }
    }
    if (::close(spool_fd) != 0) {
      int err = errno;
      ::unlink(spool_path.c_str());
      return Fail(out, 500, std::string("Cannot write the request body to disk: ") + std::strerror(err) + ".");
    }
    req.body_file = std::move(spool_path);
    req.body_size = total;
  }
  out.result = ReadResult::kRequest;
  return out;
}

void DefaultErrorResponder(const Request*, int status, std::string_view message, Response& out) {
  out.status = status;
  out.headers.Set("Content-Type", "text/plain; charset=utf-8");
  out.body.assign(message);
}

// The Date header value, formatted once per second per thread.
std::string_view HttpDate() {
  thread_local int64_t cached_second = -1;
  thread_local std::string text;
  auto now = std::chrono::system_clock::now();
  int64_t second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (second != cached_second) {
    text = FormatRfc1123(now);
    cached_second = second;
  }
  return text;
}

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

// Whether a handler's header can go on the wire as is (no response splitting).
bool IsValidField(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void AppendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

std::string FormatAddress(const sockaddr_storage& addr) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      ::inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
    } else {
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    }
  }
  return buf;
}

// Half-closes, then drains what the client still sends for a while, so that closing with unread
// request bytes does not reset the connection before the client has read the response.
void LingeringClose(int fd) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = SteadyClock::now() + kLingerTime;
  char buf[16 * 1024];
  for (;;) {
    int wait = RemainingMs(deadline);
    if (wait == 0) return;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
  }
}

}  // namespace

StatusOr<Request> ParseRequest(std::string_view bytes, size_t max_header, uint64_t max_body, size_t read_size) {
  MemorySource source(bytes, read_size);
  ConnectionBuffers buffers;
  ReadSettings settings;
  settings.max_header = max_header;
  settings.default_limit = max_body;
  Request req;
  ReadOutcome outcome = ReadRequest(source, buffers, settings, req);
  switch (outcome.result) {
    case ReadResult::kRequest:
      req.body_size = req.body.size();
      return req;
    case ReadResult::kClosed:
      return Status::InvalidArgument("The request is incomplete.").WithHttpStatus(400);
    case ReadResult::kFailed:
      break;
  }
  StatusCode code = StatusCode::kInvalidArgument;
  if (outcome.status == 413 || outcome.status == 431) code = StatusCode::kResourceExhausted;
  if (outcome.status == 505) code = StatusCode::kUnimplemented;
  if (outcome.status >= 500 && outcome.status != 505) code = StatusCode::kInternal;
  return Status(code, outcome.message).WithHttpStatus(outcome.status);
}

struct Server::Impl {
  struct Connection {
    int fd = -1;  // guarded by mu; -1 once closed
    std::string remote;
    std::thread thread;
    bool done = false;  // guarded by mu
  };

  Impl(ServerOptions o, Handler h) : options(std::move(o)), handler(std::move(h)) {
    settings.max_header = options.max_header_bytes;
    settings.body_policy = &options.body_policy;
    settings.spool_dir = &options.spool_dir;
  }

  Status Listen();
  void AcceptLoop();
  void ReapFinished();
  void Serve(Connection* conn);
  void RespondError(const Request* head, int status, std::string_view message, Response& out);
  bool WriteResponse(int fd, ConnectionBuffers& buffers, const Request& req, const ReadOutcome& read,
                     Response& resp, bool& keep_alive, uint64_t& body_bytes);

  ServerOptions options;
  Handler handler;
  ReadSettings settings;
  int listen_fd = -1;
  int stop_fd = -1;
  uint16_t port = 0;
  std::thread acceptor;
  std::atomic<bool> stopping{false};
  bool started = false;

  std::mutex mu;
  std::condition_variable cv;
  std::list<Connection> connections;  // guarded by mu
  size_t active = 0;                  // guarded by mu
};

Status Server::Impl::Listen() {
  std::string host = options.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options.port);
    addr_len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options.port);
    addr_len = sizeof(sockaddr_in6);
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || found == nullptr) {
      return Status::InvalidArgument("Cannot resolve listen host " + options.host + ": " + ::gai_strerror(rc) + ".");
    }
    std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
    addr_len = found->ai_addrlen;
    ::freeaddrinfo(found);
    if (addr.ss_family == AF_INET) v4->sin_port = htons(options.port);
    else v6->sin6_port = htons(options.port);
  }

  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Internal(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0) {
    int err = errno;
    ::close(fd);
    return Status::Unavailable("Cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                               std::strerror(err) + ".");
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    int err = errno;
    ::close(fd);
    return Status::Internal(std::string("listen: ") + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  listen_fd = fd;
  return Status::Ok();
}

void Server::Impl::ReapFinished() {
  std::list<Connection> finished;
  {
    std::lock_guard lock(mu);
    for (auto it = connections.begin(); it != connections.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), connections, it);
      it = next;
    }
  }
  for (auto& c : finished) c.thread.join();
}

void Server::Impl::AcceptLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping.load() || active < std::max<size_t>(options.max_connections, 1); });
      if (stopping) return;
    }
    ReapFinished();
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0) {
      if (errno != EINTR) GANTRY_LOG(kError, "http: poll on the listening socket failed: " << std::strerror(errno));
      continue;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &addr_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) continue;
      GANTRY_LOG(kWarn, "http: accept failed: " << std::strerror(err));
      pollfd p{stop_fd, POLLIN, 0};
      ::poll(&p, 1, 100);  // out of descriptors or memory: back off instead of spinning
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu);
    Connection& conn = connections.emplace_back();
    conn.fd = fd;
    conn.remote = FormatAddress(addr);
    ++active;
    try {
      conn.thread = std::thread([this, c = &conn] { Serve(c); });
    } catch (const std::system_error& e) {
      GANTRY_LOG(kError, "http: cannot start a connection thread: " << e.what());
      ::close(fd);
      connections.pop_back();
      --active;
    }
  }
}

void Server::Impl::RespondError(const Request* head, int status, std::string_view message, Response& out) {
  out = Response();
  try {
    if (options.error_responder) {
      options.error_responder(head, status, message, out);
      return;
    }
  } catch (const std::exception& e) {
    GANTRY_LOG(kError, "http: error responder threw: " << e.what());
    out = Response();
  }
  DefaultErrorResponder(head, status, message, out);
}

bool Server::Impl::WriteResponse(int fd, ConnectionBuffers& buffers, const Request& req, const ReadOutcome& read,
                                 Response& resp, bool& keep_alive, uint64_t& body_bytes) {
  // A final status must be 2xx-9xx (interim 1xx responses are the server's business).
  if (resp.status < 200 || resp.status > 999) {
    GANTRY_LOG(kError, "http: handler returned status " << resp.status << " for " << req.method << ' ' << req.target);
    RespondError(&req, 500, "We encountered an internal error. Please try again.", resp);
    if (resp.status < 200 || resp.status > 999) resp.status = 500;
  }
  const int timeout_ms = ToPollTimeout(options.idle_timeout);
  const bool is_head = read.head_parsed && req.method == "HEAD";
  bool has_te = false;
  bool has_content_length = false;
  for (const auto& [name, value] : resp.headers.fields()) {
    if (EqualsIgnoreCase(name, "Transfer-Encoding")) has_te = true;
    else if (EqualsIgnoreCase(name, "Content-Length")) has_content_length = true;
    else if (EqualsIgnoreCase(name, "Connection") && ToLower(value).find("close") != std::string::npos) keep_alive = false;
  }
  const int status = resp.status;
  const bool bodiless_status = status == 204 || status == 304;
  const bool send_body = !is_head && !bodiless_status;

  // The file to send, opened before the head is written so a missing file becomes a 500.
  int file_fd = -1;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;
  if (!resp.body_file.empty() && (send_body || (is_head && !has_content_length))) {
    file_fd = ::open(resp.body_file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (file_fd < 0 || ::fstat(file_fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < resp.file_offset) {
      GANTRY_LOG(kError, "http: cannot send response file " << resp.body_file << ": " << std::strerror(errno));
      if (file_fd >= 0) ::close(file_fd);
      file_fd = -1;
      RespondError(&req, 500, "We encountered an internal error. Please try again.", resp);
      return WriteResponse(fd, buffers, req, read, resp, keep_alive, body_bytes);
    }
    const uint64_t available = static_cast<uint64_t>(st.st_size) - resp.file_offset;
    file_offset = resp.file_offset;
    file_length = resp.file_length == 0 ? available : std::min(resp.file_length, available);
  }
  const uint64_t body_length = file_fd >= 0 ? file_length : resp.body.size();

  // Content-Length: computed, or the handler's where the body is not sent (HEAD, 304).
  const bool length_allowed = !has_te && status != 204;
  const bool keep_handler_length = length_allowed && (is_head || status == 304) && has_content_length;
  const bool write_length = length_allowed && (send_body || (is_head && !has_content_length));

  std::string& head = buffers.head;
  head.clear();
  head += "HTTP/1.1 ";
  AppendNumber(head, static_cast<uint64_t>(status));
  head += ' ';
  beast::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  if (reason.empty() || reason.front() == '<') reason = "Unknown";
  head.append(reason.data(), reason.size());
  head += "\r\n";
  bool has_date = false;
  bool has_server = false;
  for (const auto& [name, value] : resp.headers.fields()) {
    if (EqualsIgnoreCase(name, "Connection")) continue;
    if (EqualsIgnoreCase(name, "Content-Length") && !keep_handler_length) continue;
    if (!IsValidField(name, value)) {
      GANTRY_LOG(kWarn, "http: dropped an invalid response header " << name);
      continue;
    }
    if (EqualsIgnoreCase(name, "Date")) has_date = true;
    if (EqualsIgnoreCase(name, "Server")) has_server = true;
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (write_length) {
    head += "Content-Length: ";
    AppendNumber(head, body_length);
    head += "\r\n";
  }
  if (!has_date) {
    head += "Date: ";
    head += HttpDate();
    head += "\r\n";
  }
  if (!has_server) head += "Server: Gantry\r\n";
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (read.version == 10) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";

  body_bytes = 0;
  if (file_fd < 0) {
    iovec iov[2] = {{head.data(), head.size()}, {resp.body.data(), send_body ? resp.body.size() : 0}};
    if (!SendAll(fd, iov, 2, timeout_ms)) return false;
    body_bytes = send_body ? resp.body.size() : 0;
    return true;
  }

  bool ok = SendAll(fd, head, timeout_ms, send_body && file_length > 0 ? MSG_MORE : 0);
  if (ok && send_body) {
    char* chunk = buffers.Chunk();
    uint64_t offset = file_offset;
    uint64_t left = file_length;
    while (ok && left > 0) {
      ssize_t n = ::pread(file_fd, chunk, static_cast<size_t>(std::min<uint64_t>(left, kChunkBytes)),
                          static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // the file shrank under us: the promised length cannot be sent
        GANTRY_LOG(kError, "http: response file " << resp.body_file << " ended early");
        ok = false;
        break;
      }
      ok = SendAll(fd, std::string_view(chunk, static_cast<size_t>(n)), timeout_ms,
                   static_cast<uint64_t>(n) < left ? MSG_MORE : 0);
      offset += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
      if (ok) body_bytes += static_cast<uint64_t>(n);
    }
  }
  ::close(file_fd);
  return ok;
}

void Server::Impl::Serve(Connection* conn) {
  const int fd = conn->fd;  // only this thread closes it
  try {
    SocketSource source(fd, stop_fd, options.idle_timeout);
    ConnectionBuffers buffers;
    for (;;) {
      if (stopping.load(std::memory_order_acquire)) break;
      source.BeginRequest(buffers.input.size() > 0);
      Request req;
      ReadOutcome read = ReadRequest(source, buffers, settings, req);
      if (read.result == ReadResult::kClosed) break;
      req.remote_address = conn->remote;
      req.request_id = RandomIdSource::Instance()->Uuid();
      const std::string spool = req.body_file;
      Response resp;
      bool keep_alive = read.keep_alive;
      if (read.result == ReadResult::kFailed) {
        keep_alive = false;
        RespondError(read.head_parsed ? &req : nullptr, read.status, read.message, resp);
      } else {
        try {
          handler(req, resp);
        } catch (const std::exception& e) {
          GANTRY_LOG(kError, "http: handler threw on " << req.method << ' ' << req.target << ": " << e.what());
          RespondError(&req, 500, "We encountered an internal error. Please try again.", resp);
        } catch (...) {
          GANTRY_LOG(kError, "http: handler threw on " << req.method << ' ' << req.target);
          RespondError(&req, 500, "We encountered an internal error. Please try again.", resp);
        }
      }
      if (!spool.empty() && ::unlink(spool.c_str()) != 0 && errno != ENOENT) {
        GANTRY_LOG(kWarn, "http: cannot remove spool file " << spool << ": " << std::strerror(errno));
      }
      if (stopping.load(std::memory_order_acquire)) keep_alive = false;
      uint64_t body_bytes = 0;
      bool ok = WriteResponse(fd, buffers, req, read, resp, keep_alive, body_bytes);
      if (resp.remove_body_file && !resp.body_file.empty() && ::unlink(resp.body_file.c_str()) != 0 &&
          errno != ENOENT) {
        GANTRY_LOG(kWarn, "http: cannot remove response file " << resp.body_file << ": " << std::strerror(errno));
      }
      if (log::Enabled(log::Level::kDebug)) {
        auto micros = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - source.request_start());
        GANTRY_LOG(kDebug, "http: " << (read.head_parsed ? std::string_view(req.method) : std::string_view("-"))
                               << ' ' << (read.head_parsed ? std::string_view(req.target) : std::string_view("-"))
                               << ' ' << resp.status << ' ' << body_bytes << ' ' << micros.count() / 1000.0 << "ms");
      }
      if (!ok) break;
      if (!keep_alive) {
        // Unread request bytes (a refused body, pipelined requests) would make close() send a
        // reset that can destroy the response in flight; drain them first.
        char probe;
        if (read.result == ReadResult::kFailed || buffers.input.size() > 0 ||
            ::recv(fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) > 0) {
          LingeringClose(fd);
        }
        break;
      }
    }
  } catch (const std::exception& e) {
    GANTRY_LOG(kError, "http: connection from " << conn->remote << " failed: " << e.what());
  }
  {
    std::lock_guard lock(mu);
    ::close(conn->fd);
    conn->fd = -1;
    conn->done = true;
    --active;
  }
  cv.notify_all();
}

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  if (impl_->started) return Status::FailedPrecondition("The HTTP server is already started.");
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->stop_fd < 0) return Status::Internal(std::string("eventfd: ") + std::strerror(errno));
  Status listened = impl_->Listen();
  if (!listened.ok()) {
    ::close(impl_->stop_fd);
    impl_->stop_fd = -1;
    return listened;
  }
  try {
    impl_->acceptor = std::thread([impl = impl_.get()] { impl->AcceptLoop(); });
  } catch (const std::system_error& e) {
    ::close(impl_->listen_fd);
    ::close(impl_->stop_fd);
    impl_->listen_fd = impl_->stop_fd = -1;
    return Status::Internal(std::string("Cannot start the accept thread: ") + e.what());
  }
  impl_->started = true;
  GANTRY_LOG(kInfo, "http: listening on " << impl_->options.host << ':' << impl_->port);
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->port; }

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  {
    std::lock_guard lock(s.mu);
    if (s.stopping) return;
    s.stopping = true;
  }
  s.cv.notify_all();
  uint64_t one = 1;
  ssize_t ignored = ::write(s.stop_fd, &one, sizeof one);
  (void)ignored;
  s.acceptor.join();
  ::close(s.listen_fd);
  s.listen_fd = -1;

  std::list<Impl::Connection> connections;
  {
    std::unique_lock lock(s.mu);
    if (!s.cv.wait_for(lock, s.options.stop_grace, [&] { return s.active == 0; })) {
      GANTRY_LOG(kWarn, "http: " << s.active << " connection(s) still busy after the stop grace period; closing them");
      for (auto& c : s.connections) {
        if (c.fd >= 0) ::shutdown(c.fd, SHUT_RDWR);
      }
    }
    connections.swap(s.connections);
  }
  for (auto& c : connections) c.thread.join();
  ::close(s.stop_fd);
  s.stop_fd = -1;
  GANTRY_LOG(kInfo, "http: stopped");
}

}  // namespace gantry::http
