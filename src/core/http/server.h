// The HTTP/1.1 server: one listening socket, a thread per connection (blocking reads with idle
// timeouts), keep-alive, chunked request bodies, Expect: 100-continue, per-request body limits and
// bodies streamed to a spool file when a BodyPolicy asks for it. Beast is used only in server.cc.
// Thread-safety: Start/Stop from one controlling thread; the handler is called concurrently from
// connection threads and must be thread-safe. Signals are the caller's business: on SIGTERM/SIGINT
// call Stop(), which lets in-flight requests finish.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/http/message.h"

namespace gantry::http {

enum class BodySink { kMemory, kFile };

struct BodyPolicy {
  BodySink sink = BodySink::kMemory;
  uint64_t limit = 0;  // bytes; a larger body is refused with 413 before it is read
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;  // 0 picks a free port
  size_t max_header_bytes = 64 * 1024;
  // A connection waiting this long for a request, or a request stalled this long (no bytes read or
  // written), is closed. A request head must also arrive whole within it.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Connections served at once; more wait in the listen backlog.
  size_t max_connections = 1024;
  // How long Stop() waits for connections to finish their requests before it shuts their sockets
  // down (a handler still running is waited for regardless).
  std::chrono::milliseconds stop_grace{std::chrono::seconds(30)};
  std::string spool_dir;  // where kFile bodies are written; must exist
  // Chooses where a request's body goes and its size limit, from the request head. Unset: memory,
  // 16 MiB. A limit of 0 admits only empty bodies.
  std::function<BodyPolicy(const Request& head)> body_policy;
  // Formats an error the server detects itself (malformed request: 400, body too large: 413,
  // ...). head is null when the request line or headers could not be parsed. Unset: a text/plain
  // body with the message.
  std::function<void(const Request* head, int status, std::string_view message, Response& out)> error_responder;
};

using Handler = std::function<void(Request&, Response&)>;

class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; after it returns OK, port() is the bound port and requests are answered.
  Status Start();
  uint16_t port() const;
  // Stops accepting, lets in-flight requests finish, closes idle connections, joins threads.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::http
