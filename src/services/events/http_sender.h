// HttpSender: the network boundary of API destination delivery — one HTTP request out, one
// response back. PosixHttpSender is a small blocking HTTP/1.1 client over POSIX sockets for plain
// http:// endpoints (one connection per request, "Connection: close", an overall deadline);
// tests substitute a fake. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/common/status.h"

namespace gantry::services::events {

struct HttpCall {
  std::string method = "POST";
  std::string url;  // http://host[:port]/path?query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpSender {
 public:
  virtual ~HttpSender() = default;
  // A reply for any HTTP status; Unavailable when the endpoint cannot be reached or does not answer
  // in time, InvalidArgument for a URL this sender cannot use.
  virtual StatusOr<HttpReply> Send(const HttpCall& call) = 0;
};

class PosixHttpSender final : public HttpSender {
 public:
  StatusOr<HttpReply> Send(const HttpCall& call) override;
};

}  // namespace gantry::services::events
