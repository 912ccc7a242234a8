#include "services/events/http_sender.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "core/common/strings.h"

namespace gantry::services::events {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Endpoint {
  std::string host;
  std::string port = "80";
  std::string target = "/";  // path and query
};

StatusOr<Endpoint> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.rfind(kHttp, 0) != 0) {
    if (url.rfind("https://", 0) == 0) {
      return Status::InvalidArgument("Gantry delivers to API destinations over plain http only, not " +
                                     std::string(url) + ".");
    }
    return Status::InvalidArgument("The endpoint " + std::string(url) + " is not an http URL.");
  }
  std::string_view rest = url.substr(kHttp.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  Endpoint endpoint;
  if (slash != std::string_view::npos) {
    endpoint.target = std::string(rest.substr(slash));
    if (endpoint.target[0] == '?') endpoint.target = "/" + endpoint.target;
  }
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("Malformed URL " + std::string(url) + ".");
    endpoint.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      endpoint.port = std::string(authority.substr(close + 2));
  } else {
    size_t colon = authority.rfind(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) endpoint.port = std::string(authority.substr(colon + 1));
  }
  if (endpoint.host.empty() || endpoint.port.empty()) {
    return Status::InvalidArgument("Malformed URL " + std::string(url) + ".");
  }
  return endpoint;
}

int MillisLeft(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd until the deadline.
bool WaitReady(int fd, short events, SteadyTime deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

StatusOr<int> Connect(const Endpoint& endpoint, SteadyTime deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found);
  if (rc != 0) {
    return Status::Unavailable("Cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc) + ".");
  }
  std::string last_error = "no address";
  int connected = -1;
  for (addrinfo* a = found; a != nullptr && connected < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      connected = fd;
      break;
    }
    if (errno == EINPROGRESS && WaitReady(fd, POLLOUT, deadline)) {
      int error = 0;
      socklen_t len = sizeof(error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
      if (error == 0) {
        connected = fd;
        break;
      }
      last_error = std::strerror(error);
    } else {
      last_error = errno == EINPROGRESS ? "timed out" : std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (connected < 0) {
    return Status::Unavailable("Cannot connect to " + endpoint.host + ":" + endpoint.port + ": " + last_error + ".");
  }
  return connected;
}

Status SendAll(int fd, std::string_view data, SteadyTime deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && WaitReady(fd, POLLOUT, deadline)) continue;
    return Status::Unavailable(std::string("Sending the request failed: ") +
                               (n < 0 && errno != EAGAIN ? std::strerror(errno) : "timed out") + ".");
  }
  return Status::Ok();
}

StatusOr<std::string> ReceiveAll(int fd, SteadyTime deadline) {
  std::string data;
  char buffer[16384];
  while (true) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      data.append(buffer, static_cast<size_t>(n));
      if (data.size() > (8u << 20)) return Status::Unavailable("The response is larger than 8 MiB.");
      continue;
    }
    if (n == 0) return data;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && WaitReady(fd, POLLIN, deadline)) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Unavailable("Timed out waiting for the response.");
    return Status::Unavailable(std::string("Reading the response failed: ") + std::strerror(errno) + ".");
  }
}

std::optional<std::string> DecodeChunked(std::string_view body) {
  std::string out;
  while (true) {
    size_t line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) return std::nullopt;
    std::string_view size_text = body.substr(0, line_end);
    size_text = size_text.substr(0, size_text.find(';'));
    size_t size = 0;
    for (char c : Trim(size_text)) {
      int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                              : -1;
      if (digit < 0 || size > (1u << 28)) return std::nullopt;
      size = size * 16 + static_cast<size_t>(digit);
    }
    body.remove_prefix(line_end + 2);
    if (size == 0) return out;
    if (body.size() < size + 2) return std::nullopt;
    out.append(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

StatusOr<HttpReply> ParseResponse(const std::string& raw) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.rfind("HTTP/", 0) != 0) {
    return Status::Unavailable("The endpoint did not answer with an HTTP response.");
  }
  HttpReply reply;
  size_t space = raw.find(' ');
  if (space == std::string::npos || space + 4 > head_end) return Status::Unavailable("Malformed HTTP status line.");
  reply.status = std::atoi(raw.substr(space + 1, 3).c_str());
  bool chunked = false;
  std::optional<size_t> length;
  for (std::string_view line : Split(std::string_view(raw).substr(0, head_end), '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = ToLower(Trim(line.substr(0, colon)));
    std::string value = ToLower(Trim(line.substr(colon + 1)));
    if (name == "transfer-encoding" && value.find("chunked") != std::string::npos) chunked = true;
    if (name == "content-length") length = static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
  }
  std::string_view body = std::string_view(raw).substr(head_end + 4);
  if (chunked) {
    auto decoded = DecodeChunked(body);
    if (!decoded) return Status::Unavailable("Malformed chunked response body.");
    reply.body = std::move(*decoded);
  } else {
    reply.body = std::string(length && *length < body.size() ? body.substr(0, *length) : body);
  }
  return reply;
}

// Header names and values may not break the request framing.
std::string Clean(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

}  // namespace

StatusOr<HttpReply> PosixHttpSender::Send(const HttpCall& call) {
  GANTRY_ASSIGN_OR_RETURN(Endpoint endpoint, ParseHttpUrl(call.url));
  SteadyTime deadline = std::chrono::steady_clock::now() + call.timeout;
  GANTRY_ASSIGN_OR_RETURN(int fd, Connect(endpoint, deadline));
  Socket socket(fd);

  std::string host = endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  if (endpoint.port != "80") host += ":" + endpoint.port;
  std::string request =
      Clean(call.method) + " " + Clean(endpoint.target) + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
  bool has_body = !call.body.empty() || (call.method != "GET" && call.method != "HEAD");
  if (has_body) request += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
  for (const auto& [name, value] : call.headers) request += Clean(name) + ": " + Clean(value) + "\r\n";
  request += "\r\n";
  if (has_body) request += call.body;

  GANTRY_RETURN_IF_ERROR(SendAll(socket.fd(), request, deadline));
  GANTRY_ASSIGN_OR_RETURN(std::string raw, ReceiveAll(socket.fd(), deadline));
  return ParseResponse(raw);
}

}  // namespace gantry::services::events
