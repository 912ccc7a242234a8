#include "core/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "core/common/strings.h"
#include "core/http/parse.h"

namespace gantry::http {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A deliberately plain HTTP/1.1 client on a blocking socket, so the tests see the bytes on the wire.
class TestClient {
 public:
  explicit TestClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};  // no test waits longer for a byte
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~TestClient() { ::close(fd_); }

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `delimiter` is buffered; returns everything up to and including it.
  std::optional<std::string> ReadUntil(std::string_view delimiter) {
    for (;;) {
      size_t at = buffer_.find(delimiter);
      if (at != std::string::npos) {
        std::string out = buffer_.substr(0, at + delimiter.size());
        buffer_.erase(0, at + delimiter.size());
        return out;
      }
      if (!Fill()) return std::nullopt;
    }
  }

  std::optional<ClientResponse> Read(bool head_request = false) {
    auto head = ReadUntil("\r\n\r\n");
    if (!head) return std::nullopt;
    ClientResponse r;
    std::vector<std::string_view> lines;
    std::string_view rest(*head);
    while (!rest.empty()) {
      size_t eol = rest.find("\r\n");
      if (eol == 0) break;
      lines.push_back(rest.substr(0, eol));
      rest.remove_prefix(eol + 2);
    }
    if (lines.empty() || lines[0].size() < 12) return std::nullopt;
    r.status = std::stoi(std::string(lines[0].substr(9, 3)));
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      r.headers[ToLower(lines[i].substr(0, colon))] = std::string(Trim(lines[i].substr(colon + 1)));
    }
    if (head_request || r.status == 204 || r.status == 304 || r.status < 200) return r;
    if (r.headers.count("content-length")) {
      size_t length = std::stoull(r.headers["content-length"]);
      while (buffer_.size() < length) {
        if (!Fill()) return std::nullopt;
      }
      r.body = buffer_.substr(0, length);
      buffer_.erase(0, length);
    } else {
      while (Fill()) {
      }
      r.body = std::move(buffer_);
      buffer_.clear();
    }
    return r;
  }

  // Whether the server closes the connection (EOF or reset) within `limit`.
  bool WaitClosed(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char c[4096];
      ssize_t n = ::recv(fd_, c, sizeof c, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool Fill() {
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string GetRequest(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n";
}

void EchoHandler(Request& req, Response& resp) {
  resp.headers.Add("Content-Type", "text/plain");
  resp.body = req.method + " " + req.path + " ?" + req.query + " body=" + req.body;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "gantry-http-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    spool_dir_ = pattern;
    options_.host = "127.0.0.1";
    options_.port = 0;
    options_.spool_dir = spool_dir_;
  }

  void TearDown() override {
    server_.reset();
    fs::remove_all(spool_dir_);
  }

  void Start(Handler handler) {
    server_ = std::make_unique<Server>(options_, std::move(handler));
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  uint16_t port() const { return server_->port(); }

  size_t SpoolFiles() const {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(spool_dir_)) {
      if (entry.path().filename().string().rfind("body-", 0) == 0) ++n;
    }
    return n;
  }

  std::string spool_dir_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, SimpleGet) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(GetRequest("/a/b%20c?x=1&y")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /a/b%20c ?x=1&y body=");
  EXPECT_EQ(r->Header("content-length"), std::to_string(r->body.size()));
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("server"), "Gantry");
  EXPECT_FALSE(r->Header("date").empty());
}

TEST_F(ServerTest, RequestFieldsReachTheHandler) {
  std::mutex mu;
  Request seen;
  Start([&](Request& req, Response& resp) {
    std::lock_guard lock(mu);
    seen = req;
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/p?q=1", "X-Amz-Target: Svc.Op\r\n")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen.headers.Get("x-amz-target"), "Svc.Op");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
  EXPECT_EQ(seen.request_id.size(), 36u);
  EXPECT_EQ(seen.target, "/p?q=1");
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start(EchoHandler);
  TestClient client(port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.Send(GetRequest("/n" + std::to_string(i))));
    auto r = client.Read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, "GET /n" + std::to_string(i) + " ? body=");
    EXPECT_EQ(r->Header("connection"), "");
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/one") + "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
                          GetRequest("/three")));
  for (std::string expected : {"GET /one ? body=", "POST /two ? body=abc", "GET /three ? body="}) {
    auto r = client.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, expected);
  }
}

TEST_F(ServerTest, ConnectionCloseIsHonoured) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/", "Connection: close\r\n")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed(5s));
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAlive) {
  Start(EchoHandler);
  {
    TestClient client(port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = client.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(client.WaitClosed(5s));
  }
  TestClient client(port());
  ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("connection"), "keep-alive");
  ASSERT_TRUE(client.Send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /b ? body=");
}

TEST_F(ServerTest, ChunkedRequestBodyIsDecoded) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send(
      "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /c ? body=hello world!");
  // The connection stays usable after a chunked body.
  ASSERT_TRUE(client.Send(GetRequest("/after")));
  auto after = client.Read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, "GET /after ? body=");
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponseBeforeBody) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /e HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.Send("hello"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /e ? body=hello");
}

TEST_F(ServerTest, ContentLengthOverLimitIs413WithoutReadingBody) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kMemory, 1024}; };
  std::atomic<int> calls{0};
  Start([&](Request& req, Response& resp) { ++calls; });
  TestClient client(port());
  // Expect: 100-continue must not be answered with 100 when the body is refused.
  ASSERT_TRUE(client.Send("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed(5s));
  EXPECT_EQ(calls.load(), 0);
}

TEST_F(ServerTest, BodyOverLimitSentAnywayStillGets413) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kMemory, 1024}; };
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /big HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n" + std::string(100000, 'x')));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kMemory, 100}; };
  Start(EchoHandler);
  TestClient client(port());
  std::string chunk(80, 'a');
  ASSERT_TRUE(client.Send("PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n" + chunk +
                          "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(client.WaitClosed(5s));
}

TEST_F(ServerTest, ErrorResponderFormatsServerErrors) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kMemory, 10}; };
  options_.error_responder = [](const Request* head, int status, std::string_view message, Response& out) {
    out.status = status;
    out.headers.Set("Content-Type", "application/xml");
    out.body = "<Error><Code>EntityTooLarge</Code><Path>" + (head ? head->path : std::string("?")) + "</Path></Error>";
  };
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /bucket/key HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type"), "application/xml");
  EXPECT_EQ(r->body, "<Error><Code>EntityTooLarge</Code><Path>/bucket/key</Path></Error>");
}

TEST_F(ServerTest, FileSinkStreamsLargeBodyToSpoolAndRemovesIt) {
  constexpr size_t kSize = 20u << 20;  // over the 16 MiB in-memory default
  options_.body_policy = [](const Request& head) {
    return head.path == "/upload" ? BodyPolicy{BodySink::kFile, 5ull << 30} : BodyPolicy{BodySink::kMemory, 1 << 20};
  };
  std::string seen_file;
  uint64_t seen_size = 0;
  bool content_ok = false;
  Start([&](Request& req, Response& resp) {
    seen_file = req.body_file;
    seen_size = req.body_size;
    std::ifstream in(req.body_file, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    content_ok = req.body.empty() && data.size() == kSize;
    for (size_t i = 0; content_ok && i < data.size(); ++i) content_ok = data[i] == static_cast<char>(i % 251);
    resp.status = 200;
  });
  std::string body(kSize, '\0');
  for (size_t i = 0; i < kSize; ++i) body[i] = static_cast<char>(i % 251);
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /upload HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(kSize) + "\r\n\r\n"));
  ASSERT_TRUE(client.Send(body));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(seen_size, kSize);
  EXPECT_TRUE(content_ok);
  EXPECT_EQ(fs::path(seen_file).parent_path(), fs::path(spool_dir_));
  EXPECT_FALSE(fs::exists(seen_file));
  EXPECT_EQ(SpoolFiles(), 0u);
}

TEST_F(ServerTest, FileSinkWithChunkedBodyAndHandlerKeepingTheFile) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kFile, 1 << 20}; };
  const std::string kept = spool_dir_ + "/kept";
  Start([&](Request& req, Response& resp) {
    fs::rename(req.body_file, kept);
    resp.body = std::to_string(req.body_size);
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "5");
  std::ifstream in(kept);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(data, "abcde");
  EXPECT_EQ(SpoolFiles(), 0u);
}

TEST_F(ServerTest, FileSinkSpoolIsRemovedWhenClientDisconnectsMidBody) {
  options_.body_policy = [](const Request&) { return BodyPolicy{BodySink::kFile, 1 << 20}; };
  std::atomic<int> calls{0};
  Start([&](Request&, Response&) { ++calls; });
  {
    TestClient client(port());
    ASSERT_TRUE(client.Send("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\npartial"));
    std::this_thread::sleep_for(50ms);
  }
  // A later request on another connection shows the first one was finished with.
  TestClient client(port());
  ASSERT_TRUE(client.Send("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"));
  ASSERT_TRUE(client.Read());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (SpoolFiles() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(SpoolFiles(), 0u);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(ServerTest, BodyFileResponseSendsTheRange) {
  std::string content(1 << 20, '\0');  // spans several send buffers
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  const std::string path = spool_dir_ + "/object";
  std::ofstream(path, std::ios::binary) << content;
  Start([&](Request& req, Response& resp) {
    resp.body_file = path;
    resp.file_offset = 10;
    resp.file_length = req.path == "/range" ? 100 : 0;
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/range")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), "100");
  EXPECT_EQ(r->body, content.substr(10, 100));
  ASSERT_TRUE(client.Send(GetRequest("/rest")));
  r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), content.size() - 10);
  EXPECT_TRUE(r->body == content.substr(10));
}

TEST_F(ServerTest, RemovableBodyFileIsDeletedOnceSent) {
  const std::string path = spool_dir_ + "/response";
  std::ofstream(path, std::ios::binary) << "HEADERSbody";
  Start([&](Request&, Response& resp) {
    resp.body_file = path;
    resp.file_offset = 7;
    resp.remove_body_file = true;
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "body");
  ASSERT_TRUE(client.Send(GetRequest("/")));  // the next request on the connection: the file is gone
  r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(ServerTest, MissingBodyFileIs500) {
  Start([&](Request&, Response& resp) { resp.body_file = spool_dir_ + "/nope"; });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(ServerTest, HeadSendsHeadersOnlyAndKeepsContentLength) {
  Start([](Request& req, Response& resp) {
    if (req.path == "/declared") {
      resp.headers.Set("Content-Length", "1234");
    } else {
      resp.body = "abc";  // the length of what GET would send
    }
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send("HEAD /declared HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto r = client.Read(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), "1234");
  ASSERT_TRUE(client.Send("HEAD /computed HTTP/1.1\r\nHost: h\r\n\r\n"));
  r = client.Read(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), "3");
  // No body bytes were sent: the next response parses cleanly.
  ASSERT_TRUE(client.Send(GetRequest("/computed")));
  r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abc");
}

TEST_F(ServerTest, MalformedRequestIs400AndServerKeepsServing) {
  Start(EchoHandler);
  for (std::string bad : {std::string("BAD REQUEST LINE\r\n\r\n"), std::string("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"),
                          std::string("GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n"),
                          std::string("\x01\x02\x03") + " / HTTP/1.1\r\n\r\n"}) {
    TestClient client(port());
    ASSERT_TRUE(client.Send(bad));
    auto r = client.Read();
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 400) << bad;
    EXPECT_TRUE(client.WaitClosed(5s));
  }
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/fine")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  options_.max_header_bytes = 1024;
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/", "X-Big: " + std::string(4096, 'b') + "\r\n")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(client.WaitClosed(5s));
}

TEST_F(ServerTest, UnsupportedVersionIs505) {
  Start(EchoHandler);
  TestClient client(port());
  ASSERT_TRUE(client.Send("GET / HTTP/2.0\r\n\r\n"));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 505);
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerKeepsServing) {
  Start([](Request& req, Response& resp) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    resp.body = "ok";
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/throw")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(client.Send(GetRequest("/fine")));
  r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(ServerTest, HeadersWithLineBreaksAreNotWritten) {
  Start([](Request&, Response& resp) {
    resp.headers.Add("X-Evil", "a\r\nSet-Cookie: x=1");
    resp.headers.Add("X-Good", "fine");
  });
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/")));
  auto r = client.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("x-good"), "fine");
  EXPECT_EQ(r->headers.count("x-evil"), 0u);
  EXPECT_EQ(r->headers.count("set-cookie"), 0u);
}

TEST_F(ServerTest, IdleConnectionIsClosedAfterTimeout) {
  options_.idle_timeout = 200ms;
  Start(EchoHandler);
  TestClient idle(port());
  ASSERT_TRUE(idle.connected());
  TestClient stalled(port());
  ASSERT_TRUE(stalled.Send("GET /slow HT"));
  EXPECT_TRUE(idle.WaitClosed(10s));
  EXPECT_TRUE(stalled.WaitClosed(10s));
}

TEST_F(ServerTest, StopLetsInFlightRequestFinish) {
  std::atomic<bool> entered{false};
  Start([&](Request&, Response& resp) {
    entered = true;
    std::this_thread::sleep_for(300ms);
    resp.body = "done";
  });
  TestClient idle(port());  // an idle keep-alive connection must not hold Stop() up
  ASSERT_TRUE(idle.Send(GetRequest("/warm")));
  ASSERT_TRUE(idle.Read());
  entered = false;
  TestClient client(port());
  ASSERT_TRUE(client.Send(GetRequest("/slow")));
  while (!entered) std::this_thread::sleep_for(5ms);
  std::thread stopper([&] { server_->Stop(); });
  auto r = client.Read();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(5s));
  TestClient after(port());
  EXPECT_FALSE(after.connected());
}

TEST_F(ServerTest, ManyConcurrentConnections) {
  options_.max_connections = 4;  // the rest wait in the backlog
  Start(EchoHandler);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      TestClient client(port());
      for (int i = 0; i < 20; ++i) {
        std::string extra = i == 19 ? "Connection: close\r\n" : "";
        if (!client.Send(GetRequest("/t" + std::to_string(t), extra))) return;
        auto r = client.Read();
        if (!r || r->body != "GET /t" + std::to_string(t) + " ? body=") return;
      }
      ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
}

TEST_F(ServerTest, StartFailsOnPortInUse) {
  Start(EchoHandler);
  ServerOptions other = options_;
  other.port = port();
  Server second(other, EchoHandler);
  EXPECT_FALSE(second.Start().ok());
}

TEST(ServerParseTest, ParsesHeadAndBody) {
  auto r = ParseRequest("POST /path/x?a=1&b=%20 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbodyEXTRA", 1024, 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/path/x");
  EXPECT_EQ(r->query, "a=1&b=%20");
  EXPECT_EQ(r->headers.Get("host"), "h");
  EXPECT_EQ(r->body, "body");
  EXPECT_EQ(r->body_size, 4u);
}

TEST(ServerParseTest, ChunkedBodyByteByByte) {
  std::string wire = "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  auto r = ParseRequest(wire, 1024, 100, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "abc0123456789abcdef");
  // An empty chunked body split into single bytes (Beast 1.74 asserted on this; see server.cc).
  auto empty = ParseRequest("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1024, 100, 1);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->body, "");
}

TEST(ServerParseTest, Errors) {
  auto malformed = ParseRequest("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 1024, 100);
  EXPECT_EQ(malformed.status().http_status(), 400);
  auto big_head = ParseRequest(GetRequest("/", "X: " + std::string(2000, 'x') + "\r\n"), 1024, 100);
  EXPECT_EQ(big_head.status().http_status(), 431);
  auto big_body = ParseRequest("PUT / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 1024, 100);
  EXPECT_EQ(big_body.status().http_status(), 413);
  auto big_chunked = ParseRequest("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 1024, 100);
  EXPECT_EQ(big_chunked.status().http_status(), 413);
  auto incomplete = ParseRequest("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", 1024, 100);
  EXPECT_EQ(incomplete.status().code(), StatusCode::kInvalidArgument);
  auto empty = ParseRequest("", 1024, 100);
  EXPECT_FALSE(empty.ok());
  auto bad_chunk = ParseRequest("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 1024, 100);
  EXPECT_EQ(bad_chunk.status().http_status(), 400);
}

}  // namespace
}  // namespace gantry::http
